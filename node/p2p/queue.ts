/**
 * A FIFO bounded in item count and total bytes that evicts its oldest items to admit new ones.
 * Oldest-first eviction suits consensus: newer messages supersede older ones, and the core
 * re-sends what matters, so a dead or slow peer costs bounded memory and bounded loss.
 */
export class DropOldestQueue {
  private items: (Uint8Array | undefined)[] = [];
  private head = 0;
  private byteSize = 0;

  constructor(
    readonly maxItems: number,
    readonly maxBytes: number,
  ) {
    if (maxItems < 1 || maxBytes < 1) throw new RangeError('queue bounds must be positive');
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteSize;
  }

  /**
   * Appends `item`, first evicting the oldest items as needed; returns how many were evicted.
   * An item larger than `maxBytes` empties the queue and is then admitted on its own.
   */
  push(item: Uint8Array): number {
    let evicted = 0;
    while (this.length > 0 && (this.length >= this.maxItems || this.byteSize + item.length > this.maxBytes)) {
      this.shift();
      evicted++;
    }
    this.items.push(item);
    this.byteSize += item.length;
    return evicted;
  }

  peek(): Uint8Array | undefined {
    return this.items[this.head];
  }

  shift(): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.byteSize -= item.length;
    // Compact now and then so the backing array does not grow without bound.
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue; returns how many items were discarded. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.byteSize = 0;
    return n;
  }
}
