/**
 * Building and validating blocks. Both run the same executor (execute.ts), so a block the
 * builder makes is exactly a block the validator accepts (a property test holds them to it).
 *
 * Validation order (the first failure is reported, as a LedgerError naming it):
 *   chainId (WRONG_CHAIN_ID) → height = parent + 1 (BAD_HEIGHT) → parentHash (BAD_PARENT_HASH)
 *   → parent.timestamp < timestamp (BAD_TIMESTAMP) ≤ now + clockSkewMsMax when `now` is given
 *   (TIMESTAMP_TOO_FAR) → validatorsHash = parent.nextValidatorsHash = hash of the parent
 *   state's set (BAD_VALIDATORS_HASH) → proposer in that set, and = expectedProposer when given
 *   (BAD_PROPOSER) → view = expectedView when given (BAD_VIEW) → tx count ≤ blockTxsMax
 *   (TOO_MANY_TXS) → each tx's stateless checks (their own codes, details.txIndex) → encoded
 *   block ≤ blockBytesMax (BLOCK_TOO_LARGE) → txRoot (BAD_TX_ROOT) → execution: duplicates
 *   and admission (their codes, details.txIndex) → receiptsRoot, stateRoot,
 *   nextValidatorsHash (BAD_RECEIPTS_ROOT, BAD_STATE_ROOT, BAD_NEXT_VALIDATORS_HASH).
 *
 * Limits come from the parent state's parameters. Which proposer and view are due at a height
 * is consensus's schedule; it passes them as `expectedProposer` / `expectedView`.
 */
import type { Address } from '../crypto/ed25519.js';
import { EncodingError, readLength, uintLength, valueEnd } from '../crypto/encoding.js';
import { bytesEqual, type Hash, sha256, toHex } from '../crypto/hash.js';
import { merkleRoot } from '../crypto/merkle.js';
import type { CheckedTx, TxMeta, VerifyFn } from './checks.js';
import { blockHash, decodeHeader, decodeSignedTx, encodeHeader, validatorsHash } from './codec.js';
import { type BlockCode, fail, LedgerError } from './errors.js';
import { atTx, type BlockExecution, BlockExecutor } from './execute.js';
import { addrHex, getValidators, type LedgerState } from './state.js';
import type { Block, BlockHeader, SignedTransaction } from './types.js';

const ZERO_HASH = new Uint8Array(32);

/**
 * Exact length of encodeBlock({header, txs}) from the header's encoded length and the txs'
 * encoded lengths: map(2) { "header": header, "txs": list(n) of txs }.
 */
export function encodedBlockLength(headerLength: number, txCount: number, txBytes: number): number {
  const mapOverhead = 1 + 1; // tag, count
  const headerKey = 1 + 'header'.length;
  const txsKey = 1 + 'txs'.length;
  return mapOverhead + headerKey + headerLength + txsKey + 1 + uintLength(txCount) + txBytes;
}

// ---- decoding with per-transaction metadata ------------------------------------------------

function malformedAt(what: string, pos: number): never {
  throw new LedgerError('MALFORMED', `malformed block: ${what} at byte ${pos}`);
}

/** Runs a decoding step; its EncodingError becomes a malformed-block LedgerError (`what` prefixes it). */
function orMalformed<T>(step: () => T, what = ''): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof EncodingError)
      throw new LedgerError('MALFORMED', `malformed block: ${what}${e.message}`);
    throw e;
  }
}

/** The canonical bytes every block starts with: a map of 2 entries whose first key is "header". */
const BLOCK_PREFIX = Uint8Array.of(0x07, 0x02, 0x06, ...new TextEncoder().encode('header'));
/** After the header: the key "txs" and the list tag. */
const TXS_PREFIX = Uint8Array.of(0x03, ...new TextEncoder().encode('txs'), 0x06);

function expectBytes(b: Uint8Array, pos: number, want: Uint8Array, what: string): number {
  for (let i = 0; i < want.length; i++) {
    if (b[pos + i] !== want[i]) malformedAt(`expected ${what}`, pos + i);
  }
  return pos + want.length;
}

/** The header of block bytes and where it ends (MALFORMED unless a canonical header starts them). */
function headerAt(bytes: Uint8Array): { header: BlockHeader; end: number } {
  const p = expectBytes(bytes, 0, BLOCK_PREFIX, 'a block map starting with its header');
  const end = orMalformed(() => valueEnd(bytes, p));
  return { header: orMalformed(() => decodeHeader(bytes.subarray(p, end))), end };
}

/**
 * The header of block bytes, decoded strictly, without reading the transactions (MALFORMED if
 * the block does not start with a canonical header). Says nothing about the rest of the bytes.
 */
export function decodeBlockHeaderOnly(bytes: Uint8Array): BlockHeader {
  return headerAt(bytes).header;
}

/**
 * Decodes block bytes strictly (MALFORMED on any non-canonical byte) and gives each
 * transaction's size and hash straight from its bytes inside the block, so validation need not
 * re-encode them. `known` may return an already decoded transaction for a hash (e.g. the
 * mempool's): a transaction whose bytes hash to a known one is those same bytes, so it is taken
 * as is instead of being decoded a second time.
 */
export function decodeBlockWithMeta(
  bytes: Uint8Array,
  known?: (txHash: Hash) => SignedTransaction | undefined,
): { block: Block; txMeta: TxMeta[] } {
  const { header, end: headerEnd } = headerAt(bytes);
  let p = expectBytes(bytes, headerEnd, TXS_PREFIX, "the field 'txs' holding a list");
  let count: number;
  [count, p] = orMalformed(() => readLength(bytes, p));
  const txs: SignedTransaction[] = [];
  const txMeta: TxMeta[] = [];
  for (let i = 0; i < count; i++) {
    const start = p;
    const end = orMalformed(() => valueEnd(bytes, start));
    const span = bytes.subarray(start, end);
    const hash = sha256(span);
    txs.push(known?.(hash) ?? orMalformed(() => decodeSignedTx(span, hash), `block.txs[${i}]: `));
    txMeta.push({ hash, size: end - start });
    p = end;
  }
  if (p !== bytes.length) malformedAt(`${bytes.length - p} trailing bytes`, p);
  return { block: { header, txs }, txMeta };
}

/** decodeBlockWithMeta then validateBlock: the path for a block received as bytes. */
export function validateBlockBytes(
  parentState: LedgerState,
  parentHeader: BlockHeader,
  bytes: Uint8Array,
  o: ValidateOptions = {},
): ExecutedBlock {
  const { block, txMeta } = decodeBlockWithMeta(bytes);
  return validateBlock(parentState, parentHeader, block, { ...o, txMeta });
}

/** A built or validated block with everything its execution produced. */
export interface ExecutedBlock extends BlockExecution {
  block: Block;
  /** blockHash(block.header). */
  hash: Hash;
}

/** A candidate with the size and hash of its canonical bytes (e.g. a mempool entry). */
export interface Candidate {
  stx: SignedTransaction;
  meta: TxMeta;
}

export interface BuildOptions {
  /** Candidates in preference order (e.g. the mempool's fair order). */
  txs: Iterable<SignedTransaction | Candidate>;
  proposer: Address;
  view: number;
  /** Milliseconds since the epoch; must be above the parent's. */
  timestamp: number;
  /** When given, must be the parent's chain id. */
  chainId?: string;
  /** Further caps below the parameters' blockTxsMax / blockBytesMax. */
  limits?: { txsMax?: number; bytesMax?: number };
  verify?: VerifyFn;
  isVerified?: (txHash: Hash, stx: SignedTransaction) => boolean;
}

export interface BuiltBlock extends ExecutedBlock {
  /**
   * Candidates that can never go into a block on this chain from this state (stateless
   * failure, stale nonce, unknown or revoked sender, duplicate, or a nonce gap left at the end),
   * with why. Candidates left out only for lack of room are not listed.
   */
  rejected: { stx: SignedTransaction; error: LedgerError }[];
}

/**
 * Builds the block at parentHeader.height + 1 from the candidates, skipping every candidate
 * that would make it invalid and stopping at the limits. A candidate whose nonce is ahead of
 * its sender's is held back and retried once the sender's earlier nonces are in.
 */
export function buildBlock(parentState: LedgerState, parentHeader: BlockHeader, o: BuildOptions): BuiltBlock {
  const height = parentHeader.height + 1;
  const ex = new BlockExecutor(parentState, height, { verify: o.verify, isVerified: o.isVerified });
  if (o.chainId !== undefined && o.chainId !== parentHeader.chainId) {
    fail('WRONG_CHAIN_ID', `building for chain '${o.chainId}' on a parent of '${parentHeader.chainId}'`);
  }
  if (ex.chainId !== parentHeader.chainId) {
    fail('WRONG_CHAIN_ID', `parent state is of chain '${ex.chainId}', header of '${parentHeader.chainId}'`);
  }
  if (!(o.timestamp > parentHeader.timestamp) || !Number.isSafeInteger(o.timestamp)) {
    fail('BAD_TIMESTAMP', `timestamp ${o.timestamp} is not above the parent's ${parentHeader.timestamp}`);
  }
  const validators = getValidators(parentState);
  if (!validators.some((v) => bytesEqual(v.address, o.proposer))) {
    fail('BAD_PROPOSER', `${toHex(o.proposer)} is not a validator at height ${height}`);
  }
  const vHash = validatorsHash(validators);
  if (!bytesEqual(vHash, parentHeader.nextValidatorsHash)) {
    // The caller passed a parent state and header that do not belong together.
    mismatch(
      'BAD_VALIDATORS_HASH',
      'parent nextValidatorsHash vs parent state',
      vHash,
      parentHeader.nextValidatorsHash,
    );
  }
  const txsMax = Math.min(ex.params.blockTxsMax, o.limits?.txsMax ?? Number.MAX_SAFE_INTEGER);
  const bytesMax = Math.min(ex.params.blockBytesMax, o.limits?.bytesMax ?? Number.MAX_SAFE_INTEGER);

  const draft: BlockHeader = {
    chainId: parentHeader.chainId,
    height,
    view: o.view,
    parentHash: blockHash(parentHeader),
    timestamp: o.timestamp,
    proposer: o.proposer,
    txRoot: ZERO_HASH,
    receiptsRoot: ZERO_HASH,
    stateRoot: ZERO_HASH,
    validatorsHash: vHash,
    nextValidatorsHash: ZERO_HASH,
  };
  // Roots are fixed-size, so the draft encodes to the final header's length.
  const headerLength = encodeHeader(draft).length;

  const txs: SignedTransaction[] = [];
  const rejected: BuiltBlock['rejected'] = [];
  /** Candidates whose nonce is ahead of their sender's, by sender. */
  const waiting = new Map<string, CheckedTx[]>();
  let txBytes = 0;

  const full = () => txs.length >= txsMax;
  /** Tries one checked candidate; true if it went in. */
  const tryAdd = (c: CheckedTx): boolean => {
    if (encodedBlockLength(headerLength, txs.length + 1, txBytes + c.size) > bytesMax) return false;
    try {
      ex.add(c);
    } catch (e) {
      if (!(e instanceof LedgerError)) throw e;
      const ahead = e.code === 'BAD_NONCE' && c.stx.tx.nonce > Number(e.details.expected);
      if (ahead) {
        const k = addrHex(c.stx.tx.from);
        const list = waiting.get(k) ?? [];
        list.push(c);
        waiting.set(k, list);
      } else {
        rejected.push({ stx: c.stx, error: e });
      }
      return false;
    }
    txs.push(c.stx);
    txBytes += c.size;
    return true;
  };
  /** After a sender's tx went in, its held-back successors may fit now. */
  const drain = (from: Uint8Array) => {
    const k = addrHex(from);
    for (;;) {
      const list = waiting.get(k);
      if (!list || full()) return;
      const next = ex.nextNonce(from);
      const i = list.findIndex((c) => c.stx.tx.nonce === next);
      if (i < 0) return;
      const [c] = list.splice(i, 1);
      if (list.length === 0) waiting.delete(k);
      if (!tryAdd(c!)) return;
    }
  };

  for (const candidate of o.txs) {
    if (full()) break;
    const stx = 'stx' in candidate ? candidate.stx : candidate;
    let c: CheckedTx;
    try {
      c = 'stx' in candidate ? ex.check(stx, candidate.meta) : ex.check(stx);
    } catch (e) {
      if (!(e instanceof LedgerError)) throw e;
      rejected.push({ stx, error: e });
      continue;
    }
    if (tryAdd(c)) drain(stx.tx.from);
  }
  for (const list of waiting.values()) {
    for (const c of list) {
      const expected = ex.nextNonce(c.stx.tx.from) ?? 0;
      if (c.stx.tx.nonce < expected) {
        rejected.push({
          stx: c.stx,
          error: new LedgerError('BAD_NONCE', `nonce ${c.stx.tx.nonce}, expected ${expected}`, {
            expected,
            got: c.stx.tx.nonce,
          }),
        });
      }
      // Still ahead: a gap the mempool may yet fill; not rejected.
    }
  }

  const r = ex.finish();
  const header: BlockHeader = {
    ...draft,
    txRoot: r.txRoot,
    receiptsRoot: r.receiptsRoot,
    stateRoot: r.stateRoot,
    nextValidatorsHash: r.nextValidatorsHash,
  };
  const block = { header, txs };
  return { ...r, block, hash: blockHash(header), rejected };
}

export interface ValidateOptions {
  /** The validator's clock (ms): a timestamp above now + clockSkewMsMax is refused. */
  now?: number;
  /** The proposer consensus expects for (height, view). */
  expectedProposer?: Address;
  /** The view consensus expects the block to have been built in. */
  expectedView?: number;
  verify?: VerifyFn;
  isVerified?: (txHash: Hash, stx: SignedTransaction) => boolean;
  /**
   * Size and hash of each tx's canonical bytes, in block order (decodeBlockWithMeta gives
   * them); saves re-encoding every transaction. Must describe block.txs.
   */
  txMeta?: readonly TxMeta[];
}

function mismatch(code: BlockCode, what: string, expected: Uint8Array, got: Uint8Array): never {
  throw new LedgerError(code, `${what}: expected ${toHex(expected)}, got ${toHex(got)}`, {
    expected: toHex(expected),
    got: toHex(got),
  });
}

/**
 * Fully validates `block` as the child of (parentState, parentHeader) by re-executing it.
 * Returns the execution (new state, receipts, diff) or throws a LedgerError naming the first
 * problem (see the module comment for the order and codes).
 */
export function validateBlock(
  parentState: LedgerState,
  parentHeader: BlockHeader,
  block: Block,
  o: ValidateOptions = {},
): ExecutedBlock {
  const h = block.header;
  const height = parentHeader.height + 1;
  if (h.chainId !== parentHeader.chainId) {
    fail('WRONG_CHAIN_ID', `block is for chain '${h.chainId}', this is '${parentHeader.chainId}'`, {
      expected: parentHeader.chainId,
      got: h.chainId,
    });
  }
  if (h.height !== height)
    fail('BAD_HEIGHT', `height ${h.height}, expected ${height}`, { expected: height, got: h.height });
  const parentHash = blockHash(parentHeader);
  if (!bytesEqual(h.parentHash, parentHash))
    mismatch('BAD_PARENT_HASH', 'parentHash', parentHash, h.parentHash);
  if (!(h.timestamp > parentHeader.timestamp)) {
    fail('BAD_TIMESTAMP', `timestamp ${h.timestamp} is not above the parent's ${parentHeader.timestamp}`);
  }
  const ex = new BlockExecutor(parentState, height, { verify: o.verify, isVerified: o.isVerified });
  if (ex.chainId !== parentHeader.chainId) {
    fail('WRONG_CHAIN_ID', `parent state is of chain '${ex.chainId}', header of '${parentHeader.chainId}'`);
  }
  if (o.now !== undefined && h.timestamp > o.now + ex.params.clockSkewMsMax) {
    fail(
      'TIMESTAMP_TOO_FAR',
      `timestamp ${h.timestamp} is more than ${ex.params.clockSkewMsMax} ms ahead of ${o.now}`,
    );
  }
  const validators = getValidators(parentState);
  const vHash = validatorsHash(validators);
  if (!bytesEqual(parentHeader.nextValidatorsHash, vHash)) {
    // The parent header and the parent state disagree: the caller passed a mismatched pair.
    mismatch(
      'BAD_VALIDATORS_HASH',
      'parent nextValidatorsHash vs parent state',
      vHash,
      parentHeader.nextValidatorsHash,
    );
  }
  if (!bytesEqual(h.validatorsHash, vHash))
    mismatch('BAD_VALIDATORS_HASH', 'validatorsHash', vHash, h.validatorsHash);
  if (!validators.some((v) => bytesEqual(v.address, h.proposer))) {
    fail('BAD_PROPOSER', `${toHex(h.proposer)} is not a validator at height ${height}`);
  }
  if (o.expectedProposer !== undefined && !bytesEqual(o.expectedProposer, h.proposer)) {
    mismatch('BAD_PROPOSER', 'proposer', o.expectedProposer, h.proposer);
  }
  if (o.expectedView !== undefined && h.view !== o.expectedView) {
    fail('BAD_VIEW', `view ${h.view}, expected ${o.expectedView}`, { expected: o.expectedView, got: h.view });
  }
  if (block.txs.length > ex.params.blockTxsMax) {
    fail('TOO_MANY_TXS', `${block.txs.length} transactions, above blockTxsMax ${ex.params.blockTxsMax}`);
  }
  const meta = o.txMeta;
  if (meta && meta.length !== block.txs.length) throw new Error('txMeta does not match block.txs');
  const checked = block.txs.map((stx, i) => atTx(i, () => ex.check(stx, meta?.[i])));
  let txBytes = 0;
  for (const c of checked) txBytes += c.size;
  const size = encodedBlockLength(encodeHeader(h).length, checked.length, txBytes);
  if (size > ex.params.blockBytesMax) {
    fail('BLOCK_TOO_LARGE', `block is ${size} bytes, above blockBytesMax ${ex.params.blockBytesMax}`);
  }
  const txRoot = merkleRoot(checked.map((c) => c.hash));
  if (!bytesEqual(h.txRoot, txRoot)) mismatch('BAD_TX_ROOT', 'txRoot', txRoot, h.txRoot);
  checked.forEach((c, i) => {
    atTx(i, () => ex.add(c));
  });
  const r = ex.finish(txRoot);
  if (!bytesEqual(h.receiptsRoot, r.receiptsRoot)) {
    mismatch('BAD_RECEIPTS_ROOT', 'receiptsRoot', r.receiptsRoot, h.receiptsRoot);
  }
  if (!bytesEqual(h.stateRoot, r.stateRoot))
    mismatch('BAD_STATE_ROOT', 'stateRoot', r.stateRoot, h.stateRoot);
  if (!bytesEqual(h.nextValidatorsHash, r.nextValidatorsHash)) {
    mismatch('BAD_NEXT_VALIDATORS_HASH', 'nextValidatorsHash', r.nextValidatorsHash, h.nextValidatorsHash);
  }
  return { ...r, block, hash: blockHash(h) };
}
