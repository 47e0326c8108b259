/**
 * Nonces for one account that submits many transactions at once.
 *
 * The node admits nonces in a window above the account's next one (next ≤ nonce < next +
 * futureNoncesMax), each nonce once. Asking the node for the next nonce before every send works
 * only one transaction at a time: two concurrent sends read the same nonce and one is refused.
 * The manager reads the nonce once and then hands out consecutive ones locally; it learns from
 * the node's refusals (BAD_NONCE says which nonce it expected) and gives back nonces of
 * transactions the node refused outright, so the next send fills the hole (a hole would hold
 * every later transaction of the account in the mempool until filled).
 */

/** Reads the account's next nonce as the node sees it (state_getAccount's `nonce`, 0 if unknown). */
export type NonceSource = () => Promise<number>;

export class NonceManager {
  private next: number | undefined;
  private loading: Promise<void> | undefined;
  /** Nonces handed out and then given back, ascending: reused before `next`. */
  private released: number[] = [];

  constructor(private readonly source: NonceSource) {}

  /** The next nonce to hand out (undefined until the first acquire). For display and tests. */
  peek(): number | undefined {
    return this.released[0] ?? this.next;
  }

  /** A nonce no other caller of this manager holds. Reads the node once, on first use. */
  async acquire(): Promise<number> {
    while (this.next === undefined) {
      // Concurrent first callers share one read.
      this.loading ??= this.source().then(
        (n) => {
          this.next = Math.max(n, this.next ?? 0);
          this.loading = undefined;
        },
        (err) => {
          this.loading = undefined;
          throw err;
        },
      );
      await this.loading;
    }
    const reused = this.released.shift();
    if (reused !== undefined) return reused;
    return this.next++;
  }

  /** Gives back a nonce whose transaction the node refused, so it is used again. */
  release(nonce: number): void {
    if (this.next === undefined || nonce >= this.next || this.released.includes(nonce)) return;
    this.released.push(nonce);
    this.released.sort((a, b) => a - b);
  }

  /**
   * The node says nonces below `expected` are used (committed). Later acquisitions start at
   * `expected` at least; given-back nonces below it are forgotten.
   */
  advanceTo(expected: number): void {
    if (!Number.isSafeInteger(expected) || expected < 0) return;
    this.next = Math.max(this.next ?? 0, expected);
    this.released = this.released.filter((n) => n >= expected);
  }

  /** Forgets everything: the next acquire reads the node again (after an external sender). */
  reset(): void {
    this.next = undefined;
    this.released = [];
  }
}
