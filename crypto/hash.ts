/**
 * SHA-256 and the hex helpers used across Synod. Hashing goes through node:crypto (OpenSSL),
 * several times faster than a pure implementation; @noble/hashes cross-checks it in tests.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

export const HASH_LENGTH = 32;
export type Hash = Uint8Array;

/** Below this many bytes in all, parts are joined and hashed in one call (cheaper than a Hash object). */
const ONE_SHOT_BYTES_MAX = 4096;

export function sha256(...parts: Uint8Array[]): Hash {
  // crypto.hash is about twice as fast as createHash for the small inputs that dominate
  // (transactions, tree nodes, headers): one call into OpenSSL instead of three.
  if (parts.length === 1) return new Uint8Array(oneShotHash('sha256', parts[0]!, 'buffer')) as Hash;
  let total = 0;
  for (const p of parts) total += p.length;
  if (total <= ONE_SHOT_BYTES_MAX) {
    return new Uint8Array(oneShotHash('sha256', Buffer.concat(parts, total), 'buffer')) as Hash;
  }
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  // Copy the digest's own 32 bytes rather than its whole backing ArrayBuffer: that a digest
  // owns its buffer is not guaranteed, and ArrayBuffer#slice costs about 1 µs per call here.
  return new Uint8Array(h.digest()) as Hash;
}

const utf8 = new TextEncoder();

/**
 * SHA-256 with a domain tag: H(len(tag) || tag || parts...). Different kinds of object
 * (transactions, headers, Merkle leaves, consensus messages) hash under different tags, so a
 * hash of one can never stand for another.
 */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Hash {
  const t = utf8.encode(tag);
  // The length is one byte: a longer tag would wrap and make the framing ambiguous.
  if (t.length > 255) throw new RangeError('hash tag longer than 255 bytes');
  return sha256(Uint8Array.of(t.length), t, ...parts);
}

// Buffer's own encoders, called on the view itself. `Buffer.from(b.buffer, ...)` would read
// `b.buffer`, and for a typed array of at most 64 bytes (a hash, an address, a key), which V8
// keeps inside the JS heap, that makes V8 move its bytes out to native memory: a malloc, and
// later a free and a sweep, about 1 µs of CPU in all, for every such array turned into a string.
// `hexSlice` and `latin1Slice` are what `buf.toString('hex' | 'latin1')` call; they read any
// Uint8Array in place. Not part of Buffer's documented API, hence the fallbacks.
type SliceFn = (this: Uint8Array, start: number, end: number) => string;
const bufferProto = Buffer.prototype as unknown as { hexSlice?: SliceFn; latin1Slice?: SliceFn };
const hexSlice = bufferProto.hexSlice;
const latin1Slice = bufferProto.latin1Slice;

/** Lower-case hex without a prefix. */
export function hexOf(b: Uint8Array): string {
  if (hexSlice !== undefined) return hexSlice.call(b, 0, b.length);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** One character per byte (a compact map key for bytes). */
export function latin1Of(b: Uint8Array): string {
  if (latin1Slice !== undefined) return latin1Slice.call(b, 0, b.length);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export function toHex(b: Uint8Array): string {
  return `0x${hexOf(b)}`;
}

export class HexError extends Error {
  override readonly name = 'HexError';
}

/** Parses 0x-prefixed, even-length hex; `length` (in bytes) is checked when given. */
export function fromHex(s: string, length?: number, what = 'value'): Uint8Array {
  if (typeof s !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(s)) {
    throw new HexError(`${what}: expected 0x-prefixed hex`);
  }
  const out = new Uint8Array(Buffer.from(s.slice(2), 'hex'));
  if (length !== undefined && out.length !== length) {
    throw new HexError(`${what}: expected ${length} bytes, got ${out.length}`);
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
