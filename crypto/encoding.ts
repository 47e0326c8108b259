/**
 * Synod canonical encoding: the one binary form of everything that is hashed or signed.
 *
 * Every value has exactly one encoding, and decoding refuses any other byte string, so
 * `encode(decode(b))` equals `b` for every accepted `b`. A value is a tag byte and a payload:
 *
 * | tag  | value      | payload                                                         |
 * |------|------------|-----------------------------------------------------------------|
 * | 0x00 | null       | –                                                               |
 * | 0x01 | false      | –                                                               |
 * | 0x02 | true       | –                                                               |
 * | 0x03 | uint       | unsigned LEB128, minimal (no trailing 0x00 group), ≤ 256 bits   |
 * | 0x04 | bytes      | length (LEB128) then the bytes                                  |
 * | 0x05 | string     | length (LEB128) then well-formed UTF-8                          |
 * | 0x06 | list       | count (LEB128) then the items                                   |
 * | 0x07 | map        | count, then (key length, key UTF-8, value) with keys strictly   |
 * |      |            | ascending by their UTF-8 bytes (so no duplicates)               |
 *
 * Why our own and not a CBOR library: canonical *decoding* must refuse every alternative
 * form (non-minimal integers, unsorted or duplicate keys, floats, indefinite lengths, trailing
 * bytes), and generic decoders accept most of these. The format is small enough to state
 * whole in this comment, which is what a second implementation needs.
 *
 * JavaScript mapping: integers are non-negative `number` (safe integers) or `bigint`; decoding
 * gives a `number` when the value is a safe integer and a `bigint` above that. Map entries
 * whose value is `undefined` are left out, which is how optional fields are absent.
 */
import { Refusal } from './refusal.js';

export type Value = null | boolean | number | bigint | Uint8Array | string | Value[] | ValueMap;
export interface ValueMap {
  [key: string]: Value | undefined;
}

/** Bytes that are not a canonical encoding: a Refusal (no stack), as hostile input is expected. */
export class EncodingError extends Refusal {
  override readonly name = 'EncodingError';
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} at byte ${offset}`);
  }
}

// ---- The one varint (LEB128) reader and writer: the generic codec below, the transfer decoder
// (ledger/transfer-decode.ts) and the account codec (ledger/state.ts) all use these. ----------

/** readSmallVarint's answers that are not a value (the cursor is left where it was). */
export const VARINT_WIDE = -1;
export const VARINT_TRUNCATED = -2;
export const VARINT_NON_MINIMAL = -3;

/**
 * A minimal LEB128 integer of at most 7 groups (below 2^49) at `at.pos`, advancing `at.pos`
 * past it; or VARINT_WIDE (more groups: re-read it as a bigint), VARINT_TRUNCATED or
 * VARINT_NON_MINIMAL, leaving `at.pos` unchanged. Plain number arithmetic: lengths, counts,
 * nonces and heights are far below 2^49. `at` is the caller's own reader (no allocation).
 */
export function readSmallVarint(buf: Uint8Array, at: { pos: number }): number {
  let pos = at.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= buf.length) return VARINT_TRUNCATED;
    const b = buf[pos++]!;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return VARINT_NON_MINIMAL;
      at.pos = pos;
      return result;
    }
    scale *= 0x80;
  }
  return VARINT_WIDE;
}

/** Writes the LEB128 form of a non-negative safe integer at `pos` (room is the caller's); the end. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

/** Writes the LEB128 form of a non-negative bigint at `pos`; the end. */
export function writeBigVarint(buf: Uint8Array, pos: number, n: bigint): number {
  while (n >= 0x80n) {
    buf[pos++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  buf[pos++] = Number(n);
  return pos;
}

// The tags of the table above; exported for decoders of one fixed layout (ledger/transfer-decode.ts).
export const TAG_NULL = 0x00;
export const TAG_FALSE = 0x01;
export const TAG_TRUE = 0x02;
export const TAG_UINT = 0x03;
export const TAG_BYTES = 0x04;
export const TAG_STRING = 0x05;
export const TAG_LIST = 0x06;
export const TAG_MAP = 0x07;

/** Integers above 2^256 - 1 are refused both ways: nothing in Synod needs them. */
const UINT_BITS_MAX = 256;
const UINT_MAX = (1n << BigInt(UINT_BITS_MAX)) - 1n;
/** Nesting bound for decoding, so hostile input cannot exhaust the stack. */
export const DEPTH_MAX = 32;

const utf8 = new TextEncoder();
/** In a `u` regex only an unpaired surrogate is in category Cs (a pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Every encode writes into this one buffer and copies the result out. Why: a fresh 256-byte
 * buffer per call was native memory (over 64 bytes is outside the JS heap), about 1 µs of
 * allocation and sweeping for every transaction, receipt and message encoded. Safe to share:
 * encode is synchronous and never re-entered. It grows for a large value and is kept up to
 * SCRATCH_KEEP_MAX bytes.
 */
let scratch = new Uint8Array(4096);
const SCRATCH_KEEP_MAX = 1 << 20;

class Writer {
  buf = scratch;
  len = 0;
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    if (size <= SCRATCH_KEEP_MAX) scratch = next;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  varint(n: number): void {
    this.reserve(10);
    this.len = writeVarint(this.buf, this.len, n);
  }
  /** A string known to be ASCII, one byte per char. */
  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  bigVarint(n: bigint): void {
    this.reserve(40);
    this.len = writeBigVarint(this.buf, this.len, n);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * UTF-8 of a string that must be well-formed. TextEncoder would silently turn an unpaired
 * surrogate into U+FFFD, giving two different strings one encoding (and two map keys the same
 * bytes, which decoding then refuses as a duplicate).
 */
function encodeUtf8(s: string, what: string): Uint8Array {
  if (LONE_SURROGATE.test(s)) throw new EncodingError(`${what} contains an unpaired surrogate`);
  return utf8.encode(s);
}

/** Strings up to this length are checked for ASCII and copied byte by byte (no TextEncoder call). */
const SHORT_STRING_MAX = 64;

/** Writes the string payload (length, UTF-8). Short ASCII strings, the common case, skip TextEncoder. */
function writeString(w: Writer, s: string, what: string): void {
  const n = s.length;
  if (n <= SHORT_STRING_MAX) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      w.varint(n);
      w.ascii(s);
      return;
    }
  }
  const b = encodeUtf8(s, what);
  w.varint(b.length);
  w.bytes(b);
}

/**
 * Map keys come from a small fixed vocabulary (field names), so their UTF-8 is remembered.
 * Bounded: past KEY_CACHE_MAX distinct keys new ones are encoded each time (never an error).
 */
const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, Uint8Array>();
function keyBytes(key: string): Uint8Array {
  const cached = keyCache.get(key);
  if (cached) return cached;
  const b = encodeUtf8(key, 'map key');
  if (keyCache.size < KEY_CACHE_MAX && key.length <= SHORT_STRING_MAX) keyCache.set(key, b);
  return b;
}

function writeValue(w: Writer, v: Value, depth: number): void {
  if (depth > DEPTH_MAX) throw new EncodingError(`nesting deeper than ${DEPTH_MAX}`);
  if (v === null) return w.byte(TAG_NULL);
  switch (typeof v) {
    case 'boolean':
      return w.byte(v ? TAG_TRUE : TAG_FALSE);
    case 'number':
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new EncodingError(`only non-negative safe integers can be encoded, got ${v}`);
      }
      w.byte(TAG_UINT);
      return w.varint(v);
    case 'bigint':
      if (v < 0n || v > UINT_MAX) throw new EncodingError(`integer out of range 0..2^256-1: ${v}`);
      w.byte(TAG_UINT);
      return w.bigVarint(v);
    case 'string':
      w.byte(TAG_STRING);
      return writeString(w, v, 'string');
    case 'object':
      break;
    default:
      throw new EncodingError(`cannot encode a ${typeof v}`);
  }
  if (v instanceof Uint8Array) {
    w.byte(TAG_BYTES);
    w.varint(v.length);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.byte(TAG_LIST);
    w.varint(v.length);
    for (const item of v) writeValue(w, item, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    throw new EncodingError(`cannot encode an object of class ${proto?.constructor?.name ?? '?'}`);
  }
  const entries: [Uint8Array, Value][] = [];
  for (const key of Object.keys(v)) {
    const item = (v as ValueMap)[key];
    if (item === undefined) continue;
    entries.push([keyBytes(key), item]);
  }
  if (entries.length > 1) entries.sort((a, b) => compareBytes(a[0], b[0]));
  w.byte(TAG_MAP);
  w.varint(entries.length);
  for (const [key, item] of entries) {
    w.varint(key.length);
    w.bytes(key);
    writeValue(w, item, depth + 1);
  }
}

/** The canonical bytes of `v`. Throws EncodingError for values outside the model. */
export function encode(v: Value): Uint8Array {
  const w = new Writer();
  writeValue(w, v, 0);
  return w.result();
}

class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  constructor(input: Uint8Array) {
    // A plain Uint8Array view: on a Buffer, `slice` would return a view rather than a copy, so
    // decoded bytes would alias (and change with) the caller's possibly pooled input buffer. A
    // plain Uint8Array is used as it is: reading `.buffer` of a small one (at most 64 bytes,
    // kept inside the JS heap) would move its bytes out to native memory, a malloc per decode.
    this.buf =
      Object.getPrototypeOf(input) === Uint8Array.prototype
        ? input
        : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  fail(message: string): never {
    throw new EncodingError(message, this.pos);
  }
  byte(): number {
    if (this.pos >= this.buf.length) this.fail('unexpected end of input');
    return this.buf[this.pos++]!;
  }
  /** A minimal LEB128 integer as a bigint, at most `bits` bits wide. */
  bigVarint(bits: number): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (b === 0 && this.pos - start > 1) {
          this.pos = start;
          this.fail('non-minimal integer encoding');
        }
        break;
      }
      if (shift >= BigInt(bits + 7)) {
        this.pos = start;
        this.fail(`integer wider than ${bits} bits`);
      }
    }
    if (result >> BigInt(bits) !== 0n) {
      this.pos = start;
      this.fail(`integer wider than ${bits} bits`);
    }
    return result;
  }
  /**
   * A minimal LEB128 integer of at most 49 bits (7 groups) as a number, or -1 (position
   * unchanged) when it is wider, for the caller to re-read with bigVarint. Plain number
   * arithmetic: lengths, counts, nonces and heights are all far below 2^49.
   */
  smallVarint(): number {
    const n = readSmallVarint(this.buf, this);
    if (n >= 0 || n === VARINT_WIDE) return n;
    if (n === VARINT_NON_MINIMAL) this.fail('non-minimal integer encoding');
    this.pos = this.buf.length; // where the input ran out
    return this.fail('unexpected end of input');
  }
  /** A length or count: must fit what is left of the input. */
  length(): number {
    const start = this.pos;
    let n = this.smallVarint();
    if (n < 0) n = Number(this.bigVarint(32));
    else if (n > 0xffffffff) {
      this.pos = start;
      this.fail('integer wider than 32 bits');
    }
    if (n > this.buf.length - this.pos) {
      this.pos = start;
      this.fail(`length ${n} exceeds the remaining ${this.buf.length - this.pos} bytes`);
    }
    return n;
  }
  take(n: number): Uint8Array {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  utf8(n: number): string {
    const start = this.pos;
    if (n <= SHORT_STRING_MAX) {
      // Short ASCII (field names, kinds, chain ids) without a TextDecoder call.
      const buf = this.buf;
      let ascii = true;
      for (let i = start; i < start + n; i++) {
        if (buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.pos += n;
        return n === 0
          ? ''
          : String.fromCharCode.apply(null, buf.subarray(start, start + n) as unknown as number[]);
      }
    }
    try {
      return utf8Strict.decode(this.take(n));
    } catch {
      this.pos = start;
      return this.fail('invalid UTF-8');
    }
  }
}

function readValue(r: Reader, depth: number): Value {
  if (depth > DEPTH_MAX) r.fail(`nesting deeper than ${DEPTH_MAX}`);
  const tag = r.byte();
  switch (tag) {
    case TAG_NULL:
      return null;
    case TAG_FALSE:
      return false;
    case TAG_TRUE:
      return true;
    case TAG_UINT: {
      const small = r.smallVarint();
      if (small >= 0) return small;
      const n = r.bigVarint(UINT_BITS_MAX);
      return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case TAG_BYTES:
      return r.take(r.length()).slice();
    case TAG_STRING:
      return r.utf8(r.length());
    case TAG_LIST: {
      const count = r.length();
      const out: Value[] = [];
      for (let i = 0; i < count; i++) out.push(readValue(r, depth + 1));
      return out;
    }
    case TAG_MAP: {
      const count = r.length();
      const out: ValueMap = {};
      let prev: Uint8Array | undefined;
      for (let i = 0; i < count; i++) {
        const keyStart = r.pos;
        const keyLength = r.length();
        const keyBytes = r.buf.subarray(r.pos, r.pos + keyLength);
        if (prev !== undefined && compareBytes(prev, keyBytes) >= 0) {
          r.pos = keyStart;
          r.fail('map keys not strictly ascending');
        }
        prev = keyBytes;
        const key = r.utf8(keyLength);
        const value = readValue(r, depth + 1);
        // A key named "__proto__" must stay a plain field: assignment would set the prototype.
        if (key === '__proto__') {
          Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        } else {
          out[key] = value;
        }
      }
      return out;
    }
    default:
      r.pos--;
      return r.fail(`unknown tag 0x${tag.toString(16).padStart(2, '0')}`);
  }
}

/** Bytes of the LEB128 form of a non-negative safe integer (a length, count or uint payload). */
export function uintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** A length or count at bytes[pos], minimal and inside the input: [value, position after it]. */
export function readLength(bytes: Uint8Array, pos: number): [number, number] {
  const r = new Reader(bytes);
  r.pos = pos;
  const n = r.length();
  return [n, r.pos];
}

function skipValue(r: Reader, depth: number): void {
  if (depth > DEPTH_MAX) r.fail(`nesting deeper than ${DEPTH_MAX}`);
  const tag = r.byte();
  switch (tag) {
    case TAG_NULL:
    case TAG_FALSE:
    case TAG_TRUE:
      return;
    case TAG_UINT:
      if (r.smallVarint() < 0) r.bigVarint(UINT_BITS_MAX);
      return;
    case TAG_BYTES:
    case TAG_STRING: {
      // Not `r.pos += r.length()`: that reads pos before length() moves it past the varint.
      const n = r.length();
      r.pos += n;
      return;
    }
    case TAG_LIST:
      for (let n = r.length(); n > 0; n--) skipValue(r, depth + 1);
      return;
    case TAG_MAP:
      for (let n = r.length(); n > 0; n--) {
        const keyLength = r.length();
        r.pos += keyLength;
        skipValue(r, depth + 1);
      }
      return;
    default:
      r.pos--;
      r.fail(`unknown tag 0x${tag.toString(16).padStart(2, '0')}`);
  }
}

/**
 * Where the value that starts at bytes[pos] ends, without building it: for cutting a
 * canonical container into the spans of its items (a block into its transactions). Lengths,
 * integers, tags and depth are checked as `decode` checks them; UTF-8 and map key order are
 * not, so a span must still be decoded (or matched by hash against bytes that were) before
 * its contents are trusted. Throws EncodingError.
 */
export function valueEnd(bytes: Uint8Array, pos: number): number {
  const r = new Reader(bytes);
  r.pos = pos;
  skipValue(r, 0);
  return r.pos;
}

/**
 * Decodes a canonical list of byte strings filling all of `bytes`, at most `maxItems` long, as
 * views into `bytes` rather than copies: for a caller that copies what it keeps (forwarded
 * transaction batches, whose items the mempool copies when it admits them; `decode` would copy
 * each first, a second native allocation per transaction). Throws EncodingError for anything
 * `decode` refuses, for an item that is not bytes and for a list over `maxItems`.
 */
export function decodeBytesList(bytes: Uint8Array, maxItems: number): Uint8Array[] {
  const r = new Reader(bytes);
  if (r.byte() !== TAG_LIST) {
    r.pos--;
    r.fail('expected a list');
  }
  const count = r.length();
  if (count > maxItems) r.fail(`list of ${count} items exceeds ${maxItems}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (r.byte() !== TAG_BYTES) {
      r.pos--;
      r.fail(`item ${i} is not bytes`);
    }
    const n = r.length();
    out.push(r.buf.subarray(r.pos, r.pos + n));
    r.pos += n;
  }
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes`);
  return out;
}

/** Decodes exactly one canonical value filling all of `bytes`; anything else throws EncodingError. */
export function decode(bytes: Uint8Array): Value {
  const r = new Reader(bytes);
  const v = readValue(r, 0);
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes`);
  return v;
}

// ---- Typed field access for schema decoders --------------------------------------------

/** Reads a map field, failing with the field's name when the shape is wrong. */
export function asMap(v: Value | undefined, what: string): ValueMap {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) {
    throw new EncodingError(`${what}: expected a map`);
  }
  return v;
}

/** Checks that a decoded map has exactly the allowed keys (no unknown fields sneak in). */
export function expectKeys(
  m: ValueMap,
  required: readonly string[],
  optional: readonly string[],
  what: string,
) {
  for (const k of required) if (m[k] === undefined) throw new EncodingError(`${what}: missing field '${k}'`);
  for (const k of Object.keys(m)) {
    if (!required.includes(k) && !optional.includes(k))
      throw new EncodingError(`${what}: unknown field '${k}'`);
  }
}

export function asList(v: Value | undefined, what: string): Value[] {
  if (!Array.isArray(v)) throw new EncodingError(`${what}: expected a list`);
  return v;
}

export function asBytes(v: Value | undefined, what: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new EncodingError(`${what}: expected bytes`);
  if (length !== undefined && v.length !== length) {
    throw new EncodingError(`${what}: expected ${length} bytes, got ${v.length}`);
  }
  return v;
}

export function asString(v: Value | undefined, what: string): string {
  if (typeof v !== 'string') throw new EncodingError(`${what}: expected a string`);
  return v;
}

export function asBool(v: Value | undefined, what: string): boolean {
  if (typeof v !== 'boolean') throw new EncodingError(`${what}: expected a boolean`);
  return v;
}

/** A uint that must be a safe JS integer (heights, nonces, times, counts). */
export function asNumber(v: Value | undefined, what: string): number {
  if (typeof v !== 'number') throw new EncodingError(`${what}: expected an integer below 2^53`);
  return v;
}

/** A uint of any size up to 256 bits (amounts). */
export function asBigInt(v: Value | undefined, what: string): bigint {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'bigint') return v;
  throw new EncodingError(`${what}: expected an integer`);
}
