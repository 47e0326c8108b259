/**
 * The consensus core's view of ledger blocks (consensus/port.ts), and conversions between
 * the core's commit certificate (signers named `author`) and the ledger's (named `validator`).
 */
import type { CommitCertificate as ConsensusCert } from '../consensus/certificate.js';
import type { BlockPort } from '../consensus/port.js';
import type { Hash } from '../crypto/hash.js';
import { decodeBlockHeaderOnly, decodeBlockWithMeta } from '../ledger/block.js';
import type { TxMeta } from '../ledger/checks.js';
import { blockHash, encodeBlock } from '../ledger/codec.js';
import type { Block, CommitCertificate as LedgerCert, SignedTransaction } from '../ledger/types.js';

/** Hashes and encodings are cached per block object: the core asks for them repeatedly. */
const hashes = new WeakMap<Block, Hash>();
const encodings = new WeakMap<Block, Uint8Array>();
/** Each received block's transaction hashes and sizes, read from its bytes while decoding. */
const txMetas = new WeakMap<Block, TxMeta[]>();

/** The hashes and sizes of a decoded block's transactions (undefined for a block built here). */
export function blockTxMeta(block: Block): TxMeta[] | undefined {
  return txMetas.get(block);
}

/**
 * The port. `known`, when given, looks up transactions this node already decoded (its
 * mempool): a proposal's transactions are nearly all there, and are then neither decoded nor
 * hashed twice.
 */
export function createLedgerBlockPort(
  known?: (txHash: Hash) => SignedTransaction | undefined,
): BlockPort<Block> {
  return {
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
      const { block, txMeta } = decodeBlockWithMeta(bytes, known);
      encodings.set(block, bytes);
      txMetas.set(block, txMeta);
      return block;
    },
    height: (b) => b.header.height,
    peekHeight(bytes) {
      try {
        return decodeBlockHeaderOnly(bytes).height;
      } catch {
        return undefined;
      }
    },
    peekDigest(bytes) {
      try {
        return blockHash(decodeBlockHeaderOnly(bytes));
      } catch {
        return undefined;
      }
    },
    view: (b) => b.header.view,
    proposer: (b) => b.header.proposer,
    parentHash: (b) => b.header.parentHash,
    timestampMs: (b) => b.header.timestamp,
  };
}

/** The port without a transaction lookup (tests, tools, serving stored blocks). */
export const ledgerBlockPort: BlockPort<Block> = createLedgerBlockPort();

export function toLedgerCert(c: ConsensusCert): LedgerCert {
  return { round: c.round, sigs: c.sigs.map((s) => ({ validator: s.author, signature: s.signature })) };
}

export function toConsensusCert(c: LedgerCert): ConsensusCert {
  return { round: c.round, sigs: c.sigs.map((s) => ({ author: s.validator, signature: s.signature })) };
}
