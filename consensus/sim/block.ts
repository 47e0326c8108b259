/**
 * The simulator's block type and its BlockPort, plus the "execution" the simulated ledger does.
 * A block carries transaction ids; its state root is a hash chain over them, so a block is valid
 * on its parent only if it re-derives that root, every tx was really submitted (our stand-in for
 * "well-formed and signed"), no tx is already in the chain, and it names the next validator set.
 *
 * `padding` stands for the bytes a real block can carry that change no state root (long memos,
 * transactions included with failure receipts): a Byzantine proposer pads a valid block up to
 * blockBytesMax, so frames that carry it plus a certificate or a justification are at their
 * largest. It is absent from every honest block, and an absent field encodes to nothing.
 */
import { ADDRESS_LENGTH } from '../../crypto/ed25519.js';
import {
  asBytes,
  asList,
  asMap,
  asNumber,
  asString,
  decode,
  encode,
  expectKeys,
} from '../../crypto/encoding.js';
import { bytesEqual, taggedHash } from '../../crypto/hash.js';
import type { BlockPort } from '../port.js';

export interface SimBlock {
  height: number;
  view: number;
  parentHash: Uint8Array;
  timestampMs: number;
  proposer: Uint8Array;
  txs: string[];
  stateRoot: Uint8Array;
  nextValidatorsHash: Uint8Array;
  /** Bytes without meaning (see above); valid in any block within blockBytesMax. */
  padding?: Uint8Array;
}

export function encodeSimBlock(b: SimBlock): Uint8Array {
  return encode({
    height: b.height,
    view: b.view,
    parentHash: b.parentHash,
    timestampMs: b.timestampMs,
    proposer: b.proposer,
    txs: b.txs,
    stateRoot: b.stateRoot,
    nextValidatorsHash: b.nextValidatorsHash,
    padding: b.padding,
  });
}

export function decodeSimBlock(bytes: Uint8Array): SimBlock {
  const m = asMap(decode(bytes), 'block');
  expectKeys(
    m,
    ['height', 'view', 'parentHash', 'timestampMs', 'proposer', 'txs', 'stateRoot', 'nextValidatorsHash'],
    ['padding'],
    'block',
  );
  const block: SimBlock = {
    height: asNumber(m.height, 'height'),
    view: asNumber(m.view, 'view'),
    parentHash: asBytes(m.parentHash, 'parentHash', 32),
    timestampMs: asNumber(m.timestampMs, 'timestampMs'),
    proposer: asBytes(m.proposer, 'proposer', ADDRESS_LENGTH),
    txs: asList(m.txs, 'txs').map((t, i) => asString(t, `txs[${i}]`)),
    stateRoot: asBytes(m.stateRoot, 'stateRoot', 32),
    nextValidatorsHash: asBytes(m.nextValidatorsHash, 'nextValidatorsHash', 32),
  };
  if (m.padding !== undefined) block.padding = asBytes(m.padding, 'padding');
  return block;
}

export function simBlockHash(b: SimBlock): Uint8Array {
  return taggedHash('synod/sim/block', encodeSimBlock(b));
}

/** The port, with a hash cache: the core hashes the same block objects many times. */
export function simBlockPort(): BlockPort<SimBlock> {
  const hashes = new WeakMap<SimBlock, Uint8Array>();
  return {
    hash(b) {
      let h = hashes.get(b);
      if (!h) {
        h = simBlockHash(b);
        hashes.set(b, h);
      }
      return h;
    },
    encode: encodeSimBlock,
    decode: decodeSimBlock,
    height: (b) => b.height,
    // The replica reads these before it decodes a DECIDED's block (bytes before work), as the
    // ledger's port reads a header: the sim block's hash covers its whole canonical encoding.
    peekHeight(bytes) {
      try {
        return asNumber(asMap(decode(bytes), 'block').height, 'height');
      } catch {
        return undefined;
      }
    },
    peekDigest: (bytes) => taggedHash('synod/sim/block', bytes),
    view: (b) => b.view,
    proposer: (b) => b.proposer,
    parentHash: (b) => b.parentHash,
    timestampMs: (b) => b.timestampMs,
  };
}

const utf8 = new TextEncoder();

/** The state root after applying `txs` on a state with root `parentRoot`. */
export function nextStateRoot(parentRoot: Uint8Array, txs: readonly string[]): Uint8Array {
  return taggedHash('synod/sim/state', parentRoot, utf8.encode(txs.join(',')));
}

export interface ExecutionContext {
  parentRoot: Uint8Array;
  /** Every tx ever submitted by a client (the validity oracle: "well-formed and signed"). */
  submitted: ReadonlySet<string>;
  /** Txs already committed in this replica's chain. */
  committed: ReadonlySet<string>;
  nextValidatorsHash: Uint8Array;
}

export type ExecutionFailure = 'state-root' | 'unknown-tx' | 'duplicate-tx' | 'next-validators';

/** Re-execution: undefined if valid, else why not. */
export function executeSimBlock(b: SimBlock, ctx: ExecutionContext): ExecutionFailure | undefined {
  const inBlock = new Set<string>();
  for (const tx of b.txs) {
    if (!ctx.submitted.has(tx)) return 'unknown-tx';
    if (ctx.committed.has(tx) || inBlock.has(tx)) return 'duplicate-tx';
    inBlock.add(tx);
  }
  if (!bytesEqual(b.stateRoot, nextStateRoot(ctx.parentRoot, b.txs))) return 'state-root';
  if (!bytesEqual(b.nextValidatorsHash, ctx.nextValidatorsHash)) return 'next-validators';
  return undefined;
}
