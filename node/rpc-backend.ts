/**
 * The node's implementation of the RPC backend (rpc/backend.ts): reads from the chain (store
 * and latest state), submits to the mempool, and waits for commits.
 */
import { faultsTolerated, quorumSize } from '../consensus/quorum.js';
import { addressOf } from '../crypto/ed25519.js';
import { bytesEqual, fromHex, sha256, toHex } from '../crypto/hash.js';
import { blockHash, txHash, validatorsHash } from '../ledger/codec.js';
import {
  getAccount,
  getData,
  getProposal,
  getValidators,
  keys,
  type LedgerState,
  listMembers,
  listProposals,
  type Member,
  nextProposalId,
  openProposalIds,
  type Proposal,
  type ProposalStatus,
  proveKey,
} from '../ledger/state.js';
import { encodeStateProof } from '../ledger/state-tree.js';
import type { GovAction, Receipt, Validator } from '../ledger/types.js';
import type { Json, JsonObject, RpcBackend, TxRecordJson } from '../rpc/backend.js';
import { RpcError, RpcErrorCode } from '../rpc/errors.js';
import { NODE_BOUNDS } from './bounds.js';
import type { Chain, CommittedBlock } from './chain.js';
import {
  accountJson,
  certJson,
  governanceEventJson,
  headerJson,
  memberJson,
  proposalJson,
  receiptJson,
  txJson,
  validatorJson,
} from './json.js';
import { type Mempool, MempoolError, type PoolEntry } from './mempool.js';

/** Waiters for tx_submitAndWait, in all and per client (node/bounds.ts says why). */
const TX_WAITERS_MAX = NODE_BOUNDS.txWaitersMax;
export const TX_WAITERS_PER_CLIENT_MAX = NODE_BOUNDS.txWaitersPerClientMax;
/** Distinct validator sets remembered by hash (a set changes only by governance: few). */
const KNOWN_SETS_MAX = 4_096;
/** Proposals read when replaying governance history (historic validator sets and registries). */
const HISTORY_SCAN_MAX = 1_000_000;
/** Largest u32, the store's tx index bound. */
const U32_MAX = 0xffff_ffff;

/** A governance action that changed the registry or the validator set, and the block it did so in. */
interface ExecutedAction {
  height: number;
  id: number;
  action: GovAction;
}

export interface NodeStatusSource {
  status(): JsonObject;
}

export interface BackendDeps {
  chain: Chain;
  mempool: Mempool;
  /** Admits raw tx bytes (mempool + forwarding + pending signal); throws MempoolError. */
  submit: (bytes: Uint8Array) => PoolEntry;
  status: () => JsonObject;
  /** Default TX_WAITERS_PER_CLIENT_MAX (tests lower it). */
  waitersPerClientMax?: number;
}

interface Waiter {
  resolve: (r: { receipt: Receipt; height: number; index: number }) => void;
}

export class NodeRpcBackend implements RpcBackend {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private waiterCount = 0;
  /** tx_submitAndWait calls waiting, per client (remote address); entries leave at zero. */
  private readonly waitersByClient = new Map<string, number>();
  /** Validator sets by their hash (0x-hex), to serve V(h) for past heights by header lookup. */
  private readonly knownSets = new Map<string, Validator[]>();
  /** Executed governance actions, and the proposal ids (next id, open ones) they were read at. */
  private history: { key: string; actions: ExecutedAction[] } | undefined;
  /** Open proposal ids after the block governanceEvents last saw. */
  private govOpen: { height: number; ids: number[] };

  constructor(private readonly d: BackendDeps) {
    this.rememberSet(getValidators(d.chain.genesis.state));
    this.rememberSet(d.chain.nextValidators);
    this.govOpen = { height: d.chain.height, ids: openProposalIds(d.chain.state) };
  }

  /** Resolves tx_submitAndWait callers; the node calls this for every committed block. */
  onCommitted(c: CommittedBlock): void {
    this.rememberSet(c.execution.nextValidators);
    if (this.waiterCount === 0) return;
    c.execution.txHashes.forEach((h, index) => {
      const key = toHex(h);
      const set = this.waiters.get(key);
      if (!set) return;
      this.waiters.delete(key);
      this.waiterCount -= set.size;
      for (const w of set)
        w.resolve({ receipt: c.execution.receipts[index]!, height: c.block.header.height, index });
    });
  }

  async getInfo(): Promise<JsonObject> {
    const { chain } = this.d;
    const n = chain.nextValidators.length;
    return {
      chainId: chain.chainId,
      genesisHash: toHex(chain.genesis.hash),
      height: chain.height,
      latestHash: toHex(chain.hash),
      latestTime: new Date(chain.header.timestamp).toISOString(),
      latestTimestamp: chain.header.timestamp,
      validators: n,
      f: faultsTolerated(n),
      quorum: quorumSize(n),
    };
  }

  async getBlockByHeight(height: number, full: boolean): Promise<JsonObject | null> {
    const chain = this.d.chain;
    const store = chain.store;
    // The newest blocks (what pollers ask for) come from memory, hashes already known.
    const recent = chain.recentBlock(height);
    const block = recent?.block ?? (await store.getBlock(height));
    if (!block) return null;
    const hash = recent?.hash ?? (height === chain.height ? chain.hash : undefined);
    const [cert, receipts] = recent
      ? [recent.cert, full ? recent.receipts : null]
      : await Promise.all([store.getCert(height), full ? store.getReceipts(height) : null]);
    const header = headerJson(block.header, hash ?? blockHash(block.header));
    const hashes = block.txs.map((t) => txHash(t));
    return {
      header,
      txCount: block.txs.length,
      txs: full
        ? block.txs.map((t, i) => ({
            ...txJson(t, hashes[i]!),
            receipt: receipts?.[i] ? receiptJson(receipts[i]) : null,
          }))
        : hashes.map(toHex),
      cert: certJson(cert),
    };
  }

  async getBlockByHash(hash: string, full: boolean): Promise<JsonObject | null> {
    const height = await this.d.chain.store.getHeightByHash(fromHex(hash, 32, 'hash'));
    return height === null ? null : this.getBlockByHeight(height, full);
  }

  async getBlocks(before: number | undefined, limit: number): Promise<JsonObject> {
    // One more than asked says whether an older page exists, so `next` is never a dead end.
    const headers = await this.d.chain.store.getHeaders({
      ...(before === undefined ? {} : { before }),
      limit: limit + 1,
    });
    const page = headers.slice(0, limit);
    const blocks = page.map((h) => headerJson(h, blockHash(h)));
    const last = page[page.length - 1];
    return { blocks, next: last && headers.length > limit ? last.height : null };
  }

  async getBlockHeaders(from: number, to: number) {
    const out: ReturnType<typeof headerJson>[] = [];
    for (let h = from; h <= to; h++) {
      const header = await this.d.chain.store.getHeader(h);
      if (!header) break;
      out.push(headerJson(header, blockHash(header)));
    }
    return out;
  }

  async getTx(hash: string): Promise<TxRecordJson | null> {
    const stored = await this.d.chain.store.getTx(fromHex(hash, 32, 'hash'));
    if (!stored) return null;
    return {
      ...txJson(stored.tx, fromHex(hash)),
      hash,
      height: stored.height,
      index: stored.index,
      receipt: receiptJson(stored.receipt),
    };
  }

  async getAccountTxs(address: string, before: string | undefined, limit: number): Promise<JsonObject> {
    let cursor: { height: number; index: number } | undefined;
    if (before !== undefined) {
      const m = /^(\d{1,16}):(\d{1,10})$/.exec(before);
      const height = Number(m?.[1]);
      const index = Number(m?.[2]);
      // Checked here: the store would refuse these as a bug (internal error), not as bad params.
      if (!m || !Number.isSafeInteger(height) || index > U32_MAX) {
        throw RpcError.invalidParams([
          { field: 'before', message: 'expected a cursor "height:index" from an earlier page' },
        ]);
      }
      cursor = { height, index };
    }
    const refs = await this.d.chain.store.getAccountTxs(fromHex(address, 20, 'address'), {
      ...(cursor ? { before: cursor } : {}),
      limit: limit + 1,
    });
    const page = refs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      txs: page.map((r) => ({ hash: toHex(r.hash), height: r.height, index: r.index })),
      next: last && refs.length > limit ? `${last.height}:${last.index}` : null,
    };
  }

  async submitTx(tx: Uint8Array): Promise<{ hash: string }> {
    const r = await this.admitOrKnown(tx);
    if (r.known) {
      throw new RpcError(RpcErrorCode.ALREADY_KNOWN, `transaction ${r.known.hash} is already committed`, {
        hash: r.known.hash,
        height: r.known.height,
      });
    }
    return { hash: r.entry.hashHex };
  }

  async submitTxAndWait(
    tx: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
    client = '',
  ): Promise<JsonObject> {
    // Refused before admission, so a refused call leaves nothing behind: the client may send
    // the same bytes with tx_submit, or wait for one of its calls to end.
    const perClientMax = this.d.waitersPerClientMax ?? TX_WAITERS_PER_CLIENT_MAX;
    const mine = this.waitersByClient.get(client) ?? 0;
    if (mine >= perClientMax) {
      throw new RpcError(
        RpcErrorCode.TOO_MANY_WAITERS,
        `this client already waits in ${mine} tx_submitAndWait calls (at most ${perClientMax}); use tx_submit and chain_getTx, or wait for one to end`,
        { limit: mine, max: perClientMax },
      );
    }
    const r = await this.admitOrKnown(tx);
    // Resubmitting a committed tx (a client retrying after a lost answer) answers its record.
    if (r.known) return r.known;
    const entry = r.entry;
    // It may have committed between admission and now.
    const known = await this.getTx(entry.hashHex);
    if (known) return known;
    if (this.waiterCount >= TX_WAITERS_MAX) {
      throw new RpcError(
        RpcErrorCode.RATE_LIMITED,
        'too many clients are waiting for transactions; poll chain_getTx',
        {
          hash: entry.hashHex,
        },
      );
    }
    const result = await new Promise<
      { receipt: Receipt; height: number; index: number } | 'timeout' | 'aborted'
    >((resolve) => {
      const waiter: Waiter = { resolve: (r) => finish(r) };
      let set = this.waiters.get(entry.hashHex);
      if (!set) {
        set = new Set();
        this.waiters.set(entry.hashHex, set);
      }
      set.add(waiter);
      this.waiterCount++;
      this.waitersByClient.set(client, (this.waitersByClient.get(client) ?? 0) + 1);
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const onAbort = () => finish('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      let finished = false;
      const finish = (r: { receipt: Receipt; height: number; index: number } | 'timeout' | 'aborted') => {
        if (finished) return;
        finished = true;
        const left = (this.waitersByClient.get(client) ?? 1) - 1;
        if (left > 0) this.waitersByClient.set(client, left);
        else this.waitersByClient.delete(client);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const s = this.waiters.get(entry.hashHex);
        if (s?.delete(waiter)) {
          this.waiterCount--;
          if (s.size === 0) this.waiters.delete(entry.hashHex);
        }
        resolve(r);
      };
    });
    if (result === 'timeout' || result === 'aborted') {
      throw new RpcError(RpcErrorCode.TIMEOUT, `not committed within ${timeoutMs} ms; it may still commit`, {
        hash: entry.hashHex,
        timeoutMs,
      });
    }
    return {
      ...txJson(entry.tx, entry.hash),
      height: result.height,
      index: result.index,
      receipt: receiptJson(result.receipt),
    };
  }

  /**
   * Admits `tx`, or finds it committed: the mempool refuses a committed tx as BAD_NONCE (its
   * nonce is used), which would mislead a client that retries the very same bytes.
   */
  private async admitOrKnown(
    tx: Uint8Array,
  ): Promise<{ entry: PoolEntry; known?: undefined } | { known: TxRecordJson }> {
    try {
      return { entry: this.d.submit(tx) };
    } catch (err) {
      if (!(err instanceof MempoolError)) throw err;
      if (err.code === 'BAD_NONCE') {
        // The tx hash is the SHA-256 of its canonical bytes; admission already decoded them.
        const known = await this.getTx(toHex(sha256(tx)));
        if (known) return { known };
      }
      throw new RpcError(RpcErrorCode[err.code], err.message, err.data);
    }
  }

  async getAccount(address: string): Promise<JsonObject | null> {
    const a = getAccount(this.d.chain.state, fromHex(address, 20, 'address'));
    return a ? accountJson(a) : null;
  }

  async getData(address: string, key: string, proof: boolean): Promise<JsonObject | null> {
    const { chain } = this.d;
    // Read value, proof and header from one state: the latest committed one.
    const state = chain.state;
    const header = chain.header;
    const owner = fromHex(address, 20, 'address');
    const value = getData(state, owner, key);
    const out: JsonObject = {
      address,
      key,
      value: value === undefined ? null : toHex(value),
      height: header.height,
      stateRoot: toHex(header.stateRoot),
    };
    if (proof) {
      out.stateKey = keys.data(owner, key);
      out.proof = toHex(encodeStateProof(proveKey(state, keys.data(owner, key))));
      out.header = headerJson(header, chain.hash);
      out.cert = certJson(await chain.store.getCert(header.height));
    }
    return out;
  }

  /**
   * gov_getMembers: the registry after block `height` (latest when undefined); null beyond the
   * tip. Past registries are rebuilt from the latest one and the executed member.add/remove
   * proposals (a member id is never reused, so each is added at most once and removed at most
   * once).
   */
  async getMembers(height: number | undefined): Promise<Json> {
    const { chain } = this.d;
    const members = listMembers(chain.state);
    if (height === undefined || height === chain.height) {
      return { height: chain.height, members: members.map(memberJson) };
    }
    if (height > chain.height) return null;
    const genesisIds = new Set(listMembers(chain.genesis.state).map((m) => m.id));
    const added = new Map<string, number>();
    const removed = new Map<string, number>();
    for (const { height: h, action } of this.executedActions()) {
      if (action.type === 'member.add' && !added.has(action.memberId)) added.set(action.memberId, h);
      if (action.type === 'member.remove' && !removed.has(action.memberId)) removed.set(action.memberId, h);
    }
    const out: Member[] = [];
    for (const m of members) {
      const since = genesisIds.has(m.id) ? 0 : added.get(m.id);
      if (since === undefined || since > height) continue;
      const gone = removed.get(m.id);
      out.push({ ...m, status: gone !== undefined && gone <= height ? 'removed' : 'active' });
    }
    return { height, members: out.map(memberJson) };
  }

  /**
   * gov_getValidators: V(height), the set that certifies block `height`; by default the next
   * block's set, V(latest + 1). Null beyond latest + 1. A past set is found by the hash its
   * header carries, among the sets this node has seen and those replayed from governance
   * history; served only when that hash matches, so the answer is right or UNAVAILABLE.
   */
  async getValidators(height: number | undefined): Promise<Json> {
    const { chain } = this.d;
    const next = chain.height + 1;
    if (height === undefined || height === next) return validatorsResult(next, chain.nextValidators);
    if (height > next) return null;
    const header = height === chain.height ? chain.header : await chain.store.getHeader(height);
    if (!header) return null;
    const key = toHex(header.validatorsHash);
    let set = this.knownSets.get(key);
    if (!set) {
      this.replayValidatorSets();
      set = this.knownSets.get(key);
    }
    if (!set) {
      throw new RpcError(
        RpcErrorCode.UNAVAILABLE,
        `the validator set of height ${height} is not known to this node`,
        {
          reason: "validator set not in this node's history",
          height,
          validatorsHash: key,
        },
      );
    }
    return validatorsResult(height, set);
  }

  private rememberSet(set: Validator[]): void {
    const key = toHex(validatorsHash(set));
    if (this.knownSets.has(key)) return;
    if (this.knownSets.size >= KNOWN_SETS_MAX) {
      const oldest = this.knownSets.keys().next().value;
      if (oldest !== undefined) this.knownSets.delete(oldest);
    }
    this.knownSets.set(
      key,
      [...set].sort((a, b) => Buffer.compare(a.address, b.address)),
    );
  }

  /**
   * Rebuilds every validator set since genesis by applying the executed validator.add,
   * validator.remove and member.remove actions in order (as ledger/governance.ts does), and
   * remembers each by its hash. A set replayed wrong is harmless: it is looked up by the hash
   * the header carries, so it can only fail to match.
   */
  private replayValidatorSets(): void {
    let set = getValidators(this.d.chain.genesis.state);
    this.rememberSet(set);
    for (const { action } of this.executedActions()) {
      if (action.type === 'validator.add') {
        set = [
          ...set,
          {
            address: addressOf(action.publicKey),
            publicKey: action.publicKey,
            memberId: action.memberId,
            p2p: action.p2p,
          },
        ];
      } else if (action.type === 'validator.remove') {
        set = set.filter((v) => !bytesEqual(v.address, action.address));
      } else if (action.type === 'member.remove') {
        set = set.filter((v) => v.memberId !== action.memberId);
      } else continue;
      if (set.length > 0) this.rememberSet(set);
    }
  }

  /**
   * Executed registry and validator actions, oldest first. Cached until a proposal is created
   * or closed (the next id or the open ids change), not per height: most blocks change neither.
   */
  private executedActions(): ExecutedAction[] {
    const { chain } = this.d;
    const key = `${nextProposalId(chain.state)}/${openProposalIds(chain.state).join(',')}`;
    if (this.history?.key === key) return this.history.actions;
    const actions = listProposals(chain.state, {
      status: 'executed',
      limit: HISTORY_SCAN_MAX,
      scanMax: HISTORY_SCAN_MAX,
    })
      .filter((p) => p.action.type !== 'param.set' && p.closedHeight !== undefined)
      .map((p) => ({ height: p.closedHeight as number, id: p.id, action: p.action }))
      .sort((a, b) => a.height - b.height || a.id - b.id);
    this.history = { key, actions };
    return actions;
  }

  /**
   * The governance events of a committed block, for the `governance` topic, in order: proposals
   * that expired at its start, then per transaction the proposal it created or the vote it
   * cast, each followed by the proposal's closing (executed, failed, rejected) if that tx
   * closed it. Call once per committed block, in height order (after onCommitted).
   */
  governanceEvents(c: CommittedBlock): JsonObject[] {
    const height = c.block.header.height;
    const state: LedgerState = c.execution.state;
    const openBefore = this.govOpen.height === height - 1 ? this.govOpen.ids : [];
    this.govOpen = { height, ids: openProposalIds(state) };
    const events: JsonObject[] = [];
    const closed = new Set<number>();
    const closing = (p: Proposal | undefined) => {
      if (!p || closed.has(p.id) || p.status === 'open' || p.closedHeight !== height) return;
      closed.add(p.id);
      events.push(governanceEventJson(`proposal.${p.status}`, height, p));
    };
    for (const id of openBefore) {
      const p = getProposal(state, id);
      if (p?.status === 'expired') closing(p);
    }
    c.block.txs.forEach((stx, i) => {
      const receipt = c.execution.receipts[i];
      const tx = stx.tx;
      if (!receipt?.ok || (tx.kind !== 'gov.propose' && tx.kind !== 'gov.vote')) return;
      const id = Number(
        receipt.result?.proposalId ?? (tx.kind === 'gov.vote' ? tx.body.proposalId : Number.NaN),
      );
      const p = getProposal(state, id);
      if (!p) return;
      const txHashHex = toHex(c.execution.txHashes[i]!);
      if (tx.kind === 'gov.propose') {
        events.push({ ...governanceEventJson('proposal.created', height, p), txHash: txHashHex });
      } else {
        events.push({
          type: 'vote.cast',
          height,
          proposalId: id,
          member: getAccount(state, tx.from)?.memberId ?? null,
          voter: toHex(tx.from),
          approve: tx.body.approve,
          txHash: txHashHex,
        });
      }
      // The receipt says what this tx left the proposal as; the closing goes right after it.
      const after = receipt.result?.status;
      if (after !== undefined && after !== 'open') closing(p);
    });
    return events;
  }

  async getProposals(status: string | undefined): Promise<Json> {
    const list = listProposals(this.d.chain.state, {
      ...(status === undefined ? {} : { status: status as ProposalStatus }),
      limit: 100,
    });
    return list.map(proposalJson);
  }

  async getProposal(id: number): Promise<JsonObject | null> {
    const p = getProposal(this.d.chain.state, id);
    return p ? proposalJson(p) : null;
  }

  async getStatus(): Promise<JsonObject> {
    const status = this.d.status();
    // docs/architecture.md names the consensus round "view"; the node reports it as `round`.
    return status.view === undefined && status.round !== undefined
      ? { ...status, view: status.round }
      : status;
  }
}

function validatorsResult(height: number, set: Validator[]): JsonObject {
  return {
    height,
    validators: set.map(validatorJson),
    f: faultsTolerated(set.length),
    quorum: quorumSize(set.length),
    validatorsHash: toHex(validatorsHash(set)),
  };
}
