/**
 * Buffer for messages of future heights (docs/protocol.md §4). V(h+1) is known only once block h is
 * executed, so they are replayed, re-validated under that set, when the replica starts that
 * height. The replica admits only messages it could authenticate first (author in V(h), signature
 * valid); this buffer bounds what is kept, per network peer and in total, in messages and in bytes
 * (a frame may be a 5 MiB proposal: counting messages alone let one peer hold gigabytes). On a
 * peer's overflow that peer's oldest message goes; on total overflow the oldest message of the
 * peer holding the most (bytes when bytes overflow, messages when the count does) goes. So a
 * flooding peer evicts only its own messages, and honest peers' messages survive.
 */

interface Entry<T> {
  seq: number;
  height: number;
  bytes: number;
  item: T;
}

interface PeerQueue<T> {
  entries: Entry<T>[];
  bytes: number;
}

export class FutureBuffer<T> {
  private readonly byPeer = new Map<string, PeerQueue<T>>();
  private total = 0;
  private totalBytes = 0;
  private seq = 0;
  readonly perPeerBytesMax: number;
  readonly totalBytesMax: number;

  constructor(
    readonly perPeerMax: number,
    readonly totalMax: number,
    bytes: { perPeerBytesMax?: number; totalBytesMax?: number } = {},
  ) {
    this.perPeerBytesMax = bytes.perPeerBytesMax ?? Number.POSITIVE_INFINITY;
    this.totalBytesMax = bytes.totalBytesMax ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.total;
  }

  /** Bytes held in all (as reported by `add`). */
  get bytes(): number {
    return this.totalBytes;
  }

  sizeOf(peer: string): number {
    return this.byPeer.get(peer)?.entries.length ?? 0;
  }

  bytesOf(peer: string): number {
    return this.byPeer.get(peer)?.bytes ?? 0;
  }

  /** Largest per-peer count (for checkers and metrics). */
  largestPeerSize(): number {
    let max = 0;
    for (const q of this.byPeer.values()) max = Math.max(max, q.entries.length);
    return max;
  }

  /** Largest per-peer byte total (for checkers and metrics). */
  largestPeerBytes(): number {
    let max = 0;
    for (const q of this.byPeer.values()) max = Math.max(max, q.bytes);
    return max;
  }

  /**
   * Adds a message of `bytes` bytes; returns how many messages were evicted to make room. A
   * message larger than the per-peer byte bound is refused (counted as one eviction).
   */
  add(peer: string, height: number, item: T, bytes = 0): number {
    if (bytes > this.perPeerBytesMax || bytes > this.totalBytesMax) return 1;
    let q = this.byPeer.get(peer);
    if (!q) {
      q = { entries: [], bytes: 0 };
      this.byPeer.set(peer, q);
    }
    q.entries.push({ seq: this.seq++, height, bytes, item });
    q.bytes += bytes;
    this.total++;
    this.totalBytes += bytes;
    let evicted = 0;
    while (q.entries.length > this.perPeerMax || q.bytes > this.perPeerBytesMax) {
      this.evictOldest(peer, q);
      evicted++;
    }
    while (this.total > this.totalMax || this.totalBytes > this.totalBytesMax) {
      const byBytes = this.totalBytes > this.totalBytesMax;
      let victim: string | undefined;
      let most = -1;
      for (const [p, pq] of this.byPeer) {
        const weight = byBytes ? pq.bytes : pq.entries.length;
        if (weight > most) {
          most = weight;
          victim = p;
        }
      }
      this.evictOldest(victim!, this.byPeer.get(victim!)!);
      evicted++;
    }
    return evicted;
  }

  private evictOldest(peer: string, q: PeerQueue<T>): void {
    const e = q.entries.shift()!;
    q.bytes -= e.bytes;
    this.total--;
    this.totalBytes -= e.bytes;
    if (q.entries.length === 0) this.byPeer.delete(peer);
  }

  /** Removes and returns the messages of `height`, in arrival order; drops those of lower heights. */
  take(height: number): { peer: string; item: T }[] {
    const out: { peer: string; seq: number; item: T }[] = [];
    for (const [peer, q] of this.byPeer) {
      const keep: Entry<T>[] = [];
      let keptBytes = 0;
      for (const e of q.entries) {
        if (e.height === height) out.push({ peer, seq: e.seq, item: e.item });
        else if (e.height > height) {
          keep.push(e);
          keptBytes += e.bytes;
        }
      }
      this.total -= q.entries.length - keep.length;
      this.totalBytes -= q.bytes - keptBytes;
      if (keep.length === 0) this.byPeer.delete(peer);
      else this.byPeer.set(peer, { entries: keep, bytes: keptBytes });
    }
    out.sort((a, b) => a.seq - b.seq);
    return out.map(({ peer, item }) => ({ peer, item }));
  }
}
