/**
 * The state tree's hashing, on 32-bit words and without allocation.
 *
 * Every function here computes exactly what the definitions in state-tree.ts state in terms of
 * crypto/hash.ts (`sha256`, `taggedHash`); the tests check them against those definitions.
 * Why a second SHA-256 at all: the tree hashes tens of thousands of 80-byte messages per block
 * and millions when it is rebuilt at start-up. Through node:crypto a hash costs 1.3 to 2 µs on
 * this platform, nearly all of it call overhead and the Buffer it allocates; this compressor
 * costs about 0.55 µs for an inner node (0.24 µs per 64-byte block), allocates nothing, and
 * leaves the digest as eight integers that the nodes keep as plain fields (a 32-byte Uint8Array
 * per node would cost about 250 bytes of heap, several hundred megabytes for a million accounts).
 *
 * The compressor and its scratch state are crypto/sha256-words.ts. Single-threaded scratch state
 * (W, S, MSG) is safe: nothing here awaits.
 */

import { compress, digest as digestWords, IV, S, W } from '../crypto/sha256-words.js';
import { transientBytes } from '../crypto/transient-bytes.js';

/** A hash held as eight big-endian 32-bit words (signed, as `| 0` leaves them). */
export interface HashWords {
  h0: number;
  h1: number;
  h2: number;
  h3: number;
  h4: number;
  h5: number;
  h6: number;
  h7: number;
}

/** A plain holder for a hash, for constants and temporaries. */
export class HashBox implements HashWords {
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  h4 = 0;
  h5 = 0;
  h6 = 0;
  h7 = 0;
}

/** Domain tags (see state-tree.ts). The inner tag has 15 characters on purpose: see hashInner. */
export const TAG_INNER = 'synod/smt/inner';
export const TAG_LEAF = 'synod/smt/leaf';
export const TAG_VALUE = 'synod/smt/value';
export const TAG_EMPTY = 'synod/smt/empty';

let hashes = 0;

/** How many hashes (SHA-256 digests, of any length) this module has computed so far. */
export function hashCount(): number {
  return hashes;
}

/** SHA-256 of msg[0..len) into S, counted. */
function digest(msg: Uint8Array, len: number): void {
  hashes++;
  digestWords(msg, len);
}

function store(out: HashWords): void {
  out.h0 = S[0]!;
  out.h1 = S[1]!;
  out.h2 = S[2]!;
  out.h3 = S[3]!;
  out.h4 = S[4]!;
  out.h5 = S[5]!;
  out.h6 = S[6]!;
  out.h7 = S[7]!;
}

/** Message scratch for the byte-oriented hashes (a larger value gets a buffer of its own). */
const MSG = new Uint8Array(64 * 1024);

/** Writes len(tag) || tag (ASCII) at the start of buf; returns its length. */
function putTag(tag: string, buf = MSG): number {
  buf[0] = tag.length;
  for (let i = 0; i < tag.length; i++) buf[1 + i] = tag.charCodeAt(i);
  return 1 + tag.length;
}

function putWords(h: HashWords, off: number): void {
  const m = MSG;
  let w = h.h0;
  m[off] = w >>> 24;
  m[off + 1] = w >>> 16;
  m[off + 2] = w >>> 8;
  m[off + 3] = w;
  w = h.h1;
  m[off + 4] = w >>> 24;
  m[off + 5] = w >>> 16;
  m[off + 6] = w >>> 8;
  m[off + 7] = w;
  w = h.h2;
  m[off + 8] = w >>> 24;
  m[off + 9] = w >>> 16;
  m[off + 10] = w >>> 8;
  m[off + 11] = w;
  w = h.h3;
  m[off + 12] = w >>> 24;
  m[off + 13] = w >>> 16;
  m[off + 14] = w >>> 8;
  m[off + 15] = w;
  w = h.h4;
  m[off + 16] = w >>> 24;
  m[off + 17] = w >>> 16;
  m[off + 18] = w >>> 8;
  m[off + 19] = w;
  w = h.h5;
  m[off + 20] = w >>> 24;
  m[off + 21] = w >>> 16;
  m[off + 22] = w >>> 8;
  m[off + 23] = w;
  w = h.h6;
  m[off + 24] = w >>> 24;
  m[off + 25] = w >>> 16;
  m[off + 26] = w >>> 8;
  m[off + 27] = w;
  w = h.h7;
  m[off + 28] = w >>> 24;
  m[off + 29] = w >>> 16;
  m[off + 30] = w >>> 8;
  m[off + 31] = w;
}

/** The first four message words of every inner hash: len(TAG_INNER) || TAG_INNER, 16 bytes. */
const INNER_PREFIX = new Int32Array(4);
{
  const n = putTag(TAG_INNER);
  if (n !== 16) throw new Error('TAG_INNER must be 15 characters');
  for (let j = 0; j < 4; j++) {
    INNER_PREFIX[j] =
      (MSG[4 * j]! << 24) | (MSG[4 * j + 1]! << 16) | (MSG[4 * j + 2]! << 8) | MSG[4 * j + 3]!;
  }
}

/**
 * out = taggedHash(TAG_INNER, left, right). The 16-byte tag prefix puts both children on word
 * boundaries, so they go into the schedule straight from their fields: 80 bytes, two blocks.
 */
export function hashInner(left: HashWords, right: HashWords, out: HashWords): void {
  hashes++;
  S.set(IV);
  W[0] = INNER_PREFIX[0]!;
  W[1] = INNER_PREFIX[1]!;
  W[2] = INNER_PREFIX[2]!;
  W[3] = INNER_PREFIX[3]!;
  W[4] = left.h0;
  W[5] = left.h1;
  W[6] = left.h2;
  W[7] = left.h3;
  W[8] = left.h4;
  W[9] = left.h5;
  W[10] = left.h6;
  W[11] = left.h7;
  W[12] = right.h0;
  W[13] = right.h1;
  W[14] = right.h2;
  W[15] = right.h3;
  compress();
  W[0] = right.h4;
  W[1] = right.h5;
  W[2] = right.h6;
  W[3] = right.h7;
  W[4] = 0x80000000 | 0;
  for (let j = 5; j < 15; j++) W[j] = 0;
  W[15] = 80 * 8;
  compress();
  store(out);
}

/** out = taggedHash(TAG_LEAF, path, valueHash), with `path` as a 32-character byte string. */
export function hashLeaf(path: string, valueHash: HashWords, out: HashWords): void {
  let n = putTag(TAG_LEAF);
  for (let i = 0; i < 32; i++) MSG[n + i] = path.charCodeAt(i);
  n += 32;
  putWords(valueHash, n);
  digest(MSG, n + 32);
  store(out);
}

/** out = taggedHash(TAG_VALUE, value), the value being the byte string s[from..]. */
export function hashValue(s: string, from: number, out: HashWords): void {
  const t = 1 + TAG_VALUE.length;
  const len = t + s.length - from;
  const buf = len <= MSG.length ? MSG : new Uint8Array(len);
  putTag(TAG_VALUE, buf);
  for (let i = from, j = t; i < s.length; i++, j++) buf[j] = s.charCodeAt(i);
  digest(buf, len);
  store(out);
}

/** out = taggedHash(TAG_EMPTY). */
function hashEmpty(out: HashWords): void {
  digest(MSG, putTag(TAG_EMPTY));
  store(out);
}

/** The digest in S as a 32-character string of byte values (one character per byte). */
function digestString(): string {
  const a = S[0]!;
  const b = S[1]!;
  const c = S[2]!;
  const d = S[3]!;
  const e = S[4]!;
  const f = S[5]!;
  const g = S[6]!;
  const h = S[7]!;
  // biome-ignore format: one row per word
  return String.fromCharCode(
    a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255,
    b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255,
    c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255,
    d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255,
    e >>> 24, (e >>> 16) & 255, (e >>> 8) & 255, e & 255,
    f >>> 24, (f >>> 16) & 255, (f >>> 8) & 255, f & 255,
    g >>> 24, (g >>> 16) & 255, (g >>> 8) & 255, g & 255,
    h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255,
  );
}

/** sha256(key) as a 32-character byte string: the key's path in the tree. */
export function keyPath(key: Uint8Array): string {
  digest(key, key.length);
  return digestString();
}

/** The hash of the empty subtree. Frozen in spirit: never pass it as an `out`. */
export const EMPTY_HASH: Readonly<HashBox> = new HashBox();
hashEmpty(EMPTY_HASH as HashBox);

export function wordsToBytes(h: HashWords): Uint8Array {
  putWords(h, 0);
  return MSG.slice(0, 32);
}

/** A byte string (one character per byte, as from keyPath) as bytes. */
export function byteStringToBytes(s: string, from = 0, to = s.length): Uint8Array {
  const out = transientBytes(to - from);
  for (let i = from; i < to; i++) out[i - from] = s.charCodeAt(i);
  return out;
}
