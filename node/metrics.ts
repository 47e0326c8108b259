/**
 * Prometheus metrics (prom-client), served as text at GET /metrics. Values are read from the
 * node's parts when scraped, so the hot paths only bump plain counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { DROP_REASONS } from '../consensus/events.js';
import type { Replica } from '../consensus/replica.js';
import type { Block } from '../ledger/types.js';
import type { Chain } from './chain.js';
import type { ConsensusDriver } from './consensus-driver.js';
import type { IntakeStats } from './intake.js';
import type { Mempool } from './mempool.js';
import type { P2PHost } from './p2p/index.js';
import type { Syncer } from './sync.js';
import type { CachedVerifier } from './verifier.js';

export interface MetricSources {
  chain: Chain;
  mempool: Mempool;
  replica: Replica<Block>;
  driver: ConsensusDriver;
  p2p: P2PHost;
  syncer: Syncer;
  verifier: CachedVerifier;
  intake: IntakeStats;
}

export interface NodeMetrics {
  registry: Registry;
  blockCommitSeconds: Histogram;
  txsCommitted: Counter;
  txsRejected: Counter<'code'>;
  txsExpired: Counter;
}

export function createMetrics(src: MetricSources): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'synod_process_' });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('synod_height', 'Height of the latest committed block', () => src.chain.height);
  gauge('synod_round', 'Current consensus round of the height being decided', () => src.replica.round);
  gauge(
    'synod_validators',
    'Size of the validator set deciding the next block',
    () => src.chain.nextValidators.length,
  );
  gauge('synod_mempool_txs', 'Transactions in the mempool', () => src.mempool.size);
  gauge('synod_mempool_bytes', 'Bytes of transactions in the mempool', () => src.mempool.bytes);
  gauge(
    'synod_intake_queued_txs',
    'Forwarded transactions waiting for admission',
    () => src.intake.queuedTxs,
  );
  gauge(
    'synod_intake_dropped_txs_total',
    'Forwarded transactions dropped because the admission queue was full',
    () => src.intake.droppedTxs,
  );
  gauge(
    'synod_mempool_gap_fillers_over_bound_total',
    "Transactions admitted past the mempool's bounds because they filled a sender's nonce gap",
    () => src.mempool.gapFillersOverBound,
  );
  gauge(
    'synod_forwarded_committed_skipped_total',
    'Forwarded transactions skipped because they had just committed here',
    () => src.mempool.forwardedCommittedSkipped,
  );
  gauge(
    'synod_store_memory_bytes',
    "LevelDB's estimate of the memory it holds: memtables and block cache",
    () => src.chain.store.memoryBytes() ?? 0,
  );
  gauge('synod_peers', 'Connected peers', () => src.p2p.connectedPeers().length);
  gauge('synod_consensus_queue', 'Consensus events waiting to be stepped', () => src.driver.stats.queued);
  gauge(
    'synod_proposal_txs_limit',
    'Most transactions this validator puts in a proposal: blockTxsMax, or less while heights were slow',
    () => src.driver.proposalSizer.limit(src.chain.params.blockTxsMax),
  );
  gauge(
    'synod_consensus_future_buffer',
    'Buffered future-height consensus messages',
    () => src.replica.futureBufferSize,
  );
  gauge('synod_sync_blocks_total', 'Blocks fetched by sync', () => src.syncer.blocksSynced);
  gauge('synod_sig_cache_hits_total', 'Signature checks answered from the cache', () => src.verifier.hits);
  gauge('synod_sig_cache_misses_total', 'Signature checks done', () => src.verifier.misses);
  new Gauge({
    name: 'synod_consensus_dropped_total',
    help: 'Consensus messages dropped, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const dropped = src.replica.counters.dropped;
      for (const reason of DROP_REASONS) this.set({ reason }, dropped[reason]);
    },
  });
  new Gauge({
    name: 'synod_consensus_events_total',
    help: 'Consensus core counters',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      const c = src.replica.counters;
      this.set({ event: 'received' }, c.received);
      this.set({ event: 'decided' }, c.decided);
      this.set({ event: 'round_timeout' }, c.roundTimeouts);
      this.set({ event: 'round_skip' }, c.roundSkips);
      this.set({ event: 'evidence' }, c.evidence);
      this.set({ event: 'sync_request' }, c.syncRequests);
    },
  });
  return {
    registry,
    blockCommitSeconds: new Histogram({
      name: 'synod_block_commit_seconds',
      help: 'Time to write a decided block to the store',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    txsCommitted: new Counter({
      name: 'synod_txs_committed_total',
      help: 'Committed transactions',
      registers: [registry],
    }),
    txsRejected: new Counter({
      name: 'synod_txs_rejected_total',
      help: 'Transactions refused at admission, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
    txsExpired: new Counter({
      name: 'synod_txs_expired_total',
      help: 'Transactions dropped from the mempool after waiting too long behind a nonce gap',
      registers: [registry],
    }),
  };
}
