/**
 * Misbehaviour accounting and temporary bans. The upper layer reports offences (bad signature,
 * invalid proposal...); a peer reaching `threshold` reports within `windowMs` is banned for
 * `banMs`. Protocol violations of this layer (oversize or broken frames) ban at once. Bans are
 * always bounded in time: a validator with a transient bug must be able to come back.
 */

export interface MisbehaviourOptions {
  /** Reports within the window that trigger a ban. Default 10. */
  threshold?: number;
  /** Sliding window for counting reports. Default 60 s. */
  windowMs?: number;
  /** Ban length. Default 60 s, clamped to [1 s, 1 h]. */
  banMs?: number;
}

export const MAX_BAN_MS = 60 * 60 * 1000;

export class Misbehaviour {
  readonly threshold: number;
  readonly windowMs: number;
  readonly banMs: number;
  /** Report times per peer, at most `threshold` kept. */
  private readonly reports = new Map<string, number[]>();
  private readonly bans = new Map<string, number>();

  constructor(
    options: MisbehaviourOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.threshold = Math.max(1, Math.floor(options.threshold ?? 10));
    this.windowMs = Math.max(1, options.windowMs ?? 60_000);
    this.banMs = Math.min(MAX_BAN_MS, Math.max(1000, options.banMs ?? 60_000));
  }

  /** Records a report; true when it pushes the peer over the threshold (the caller then bans). */
  report(peerId: string): boolean {
    const t = this.now();
    const times = (this.reports.get(peerId) ?? []).filter((x) => t - x < this.windowMs);
    times.push(t);
    if (times.length >= this.threshold) {
      this.reports.delete(peerId);
      return true;
    }
    this.reports.set(peerId, times);
    return false;
  }

  /** Bans until now + banMs; returns the expiry time. */
  ban(peerId: string): number {
    const until = this.now() + this.banMs;
    this.bans.set(peerId, until);
    this.reports.delete(peerId);
    return until;
  }

  /** Milliseconds of ban left, 0 when not banned. Expired bans are dropped here. */
  banRemaining(peerId: string): number {
    const until = this.bans.get(peerId);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) {
      this.bans.delete(peerId);
      return 0;
    }
    return left;
  }

  isBanned(peerId: string): boolean {
    return this.banRemaining(peerId) > 0;
  }

  bannedCount(): number {
    let n = 0;
    for (const id of [...this.bans.keys()]) if (this.isBanned(id)) n++;
    return n;
  }

  /** Drops all state about a peer (it left the allow-list). */
  forget(peerId: string): void {
    this.reports.delete(peerId);
    this.bans.delete(peerId);
  }
}
