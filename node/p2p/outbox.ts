/**
 * The outbound side of a one-way protocol towards one peer: a bounded drop-oldest queue drained
 * into ONE long-lived stream. Small messages queued together are coalesced into one write,
 * because a stream's cost is per write, not per byte. The stream is opened lazily on the first
 * message, reopened (with back-off) when it fails, and only ever on an existing connection:
 * dialling is the redial loop's job, and `kick()` is called again when the peer connects.
 */
import type { Connection, Stream } from '@libp2p/interface';
import type { Logger } from 'pino';
import { encodeFrames } from './framing.js';
import { MAX_BATCH_BYTES } from './protocols.js';
import { DropOldestQueue } from './queue.js';
import type { ProtocolCounters } from './stats.js';
import { settledWithin, writable } from './streams.js';

export interface OutboxOptions {
  protocolId: string;
  maxMessages: number;
  maxBytes: number;
  /** An open connection to the peer, if there is one. */
  connection: () => Connection | undefined;
  counters: ProtocolCounters;
  log: Logger;
  /** Time limit for opening a stream (protocol negotiation included). */
  openTimeoutMs: number;
  /** Back-off between failed stream attempts. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export class Outbox {
  private readonly queue: DropOldestQueue;
  private running = false;
  private closed = false;
  /** Resolvers of a `next()` waiting for data. */
  private waiters: (() => void)[] = [];
  /** Resolvers of back-off sleeps: only close() cuts them short, new data does not. */
  private sleepers: (() => void)[] = [];
  private stream: Stream | undefined;

  constructor(private readonly o: OutboxOptions) {
    this.queue = new DropOldestQueue(o.maxMessages, o.maxBytes);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues one payload; older ones are evicted (and counted) when the queue is full. */
  enqueue(payload: Uint8Array): void {
    if (this.closed) return;
    this.o.counters.dropped += this.queue.push(payload);
    this.wake();
    this.kick();
  }

  /** Starts the writer if there is something to send, a connection, and no writer yet. */
  kick(): void {
    if (this.running || this.closed || this.queue.length === 0) return;
    if (this.o.connection() === undefined) return;
    this.running = true;
    this.run()
      .catch((err: unknown) => this.o.log.error({ err }, 'outbound writer failed'))
      .finally(() => {
        this.running = false;
        // A message may have arrived while the writer was exiting.
        if (!this.closed && this.queue.length > 0 && this.o.connection() !== undefined) this.kick();
      });
  }

  /** The peer (re)connected: retry at once rather than at the end of a back-off sleep. */
  connected(): void {
    for (const f of this.sleepers.splice(0)) f();
    this.kick();
  }

  /** Discards queued messages (counted as dropped) without closing the stream. */
  clear(): void {
    this.o.counters.dropped += this.queue.clear();
  }

  /** Stops for good: pending messages are discarded and the stream is closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clear();
    this.wake();
    for (const f of this.sleepers.splice(0)) f();
    const s = this.stream;
    if (s !== undefined)
      s.close({ signal: AbortSignal.timeout(1000) }).catch(() => s.abort(new Error('closed')));
  }

  /**
   * Makes a writer waiting for data look at its stream again. The host calls this when a
   * connection to the peer closes, since the stream cannot tell us itself (streams.ts).
   */
  poke(): void {
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const f of w) f();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed && this.queue.length > 0) {
      const conn = this.o.connection();
      if (conn === undefined) return;
      let stream: Stream;
      try {
        stream = await conn.newStream(this.o.protocolId, {
          signal: AbortSignal.timeout(this.o.openTimeoutMs),
        });
      } catch (err) {
        this.o.counters.streamErrors++;
        this.o.log.debug({ err, protocol: this.o.protocolId }, 'cannot open outbound stream');
        await this.pause(++failures);
        continue;
      }
      this.o.counters.streamsOpened++;
      this.stream = stream;
      const batches = { n: 0 };
      let sourceEnded!: () => void;
      const ended = new Promise<void>((resolve) => {
        sourceEnded = resolve;
      });
      const sinking = stream.sink(this.source(stream, batches, sourceEnded));
      sinking.catch(() => {});
      try {
        // Once our source has ended, give the sink a moment to flush and close, but no more:
        // on a dead stream it may never settle (see streams.ts).
        await Promise.race([sinking, ended.then(() => settledWithin(sinking, 1000))]);
      } catch (err) {
        this.o.log.debug({ err, protocol: this.o.protocolId }, 'outbound stream failed');
      }
      this.stream = undefined;
      if (this.closed) return;
      // Reaching here without close() means the stream failed (reset, connection gone).
      this.o.counters.streamErrors++;
      stream.abort(new Error('outbound stream ended'));
      // A stream that carried data earns a quick retry; repeated immediate failures back off.
      failures = batches.n > 0 ? 1 : failures + 1;
      await this.pause(failures);
    }
  }

  /** Sleeps before retrying a failed stream; cut short by close(). */
  private pause(failures: number): Promise<void> {
    const ms = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(failures - 1, 20));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers = this.sleepers.filter((f) => f !== done);
        resolve();
      };
      const t = setTimeout(done, ms);
      t.unref();
      this.sleepers.push(done);
    });
  }

  /**
   * The data source given to `stream.sink`. The sink wrapper libp2p installs after negotiation
   * does not tell us when the stream dies (streams.ts), so before taking anything from the queue
   * we check the stream's state (a batch taken for a dead stream would be lost), and the host
   * pokes us when a connection closes. A hand-written iterator, not an async generator, so that
   * `return()` ends a pending `next()` at once. `onEnd` runs when it reports done, for any reason.
   */
  private source(
    stream: Stream,
    batches: { n: number },
    onEnd: () => void,
  ): AsyncIterableIterator<Uint8Array> {
    let ended = false;
    const finish = (): IteratorResult<Uint8Array> => {
      ended = true;
      onEnd();
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<Uint8Array> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        for (;;) {
          if (ended || this.closed || !writable(stream)) return finish();
          if (this.queue.length > 0) {
            batches.n++;
            return { done: false, value: this.takeBatch() };
          }
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      },
      return: async () => {
        this.wake();
        return finish();
      },
    };
    return iterator;
  }

  /** Takes queued messages up to MAX_BATCH_BYTES (at least one) and frames them into one buffer. */
  private takeBatch(): Uint8Array {
    const items: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || (items.length > 0 && size + next.length > MAX_BATCH_BYTES)) break;
      this.queue.shift();
      items.push(next);
      size += next.length;
    }
    this.o.counters.framesOut += items.length;
    this.o.counters.bytesOut += size;
    return encodeFrames(items);
  }
}
