/**
 * The frame codec and scanner of the consensus WAL file (node/wal.ts holds the file; see its
 * header for the format and the rule that only a torn LAST frame may be cut). Pure: the node
 * runs it over the file's bytes and the simulator over a simulated file whose last append a
 * crash may tear, so the seeds exercise the code that decides what a restart keeps.
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';

/** Each frame: the body's length (u32 BE), its CRC-32 (u32 BE), then the body. */
export const WAL_HEADER_BYTES = 8;
/** CRC work allowed when searching a damaged log for intact frames after the damage. */
const RESYNC_CRC_BYTES_MAX = 1024 * 1024 * 1024;
/** A record larger than this is refused: the core's records are bounded far below it. */
export const WAL_RECORD_BYTES_MAX = 256 * 1024 * 1024;

export function walFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(WAL_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32(body), 4);
  out.set(body, WAL_HEADER_BYTES);
  return out;
}

/** The damage that makes a log refuse to open: where it starts and what it is. */
export interface WalDamage {
  offsetBytes: number;
  reason: string;
}

/** The frame at `pos`: its body if intact, else why not (`runsPastEnd` for a torn tail). */
function frameAt(
  buf: Buffer,
  pos: number,
): { body: Buffer } | { body?: undefined; runsPastEnd: boolean; reason: string; end: number } {
  if (pos + WAL_HEADER_BYTES > buf.length)
    return { runsPastEnd: true, reason: 'header past the end', end: buf.length };
  const len = buf.readUInt32BE(pos);
  if (len === 0 || len > WAL_RECORD_BYTES_MAX)
    return { runsPastEnd: false, reason: `impossible length ${len}`, end: pos + WAL_HEADER_BYTES };
  const end = pos + WAL_HEADER_BYTES + len;
  if (end > buf.length)
    return { runsPastEnd: true, reason: `a ${len}-byte body past the end`, end: buf.length };
  const body = buf.subarray(pos + WAL_HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32BE(pos + 4)) return { runsPastEnd: false, reason: 'bad CRC', end };
  return { body };
}

/**
 * The newest intact record in `data` and where the intact prefix ends; `corrupt` is set when
 * the first damaged frame is not a torn tail (file header), and then the log must not be used.
 */
export function scanWal(data: Uint8Array): {
  last: Uint8Array | undefined;
  validBytes: number;
  records: number;
  corrupt?: WalDamage;
} {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let last: Uint8Array | undefined;
  let records = 0;
  // Bounded: each intact frame advances pos by at least WAL_HEADER_BYTES + 1.
  while (pos < buf.length) {
    const f = frameAt(buf, pos);
    if (f.body === undefined) {
      const tornTail = f.runsPastEnd || (f.reason === 'bad CRC' && f.end === buf.length);
      // An intact frame anywhere after the damage means newer records exist (a damaged length
      // can point past them). One pass over the tail; runs only on a damaged log.
      // The CRC work is capped: past the cap the search gives up and the log is refused, the
      // safe side (a real torn tail is one partial record, far below the cap).
      let intactAfter = -1;
      let crcBytesLeft = RESYNC_CRC_BYTES_MAX;
      for (let q = pos + 1; q + WAL_HEADER_BYTES < buf.length && intactAfter < 0 && crcBytesLeft > 0; q++) {
        const len = buf.readUInt32BE(q);
        if (len === 0 || q + WAL_HEADER_BYTES + len > buf.length) continue;
        crcBytesLeft -= len;
        if (frameAt(buf, q).body !== undefined) intactAfter = q;
      }
      if (tornTail && intactAfter < 0 && crcBytesLeft > 0) break;
      const reason =
        intactAfter >= 0
          ? `${f.reason}, with an intact frame after it at byte ${intactAfter}`
          : crcBytesLeft <= 0
            ? `${f.reason}; could not rule out intact frames after it`
            : `${f.reason}, with ${buf.length - f.end} more byte(s) after it`;
      return { last, validBytes: pos, records, corrupt: { offsetBytes: pos, reason } };
    }
    last = new Uint8Array(f.body);
    records++;
    pos += WAL_HEADER_BYTES + f.body.length;
  }
  return { last, validBytes: pos, records };
}
