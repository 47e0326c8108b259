/**
 * Drops transactions that waited too long behind a nonce gap (mempool.gappedTtlMs). Run after
 * each commit, at most once a second: it walks the whole pool.
 */
import type { Logger } from './log.js';
import type { Mempool } from './mempool.js';

export interface GapExpiryOptions {
  mempool: Pick<Mempool, 'expireGapped'>;
  ttlMs: number;
  log: Logger;
  /** How many were dropped (a metric). */
  onExpired?: (dropped: number) => void;
  /** Runs at most once per this interval. */
  intervalMs?: number;
}

export class GapExpiry {
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: GapExpiryOptions) {}

  /** Expires gapped transactions if the interval has passed; returns how many were dropped. */
  run(nowMs: number): number {
    if (nowMs - this.lastMs < (this.o.intervalMs ?? 1_000)) return 0;
    this.lastMs = nowMs;
    const dropped = this.o.mempool.expireGapped();
    if (dropped > 0) {
      this.o.onExpired?.(dropped);
      this.o.log.info({ dropped, ttlMs: this.o.ttlMs }, 'dropped transactions held behind a nonce gap');
    }
    return dropped;
  }
}
