/**
 * Decoding of the one transaction shape that dominates a busy chain, a signed `asset.transfer`
 * without a memo, straight from its canonical bytes: a fixed byte layout with five variable
 * fields, read in one pass.
 *
 * Why: the generic decoder (crypto/encoding.ts) builds a map object for each level, a string
 * for each of the eleven field names and a view for each key and byte string, then
 * `signedTxFromValue` copies the result into the ledger shape: about 4 µs a transfer against
 * about 53 µs for its signature check, and every validator decodes every transaction it admits.
 *
 * The fast path accepts a strict subset of what `decode` accepts and builds the same value: any
 * byte that differs from the layout (another kind, a memo, a wide integer, a non-ASCII or long
 * chain id) makes it return `undefined`, and the caller decodes generically, so every refusal
 * and its message still come from one place. The layout, keys in canonical (ascending) order:
 *
 *   map(3) { "publicKey": bytes(32), "signature": bytes(64),
 *            "tx": map(5) { "body": map(2) { "amount": uint, "to": bytes(20) },
 *                           "chainId": string, "from": bytes(20),
 *                           "kind": "asset.transfer", "nonce": uint } }
 */
import { ADDRESS_LENGTH, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from '../crypto/ed25519.js';
import { readSmallVarint, TAG_BYTES, TAG_MAP, TAG_STRING, TAG_UINT } from '../crypto/encoding.js';
import type { SignedTransaction } from './types.js';

/** A map key as encoded: its length, then its ASCII bytes. */
function key(name: string): number[] {
  return [name.length, ...Array.from(name, (c) => c.charCodeAt(0))];
}

/** The constant runs of the layout, each followed by the variable field named beside it. */
const OPEN = Uint8Array.from([TAG_MAP, 3, ...key('publicKey'), TAG_BYTES, PUBLIC_KEY_LENGTH]);
const TO_SIGNATURE = Uint8Array.from([...key('signature'), TAG_BYTES, SIGNATURE_LENGTH]);
const TO_AMOUNT = Uint8Array.from([
  ...key('tx'),
  TAG_MAP,
  5,
  ...key('body'),
  TAG_MAP,
  2,
  ...key('amount'),
  TAG_UINT,
]);
const TO_TO = Uint8Array.from([...key('to'), TAG_BYTES, ADDRESS_LENGTH]);
const TO_CHAIN_ID = Uint8Array.from([...key('chainId'), TAG_STRING]);
const TO_FROM = Uint8Array.from([...key('from'), TAG_BYTES, ADDRESS_LENGTH]);
const TO_NONCE = Uint8Array.from([
  ...key('kind'),
  TAG_STRING,
  ...key('asset.transfer'),
  ...key('nonce'),
  TAG_UINT,
]);

/** Longest chain id read here: its length is one LEB128 byte. */
const CHAIN_ID_MAX = 0x7f;

/**
 * The last chain id read, as bytes and string: a network has one, so its string is made once
 * rather than per transaction.
 */
let lastChainIdBytes = new Uint8Array(0);
let lastChainId = '';

/** A cursor over the input; `ok` turns false at the first byte off the layout. */
class Cursor {
  pos = 0;
  ok = true;
  constructor(readonly buf: Uint8Array) {}

  /** Consumes `run` if the input continues with exactly those bytes. */
  expect(run: Uint8Array): void {
    const buf = this.buf;
    const at = this.pos;
    if (!this.ok || at + run.length > buf.length) {
      this.ok = false;
      return;
    }
    for (let i = 0; i < run.length; i++) {
      if (buf[at + i] !== run[i]) {
        this.ok = false;
        return;
      }
    }
    this.pos = at + run.length;
  }

  /** A view of the next `n` bytes (see decodeSignedTransfer on why not a copy). */
  bytes(n: number): Uint8Array {
    if (!this.ok || this.pos + n > this.buf.length) {
      this.ok = false;
      return EMPTY;
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * A minimal LEB128 integer of at most 7 groups (below 2^49); wider ones are left to the
   * generic decoder, which reads them as bigints.
   */
  uint(): number {
    // Wide, truncated or non-minimal: a case for the generic decoder, which words the refusal.
    const n = this.ok ? readSmallVarint(this.buf, this) : -1;
    if (n >= 0) return n;
    this.ok = false;
    return 0;
  }

  /** A string of at most CHAIN_ID_MAX ASCII bytes. */
  asciiString(): string {
    const buf = this.buf;
    if (!this.ok || this.pos >= buf.length) {
      this.ok = false;
      return '';
    }
    const n = buf[this.pos]!;
    const start = this.pos + 1;
    if (n > CHAIN_ID_MAX || start + n > buf.length) {
      this.ok = false;
      return '';
    }
    this.pos = start + n;
    const last = lastChainIdBytes;
    let same = last.length === n;
    for (let i = 0; i < n; i++) {
      const c = buf[start + i]!;
      if (c >= 0x80) {
        this.ok = false;
        return '';
      }
      if (same && last[i] !== c) same = false;
    }
    if (same) return lastChainId;
    const s = String.fromCharCode.apply(null, buf.subarray(start, start + n) as unknown as number[]);
    lastChainIdBytes = buf.slice(start, start + n);
    lastChainId = s;
    return s;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The signed transfer encoded by `bytes`, or `undefined` when the bytes are not in the layout
 * above: then the generic decoder must decide, and it may well accept them (a memo, another
 * kind).
 *
 * The public key, signature and addresses are views of `bytes`, not copies, so `bytes` must be
 * a plain Uint8Array (a Buffer would make them Buffers) that its owner never changes:
 * `decodeSignedTx` passes its private copy, the one it remembers as the transaction's bytes.
 * Why: a mempool holds thousands of decoded transactions, and a small copy costs about 250
 * bytes of heap (typed array, array buffer and backing store, each traced by the collector)
 * against about 100 for a view; four per transaction were about half of what a held transfer
 * cost the heap. A decoded transaction is not to be changed in place (its remembered bytes and
 * hash would no longer match it either way).
 */
export function decodeSignedTransfer(bytes: Uint8Array): SignedTransaction | undefined {
  const c = new Cursor(bytes);
  c.expect(OPEN);
  const publicKey = c.bytes(PUBLIC_KEY_LENGTH);
  c.expect(TO_SIGNATURE);
  const signature = c.bytes(SIGNATURE_LENGTH);
  c.expect(TO_AMOUNT);
  const amount = c.uint();
  c.expect(TO_TO);
  const to = c.bytes(ADDRESS_LENGTH);
  c.expect(TO_CHAIN_ID);
  const chainId = c.asciiString();
  c.expect(TO_FROM);
  const from = c.bytes(ADDRESS_LENGTH);
  c.expect(TO_NONCE);
  const nonce = c.uint();
  if (!c.ok || c.pos !== bytes.length) return undefined;
  return {
    tx: { chainId, from, nonce, kind: 'asset.transfer', body: { to, amount: BigInt(amount) } },
    publicKey,
    signature,
  };
}
