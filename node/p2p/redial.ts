/**
 * Keeps connections to allowed peers with known addresses: dials each one, and after a failure
 * or a disconnect dials again with exponential back-off (jittered, capped), forever, so a peer
 * that comes back is reconnected without intervention. One timer per peer, always unref'd.
 */
import type { Logger } from 'pino';

export interface RedialOptions {
  /** First retry delay. Default 500 ms. */
  baseMs?: number;
  /** Largest delay between attempts. Default 30 s. */
  maxMs?: number;
  /**
   * A connection that lasted less than this counts as a failure when it drops. Without it a peer
   * that accepts and immediately hangs up (we are not on its list) would be redialled in a tight
   * loop. Default 10 s.
   */
  stableMs?: number;
  /**
   * Extra delay before the first attempt to a peer (failures = 0). The host gives the peer with
   * the greater id a head start of the other's, so two nodes do not dial each other at the same
   * moment and end up with two connections.
   */
  firstDelayMs?: (peerId: string) => number;
}

/**
 * What an attempt achieved: `true` connected (or nothing left to do), `false` failed (back off),
 * a number = retry in exactly that many ms without counting a failure (e.g. a ban running out).
 */
export type DialOutcome = boolean | number;

interface PeerState {
  failures: number;
  connectedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

export class Redialer {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly stableMs: number;
  private readonly firstDelayMs: (peerId: string) => number;
  private readonly peers = new Map<string, PeerState>();
  private stopped = false;

  constructor(
    options: RedialOptions,
    private readonly attempt: (peerId: string) => Promise<DialOutcome>,
    private readonly log: Logger,
  ) {
    this.baseMs = Math.max(1, options.baseMs ?? 500);
    this.maxMs = Math.max(this.baseMs, options.maxMs ?? 30_000);
    this.stableMs = Math.max(0, options.stableMs ?? 10_000);
    this.firstDelayMs = options.firstDelayMs ?? (() => 0);
  }

  /** Delay before the next attempt after `failures` consecutive failures, with +-25% jitter. */
  delay(failures: number, peerId: string): number {
    if (failures === 0)
      return this.firstDelayMs(peerId) + Math.floor(Math.random() * Math.min(this.baseMs, 50));
    const d = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures - 1, 30));
    return Math.floor(d * (0.75 + Math.random() * 0.5));
  }

  /**
   * Ensures an attempt is pending for `peerId`. `afterMs` forces the delay; otherwise it follows
   * the back-off. An already pending or running attempt is left alone.
   */
  schedule(peerId: string, afterMs?: number): void {
    if (this.stopped) return;
    let s = this.peers.get(peerId);
    if (s === undefined) {
      s = { failures: 0, connectedAt: undefined, timer: undefined, dialing: false };
      this.peers.set(peerId, s);
    }
    if (s.timer !== undefined || s.dialing) return;
    const ms = afterMs ?? this.delay(s.failures, peerId);
    const state = s;
    s.timer = setTimeout(() => {
      state.timer = undefined;
      void this.fire(peerId, state);
    }, ms);
    s.timer.unref();
  }

  /** The peer is connected (whoever dialled): cancel any pending attempt. */
  connected(peerId: string): void {
    let s = this.peers.get(peerId);
    if (s === undefined) {
      s = { failures: 0, connectedAt: undefined, timer: undefined, dialing: false };
      this.peers.set(peerId, s);
    }
    if (s.timer !== undefined) clearTimeout(s.timer);
    s.timer = undefined;
    s.connectedAt = Date.now();
  }

  /**
   * The peer's last connection closed: dial again, at once if the connection had been stable,
   * else one back-off step later than last time.
   */
  disconnected(peerId: string): void {
    const s = this.peers.get(peerId);
    if (s !== undefined) {
      const lasted = s.connectedAt === undefined ? 0 : Date.now() - s.connectedAt;
      s.connectedAt = undefined;
      s.failures = lasted >= this.stableMs ? 0 : s.failures + 1;
    }
    this.schedule(peerId);
  }

  /** Stops dialling a peer (removed from the allow-list). */
  cancel(peerId: string): void {
    const s = this.peers.get(peerId);
    if (s?.timer !== undefined) clearTimeout(s.timer);
    this.peers.delete(peerId);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.peers.values()) if (s.timer !== undefined) clearTimeout(s.timer);
    this.peers.clear();
  }

  private async fire(peerId: string, s: PeerState): Promise<void> {
    if (this.stopped || this.peers.get(peerId) !== s) return;
    s.dialing = true;
    let outcome: DialOutcome;
    try {
      outcome = await this.attempt(peerId);
    } catch (err) {
      this.log.debug({ err, peer: peerId }, 'redial attempt threw');
      outcome = false;
    } finally {
      s.dialing = false;
    }
    if (this.stopped || this.peers.get(peerId) !== s) return;
    if (outcome === true) return;
    if (outcome === false) {
      s.failures++;
      this.schedule(peerId);
    } else {
      this.schedule(peerId, outcome);
    }
  }
}
