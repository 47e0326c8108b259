/**
 * The node's own resource bounds, in one place, with the relations between them checked when
 * the module loads (a change that breaks one fails every test and every start, naming it).
 * Protocol constants live in consensus/limits.ts and chain parameters per height in
 * ledger/params.ts; the p2p frame and queue limits in node/p2p/protocols.ts. What is here is
 * private to a node: it bounds this process's memory and work, and no peer depends on it.
 */
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../consensus/driver.js';
import { DEFAULT_MAX_FRAME_BYTES } from './p2p/protocols.js';

const MiB = 1024 * 1024;

export interface NodeBounds {
  driverQueue: Readonly<QueueLimits>;
  evidenceFileBytesMax: number;
  evidenceKeptMax: number;
  forwardBatchTxsMax: number;
  txWaitersMax: number;
  txWaitersPerClientMax: number;
  syncBatchBlocks: number;
  syncBackoffBaseMs: number;
  syncBackoffMaxMs: number;
  syncBackoffEntriesMax: number;
}

export const NODE_BOUNDS: Readonly<NodeBounds> = Object.freeze({
  /** Consensus frames waiting in the driver's queue: in all, in bytes, and per peer in bytes. */
  driverQueue: DEFAULT_QUEUE_LIMITS as Readonly<QueueLimits>,
  /** The evidence file stops growing here (records stay in memory and on RPC; one warning). */
  evidenceFileBytesMax: 64 * MiB,
  /** Evidence records kept in memory for RPC (all are also appended to the evidence file). */
  evidenceKeptMax: 1_000,
  /** Transactions in one forwarded batch frame at most (the receiver refuses larger batches). */
  forwardBatchTxsMax: 10_000,
  /** Waiters for tx_submitAndWait, so a client cannot pin unbounded memory. */
  txWaitersMax: 100_000,
  /**
   * Waiters one client (remote address) may hold: a tenth of all, so one client cannot take every
   * slot (issue 23) while a member's gateway, all of whose users share one address, still has room.
   */
  txWaitersPerClientMax: 10_000,
  /** Sync: blocks per request, and the most a server sends for one request. */
  syncBatchBlocks: 64,
  /** Sync backoff: a failing peer is left alone from the base, doubling, up to the max. */
  syncBackoffBaseMs: 2_000,
  syncBackoffMaxMs: 300_000,
  /** Backoff entries kept; past this, expired ones are swept (peers are allow-listed, so few). */
  syncBackoffEntriesMax: 1_024,
});

/** The relations the bounds must keep; each problem named. Empty when they hold. */
export function boundProblems(b: Readonly<NodeBounds> = NODE_BOUNDS): string[] {
  const out: string[] = [];
  const q = b.driverQueue;
  if (q.bytesPerPeerMax < DEFAULT_MAX_FRAME_BYTES.consensus)
    out.push(
      `driverQueue.bytesPerPeerMax (${q.bytesPerPeerMax}) must hold one consensus frame (${DEFAULT_MAX_FRAME_BYTES.consensus})`,
    );
  if (q.bytesMax < q.bytesPerPeerMax)
    out.push(`driverQueue.bytesMax (${q.bytesMax}) must be at least bytesPerPeerMax (${q.bytesPerPeerMax})`);
  if (q.messagesMax < 1) out.push('driverQueue.messagesMax must be at least 1');
  if (b.txWaitersPerClientMax > b.txWaitersMax)
    out.push(
      `txWaitersPerClientMax (${b.txWaitersPerClientMax}) must not exceed txWaitersMax (${b.txWaitersMax})`,
    );
  if (b.syncBackoffBaseMs > b.syncBackoffMaxMs)
    out.push(
      `syncBackoffBaseMs (${b.syncBackoffBaseMs}) must not exceed syncBackoffMaxMs (${b.syncBackoffMaxMs})`,
    );
  if (b.syncBatchBlocks < 1) out.push('syncBatchBlocks must be at least 1');
  if (b.forwardBatchTxsMax < 1) out.push('forwardBatchTxsMax must be at least 1');
  return out;
}

const problems = boundProblems();
if (problems.length > 0) throw new Error(`node bounds are inconsistent: ${problems.join('; ')}`);
