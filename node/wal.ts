/**
 * The consensus write-ahead log: the durable copy of what this validator is about to sign.
 *
 * The consensus core hands the driver a record (its persisted state for the current height:
 * round, prepared certificate, every message it signed) that must be durable *before* any
 * message it covers leaves the process (PROTOCOL.md §3.3). This file stores such records.
 *
 * Format: a sequence of frames `[length u32 BE][crc32 u32 BE][body]`, appended and fdatasync'd
 * one at a time. Only the newest intact frame matters; a torn frame at the tail (a crash in
 * the middle of an append) fails its CRC and is ignored, which is safe because nothing it
 * covered was sent. When the file grows past `compactBytesMax` the newest record is written
 * alone to a temporary file, fsync'd, and renamed over the log (then the folder is fsync'd),
 * so the log never holds more than one old record plus the new ones.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER_BYTES = 8;
/** A record larger than this is refused: the core's records are bounded far below it. */
export const WAL_RECORD_BYTES_MAX = 256 * 1024 * 1024;

export class WalError extends Error {
  override readonly name = 'WalError';
}

export interface WalOptions {
  /** Rewrite the file with only the newest record once it exceeds this size. */
  compactBytesMax?: number;
  /** Test hook: called after a record is durable and before save() returns. */
  afterSave?: (record: Uint8Array) => void;
}

function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32(body), 4);
  out.set(body, HEADER_BYTES);
  return out;
}

/** The newest intact record in `data`, and where the intact prefix ends. */
export function scanWal(data: Uint8Array): {
  last: Uint8Array | undefined;
  validBytes: number;
  records: number;
} {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let last: Uint8Array | undefined;
  let records = 0;
  while (pos + HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const crc = buf.readUInt32BE(pos + 4);
    if (len > WAL_RECORD_BYTES_MAX || pos + HEADER_BYTES + len > buf.length) break;
    const body = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
    if (crc32(body) !== crc) break;
    last = new Uint8Array(body);
    records++;
    pos += HEADER_BYTES + len;
  }
  return { last, validBytes: pos, records };
}

export class Wal {
  private fd: number;
  private size: number;
  private readonly compactBytesMax: number;

  private constructor(
    readonly path: string,
    private latest: Uint8Array | undefined,
    size: number,
    private readonly options: WalOptions,
  ) {
    this.compactBytesMax = options.compactBytesMax ?? 64 * 1024 * 1024;
    this.size = size;
    this.fd = openSync(path, 'a');
  }

  /**
   * Opens (creating if needed) the log at `path`. A torn tail is cut off by rewriting the
   * intact prefix's newest record, so later appends never follow garbage.
   */
  static open(path: string, options: WalOptions = {}): Wal {
    mkdirSync(dirname(path), { recursive: true });
    let data: Uint8Array = new Uint8Array(0);
    try {
      data = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { last, validBytes } = scanWal(data);
    if (validBytes !== data.length) {
      Wal.rewrite(path, last);
      return new Wal(path, last, last ? HEADER_BYTES + last.length : 0, options);
    }
    return new Wal(path, last, data.length, options);
  }

  /** The newest durable record, if any. */
  load(): Uint8Array | undefined {
    return this.latest;
  }

  /** Appends `record` and returns once it is on stable storage. */
  save(record: Uint8Array): void {
    if (record.length > WAL_RECORD_BYTES_MAX)
      throw new WalError(`WAL record of ${record.length} bytes is too large`);
    if (this.size + HEADER_BYTES + record.length > this.compactBytesMax) {
      closeSync(this.fd);
      Wal.rewrite(this.path, record);
      this.fd = openSync(this.path, 'a');
      this.size = HEADER_BYTES + record.length;
    } else {
      const bytes = frame(record);
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd, bytes, written);
      fdatasyncSync(this.fd);
      this.size += bytes.length;
    }
    this.latest = record;
    this.options.afterSave?.(record);
  }

  /** Drops every record (after the height it covered is committed in the ledger). */
  clear(): void {
    closeSync(this.fd);
    Wal.rewrite(this.path, undefined);
    this.fd = openSync(this.path, 'a');
    this.size = 0;
    this.latest = undefined;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Atomically replaces the file with one record (or none): temp file, fsync, rename, fsync dir. */
  private static rewrite(path: string, record: Uint8Array | undefined): void {
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      if (record) {
        const bytes = frame(record);
        let written = 0;
        while (written < bytes.length) written += writeSync(fd, bytes, written);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}
