/**
 * How the benchmark's client treats each sender account: transactions go out in nonce order,
 * and a refusal that says "later" (the pool is full, a rate limit, no answer at all) is met the
 * way a real client meets it: the refused transaction, and whatever its sender has not sent
 * yet, wait out a back-off (doubling per refusal, capped), then go again in nonce order.
 *
 * Why: the harness used to silence a sender for the rest of a run after one refusal (its later
 * nonces could never commit past the gap). One moment of overload then cut the offered load
 * for good: a step at 3,000 tx/s with full pools refused 71,664 transactions and left the host
 * 30% idle (committing 1,209 tx/s where the 2,500 step had committed 2,366), and a soak at a
 * rate the network carried most of the time lost its load after its first burst of refusals.
 *
 * A refusal for good (a bad nonce, a bad signature: retrying cannot help) stops the sender as
 * before: everything it still had waits here until the run ends, never sent.
 *
 * Pure: the caller passes the clock.
 */

export interface SenderTx {
  sender: number;
  nonce: number;
}

/** The node's answer for one transaction, as the client classifies it. */
export type SubmitAnswer = 'accepted' | 'retry' | 'refused';

export interface BackoffOptions {
  /** Pause after a first refusal; it doubles for each further one in a row. */
  retryBaseMs: number;
  /** Longest pause. */
  retryMaxMs: number;
}

export class SenderSchedule<T extends SenderTx> {
  /** Per sender, what waits (refused or not yet sent), in nonce order. Non-empty lists only. */
  private readonly waiting = new Map<number, T[]>();
  /** Paused senders: when their waiting transactions go again. */
  private readonly resumeAt = new Map<number, number>();
  /** Refusals in a row per sender, for the back-off. */
  private readonly strikes = new Map<number, number>();
  /** Senders stopped by a refusal for good: the lowest such nonce. */
  private readonly stoppedAt = new Map<number, number>();
  /** Refusal answers received, retryable or not. */
  refusals = 0;

  constructor(private readonly o: BackoffOptions) {}

  /**
   * A newly scheduled transaction: true to send it now; false when it must wait behind its
   * sender's paused transactions (it goes with them) or its sender has stopped.
   */
  offer(tx: T): boolean {
    const w = this.waiting.get(tx.sender);
    if (w === undefined && !this.stoppedAt.has(tx.sender)) return true;
    this.hold(tx);
    return false;
  }

  /** Records the answer for a transaction that was sent. */
  answer(tx: T, answer: SubmitAnswer, nowMs: number): void {
    if (answer === 'accepted') {
      // Accepted while paused is an earlier send answered late: the pause stands.
      if (!this.resumeAt.has(tx.sender)) this.strikes.delete(tx.sender);
      return;
    }
    this.refusals++;
    this.hold(tx);
    if (answer === 'refused') {
      const low = this.stoppedAt.get(tx.sender);
      if (low === undefined || tx.nonce < low) this.stoppedAt.set(tx.sender, tx.nonce);
      this.resumeAt.delete(tx.sender);
      return;
    }
    if (this.stoppedAt.has(tx.sender)) return;
    // Several refusals of one pause (a batch's worth answered together) count once.
    if (this.resumeAt.has(tx.sender)) return;
    const strikes = (this.strikes.get(tx.sender) ?? 0) + 1;
    this.strikes.set(tx.sender, strikes);
    const pause = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** (strikes - 1));
    this.resumeAt.set(tx.sender, nowMs + pause);
  }

  /** Transactions whose sender's pause is over, each sender's in nonce order: send them now. */
  due(nowMs: number): T[] {
    const out: T[] = [];
    for (const [sender, at] of this.resumeAt) {
      if (at > nowMs) continue;
      this.resumeAt.delete(sender);
      const w = this.waiting.get(sender);
      this.waiting.delete(sender);
      if (w !== undefined) for (const tx of w) out.push(tx);
    }
    return out;
  }

  /** Everything not accepted and not due: refused, or never sent. */
  pending(): T[] {
    const out: T[] = [];
    for (const w of this.waiting.values()) for (const tx of w) out.push(tx);
    return out;
  }

  /** The sender's lowest nonce that is waiting or was refused for good (what later ones sit behind). */
  lowestUnaccepted(sender: number): number | undefined {
    const waitingLow = this.waiting.get(sender)?.[0]?.nonce;
    const stopped = this.stoppedAt.get(sender);
    if (waitingLow === undefined) return stopped;
    return stopped === undefined ? waitingLow : Math.min(waitingLow, stopped);
  }

  private hold(tx: T): void {
    let w = this.waiting.get(tx.sender);
    if (w === undefined) {
      w = [];
      this.waiting.set(tx.sender, w);
    }
    // Answers can come back in any order (several batches in flight): keep nonce order.
    let i = w.length;
    while (i > 0 && w[i - 1]!.nonce > tx.nonce) i--;
    w.splice(i, 0, tx);
  }
}
