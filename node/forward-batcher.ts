/**
 * Batching of client-admitted transactions for forwarding on the `tx` protocol.
 *
 * Rule (docs/architecture.md, "What a node sends fits what its peers accept, by construction"): a batch is
 * closed before the transaction that would make its encoding exceed the tx frame limit, so the
 * p2p layer is never handed a frame it (and every peer) refuses. Until 2026-12 batches were
 * bounded only in count (500 by default): 500 transactions of 60 KiB are 30 MiB against an
 * 8 MiB frame, and `broadcast` threw FrameTooLargeError from the flush timer, which killed the
 * process.
 *
 * A batch is the canonical encoding of a list of byte strings (crypto/encoding.ts): the list tag,
 * the count as LEB128, then per transaction the bytes tag, its length as LEB128 and its bytes.
 * The size is tracked exactly as transactions are added, so no batch is encoded twice.
 *
 * A batch leaves when it holds `batchTxsMax` transactions, when the next transaction would not
 * fit, after `delayMs`, or when `flush()` is called (the driver does before building a block).
 * A failing send is caught and logged: a timer callback that throws would end the process.
 */
import { encode, uintLength } from '../crypto/encoding.js';
import { PARAM_BOUNDS } from '../ledger/params.js';
import type { Logger } from './log.js';
import { DEFAULT_MAX_FRAME_BYTES } from './p2p/protocols.js';

/** Bytes of the list tag plus its count. */
function listHeaderBytes(count: number): number {
  return 1 + uintLength(count);
}

/** Bytes one transaction adds to a batch: the bytes tag, its length, its bytes. */
export function batchItemBytes(tx: Uint8Array): number {
  return 1 + uintLength(tx.length) + tx.length;
}

/** Encoded bytes of a batch of one transaction of `txBytes` bytes. */
export function singleTxBatchBytes(txBytes: number): number {
  return listHeaderBytes(1) + 1 + uintLength(txBytes) + txBytes;
}

// Any transaction the chain parameters can allow fits one default tx frame, so a batch can always
// carry at least one and no valid transaction is ever unforwardable.
if (singleTxBatchBytes(PARAM_BOUNDS.txBytesMax[1]) > DEFAULT_MAX_FRAME_BYTES.tx) {
  throw new Error('limits: a batch of one transaction of the largest txBytesMax must fit a tx frame');
}

export interface ForwardBatcherOptions {
  /** Largest frame the tx protocol carries (the p2p host's limit, which peers enforce too). */
  frameBytesMax: number;
  /** Transactions in one batch at most (the receiver refuses larger batches). */
  batchTxsMax: number;
  /** A batch that is not full leaves this long after its first transaction. */
  delayMs: number;
  /** Sends one encoded batch; may throw (caught and logged). */
  send: (frame: Uint8Array) => void;
  log: Logger;
}

export interface ForwardBatcherStats {
  framesSent: number;
  txsSent: number;
  /** Sends that threw: their transactions stay in this node's pool and reach blocks it proposes. */
  sendErrors: number;
  /** Transactions too large for any frame (only with a frame limit below the parameter bound). */
  oversizeTxs: number;
}

export class ForwardBatcher {
  private queue: Uint8Array[] = [];
  /** Sum of batchItemBytes over the queue. */
  private itemsBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly stats: ForwardBatcherStats = { framesSent: 0, txsSent: 0, sendErrors: 0, oversizeTxs: 0 };

  constructor(private readonly opts: ForwardBatcherOptions) {
    if (!Number.isSafeInteger(opts.frameBytesMax) || opts.frameBytesMax < 1) {
      throw new RangeError('frameBytesMax must be a positive integer');
    }
    if (!Number.isSafeInteger(opts.batchTxsMax) || opts.batchTxsMax < 1) {
      throw new RangeError('batchTxsMax must be a positive integer');
    }
  }

  /** Encoded size of the batch queued now. */
  get pendingBytes(): number {
    return listHeaderBytes(this.queue.length) + this.itemsBytes;
  }

  get pendingTxs(): number {
    return this.queue.length;
  }

  /** Queues one transaction; sends the batch first when the transaction would not fit in it. */
  push(tx: Uint8Array): void {
    if (this.stopped) return;
    const item = batchItemBytes(tx);
    if (listHeaderBytes(1) + item > this.opts.frameBytesMax) {
      this.stats.oversizeTxs++;
      this.opts.log.warn(
        { txBytes: tx.length, frameBytesMax: this.opts.frameBytesMax },
        'transaction too large for a tx frame: not forwarded',
      );
      return;
    }
    const count = this.queue.length;
    if (count > 0 && listHeaderBytes(count + 1) + this.itemsBytes + item > this.opts.frameBytesMax) {
      this.flush();
    }
    this.queue.push(tx);
    this.itemsBytes += item;
    if (this.queue.length >= this.opts.batchTxsMax) return this.flush();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      try {
        this.flush();
      } catch (err) {
        // flush catches its own failures; this is the last guard of a timer callback.
        this.opts.log.error({ err }, 'forward flush failed');
      }
    }, this.opts.delayMs);
  }

  /** Sends what is queued now, if anything. Never throws. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.itemsBytes = 0;
    try {
      this.opts.send(encode(batch));
      this.stats.framesSent++;
      this.stats.txsSent += batch.length;
    } catch (err) {
      this.stats.sendErrors++;
      this.opts.log.warn({ err, txs: batch.length }, 'forwarding a batch failed');
    }
  }

  /** Drops what is queued and sends nothing more. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.itemsBytes = 0;
  }
}
