/**
 * The node's implementation of the RPC backend (rpc/backend.ts): reads from the chain (store
 * and latest state), submits to the mempool, and waits for commits.
 */
import { faultsTolerated, quorumSize } from '../consensus/quorum.js';
import { fromHex, toHex } from '../crypto/hash.js';
import { blockHash, txHash } from '../ledger/codec.js';
import {
  getAccount,
  getData,
  getProposal,
  keys,
  listMembers,
  listProposals,
  type ProposalStatus,
  proveKey,
} from '../ledger/state.js';
import { encodeStateProof } from '../ledger/state-tree.js';
import type { Receipt } from '../ledger/types.js';
import type { Json, JsonObject, RpcBackend, TxRecordJson } from '../rpc/backend.js';
import { RpcError, RpcErrorCode } from '../rpc/errors.js';
import type { Chain, CommittedBlock } from './chain.js';
import {
  accountJson,
  certJson,
  headerJson,
  memberJson,
  proposalJson,
  receiptJson,
  txJson,
  validatorJson,
} from './json.js';
import { type Mempool, MempoolError, type PoolEntry } from './mempool.js';

/** Waiters for tx_submitAndWait, bounded so a client cannot pin unbounded memory. */
const TX_WAITERS_MAX = 100_000;

export interface NodeStatusSource {
  status(): JsonObject;
}

export interface BackendDeps {
  chain: Chain;
  mempool: Mempool;
  /** Admits raw tx bytes (mempool + forwarding + pending signal); throws MempoolError. */
  submit: (bytes: Uint8Array) => PoolEntry;
  status: () => JsonObject;
}

interface Waiter {
  resolve: (r: { receipt: Receipt; height: number; index: number }) => void;
}

export class NodeRpcBackend implements RpcBackend {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private waiterCount = 0;

  constructor(private readonly d: BackendDeps) {}

  /** Resolves tx_submitAndWait callers; the node calls this for every committed block. */
  onCommitted(c: CommittedBlock): void {
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
    const store = this.d.chain.store;
    const block = await store.getBlock(height);
    if (!block) return null;
    const hash = height === this.d.chain.height ? this.d.chain.hash : undefined;
    const [cert, receipts] = await Promise.all([
      store.getCert(height),
      full ? store.getReceipts(height) : null,
    ]);
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
    const headers = await this.d.chain.store.getHeaders({
      ...(before === undefined ? {} : { before }),
      limit,
    });
    const blocks = headers.map((h) => headerJson(h, blockHash(h)));
    const last = headers[headers.length - 1];
    return { blocks, next: last && last.height > 0 && headers.length === limit ? last.height : null };
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
      const m = /^(\d+):(\d+)$/.exec(before);
      if (!m) throw new RpcError(RpcErrorCode.INVALID_PARAMS, 'before: expected a cursor "height:index"');
      cursor = { height: Number(m[1]), index: Number(m[2]) };
    }
    const refs = await this.d.chain.store.getAccountTxs(fromHex(address, 20, 'address'), {
      ...(cursor ? { before: cursor } : {}),
      limit,
    });
    const last = refs[refs.length - 1];
    return {
      txs: refs.map((r) => ({ hash: toHex(r.hash), height: r.height, index: r.index })),
      next: last && refs.length === limit ? `${last.height}:${last.index}` : null,
    };
  }

  async submitTx(tx: Uint8Array): Promise<{ hash: string }> {
    const entry = this.admit(tx);
    return { hash: entry.hashHex };
  }

  async submitTxAndWait(tx: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<JsonObject> {
    const entry = this.admit(tx);
    // It may have committed already (resubmission of a known tx is idempotent).
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
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const onAbort = () => finish('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (r: { receipt: Receipt; height: number; index: number } | 'timeout' | 'aborted') => {
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

  private admit(tx: Uint8Array): PoolEntry {
    try {
      return this.d.submit(tx);
    } catch (err) {
      if (err instanceof MempoolError) throw new RpcError(RpcErrorCode[err.code], err.message, err.data);
      throw err;
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

  private latestOnly(height: number | undefined, what: string): void {
    if (height !== undefined && height !== this.d.chain.height && height !== this.d.chain.height + 1) {
      throw new RpcError(RpcErrorCode.NOT_FOUND, `${what} is served for the latest height only`, {
        latest: this.d.chain.height,
      });
    }
  }

  async getMembers(height: number | undefined): Promise<Json> {
    this.latestOnly(height, 'the member registry');
    return { height: this.d.chain.height, members: listMembers(this.d.chain.state).map(memberJson) };
  }

  async getValidators(height: number | undefined): Promise<Json> {
    this.latestOnly(height, 'the validator set');
    const set = this.d.chain.nextValidators;
    return {
      height: this.d.chain.height + 1,
      validators: set.map(validatorJson),
      f: faultsTolerated(set.length),
      quorum: quorumSize(set.length),
    };
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
    return this.d.status();
  }
}
