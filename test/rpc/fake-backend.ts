/**
 * In-memory RpcBackend for the RPC tests: a growing chain of headers, a tx index, and hooks
 * to make any method slow, hang or fail. Records every call so tests can check what the
 * route table forwarded.
 */
import type {
  BlockHeaderJson,
  Json,
  JsonObject,
  ProposalStatus,
  RpcBackend,
  TxRecordJson,
} from '../../rpc/backend.js';

export function hashOf(n: number, salt = 0): string {
  return `0x${(n * 7919 + salt).toString(16).padStart(64, '0')}`;
}

export interface Call {
  method: string;
  args: unknown[];
}

export class FakeBackend implements RpcBackend {
  readonly blocks: BlockHeaderJson[] = [];
  readonly txs = new Map<string, TxRecordJson>();
  readonly calls: Call[] = [];
  /** Delay of each getBlockHeaders read, to interleave back-fill with live blocks. */
  headerDelayMs = 0;
  /** Per-method override: replace what a method does (hang, throw, answer something else). */
  readonly override: Partial<Record<keyof RpcBackend, (...args: never[]) => Promise<unknown>>> = {};

  constructor(initialBlocks = 0) {
    for (let i = 0; i < initialBlocks; i++) this.addBlock();
  }

  /** Appends a block (stored first; the caller publishes after, as the node must). */
  addBlock(extra: JsonObject = {}): BlockHeaderJson {
    const height = this.blocks.length;
    const header: BlockHeaderJson = {
      height,
      hash: hashOf(height),
      parentHash: height === 0 ? hashOf(0, 1) : hashOf(height - 1),
      timestamp: 1_700_000_000_000 + height,
      ...extra,
    };
    this.blocks.push(header);
    return header;
  }

  get tip(): number {
    return this.blocks.length - 1;
  }

  private async run<T>(
    method: keyof RpcBackend,
    args: unknown[],
    fallback: () => T | Promise<T>,
  ): Promise<T> {
    this.calls.push({ method, args });
    const o = this.override[method] as ((...a: unknown[]) => Promise<T>) | undefined;
    return o ? o(...args) : fallback();
  }

  getInfo(): Promise<JsonObject> {
    return this.run('getInfo', [], () => ({
      chainId: 'synod-test',
      genesisHash: hashOf(0, 1),
      height: this.tip,
      validators: 4,
      f: 1,
      quorum: 3,
    }));
  }
  getBlockByHeight(height: number, full: boolean): Promise<JsonObject | null> {
    return this.run('getBlockByHeight', [height, full], () => {
      const h = this.blocks[height];
      return h ? { header: h, txs: [], full } : null;
    });
  }
  getBlockByHash(hash: string, full: boolean): Promise<JsonObject | null> {
    return this.run('getBlockByHash', [hash, full], () => {
      const h = this.blocks.find((b) => b.hash === hash);
      return h ? { header: h, txs: [], full } : null;
    });
  }
  getBlocks(before: number | undefined, limit: number): Promise<JsonObject> {
    return this.run('getBlocks', [before, limit], () => {
      const top = Math.min(before ?? this.blocks.length, this.blocks.length) - 1;
      const blocks: BlockHeaderJson[] = [];
      for (let h = top; h >= 0 && blocks.length < limit; h--) blocks.push(this.blocks[h] as BlockHeaderJson);
      const last = blocks.at(-1);
      return { blocks, next: last && last.height > 0 ? last.height : null };
    });
  }
  getBlockHeaders(from: number, to: number): Promise<BlockHeaderJson[]> {
    return this.run('getBlockHeaders', [from, to], async () => {
      if (this.headerDelayMs > 0) await new Promise((r) => setTimeout(r, this.headerDelayMs));
      return this.blocks.slice(from, to + 1);
    });
  }
  getTx(hash: string): Promise<TxRecordJson | null> {
    return this.run('getTx', [hash], () => this.txs.get(hash) ?? null);
  }
  getAccountTxs(address: string, before: string | undefined, limit: number): Promise<JsonObject> {
    return this.run('getAccountTxs', [address, before, limit], () => ({ txs: [], next: null }));
  }
  submitTx(tx: Uint8Array): Promise<{ hash: string }> {
    return this.run('submitTx', [tx], () => ({ hash: hashOf(tx.length, 99) }));
  }
  submitTxAndWait(tx: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<JsonObject> {
    return this.run('submitTxAndWait', [tx, timeoutMs, signal], () => ({
      hash: hashOf(tx.length, 99),
      status: 'ok',
    }));
  }
  getAccount(address: string): Promise<JsonObject | null> {
    return this.run('getAccount', [address], () => ({
      address,
      balance: '1000000000000000000000',
      nonce: 0,
    }));
  }
  getData(address: string, key: string, proof: boolean): Promise<JsonObject | null> {
    return this.run('getData', [address, key, proof], () => ({ value: '0x01', proof: proof ? [] : null }));
  }
  getMembers(height: number | undefined): Promise<Json> {
    return this.run('getMembers', [height], () => []);
  }
  getValidators(height: number | undefined): Promise<Json> {
    return this.run('getValidators', [height], () => []);
  }
  getProposals(status: ProposalStatus | undefined): Promise<Json> {
    return this.run('getProposals', [status], () => []);
  }
  getProposal(id: number): Promise<JsonObject | null> {
    return this.run('getProposal', [id], () => (id === 1 ? { id, votes: [] } : null));
  }
  getStatus(): Promise<JsonObject> {
    return this.run('getStatus', [], () => ({ role: 'observer', syncing: false }));
  }
}
