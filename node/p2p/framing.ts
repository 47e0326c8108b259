/**
 * Length-prefixed framing: every frame is an unsigned LEB128 varint (the multiformats
 * unsigned-varint, minimal encoding, at most 5 bytes) followed by that many payload bytes.
 *
 * The decoder enforces a per-protocol maximum as soon as the length prefix is known, so a peer
 * can never make us buffer more than one maximum-size frame per stream.
 */
import { FrameTooLargeError, FramingError } from './errors.js';

/** Five 7-bit groups cover lengths up to 2^35 - 1, far above any frame limit we allow. */
export const MAX_VARINT_BYTES = 5;

export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` as an unsigned varint into `buf` at `offset`; returns the offset after it. */
export function writeVarint(n: number, buf: Uint8Array, offset: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** One frame: length prefix and payload in a fresh buffer. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLength(payload.length) + payload.length);
  out.set(payload, writeVarint(payload.length, out, 0));
  return out;
}

/** Several frames back to back in one buffer, so one stream write carries all of them. */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of payloads) total += varintLength(p.length) + p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of payloads) {
    off = writeVarint(p.length, out, off);
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Incremental decoder. Feed it chunks as they arrive; it returns the frames they complete.
 * Returned payloads are fresh copies owned by the caller: they never pin the (possibly much
 * larger) transport buffers they were cut from.
 */
export class FrameDecoder {
  private headerValue = 0;
  private headerBytes = 0;
  /** Length of the frame being collected, or -1 while reading a length prefix. */
  private want = -1;
  private parts: Uint8Array[] = [];
  private have = 0;

  constructor(readonly maxFrameBytes: number) {}

  /** True when a frame (or its prefix) has been started but not finished. */
  get midFrame(): boolean {
    return this.want >= 0 || this.headerBytes > 0;
  }

  /**
   * Throws FrameTooLargeError or FramingError on a protocol violation; the stream is then
   * unusable. Until a frame completes the decoder keeps views of the chunks that carry it, so
   * pushed chunks must not be modified afterwards (stream chunks never are).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.want < 0) {
        const b = chunk[off++]!;
        if (this.headerBytes > 0 && b === 0) throw new FramingError('non-minimal length prefix');
        this.headerValue += (b & 0x7f) * 2 ** (7 * this.headerBytes);
        this.headerBytes++;
        // The value read so far is a lower bound of the final one: reject early.
        if (this.headerValue > this.maxFrameBytes) {
          throw new FrameTooLargeError(this.headerValue, this.maxFrameBytes);
        }
        if (b & 0x80) {
          if (this.headerBytes >= MAX_VARINT_BYTES) throw new FramingError('length prefix too long');
          continue;
        }
        this.want = this.headerValue;
        this.headerValue = 0;
        this.headerBytes = 0;
        if (this.want === 0) {
          frames.push(new Uint8Array(0));
          this.want = -1;
          continue;
        }
        // Fast path: the whole payload is inside this chunk.
        if (n - off >= this.want) {
          frames.push(chunk.slice(off, off + this.want));
          off += this.want;
          this.want = -1;
        }
        continue;
      }
      const take = Math.min(this.want - this.have, n - off);
      this.parts.push(chunk.subarray(off, off + take));
      this.have += take;
      off += take;
      if (this.have === this.want) {
        const frame = new Uint8Array(this.want);
        let p = 0;
        for (const part of this.parts) {
          frame.set(part, p);
          p += part.length;
        }
        frames.push(frame);
        this.parts = [];
        this.have = 0;
        this.want = -1;
      }
    }
    return frames;
  }
}

/** The byte buffers of a stream chunk (a Uint8Array or a list of them). */
export function chunkBuffers(chunk: Uint8Array | Iterable<Uint8Array>): Iterable<Uint8Array> {
  return chunk instanceof Uint8Array ? [chunk] : chunk;
}

/** Decodes a whole async byte source into frames, enforcing `maxFrameBytes`. */
export async function* readFrames(
  source: AsyncIterable<Uint8Array | Iterable<Uint8Array>>,
  maxFrameBytes: number,
): AsyncGenerator<Uint8Array> {
  const decoder = new FrameDecoder(maxFrameBytes);
  for await (const chunk of source) {
    for (const buf of chunkBuffers(chunk)) {
      for (const frame of decoder.push(buf)) yield frame;
    }
  }
  if (decoder.midFrame) throw new FramingError('stream ended inside a frame', { truncated: true });
}
