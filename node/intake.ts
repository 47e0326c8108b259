/**
 * Admission of forwarded transactions in short slices, behind consensus.
 *
 * Why: a validator's event loop is shared by consensus and by transaction intake, and Node runs
 * its callbacks first come, first served. Near saturation the loop's queue is mostly intake
 * (each forwarded tx costs a signature check, ~55 µs), so every hop of a block's cycle (the
 * proposal, its execution, the votes, the ledger write's completion) waited behind a backlog of
 * intake work, the cycle stretched, blocks grew, and throughput fell as the offered load rose.
 * Here a forwarded batch is only queued when it arrives; it is admitted later in slices of at
 * most `sliceMs`, one slice per turn of the event loop (`setImmediate`), so network reads and
 * consensus steps run between slices and wait for one slice at most.
 *
 * The queue is bounded (`queuedTxsMax`): a batch that does not fit is dropped and counted. Nothing
 * is lost by that: the sender's validator still holds those transactions and proposes them in
 * turn, and a proposal carries its transactions' bytes, which this node then checks in full.
 */

export interface IntakeOptions {
  /** Longest stretch of admission work before the event loop gets a turn. */
  sliceMs: number;
  /** Transactions waiting at most; a batch that would exceed it is refused. */
  queuedTxsMax: number;
  /** Admits one transaction; returns true when it is ready for a block. Must not throw. */
  admit: (peerId: string, tx: Uint8Array) => boolean;
  /** Called after a slice admitted at least one ready transaction. */
  onReady: () => void;
  /** Clock for the slice budget (tests inject one). */
  nowMs?: () => number;
}

interface QueuedBatch {
  peerId: string;
  txs: Uint8Array[];
  /** Index of the next transaction to admit. */
  next: number;
}

export interface IntakeStats {
  queuedTxs: number;
  droppedBatches: number;
  droppedTxs: number;
}

export class ForwardedTxIntake {
  private readonly batches: QueuedBatch[] = [];
  private scheduled = false;
  private stopped = false;
  private readonly now: () => number;
  readonly stats: IntakeStats = { queuedTxs: 0, droppedBatches: 0, droppedTxs: 0 };

  constructor(private readonly opts: IntakeOptions) {
    this.now = opts.nowMs ?? (() => performance.now());
  }

  /** Queues a batch; false (and nothing queued) when it does not fit or intake stopped. */
  push(peerId: string, txs: Uint8Array[]): boolean {
    if (this.stopped) return false;
    if (txs.length === 0) return true;
    if (this.stats.queuedTxs + txs.length > this.opts.queuedTxsMax) {
      this.stats.droppedBatches++;
      this.stats.droppedTxs += txs.length;
      return false;
    }
    this.batches.push({ peerId, txs, next: 0 });
    this.stats.queuedTxs += txs.length;
    this.schedule();
    return true;
  }

  /** Admits what is queued for at most `budgetMs`; returns whether more is left. */
  runSlice(budgetMs = this.opts.sliceMs): boolean {
    const started = this.now();
    let ready = false;
    while (this.batches.length > 0) {
      const b = this.batches[0]!;
      while (b.next < b.txs.length) {
        const tx = b.txs[b.next]!;
        b.next++;
        this.stats.queuedTxs--;
        if (this.opts.admit(b.peerId, tx)) ready = true;
        if (this.now() - started >= budgetMs) break;
      }
      if (b.next >= b.txs.length) this.batches.shift();
      if (this.now() - started >= budgetMs) break;
    }
    if (ready) this.opts.onReady();
    return this.batches.length > 0;
  }

  /** Admits everything queued now, in arrival order. */
  drain(): void {
    if (this.batches.length > 0) this.runSlice(Number.POSITIVE_INFINITY);
  }

  /** Drops what is queued and admits nothing more. */
  stop(): void {
    this.stopped = true;
    this.batches.length = 0;
    this.stats.queuedTxs = 0;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      if (this.runSlice()) this.schedule();
    });
  }
}
