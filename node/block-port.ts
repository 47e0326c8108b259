/**
 * The consensus core's view of ledger blocks (consensus/port.ts), and conversions between
 * the core's commit certificate (signers named `author`) and the ledger's (named `validator`).
 */
import type { CommitCertificate as ConsensusCert } from '../consensus/certificate.js';
import type { BlockPort } from '../consensus/port.js';
import type { Hash } from '../crypto/hash.js';
import { blockHash, decodeBlock, encodeBlock } from '../ledger/codec.js';
import type { Block, CommitCertificate as LedgerCert } from '../ledger/types.js';

/** Hashes and encodings are cached per block object: the core asks for them repeatedly. */
const hashes = new WeakMap<Block, Hash>();
const encodings = new WeakMap<Block, Uint8Array>();

export const ledgerBlockPort: BlockPort<Block> = {
  hash(b) {
    let h = hashes.get(b);
    if (!h) {
      h = blockHash(b.header);
      hashes.set(b, h);
    }
    return h;
  },
  encode(b) {
    let e = encodings.get(b);
    if (!e) {
      e = encodeBlock(b);
      encodings.set(b, e);
    }
    return e;
  },
  decode(bytes) {
    const b = decodeBlock(bytes);
    encodings.set(b, bytes);
    return b;
  },
  height: (b) => b.header.height,
  view: (b) => b.header.view,
  proposer: (b) => b.header.proposer,
  parentHash: (b) => b.header.parentHash,
  timestampMs: (b) => b.header.timestamp,
};

export function toLedgerCert(c: ConsensusCert): LedgerCert {
  return { round: c.round, sigs: c.sigs.map((s) => ({ validator: s.author, signature: s.signature })) };
}

export function toConsensusCert(c: LedgerCert): ConsensusCert {
  return { round: c.round, sigs: c.sigs.map((s) => ({ author: s.validator, signature: s.signature })) };
}
