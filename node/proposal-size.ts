/**
 * How many transactions this validator puts in a proposal: `blockTxsMax` at most, and fewer
 * while recent heights took too long for the round timer.
 *
 * Why: a proposal takes every ready transaction, so under a backlog blocks grow to
 * `blockTxsMax` (5,000). On this 2-core machine, with four validators and clients retrying
 * refused transactions, a height of 5,000 transfers took longer than the 2 s round-0 timer:
 * the round changed, the height was decided in round 1 about 5 s after it started, and the
 * backlog grew again. In a cold 3,200 tx/s step 13 of 26 heights went to round 1 and the
 * network committed 843 tx/s, where heights decided in round 0 carried about 2,500-3,300
 * transactions a second. A height of fewer transactions decides in round 0, and the backlog
 * moves in several quick heights instead of one slow one.
 *
 * The rule, applied by every validator to the heights it sees decided (no agreement is needed:
 * a proposer may include fewer ready transactions than it could, and the others never check
 * how many it left out):
 * - decided in round 0 but it took longer than the budget (3/4 of the round-0 timer) since the
 *   height had transactions to order: the limit becomes that block's size scaled by budget /
 *   elapsed;
 * - decided in a later round after a round-0 proposal this validator saw: that proposal's
 *   size halved (it did not make it in time);
 * - decided in round 0 within the budget while the limit bound the block (it carried at least
 *   90% of the limit): the limit grows by a quarter, and is lifted when it reaches
 *   `blockTxsMax`.
 * Never below `minTxs`, so a slow machine still moves a useful block per height.
 *
 * Pure: the caller measures the heights.
 */

/** How a height went, as this validator saw it. */
export interface HeightOutcome {
  /** The round whose certificate decided the block. */
  round: number;
  /** Transactions in the decided block. */
  txs: number;
  /**
   * From the moment the height had transactions to order (its start, or the first ready
   * transaction after an idle start) to its decision; undefined when unknown.
   */
  elapsedMs: number | undefined;
  /** Transactions of the largest round-0 proposal this validator built or executed at the height. */
  round0Txs: number | undefined;
}

export interface ProposalSizeOptions {
  /** The limit never goes below this. */
  minTxs: number;
  /** Growth factor per quick height that the limit bound. */
  growth: number;
  /** Fraction of the round-0 timer a height should take at most. */
  budgetFraction: number;
}

/**
 * A height should leave a quarter of the round-0 timer spare. Not less: in an overloaded step
 * heights of 500-1,000 transactions took about 600 ms and of 4,000 about 1,150 ms (most of a
 * height's time there is not per transaction), so a tighter budget cut blocks that were not
 * the problem and lowered what each height carried. The floor of 1,000 keeps a height worth
 * its fixed cost.
 */
export const PROPOSAL_SIZE_DEFAULTS: ProposalSizeOptions = {
  minTxs: 1_000,
  growth: 1.25,
  budgetFraction: 0.75,
};

/** How the limit last changed, for the node's log. */
export interface LimitChange {
  from: number | undefined;
  to: number | undefined;
  reason: 'slow height' | 'round change' | 'quick height';
}

export class ProposalSizer {
  /** undefined: no limit beyond blockTxsMax. */
  private cap: number | undefined;

  constructor(private readonly o: ProposalSizeOptions = PROPOSAL_SIZE_DEFAULTS) {}

  /** The most transactions to put in the next proposal. */
  limit(blockTxsMax: number): number {
    return this.cap === undefined ? blockTxsMax : Math.min(this.cap, blockTxsMax);
  }

  /** Its own limit; undefined while lifted (only blockTxsMax applies). The gauge reads `limit`. */
  get current(): number | undefined {
    return this.cap;
  }

  /** Learns from a decided height; returns the change of the limit, if it changed. */
  observe(h: HeightOutcome, blockTxsMax: number, roundTimeoutMsBase: number): LimitChange | undefined {
    const from = this.cap;
    const budgetMs = roundTimeoutMsBase * this.o.budgetFraction;
    let reason: LimitChange['reason'] | undefined;
    if (h.round > 0) {
      if (h.round0Txs !== undefined && h.round0Txs > this.o.minTxs) {
        this.lower(Math.floor(h.round0Txs / 2));
        reason = 'round change';
      }
    } else if (h.elapsedMs !== undefined && h.elapsedMs > budgetMs) {
      if (h.txs > this.o.minTxs) {
        this.lower(Math.floor((h.txs * budgetMs) / h.elapsedMs));
        reason = 'slow height';
      }
    } else if (h.elapsedMs !== undefined && this.cap !== undefined && h.txs >= 0.9 * this.cap) {
      const grown = Math.ceil(this.cap * this.o.growth);
      this.cap = grown >= blockTxsMax ? undefined : grown;
      reason = 'quick height';
    }
    if (reason === undefined || from === this.cap) return undefined;
    return { from, to: this.cap, reason };
  }

  private lower(to: number): void {
    const bounded = Math.max(this.o.minTxs, to);
    this.cap = this.cap === undefined ? bounded : Math.min(this.cap, bounded);
  }
}
