/**
 * WebSocket subscriptions: the topics, the per-client bounded buffers, and the newBlocks
 * back-fill that joins stored history to the live stream without a gap or a duplicate.
 *
 * Notifications (JSON-RPC notifications, no id):
 * - `subscription`      `{subscription, result}` — one event of the topic.
 * - `lagged`            `{subscription, dropped, nextHeight?}` — the client fell behind: its
 *                       queued notifications were dropped and the subscription is closed. For
 *                       newBlocks, `nextHeight` is the first block not delivered; subscribing
 *                       again with `fromHeight: nextHeight` continues without a gap.
 * - `subscriptionError` `{subscription, error}` — the subscription failed and is closed.
 *
 * Flow control: each subscription has a queue of at most `wsSubscriptionBuffer` notifications.
 * A notification goes straight to the socket while the socket's backlog is under
 * `wsHighWaterBytes`; otherwise it queues, and queues drain round-robin as the socket drains.
 * A live event that would overflow a queue makes the subscription `lagged` (never a silent
 * drop). Back-fill reads from storage, so it waits for room instead of overflowing.
 *
 * newBlocks back-fill, as a small state machine per subscription (`next` = next height owed):
 * 1. The subscription is registered for live events BEFORE storage is read. While filling it
 *    sends no live event: it records the highest published height (`maxSeen`) and keeps the
 *    events in a bounded `pending` list (dropped wholesale if it overflows).
 * 2. Filling reads `getBlockHeaders(next, next+99)` and delivers them in order; then delivers
 *    the pending events that continue exactly at `next` (older ones are duplicates). The node
 *    publishes only after storing, so a block is always in storage, pending, or both.
 * 3. When a read stopped short (storage had nothing more) and `maxSeen < next`, everything
 *    published so far was delivered: switch to live in the same synchronous step, so no event
 *    slips between the two modes. Otherwise read again (the pending list makes this converge
 *    even when blocks arrive faster than storage reads). If `maxSeen >= next` but neither
 *    storage nor pending has `next`, retry briefly, then fail loudly.
 * 4. Live: height < next is a duplicate (dropped); height == next is delivered; height > next
 *    means a missed publish: go back to 2, which fills the gap from storage.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  BlockHeaderJson,
  JsonObject,
  RpcBackend,
  Topic,
  TopicPayloads,
  TxRecordJson,
} from './backend.js';
import { RpcError, RpcErrorCode, toErrorObject } from './errors.js';
import type { RpcMetrics } from './metrics.js';
import type { SubscribeParams } from './schemas.js';

/** Heights per back-fill read (the backend is promised `to - from <= 99`). */
const BACKFILL_CHUNK = 100;
/** How long a published-but-unreadable block may stay unreadable before the subscription fails. */
const BACKFILL_STALL_MS = 10;
const BACKFILL_MAX_STALLS = 200;
/** Live events remembered per subscription while it back-fills. */
const BACKFILL_PENDING_MAX = 1024;
/** When the socket is above its high-water mark and no write is pending, poll this often. */
const FLUSH_RETRY_MS = 25;

/** The part of a ws WebSocket the outbox uses (kept narrow so it can be faked). */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string, cb?: (err?: Error) => void): void;
}
const OPEN = 1;

export interface OutboxLimits {
  wsSubscriptionBuffer: number;
  wsHighWaterBytes: number;
  wsMaxBufferedBytes: number;
}

interface QueueItem {
  text: string;
  /** Block height, so a `lagged` notice can say where to resume. */
  height?: number;
}

/**
 * Everything written to one WebSocket: call responses go straight out; notifications go
 * through per-subscription queues with the flow control described above.
 */
export class Outbox {
  private readonly pending = new Set<Subscription>();
  private flushing = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly ws: SocketLike,
    private readonly limits: OutboxLimits,
    private readonly metrics: RpcMetrics,
    /** Called when the backlog passes wsMaxBufferedBytes: the session cuts the connection. */
    private readonly onOverflow: () => void,
  ) {}

  /** Writes now, whatever the backlog: responses and control notices must not be dropped. */
  write(text: string): void {
    if (this.closed || this.ws.readyState !== OPEN) return;
    this.ws.send(text, this.afterWrite);
    if (this.ws.bufferedAmount > this.limits.wsMaxBufferedBytes) this.onOverflow();
  }

  /** Offers a live notification; overflowing the subscription's queue makes it lagged. */
  offer(sub: Subscription, item: QueueItem): void {
    if (this.closed) return;
    if (!sub.held && sub.queue.length === 0 && this.hasRoom()) {
      this.write(item.text);
      return;
    }
    sub.queue.push(item);
    this.pending.add(sub);
    if (sub.queue.length > this.limits.wsSubscriptionBuffer) {
      this.lag(sub);
      return;
    }
    this.flush();
  }

  /** True when `sub` may queue another item without overflowing. */
  hasSpace(sub: Subscription): boolean {
    return sub.queue.length < this.limits.wsSubscriptionBuffer;
  }

  /** Sends queued notifications while the socket has room, round-robin over subscriptions. */
  flush(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    try {
      while (this.ws.readyState === OPEN && this.hasRoom()) {
        const sub = this.nextReady();
        if (!sub) break;
        const item = sub.queue.shift() as QueueItem;
        // Re-inserting moves the subscription to the back: a busy topic cannot starve others.
        this.pending.delete(sub);
        if (sub.queue.length > 0) this.pending.add(sub);
        this.write(item.text);
        if (this.hasSpace(sub)) sub.wakeWriters();
      }
    } finally {
      this.flushing = false;
    }
    if (this.nextReady() && !this.retry && !this.closed) {
      // Normally a write callback re-runs flush; the timer covers a backlog made only of
      // frames without callbacks (pings), so a queue can never stall for good.
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.flush();
      }, FLUSH_RETRY_MS);
      this.retry.unref();
    }
  }

  /** Drops a subscription's queue (unsubscribe, lag, session end). */
  discard(sub: Subscription): void {
    sub.queue.length = 0;
    this.pending.delete(sub);
    sub.wakeWriters();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    for (const sub of this.pending) sub.wakeWriters();
    this.pending.clear();
  }

  private readonly afterWrite = () => {
    if (this.pending.size > 0) this.flush();
  };

  private hasRoom(): boolean {
    return this.ws.bufferedAmount < this.limits.wsHighWaterBytes;
  }

  private nextReady(): Subscription | undefined {
    for (const sub of this.pending) if (!sub.held && sub.queue.length > 0) return sub;
    return undefined;
  }

  private lag(sub: Subscription): void {
    const first = sub.queue[0];
    const dropped = sub.queue.length;
    this.discard(sub);
    const params: JsonObject = { subscription: sub.id, dropped };
    if (first?.height !== undefined) params.nextHeight = first.height;
    this.write(JSON.stringify({ jsonrpc: '2.0', method: 'lagged', params }));
    this.metrics.lagged();
    sub.end('lagged');
  }
}

/** Pre-serialised event, so one publish is stringified once whatever the number of subscribers. */
interface EventText {
  json: string;
}

function notificationText(id: string, resultJson: string): string {
  // `id` is 0x-hex, safe to splice; `resultJson` is already valid JSON.
  return `{"jsonrpc":"2.0","method":"subscription","params":{"subscription":"${id}","result":${resultJson}}}`;
}

export abstract class Subscription {
  readonly queue: QueueItem[] = [];
  /** Queued but not sent until the subscribe call's own response has gone out. */
  held = true;
  ended = false;
  private writers: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly topic: Topic,
    protected readonly outbox: Outbox,
    protected readonly hub: SubscriptionHub,
    private readonly onEnd: (sub: Subscription) => void,
  ) {}

  /** Registers with the hub; called once, right after construction. */
  abstract start(): void;

  /** Lets queued notifications go (after the subscribe response was written). */
  release(): void {
    this.held = false;
    this.outbox.flush();
  }

  /** Stops the subscription. Queued notifications are dropped unless the reason is `complete`. */
  end(reason: 'unsubscribed' | 'lagged' | 'closed' | 'complete' | 'failed'): void {
    if (this.ended) return;
    this.ended = true;
    this.hub.remove(this);
    if (reason !== 'complete' && reason !== 'failed') this.outbox.discard(this);
    this.wakeWriters();
    this.onEnd(this);
  }

  /** Resolves when the queue has room again, or the subscription ended. */
  waitForSpace(): Promise<void> {
    if (this.ended || this.outbox.hasSpace(this)) return Promise.resolve();
    return new Promise((resolve) => this.writers.push(resolve));
  }

  wakeWriters(): void {
    for (const w of this.writers.splice(0)) w();
  }

  protected deliver(resultJson: string, height?: number): void {
    const item: QueueItem = { text: notificationText(this.id, resultJson) };
    if (height !== undefined) item.height = height;
    this.outbox.offer(this, item);
  }

  /** Ends with a final `subscriptionError` notice, after whatever is already queued. */
  protected fail(err: unknown): void {
    if (this.ended) return;
    const error = err instanceof RpcError ? err.toObject() : toErrorObject(undefined);
    const text = JSON.stringify({
      jsonrpc: '2.0',
      method: 'subscriptionError',
      params: { subscription: this.id, error },
    });
    this.outbox.offer(this, { text });
    this.end('failed');
  }
}

function isHeader(v: unknown): v is BlockHeaderJson {
  const h = v as BlockHeaderJson;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(h.height) && h.height >= 0;
}

export class NewBlocksSubscription extends Subscription {
  /** Next height owed to the client; undefined until the first live block when no fromHeight. */
  private next: number | undefined;
  private filling = false;
  /** Highest height published since the subscription was registered. */
  private maxSeen = -1;
  /** Live events seen while filling, in publish order (a shortcut; storage is the fallback). */
  private pending: { height: number; json: string }[] = [];

  constructor(
    id: string,
    outbox: Outbox,
    hub: SubscriptionHub,
    onEnd: (sub: Subscription) => void,
    fromHeight: number | undefined,
  ) {
    super(id, 'newBlocks', outbox, hub, onEnd);
    this.next = fromHeight;
  }

  start(): void {
    this.hub.blocks.add(this);
    if (this.next !== undefined) void this.backfill();
  }

  onBlock(header: BlockHeaderJson, event: EventText): void {
    if (this.ended) return;
    if (header.height > this.maxSeen) this.maxSeen = header.height;
    if (this.filling) {
      // Kept so filling can end without chasing the tip through storage one block at a
      // time; if too many pile up they are dropped and storage serves them instead.
      if (this.pending.length >= BACKFILL_PENDING_MAX) this.pending = [];
      this.pending.push({ height: header.height, json: event.json });
      return;
    }
    if (this.next === undefined) this.next = header.height;
    if (header.height < this.next) return; // already delivered
    if (header.height > this.next) {
      // A publish was missed: fill the gap from storage, keeping this event as pending.
      this.pending.push({ height: header.height, json: event.json });
      void this.backfill();
      return;
    }
    this.deliver(event.json, header.height);
    this.next++;
  }

  private async backfill(): Promise<void> {
    this.filling = true;
    let stalls = 0;
    try {
      while (!this.ended) {
        const from = this.next as number;
        const to = from + BACKFILL_CHUNK - 1;
        const headers = await this.hub.backend.getBlockHeaders(from, to);
        if (this.ended) return;
        if (!Array.isArray(headers)) throw new Error('getBlockHeaders did not return an array');
        for (const h of headers) {
          if (!isHeader(h)) throw new Error('getBlockHeaders returned a malformed header');
          const want = this.next as number;
          if (h.height < want) continue;
          if (h.height !== want) throw new Error(`getBlockHeaders skipped height ${want}`);
          await this.waitForSpace();
          if (this.ended) return;
          this.deliver(JSON.stringify(h), h.height);
          this.next = want + 1;
        }
        // Storage stopped short of `to`: it had nothing more when read. Whatever was
        // published since registration is in `pending` (or storage, if pending overflowed).
        const storageDone = headers.length < to - from + 1;
        await this.drainPending();
        if (this.ended) return;
        const next = this.next as number;
        if (storageDone && this.maxSeen < next) {
          // Everything published so far was delivered: live from here, in this same
          // synchronous step, so no event can slip between the two modes.
          this.pending = [];
          this.filling = false;
          return;
        }
        if (next > from) {
          stalls = 0;
          continue;
        }
        // Published but not readable: the node publishes only after storing, so allow a
        // short lag, then fail loudly rather than stall silently.
        if (++stalls > BACKFILL_MAX_STALLS) {
          throw new Error(`block ${next} was published but is not in storage`);
        }
        await new Promise((r) => setTimeout(r, BACKFILL_STALL_MS));
      }
    } catch (err) {
      this.hub.log.error({ err, subscription: this.id, next: this.next }, 'newBlocks back-fill failed');
      this.fail(
        new RpcError(RpcErrorCode.UNAVAILABLE, 'Back-fill failed', { nextHeight: this.next ?? null }),
      );
    } finally {
      this.filling = false;
    }
  }

  /** Delivers pending live events that continue exactly at `next`; drops older ones. */
  private async drainPending(): Promise<void> {
    while (!this.ended) {
      const p = this.pending[0];
      if (!p) return;
      const next = this.next as number;
      if (p.height < next) {
        this.pending.shift(); // duplicate of a stored block already delivered
        continue;
      }
      if (p.height > next) return; // a gap: storage has the missing blocks
      await this.waitForSpace();
      if (this.ended || this.pending[0] !== p) continue; // pending was reset meanwhile
      this.pending.shift();
      this.deliver(p.json, p.height);
      this.next = next + 1;
    }
  }
}

export class TxSubscription extends Subscription {
  constructor(
    id: string,
    outbox: Outbox,
    hub: SubscriptionHub,
    onEnd: (sub: Subscription) => void,
    readonly hash: string,
  ) {
    super(id, 'tx', outbox, hub, onEnd);
  }

  start(): void {
    this.hub.addTx(this);
    // Registered first, then looked up: a tx committed before the subscription is found in
    // storage, one committed after is published; `complete` makes a double hit harmless.
    this.hub.backend.getTx(this.hash).then(
      (rec) => {
        if (rec) this.onTx(JSON.stringify(rec));
      },
      (err) => {
        this.hub.log.warn({ err, subscription: this.id }, 'tx lookup failed');
        this.fail(new RpcError(RpcErrorCode.UNAVAILABLE, 'Transaction lookup failed', {}));
      },
    );
  }

  /** A tx commits once: deliver it and complete. */
  onTx(json: string): void {
    if (this.ended) return;
    this.deliver(json);
    this.end('complete');
  }
}

export class GovernanceSubscription extends Subscription {
  start(): void {
    this.hub.governance.add(this);
  }

  onEvent(event: EventText): void {
    if (!this.ended) this.deliver(event.json);
  }
}

/** All subscriptions of the server, indexed by topic, and the entry point of published events. */
export class SubscriptionHub {
  readonly blocks = new Set<NewBlocksSubscription>();
  readonly governance = new Set<GovernanceSubscription>();
  private readonly txs = new Map<string, Set<TxSubscription>>();
  private txCount = 0;

  constructor(
    readonly backend: RpcBackend,
    readonly log: Logger,
    private readonly metrics: RpcMetrics,
  ) {}

  get size(): number {
    return this.blocks.size + this.governance.size + this.txCount;
  }

  /** Creates and starts a subscription writing to `outbox`. */
  create(params: SubscribeParams, outbox: Outbox, onEnd: (sub: Subscription) => void): Subscription {
    const id = `0x${randomBytes(8).toString('hex')}`;
    let sub: Subscription;
    switch (params.topic) {
      case 'newBlocks':
        sub = new NewBlocksSubscription(id, outbox, this, onEnd, params.fromHeight);
        break;
      case 'tx':
        sub = new TxSubscription(id, outbox, this, onEnd, params.hash);
        break;
      case 'governance':
        sub = new GovernanceSubscription(id, 'governance', outbox, this, onEnd);
        break;
    }
    sub.start();
    this.metrics.subscriptions(this.size);
    return sub;
  }

  /** Whether some subscription waits for the transaction with this 0x-hex hash. */
  watchesTx(hashHex: string): boolean {
    return this.txCount > 0 && this.txs.has(hashHex.toLowerCase());
  }

  /** Whether anyone waits for a transaction at all (so a commit can skip hashing to hex). */
  watchesAnyTx(): boolean {
    return this.txCount > 0;
  }

  addTx(sub: TxSubscription): void {
    let set = this.txs.get(sub.hash);
    if (!set) {
      set = new Set();
      this.txs.set(sub.hash, set);
    }
    set.add(sub);
    this.txCount++;
  }

  remove(sub: Subscription): void {
    if (sub instanceof NewBlocksSubscription) this.blocks.delete(sub);
    else if (sub instanceof GovernanceSubscription) this.governance.delete(sub);
    else if (sub instanceof TxSubscription) {
      const set = this.txs.get(sub.hash);
      if (set?.delete(sub)) {
        this.txCount--;
        if (set.size === 0) this.txs.delete(sub.hash);
      }
    }
    this.metrics.subscriptions(this.size);
  }

  /**
   * Pushes one event to the topic's subscribers. Called by the node on its commit path, so it
   * never throws and costs one JSON.stringify plus a loop; slow clients queue or lag.
   */
  publish<T extends Topic>(topic: T, payload: TopicPayloads[T]): void {
    try {
      switch (topic) {
        case 'newBlocks': {
          const header = payload as BlockHeaderJson;
          if (this.blocks.size === 0) return;
          if (!isHeader(header)) throw new Error('newBlocks payload needs a non-negative integer height');
          const event = { json: JSON.stringify(header) };
          for (const sub of [...this.blocks]) sub.onBlock(header, event);
          return;
        }
        case 'tx': {
          const rec = payload as TxRecordJson;
          const subs = typeof rec?.hash === 'string' ? this.txs.get(rec.hash.toLowerCase()) : undefined;
          if (!subs) return;
          const json = JSON.stringify(rec);
          for (const sub of [...subs]) sub.onTx(json);
          return;
        }
        case 'governance': {
          if (this.governance.size === 0) return;
          const event = { json: JSON.stringify(payload) };
          for (const sub of [...this.governance]) sub.onEvent(event);
          return;
        }
        default:
          throw new Error(`unknown topic ${String(topic)}`);
      }
    } catch (err) {
      this.log.error({ err, topic }, 'publish failed');
    }
  }
}
