/**
 * Header-chain verification for clients (SDK; `synod verify` wraps it): follows the validator
 * set from genesis through every set change, checking for each height h
 *
 *   1. the header decodes, is of this chain and height, and hashes to what the node claims;
 *   2. parentHash = hash of header h-1 (the chain is linked);
 *   3. validatorsHash = nextValidatorsHash of header h-1 = hash of the set we hold for h;
 *   4. the commit certificate is a quorum of COMMIT signatures of that set over the header
 *      (consensus/certificate.ts `verifyCommitCertificate`, docs/protocol.md §2.3 V-DECIDED);
 *
 * and it reports the first height that does not verify.
 *
 * Following the set: when header h announces a different nextValidatorsHash, the set of h+1 is
 * needed. Header h is certified by V(h), so its nextValidatorsHash is trusted, and any candidate
 * set is accepted only if it hashes to it: the source of a candidate need not be trusted. The
 * first candidate is the node's `gov_getValidators {height: h+1}`; if that is unavailable or
 * does not match, the set is derived from block h's own transactions (executed validator.add /
 * validator.remove / member.remove proposals and validator.rotate), which is how the ledger made
 * it. Neither matching is reported as `unknown-validator-set`.
 *
 * Trust root: with a genesis document, its locally computed genesis hash and set; without one,
 * block 0 and its set as the node serves them (the result says which). With `from` > 1, the
 * header before `from` and the set of `from` as served are the root instead.
 */
import { verifyCommitCertificate } from '../consensus/certificate.js';
import { ValidatorSet } from '../consensus/validators.js';
import { addressOf } from '../crypto/ed25519.js';
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js';
import { blockHash, validatorsHash } from '../ledger/codec.js';
import type { GenesisDoc } from '../ledger/genesis-doc.js';
import { genesisState } from '../ledger/genesis-state.js';
import { getValidators } from '../ledger/state.js';
import type { BlockHeader, Validator } from '../ledger/types.js';
import type { JsonObject } from './backend.js';

/** The one thing needed of a client: a JSON-RPC call (SynodClient fits). */
export interface RpcCaller {
  call(method: string, params?: JsonObject): Promise<unknown>;
}

export type ChainFailureCode =
  /** The node has no block at that height (or no certificate for it). */
  | 'missing-block'
  /** The header does not decode, has the wrong height, or does not hash to its claimed hash. */
  | 'bad-header'
  | 'wrong-chain'
  /** parentHash is not the hash of the previous header. */
  | 'bad-parent'
  /** validatorsHash is not the hash of the set the previous header announced. */
  | 'bad-validators-hash'
  /** The commit certificate is not a quorum of valid signatures of V(h) over the header. */
  | 'bad-certificate'
  /** No set hashing to the announced nextValidatorsHash could be found. */
  | 'unknown-validator-set'
  /** Block 0 is not the genesis of the given document. */
  | 'bad-genesis';

export interface SetChange {
  /** First height certified by the new set. */
  height: number;
  validators: number;
  f: number;
  quorum: number;
  validatorsHash: string;
  /** Where the set came from (it matched the certified hash either way). */
  source: 'rpc' | 'transactions';
}

export interface ChainVerification {
  ok: boolean;
  chainId: string;
  genesisHash: string;
  /** What was trusted without checking. */
  trustRoot: string;
  from: number;
  to: number;
  /** Headers that verified (from `from` on, in order). */
  verified: number;
  /** The set in force at `from`, then every change up to `to`. */
  initialSet: { validators: number; f: number; quorum: number; validatorsHash: string };
  setChanges: SetChange[];
  /** The first header that does not verify. */
  failure?: { height: number; code: ChainFailureCode; message: string };
}

export interface VerifyChainOptions {
  /** First height to verify (default 1). */
  from?: number;
  /** Last height to verify (default: the node's latest). */
  to?: number;
  /** The genesis document to trust instead of the node's block 0. */
  genesis?: GenesisDoc;
  /** Blocks fetched at once (default 16). */
  concurrency?: number;
  /** Called after each verified height (progress display). */
  onHeight?: (height: number) => void;
}

class ChainCheckFailure extends Error {
  override readonly name = 'ChainCheckFailure';
  constructor(
    readonly height: number,
    readonly code: ChainFailureCode,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, height: number, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ChainCheckFailure(height, 'bad-header', `${what}: expected an object`);
  }
  return v as Obj;
}

function hexField(
  v: unknown,
  length: number,
  what: string,
  height: number,
  code: ChainFailureCode,
): Uint8Array {
  try {
    if (typeof v !== 'string') throw new Error(`${what}: expected a hex string`);
    return fromHex(v, length, what);
  } catch (err) {
    throw new ChainCheckFailure(height, code, (err as Error).message);
  }
}

function intField(v: unknown, what: string, height: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw new ChainCheckFailure(height, 'bad-header', `${what}: expected a non-negative integer`);
  }
  return v as number;
}

/** The ledger header behind a header JSON, and the hash the node claims for it. */
function parseHeader(v: unknown, height: number): { header: BlockHeader; claimed?: string } {
  const h = obj(v, height, 'header');
  if (typeof h.chainId !== 'string')
    throw new ChainCheckFailure(height, 'bad-header', 'header.chainId: expected a string');
  const hex = (k: string, n: number) => hexField(h[k], n, `header.${k}`, height, 'bad-header');
  const header: BlockHeader = {
    chainId: h.chainId,
    height: intField(h.height, 'header.height', height),
    view: intField(h.view, 'header.view', height),
    parentHash: hex('parentHash', 32),
    timestamp: intField(h.timestamp, 'header.timestamp', height),
    proposer: hex('proposer', 20),
    txRoot: hex('txRoot', 32),
    receiptsRoot: hex('receiptsRoot', 32),
    stateRoot: hex('stateRoot', 32),
    validatorsHash: hex('validatorsHash', 32),
    nextValidatorsHash: hex('nextValidatorsHash', 32),
  };
  return typeof h.hash === 'string' ? { header, claimed: h.hash.toLowerCase() } : { header };
}

function parseCert(
  v: unknown,
  height: number,
): { round: number; sigs: { author: Uint8Array; signature: Uint8Array }[] } {
  if (v === null || v === undefined)
    throw new ChainCheckFailure(height, 'missing-block', `no certificate for height ${height}`);
  const c = obj(v, height, 'cert');
  const list = c.signatures;
  if (!Array.isArray(list))
    throw new ChainCheckFailure(height, 'bad-certificate', 'cert.signatures: expected a list');
  if (!Number.isSafeInteger(c.round) || (c.round as number) < 0) {
    throw new ChainCheckFailure(height, 'bad-certificate', 'cert.round: expected a non-negative integer');
  }
  return {
    round: c.round as number,
    sigs: list.map((s, i) => {
      const e = obj(s, height, `cert.signatures[${i}]`);
      return {
        author: hexField(e.validator, 20, `cert.signatures[${i}].validator`, height, 'bad-certificate'),
        signature: hexField(e.signature, 64, `cert.signatures[${i}].signature`, height, 'bad-certificate'),
      };
    }),
  };
}

/** Validators from gov_getValidators JSON ({address, publicKey, member, p2p}). */
function parseValidators(v: unknown, height: number): Validator[] {
  const r = obj(v, height, 'validators result');
  if (!Array.isArray(r.validators))
    throw new ChainCheckFailure(height, 'unknown-validator-set', 'no validator list');
  return r.validators.map((x, i) => {
    const e = obj(x, height, `validators[${i}]`);
    const publicKey = hexField(
      e.publicKey,
      32,
      `validators[${i}].publicKey`,
      height,
      'unknown-validator-set',
    );
    if (typeof e.member !== 'string') {
      throw new ChainCheckFailure(
        height,
        'unknown-validator-set',
        `validators[${i}].member: expected a string`,
      );
    }
    return { address: addressOf(publicKey), publicKey, memberId: e.member, p2p: [] };
  });
}

function sizes(set: readonly Validator[]) {
  const vs = ValidatorSet.fromPublicKeys(set.map((v) => v.publicKey));
  return { validators: vs.size, f: vs.f, quorum: vs.quorum, validatorsHash: toHex(validatorsHash(set)) };
}

/** Applies the set-changing effects of one block's committed transactions (JSON) to `set`. */
async function deriveNextSet(rpc: RpcCaller, height: number, set: Validator[]): Promise<Validator[]> {
  const block = obj(await rpc.call('chain_getBlock', { height, full: true }), height, 'block');
  if (!Array.isArray(block.txs)) return set;
  let next = [...set];
  const remove = (address: Uint8Array) => {
    next = next.filter((v) => !bytesEqual(v.address, address));
  };
  const apply = (a: Obj) => {
    if (a.type === 'validator.add' && typeof a.memberId === 'string') {
      const publicKey = fromHex(String(a.publicKey), 32, 'action.publicKey');
      next.push({ address: addressOf(publicKey), publicKey, memberId: a.memberId, p2p: [] });
    } else if (a.type === 'validator.remove') {
      remove(fromHex(String(a.address), 20, 'action.address'));
    } else if (a.type === 'member.remove') {
      next = next.filter((v) => v.memberId !== a.memberId);
    }
  };
  for (const raw of block.txs) {
    if (typeof raw !== 'object' || raw === null) continue;
    const tx = raw as Obj;
    const receipt = (tx.receipt ?? undefined) as Obj | undefined;
    if (receipt?.ok !== true) continue;
    const body = (tx.body ?? {}) as Obj;
    if (tx.kind === 'validator.rotate') {
      const current = fromHex(String(body.address), 20, 'body.address');
      const old = next.find((v) => bytesEqual(v.address, current));
      if (!old) continue;
      const publicKey = fromHex(String(body.newPublicKey), 32, 'body.newPublicKey');
      remove(current);
      next.push({ address: addressOf(publicKey), publicKey, memberId: old.memberId, p2p: [] });
      continue;
    }
    const result = (receipt.result ?? {}) as Obj;
    if (result.status !== 'executed') continue;
    if (tx.kind === 'gov.propose' && typeof body.action === 'object' && body.action !== null) {
      apply(body.action as Obj);
    } else if (tx.kind === 'gov.vote' || tx.kind === 'gov.propose') {
      const p = (await rpc.call('gov_getProposal', { id: Number(result.proposalId) })) as Obj | null;
      if (p && typeof p.action === 'object' && p.action !== null) apply(p.action as Obj);
    }
  }
  return next;
}

/**
 * V(height) given its certified hash: the node's answer if it matches, else the set derived
 * from block height-1's transactions applied to `previous` (V(height-1)).
 */
async function resolveSet(
  rpc: RpcCaller,
  height: number,
  expected: Uint8Array,
  previous: Validator[] | undefined,
): Promise<{ set: Validator[]; source: 'rpc' | 'transactions' }> {
  let why = '';
  try {
    const set = parseValidators(await rpc.call('gov_getValidators', { height }), height);
    if (bytesEqual(validatorsHash(set), expected)) return { set, source: 'rpc' };
    why = 'the node served a set that does not hash to the certified one';
  } catch (err) {
    why = `the node did not serve it (${(err as Error).message})`;
  }
  if (previous) {
    try {
      const set = await deriveNextSet(rpc, height - 1, previous);
      if (set.length > 0 && bytesEqual(validatorsHash(set), expected)) return { set, source: 'transactions' };
      why += '; the transactions of the block before do not produce it either';
    } catch (err) {
      why += `; deriving it from block ${height - 1} failed (${(err as Error).message})`;
    }
  }
  throw new ChainCheckFailure(
    height,
    'unknown-validator-set',
    `no validator set of height ${height} hashes to ${toHex(expected)}: ${why}`,
  );
}

async function fetchBlock(rpc: RpcCaller, height: number): Promise<Obj> {
  const b = await rpc.call('chain_getBlock', { height });
  if (b === null || b === undefined)
    throw new ChainCheckFailure(height, 'missing-block', `the node has no block ${height}`);
  return obj(b, height, 'block');
}

/**
 * Verifies the header chain served by `rpc` from `from` to `to` (see the module comment). Never
 * throws for what the node serves: a header that does not verify is the result's `failure`.
 * Throws only when the node cannot be reached at the start (chain_getInfo).
 */
export async function verifyChain(rpc: RpcCaller, opts: VerifyChainOptions = {}): Promise<ChainVerification> {
  const info = obj(await rpc.call('chain_getInfo'), 0, 'chain_getInfo');
  const tip = Number(info.height);
  const from = Math.max(1, opts.from ?? 1);
  const to = opts.to ?? tip;
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const out: ChainVerification = {
    ok: false,
    chainId: String(info.chainId),
    genesisHash: String(info.genesisHash),
    trustRoot: '',
    from,
    to,
    verified: 0,
    initialSet: { validators: 0, f: 0, quorum: 0, validatorsHash: '' },
    setChanges: [],
  };
  try {
    // The root: the header before `from` and V(from).
    let prev: BlockHeader;
    let prevHash: Uint8Array;
    let set: Validator[];
    const g = await fetchBlock(rpc, 0);
    const genesis = parseHeader(g.header, 0).header;
    const genesisHash = blockHash(genesis);
    out.chainId = genesis.chainId;
    out.genesisHash = toHex(genesisHash);
    if (opts.genesis) {
      const local = genesisState(opts.genesis);
      if (!bytesEqual(local.hash, genesisHash)) {
        throw new ChainCheckFailure(
          0,
          'bad-genesis',
          `block 0 hashes to ${toHex(genesisHash)}, the genesis document gives ${toHex(local.hash)}`,
        );
      }
      set = getValidators(local.state);
      out.trustRoot = 'the genesis document';
    } else {
      set = (await resolveSet(rpc, 0, genesis.validatorsHash, undefined)).set;
      out.trustRoot = 'block 0 and its validator set as served by the node';
    }
    prev = genesis;
    prevHash = genesisHash;
    if (from > 1) {
      const before = await fetchBlock(rpc, from - 1);
      prev = parseHeader(before.header, from - 1).header;
      prevHash = blockHash(prev);
      set = (await resolveSet(rpc, from, prev.nextValidatorsHash, undefined)).set;
      out.trustRoot = `header ${from - 1} and the validator set of height ${from} as served by the node`;
    }
    out.initialSet = sizes(set);
    let vs = ValidatorSet.fromPublicKeys(set.map((v) => v.publicKey));

    for (let start = from; start <= to; start += concurrency) {
      const end = Math.min(to, start + concurrency - 1);
      const heights = Array.from({ length: end - start + 1 }, (_, i) => start + i);
      // Fetched together, checked in order; a failure at h hides nothing before h.
      const blocks = await Promise.all(heights.map((h) => fetchBlock(rpc, h).catch((e: unknown) => e)));
      for (let i = 0; i < heights.length; i++) {
        const h = heights[i]!;
        const b = blocks[i];
        if (b instanceof Error) throw b;
        const block = b as Obj;
        const { header, claimed } = parseHeader(block.header, h);
        const hash = blockHash(header);
        if (header.height !== h)
          throw new ChainCheckFailure(h, 'bad-header', `asked for height ${h}, got ${header.height}`);
        if (claimed !== undefined && claimed !== toHex(hash)) {
          throw new ChainCheckFailure(
            h,
            'bad-header',
            `header hashes to ${toHex(hash)}, the node claims ${claimed}`,
          );
        }
        if (header.chainId !== out.chainId) {
          throw new ChainCheckFailure(
            h,
            'wrong-chain',
            `header of chain '${header.chainId}', expected '${out.chainId}'`,
          );
        }
        if (!bytesEqual(header.parentHash, prevHash)) {
          throw new ChainCheckFailure(
            h,
            'bad-parent',
            `parentHash ${toHex(header.parentHash)} is not the hash of header ${h - 1} (${toHex(prevHash)})`,
          );
        }
        if (!bytesEqual(header.validatorsHash, prev.nextValidatorsHash)) {
          throw new ChainCheckFailure(
            h,
            'bad-validators-hash',
            `validatorsHash ${toHex(header.validatorsHash)} is not the nextValidatorsHash of header ${h - 1} (${toHex(prev.nextValidatorsHash)})`,
          );
        }
        if (!bytesEqual(header.validatorsHash, validatorsHash(set))) {
          throw new ChainCheckFailure(
            h,
            'bad-validators-hash',
            `validatorsHash is not the hash of the set followed so far`,
          );
        }
        const cert = parseCert(block.cert, h);
        try {
          verifyCommitCertificate(header.chainId, h, hash, cert, vs);
        } catch (err) {
          throw new ChainCheckFailure(h, 'bad-certificate', (err as Error).message);
        }
        out.verified++;
        opts.onHeight?.(h);
        if (h < to && !bytesEqual(header.nextValidatorsHash, header.validatorsHash)) {
          const next = await resolveSet(rpc, h + 1, header.nextValidatorsHash, set);
          set = next.set;
          vs = ValidatorSet.fromPublicKeys(set.map((v) => v.publicKey));
          out.setChanges.push({ height: h + 1, ...sizes(set), source: next.source });
        }
        prev = header;
        prevHash = hash;
      }
    }
    out.ok = true;
  } catch (err) {
    if (!(err instanceof ChainCheckFailure)) throw err;
    out.failure = { height: err.height, code: err.code, message: err.message };
  }
  return out;
}
