/**
 * Transactions coming in: from clients (admitted at once, then forwarded to the other validators
 * in batches that fit a tx frame) and from peers (checked for shape, queued, and admitted in
 * slices behind consensus work, never forwarded again). One component, so the composition root
 * only wires it: the driver asks it to flush and drain around proposals, and it tells its
 * subscribers when a transaction is ready for a block.
 */
import { decodeBytesList } from '../crypto/encoding.js';
import { NODE_BOUNDS } from './bounds.js';
import type { NodeConfig } from './config.js';
import { ForwardBatcher } from './forward-batcher.js';
import { ForwardedTxIntake, type IntakeStats } from './intake.js';
import type { Logger } from './log.js';
import { type Mempool, MempoolError, type MempoolErrorCode, type PoolEntry } from './mempool.js';
import type { P2PHost } from './p2p/index.js';
import { DEFAULT_MAX_FRAME_BYTES } from './p2p/protocols.js';

/** Transactions in one forwarded batch frame at most (the receiver refuses larger batches). */
export const FORWARD_BATCH_TXS_MAX = NODE_BOUNDS.forwardBatchTxsMax;

export interface TxIngressOptions {
  mempool: Mempool;
  p2p: Pick<P2PHost, 'broadcast' | 'reportMisbehaviour'>;
  config: NodeConfig['mempool'];
  log: Logger;
}

export class TxIngress {
  /** Client transactions on their way to the other validators, in batches that fit a tx frame. */
  private readonly forwarder: ForwardBatcher;
  /** Forwarded transactions wait here and are admitted in slices behind consensus work. */
  private readonly intake: ForwardedTxIntake;
  private readonly readyListeners: (() => void)[] = [];
  private readonly rejectedListeners: ((code: MempoolErrorCode) => void)[] = [];

  constructor(private readonly o: TxIngressOptions) {
    this.forwarder = new ForwardBatcher({
      // The host is built with the default frame limits, which every peer enforces too.
      frameBytesMax: DEFAULT_MAX_FRAME_BYTES.tx,
      batchTxsMax: Math.min(o.config.forwardBatchTxsMax, FORWARD_BATCH_TXS_MAX),
      delayMs: o.config.forwardDelayMs,
      send: (frame) => o.p2p.broadcast('tx', frame),
      log: o.log.child({ module: 'forward' }),
    });
    this.intake = new ForwardedTxIntake({
      sliceMs: o.config.intakeSliceMs,
      queuedTxsMax: o.config.intakeQueuedTxsMax,
      admit: (peerId, tx) => this.admitForwarded(peerId, tx),
      onReady: () => this.ready(),
    });
  }

  get intakeStats(): IntakeStats {
    return this.intake.stats;
  }

  /** Called whenever a transaction became ready for a block (the driver's pending signal). */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Called for each client transaction the mempool refused, with its code (a metric). */
  onRejected(listener: (code: MempoolErrorCode) => void): void {
    this.rejectedListeners.push(listener);
  }

  /** Admits a transaction from a client and queues it for forwarding to the other validators. */
  submit(bytes: Uint8Array): PoolEntry {
    let result: ReturnType<Mempool['add']>;
    try {
      result = this.o.mempool.add(bytes);
    } catch (err) {
      if (err instanceof MempoolError) for (const l of this.rejectedListeners) l(err.code);
      throw err;
    }
    if (result.added) {
      // Batches are bounded in count and in encoded bytes (node/forward-batcher.ts); never throws.
      this.forwarder.push(result.entry.bytes);
      if (result.ready) this.ready();
    }
    return result.entry;
  }

  /**
   * A batch of transactions forwarded by a peer: checked for shape here, queued, and admitted
   * later in slices (node/intake.ts). Bytes before work: the p2p layer refuses a frame above the
   * tx limit from its length prefix, before buffering it (and bans the peer); here the count is
   * read and refused above FORWARD_BATCH_TXS_MAX before any item is walked, each item is a view
   * of the frame, and admission checks each size before hashing.
   */
  onForwardedTxs(peerId: string, bytes: Uint8Array): void {
    let list: Uint8Array[];
    try {
      // Views into the frame, not copies: admission copies each transaction it keeps.
      list = decodeBytesList(bytes, FORWARD_BATCH_TXS_MAX);
    } catch {
      this.o.p2p.reportMisbehaviour(peerId, 'malformed-tx-batch');
      return;
    }
    if (!this.intake.push(peerId, list)) {
      this.o.log.debug({ peer: peerId, txs: list.length }, 'admission queue full: dropped a forwarded batch');
    }
  }

  /**
   * Admits every forwarded transaction still queued. The driver calls it before executing a
   * proposal: transactions that arrived before the proposal are then checked at admission, as
   * they arrived, rather than inside the block's validation and again when their copies come up.
   */
  drainIntake(): void {
    this.intake.drain();
  }

  /**
   * Sends the transactions waiting to be forwarded now. The driver calls it before building a
   * proposal, so the peers receive a transaction before the proposal that carries it; a proposal
   * overtaking the forwarded copy made the peers verify it inside the block's validation, on the
   * path every block waits for.
   */
  flushForward(): void {
    this.forwarder.flush();
  }

  stop(): void {
    this.forwarder.stop();
    this.intake.stop();
  }

  private ready(): void {
    for (const l of this.readyListeners) l();
  }

  /** Admits one forwarded transaction; true when it is ready for a block. */
  private admitForwarded(peerId: string, tx: Uint8Array): boolean {
    try {
      return this.o.mempool.addForwarded(tx).ready;
    } catch (err) {
      // Expected in normal operation (a tx that just committed, a full pool); only a bad
      // signature says the peer is misbehaving, since it must have checked it too.
      if (err instanceof MempoolError && err.code === 'INVALID_SIGNATURE') {
        this.o.p2p.reportMisbehaviour(peerId, 'invalid-tx-signature');
      }
      return false;
    }
  }
}
