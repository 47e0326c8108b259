/**
 * The node's view of the chain: the block store, the latest committed state and header, the
 * validator sets in force, and the blocks of the next height that were already executed
 * (built here or validated as a proposal), so that committing one never executes it twice.
 *
 * All ledger work goes through the pure functions of ledger/; this class adds the I/O (the
 * store) and the caching.
 */
import { bytesEqual, type Hash, toHex } from '../crypto/hash.js';
import { type ExecutedBlock, validateBlock } from '../ledger/block.js';
import type { GenesisDoc } from '../ledger/genesis-doc.js';
import type { Genesis } from '../ledger/genesis-state.js';
import { genesisState } from '../ledger/genesis-state.js';
import { getParams, getValidators, type LedgerState, StateTree, stateFromTree } from '../ledger/state.js';
import type {
  Block,
  BlockHeader,
  CommitCertificate,
  Receipt,
  SignedTransaction,
  Validator,
} from '../ledger/types.js';
import { blockTxMeta } from './block-port.js';
import { BlockStore } from './block-store.js';
import type { Logger } from './log.js';
import type { VerifyFn } from './verifier.js';

export class ChainError extends Error {
  override readonly name = 'ChainError';
}

export interface CommittedBlock {
  block: Block;
  hash: Hash;
  cert: CommitCertificate | null;
  execution: ExecutedBlock;
}

/**
 * Committed blocks kept in memory for readers of the chain's tip: clients and explorers poll
 * the newest blocks, and reading one back from the store decoded every transaction and hashed
 * it again (about 5% of a validator's CPU under a block poller at 1,600 tx/s). At most this
 * many blocks, and beyond the newest one at most RECENT_TXS_KEPT transactions in all, so big
 * blocks under overload do not hold memory.
 */
const RECENT_BLOCKS_KEPT = 8;
const RECENT_TXS_KEPT = 8_192;

/** What a reader of a recent block needs (not the execution's state and diff). */
export interface RecentBlock {
  block: Block;
  hash: Hash;
  cert: CommitCertificate | null;
  receipts: readonly Receipt[];
}

/** Executed blocks of the next height kept at once (a proposer equivocating can offer many). */
const PENDING_EXECUTIONS_MAX = 64;

export class Chain {
  private stateValue: LedgerState;
  private headerValue: BlockHeader;
  private hashValue: Hash;
  /** V(latest + 1), read from the latest state. */
  private nextSet: Validator[];
  private readonly executed = new Map<string, ExecutedBlock>();
  private readonly listeners: ((c: CommittedBlock) => void)[] = [];
  /** Newest last (insertion order). */
  private readonly recent = new Map<number, RecentBlock>();
  private recentTxs = 0;
  /**
   * Whether a transaction hash is known to carry a valid signature (the node's mempool checked
   * it at admission): such signatures are not checked again when a proposal is validated.
   */
  isVerified: (txHash: Hash, stx: SignedTransaction) => boolean = () => false;

  private constructor(
    readonly store: BlockStore,
    readonly genesis: Genesis,
    state: LedgerState,
    header: BlockHeader,
    private readonly verify: VerifyFn,
    private readonly log: Logger,
  ) {
    this.stateValue = state;
    this.headerValue = header;
    this.hashValue = store.latestHash()!;
    this.nextSet = getValidators(state);
  }

  /**
   * Opens the store in `dir`; commits block 0 from the genesis document on first start, or
   * rebuilds the state tree from the stored flat state and checks it against the latest
   * header's state root (a mismatch means the data folder is damaged: refuse to run).
   */
  static async open(dir: string, doc: GenesisDoc, verify: VerifyFn, log: Logger): Promise<Chain> {
    const genesis = genesisState(doc);
    const store = await BlockStore.open(dir);
    try {
      if (store.latestHeight() < 0) {
        await store.commitBlock({
          block: { header: genesis.header, txs: [] },
          cert: null,
          receipts: [],
          diff: [...genesis.state.tree.entries()].map(([k, v]) => [k, v] as const),
        });
        log.info(
          { genesisHash: toHex(genesis.hash), chainId: doc.chainId },
          'initialised the chain from genesis',
        );
      } else if (!bytesEqual(store.genesisHash()!, genesis.hash)) {
        throw new ChainError(
          `the data folder holds chain ${toHex(store.genesisHash()!)}, but the genesis file gives ${toHex(genesis.hash)}`,
        );
      }
      const height = store.latestHeight();
      const header = (await store.getHeader(height))!;
      const started = Date.now();
      const entries: [Uint8Array, Uint8Array][] = [];
      for await (const e of store.loadState()) entries.push(e);
      const state = stateFromTree(StateTree.fromEntries(entries));
      if (!bytesEqual(state.tree.root(), header.stateRoot)) {
        throw new ChainError(
          `the stored state does not match block ${height}'s state root: the data folder is damaged; wipe it to re-sync`,
        );
      }
      log.info({ height, keys: entries.length, ms: Date.now() - started }, 'loaded the state');
      return new Chain(store, genesis, state, header, verify, log);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  get height(): number {
    return this.headerValue.height;
  }
  get header(): BlockHeader {
    return this.headerValue;
  }
  get hash(): Hash {
    return this.hashValue;
  }
  get state(): LedgerState {
    return this.stateValue;
  }
  get chainId(): string {
    return this.headerValue.chainId;
  }
  /** V(height + 1): the set deciding the next block. */
  get nextValidators(): Validator[] {
    return this.nextSet;
  }
  get params() {
    return getParams(this.stateValue);
  }

  onCommit(listener: (c: CommittedBlock) => void): void {
    this.listeners.push(listener);
  }

  /** Remembers an execution of a next-height block (built here or validated). */
  remember(ex: ExecutedBlock): void {
    if (ex.block.header.height !== this.height + 1) return;
    if (this.executed.size >= PENDING_EXECUTIONS_MAX) {
      const oldest = this.executed.keys().next().value;
      if (oldest !== undefined) this.executed.delete(oldest);
    }
    this.executed.set(toHex(ex.hash), ex);
  }

  executedBlock(hash: Hash): ExecutedBlock | undefined {
    return this.executed.get(toHex(hash));
  }

  /** Validates a next-height block by re-execution (or returns the remembered execution). */
  execute(block: Block, now?: number): ExecutedBlock {
    const txMeta = blockTxMeta(block);
    const ex = validateBlock(this.stateValue, this.headerValue, block, {
      verify: this.verify,
      isVerified: this.isVerified,
      ...(txMeta ? { txMeta } : {}),
      ...(now === undefined ? {} : { now }),
    });
    this.remember(ex);
    return ex;
  }

  /**
   * Commits the next block with its certificate in one atomic, synced store batch, then makes
   * its state the latest. The certificate must already be verified (the consensus core does).
   */
  async commit(block: Block, hash: Hash, cert: CommitCertificate): Promise<CommittedBlock> {
    if (block.header.height !== this.height + 1) {
      throw new ChainError(`cannot commit block ${block.header.height} on top of ${this.height}`);
    }
    const execution = this.executed.get(toHex(hash)) ?? this.execute(block);
    if (!bytesEqual(execution.hash, hash)) throw new ChainError('executed block hash mismatch');
    await this.store.commitBlock({ block, cert, receipts: execution.receipts, diff: execution.diff });
    this.stateValue = execution.state;
    this.headerValue = block.header;
    this.hashValue = hash;
    this.nextSet = execution.nextValidators;
    this.executed.clear();
    const committed: CommittedBlock = { block, hash, cert, execution };
    this.keepRecent({ block, hash, cert, receipts: execution.receipts });
    for (const l of this.listeners) {
      try {
        l(committed);
      } catch (err) {
        this.log.error({ err, height: block.header.height }, 'commit listener failed');
      }
    }
    return committed;
  }

  /** One of the last few committed blocks, from memory; undefined when older (read the store). */
  recentBlock(height: number): RecentBlock | undefined {
    return this.recent.get(height);
  }

  /**
   * Block `height` with its commit certificate, for a DECIDED message: from memory for the
   * newest blocks (a late COMMIT or PREPARE for the height just decided is the usual reason to
   * serve one; the block's encoding is remembered with it), else from the store.
   */
  async decidedBlock(height: number): Promise<{ block: Block; cert: CommitCertificate } | undefined> {
    const recent = this.recent.get(height);
    if (recent?.cert) return { block: recent.block, cert: recent.cert };
    const [block, cert] = await Promise.all([this.store.getBlock(height), this.store.getCert(height)]);
    return block && cert ? { block, cert } : undefined;
  }

  private keepRecent(r: RecentBlock): void {
    this.recent.set(r.block.header.height, r);
    this.recentTxs += r.block.txs.length;
    for (const [h, old] of this.recent) {
      if (this.recent.size <= 1) break;
      if (this.recent.size <= RECENT_BLOCKS_KEPT && this.recentTxs <= RECENT_TXS_KEPT) break;
      this.recent.delete(h);
      this.recentTxs -= old.block.txs.length;
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
