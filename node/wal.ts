/**
 * The consensus write-ahead log: the durable copy of what this validator is about to sign.
 *
 * The consensus core hands the driver a record (its persisted state for the current height:
 * round, prepared certificate, every message it signed) that must be durable *before* any
 * message it covers leaves the process (docs/protocol.md §3.3). This file stores such records.
 *
 * Format: a sequence of frames `[length u32 BE][crc32 u32 BE][body]`, appended and fdatasync'd
 * one at a time, with 1 <= length <= WAL_RECORD_BYTES_MAX (save() refuses an empty record, so
 * a zero length, like a too-large one, can only be damage). Only the newest intact frame
 * matters. When the file grows past `compactBytesMax` the newest record is written alone to a
 * temporary file, fsync'd, and renamed over the log (then the folder is fsync'd), so the log
 * never holds more than one old record plus the new ones.
 *
 * **The WAL never silently forgets** (docs/architecture.md, rules for hostile peers). A crash in the middle
 * of an append can leave only one kind of damage: a torn LAST frame, whose records nothing sent
 * depends on (the append had not returned, so no message it covers left the process). Reading
 * the frames in order, the first frame that is not intact is cut off (the file is rewritten
 * with the newest intact record) only when it is such a torn tail:
 *  - its header (8 bytes) runs past the end of the file, or
 *  - its length is possible and its body runs past the end of the file, or
 *  - it is the final frame (it ends exactly at the end of the file) and its CRC fails,
 * and, in each case, no intact frame starts anywhere after its first byte (a length damaged to
 * run past the end would otherwise hide the intact frames that follow it). Any other damage (a
 * bad CRC or an impossible length followed by more bytes, or an intact frame after a damaged
 * one) is not a torn append: the records after it may hold votes this validator already sent,
 * and replaying the older record could make it sign a conflicting one. `Wal.open` then throws
 * `WalCorruptError` (code 'WAL_CORRUPT', the file and the byte offset, and how to recover) and
 * leaves the file untouched; the node refuses to start.
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

import {
  walFrame as frame,
  WAL_HEADER_BYTES as HEADER_BYTES,
  scanWal,
  WAL_RECORD_BYTES_MAX,
  type WalDamage,
} from '../consensus/wal-log.js';

export { scanWal, WAL_RECORD_BYTES_MAX, type WalDamage };

export class WalError extends Error {
  override readonly name: string = 'WalError';
}

/** The log holds damage that a crash during an append cannot explain (see the file header). */
export class WalCorruptError extends WalError {
  override readonly name = 'WalCorruptError';
  readonly code = 'WAL_CORRUPT';
  constructor(
    readonly path: string,
    readonly offsetBytes: number,
    readonly reason: string,
    intactRecordsBefore: number,
  ) {
    super(
      `WAL ${path} is damaged at byte ${offsetBytes} (${reason}); ${intactRecordsBefore} intact record(s) precede it. ` +
        'This is not a torn last write, so records after the damage may hold votes this validator already ' +
        'signed and sent; starting from an older record could make it sign conflicting ones (double-signing). ' +
        'The node will not start and has left the file as it is. To recover: restore an intact copy of this ' +
        'file at least as new as the damaged one (a backup, mirror or snapshot), if one exists; otherwise stop every copy of this validator, ' +
        `move ${path} aside (keep it for inspection), wait until the other validators have committed a block ` +
        "above this node's ledger height, and only then restart. Doing so accepts the risk of double-signing " +
        'at the height this node was voting on, so do it only if you are sure no other copy of this validator runs.',
    );
  }
}

export interface WalOptions {
  /** Rewrite the file with only the newest record once it exceeds this size. */
  compactBytesMax?: number;
  /** Test hook: called after a record is durable and before save() returns. */
  afterSave?: (record: Uint8Array) => void;
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
   * intact prefix's newest record, so later appends never follow garbage. Any other damage
   * throws `WalCorruptError` and leaves the file untouched (file header).
   */
  static open(path: string, options: WalOptions = {}): Wal {
    mkdirSync(dirname(path), { recursive: true });
    let data: Uint8Array = new Uint8Array(0);
    try {
      data = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { last, validBytes, records, corrupt } = scanWal(data);
    if (corrupt) throw new WalCorruptError(path, corrupt.offsetBytes, corrupt.reason, records);
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
    if (record.length === 0)
      throw new WalError('an empty WAL record cannot be saved (a zero length marks damage)');
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
