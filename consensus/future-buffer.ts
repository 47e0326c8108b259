/**
 * Buffer for messages of future heights (PROTOCOL §4). They cannot be verified yet (V(h+1) is known
 * only once block h is executed), so they are kept unverified and replayed, re-validated, when the
 * replica starts that height. Bounded per network peer and in total: on a peer's overflow that
 * peer's oldest message goes; on total overflow the oldest message of the peer holding the most
 * goes. So a flooding peer evicts only its own messages, and honest peers' messages survive.
 */

interface Entry<T> {
  seq: number;
  height: number;
  item: T;
}

export class FutureBuffer<T> {
  private readonly byPeer = new Map<string, Entry<T>[]>();
  private total = 0;
  private seq = 0;

  constructor(
    readonly perPeerMax: number,
    readonly totalMax: number,
  ) {}

  get size(): number {
    return this.total;
  }

  sizeOf(peer: string): number {
    return this.byPeer.get(peer)?.length ?? 0;
  }

  /** Largest per-peer count (for checkers and metrics). */
  largestPeerSize(): number {
    let max = 0;
    for (const q of this.byPeer.values()) max = Math.max(max, q.length);
    return max;
  }

  /** Adds a message; returns how many messages were evicted to make room (0 or 1). */
  add(peer: string, height: number, item: T): number {
    let q = this.byPeer.get(peer);
    if (!q) {
      q = [];
      this.byPeer.set(peer, q);
    }
    q.push({ seq: this.seq++, height, item });
    this.total++;
    let evicted = 0;
    if (q.length > this.perPeerMax) {
      q.shift();
      this.total--;
      evicted++;
    }
    if (this.total > this.totalMax) {
      let victim: string | undefined;
      let most = 0;
      for (const [p, pq] of this.byPeer) {
        if (pq.length > most) {
          most = pq.length;
          victim = p;
        }
      }
      const vq = this.byPeer.get(victim!)!;
      vq.shift();
      this.total--;
      evicted++;
      if (vq.length === 0) this.byPeer.delete(victim!);
    }
    return evicted;
  }

  /** Removes and returns the messages of `height`, in arrival order; drops those of lower heights. */
  take(height: number): { peer: string; item: T }[] {
    const out: { peer: string; seq: number; item: T }[] = [];
    for (const [peer, q] of this.byPeer) {
      const keep: Entry<T>[] = [];
      for (const e of q) {
        if (e.height === height) out.push({ peer, seq: e.seq, item: e.item });
        else if (e.height > height) keep.push(e);
      }
      this.total -= q.length - keep.length;
      if (keep.length === 0) this.byPeer.delete(peer);
      else this.byPeer.set(peer, keep);
    }
    out.sort((a, b) => a.seq - b.seq);
    return out.map(({ peer, item }) => ({ peer, item }));
  }
}
