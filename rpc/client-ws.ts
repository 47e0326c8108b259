/**
 * WebSocket side of the SDK: JSON-RPC calls and subscriptions on a node's `/rpc`, kept alive
 * across disconnects.
 *
 *   const socket = new SynodSocket('http://127.0.0.1:26600/rpc');
 *   const sub = await socket.subscribeBlocks({ fromHeight: 1, onBlock: (h) => console.log(h.height) });
 *   ...
 *   await socket.close();
 *
 * Reconnect and resume: when the connection drops (node restart, network, a missed heartbeat)
 * the socket reconnects with back-off and subscribes again. A newBlocks subscription resumes
 * with fromHeight = last delivered height + 1 and drops anything below it, so the callback
 * sees every block exactly once, in order, across any number of reconnects. The same happens
 * when the server says the client `lagged`. A tx subscription is renewed until its tx arrives
 * (the server looks in storage first, so a commit during the gap is not missed). Governance
 * events have no back-fill: those published while disconnected are lost.
 *
 * Liveness: the socket pings every `pingIntervalMs` and reconnects when a pong (or any frame)
 * has not come back by the next ping; the server's own pings are answered by `ws`.
 */
import WebSocket, { type RawData } from 'ws';
import { RpcCallError, RpcTransportError, TxTimeoutError } from './client-errors.js';
import type { GovernanceEvent, HeaderJson, InfoResult, TxRecord } from './client-types.js';

export interface SocketOptions {
  /** Delay before the first reconnect attempt (ms); doubles per failure up to reconnectMaxMs. Default 100. */
  reconnectMinMs?: number;
  /** Longest delay between reconnect attempts (ms). Default 5000. */
  reconnectMaxMs?: number;
  /** Consecutive failed attempts after which the socket gives up and fails its subscriptions. Default: never. */
  maxReconnectAttempts?: number;
  /** Ping period (ms); no answer by the next ping means the connection is dead. Default 10000. */
  pingIntervalMs?: number;
  /** Per-call time limit (ms). Default 30000. */
  callTimeoutMs?: number;
  /** Time limit (ms) for opening one connection. Default 10000. */
  connectTimeoutMs?: number;
  /** Connection state changes, for logging or a status line. */
  onStatus?: (event: SocketStatusEvent) => void;
}

export type SocketStatusEvent =
  | { type: 'open'; reconnect: boolean }
  | { type: 'close'; code: number; reason: string }
  | { type: 'reconnecting'; attempt: number; delayMs: number }
  | { type: 'error'; error: Error };

/** The connection is closed (by `close()`, or after the reconnect attempts ran out). */
export class SocketClosedError extends Error {
  override readonly name = 'SocketClosedError';
}

/** Converts an RPC URL to its WebSocket form: http(s)://host/rpc → ws(s)://host/rpc. */
export function toWsUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new Error(`not an http(s) or ws(s) URL: ${url}`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/rpc';
  return u.toString();
}

interface PendingCall {
  /** Runs synchronously on the answer, so a subscription id is known before its first notification. */
  settle: (msg: RpcAnswer) => void;
  fail: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface RpcAnswer {
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  method?: string;
  params?: { subscription?: string; result?: unknown; nextHeight?: number; error?: RpcAnswer['error'] };
}

/** A live subscription; `unsubscribe()` stops it for good. */
export interface Subscription {
  readonly topic: 'newBlocks' | 'tx' | 'governance';
  unsubscribe(): Promise<void>;
}

export interface BlocksSubscription extends Subscription {
  /** Height of the last block delivered (undefined before the first one). */
  readonly lastHeight: number | undefined;
}

export interface BlocksOptions {
  /** First height wanted; older blocks are back-filled. Default: the block after the current tip. */
  fromHeight?: number;
  onBlock: (header: HeaderJson) => void;
  /** Problems the socket recovers from by itself (resubscribing), or the final one. */
  onError?: (err: Error) => void;
}

abstract class SubState {
  serverId: string | undefined;
  /** A subscribe call is in flight: renewals wait for it rather than add a second one. */
  subscribing = false;
  ended = false;
  abstract readonly topic: 'newBlocks' | 'tx' | 'governance';
  constructor(readonly onError: ((err: Error) => void) | undefined) {}
  /** The subscribe params for the next (re)subscription. */
  abstract params(): Record<string, unknown>;
  abstract onResult(result: unknown): void;
}

class BlocksState extends SubState {
  readonly topic = 'newBlocks';
  constructor(
    /** Next height owed; undefined until resolved from the tip. */
    public next: number | undefined,
    readonly onBlock: (h: HeaderJson) => void,
    onError: ((err: Error) => void) | undefined,
    readonly resubscribe: (s: BlocksState) => void,
  ) {
    super(onError);
  }
  params() {
    return { topic: 'newBlocks', fromHeight: this.next as number };
  }
  onResult(result: unknown): void {
    const h = result as HeaderJson;
    if (typeof h?.height !== 'number' || this.next === undefined) return;
    if (h.height < this.next) return; // already delivered (a resumed back-fill overlaps)
    if (h.height > this.next) {
      // A gap should not happen (the server back-fills); resubscribing fills it from storage.
      this.resubscribe(this);
      return;
    }
    this.next = h.height + 1;
    this.onBlock(h);
  }
}

class TxState extends SubState {
  readonly topic = 'tx';
  constructor(
    readonly hash: string,
    readonly onTx: (tx: TxRecord) => void,
    onError: ((err: Error) => void) | undefined,
    readonly done: (s: TxState) => void,
  ) {
    super(onError);
  }
  params() {
    return { topic: 'tx', hash: this.hash };
  }
  onResult(result: unknown): void {
    if (this.ended) return;
    this.done(this);
    this.onTx(result as TxRecord);
  }
}

class GovernanceState extends SubState {
  readonly topic = 'governance';
  constructor(
    readonly onEvent: (e: GovernanceEvent) => void,
    onError: ((err: Error) => void) | undefined,
  ) {
    super(onError);
  }
  params() {
    return { topic: 'governance' };
  }
  onResult(result: unknown): void {
    this.onEvent(result as GovernanceEvent);
  }
}

export class SynodSocket {
  readonly url: string;
  private readonly o: Required<Omit<SocketOptions, 'onStatus' | 'maxReconnectAttempts'>> & {
    maxReconnectAttempts: number;
  };
  private readonly onStatus: ((e: SocketStatusEvent) => void) | undefined;
  private ws: WebSocket | undefined;
  /** Resolves when the current connection is open; undefined while none is being made. */
  private opening: Promise<void> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly subs = new Set<SubState>();
  private readonly byServerId = new Map<string, SubState>();
  private closed = false;
  private everOpened = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;

  constructor(url: string, opts: SocketOptions = {}) {
    this.url = toWsUrl(url);
    this.o = {
      reconnectMinMs: opts.reconnectMinMs ?? 100,
      reconnectMaxMs: opts.reconnectMaxMs ?? 5_000,
      maxReconnectAttempts: opts.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
      pingIntervalMs: opts.pingIntervalMs ?? 10_000,
      callTimeoutMs: opts.callTimeoutMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    };
    this.onStatus = opts.onStatus;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the connection (calls and subscriptions do it on demand). Rejects if it cannot. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new SocketClosedError('the socket is closed'));
    if (this.connected) return Promise.resolve();
    this.opening ??= this.open();
    return this.opening;
  }

  /** One JSON-RPC call over the socket; RpcCallError for an error answer. */
  async call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    await this.connect();
    return this.callNow<T>(method, params);
  }

  /**
   * Delivers every block from `fromHeight` on (default: the block after the tip), exactly once
   * and in order, across reconnects. Resolves once the first subscription is in place.
   */
  async subscribeBlocks(opts: BlocksOptions): Promise<BlocksSubscription> {
    if (opts.fromHeight !== undefined && (!Number.isSafeInteger(opts.fromHeight) || opts.fromHeight < 0))
      throw new RangeError('fromHeight: expected a non-negative integer');
    const state = new BlocksState(opts.fromHeight, opts.onBlock, opts.onError, (s) => this.renew(s));
    await this.start(state);
    return {
      topic: 'newBlocks',
      get lastHeight() {
        return state.next === undefined || state.next === 0 ? undefined : state.next - 1;
      },
      unsubscribe: () => this.stop(state),
    };
  }

  /** Calls `onTx` once, when the tx is committed (at once if it already is). */
  async subscribeTx(
    hash: string,
    onTx: (tx: TxRecord) => void,
    onError?: (err: Error) => void,
  ): Promise<Subscription> {
    const state = new TxState(hash.toLowerCase(), onTx, onError, (s) => void this.stop(s));
    await this.start(state);
    return { topic: 'tx', unsubscribe: () => this.stop(state) };
  }

  /** Governance events (proposal created, vote cast, proposal closed) as the node publishes them. */
  async subscribeGovernance(
    onEvent: (e: GovernanceEvent) => void,
    onError?: (err: Error) => void,
  ): Promise<Subscription> {
    const state = new GovernanceState(onEvent, onError);
    await this.start(state);
    return { topic: 'governance', unsubscribe: () => this.stop(state) };
  }

  /** Resolves with the committed tx; rejects after `timeoutMs` (the tx may still commit later). */
  waitForTx(hash: string, timeoutMs = 30_000): Promise<TxRecord> {
    return new Promise<TxRecord>((resolve, reject) => {
      let sub: Subscription | undefined;
      let finished = false;
      const finish = (err: Error | undefined, tx?: TxRecord) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        void sub?.unsubscribe();
        if (err) reject(err);
        else resolve(tx as TxRecord);
      };
      const timer = setTimeout(() => finish(new TxTimeoutError(hash, timeoutMs)), timeoutMs);
      this.subscribeTx(hash, (tx) => finish(undefined, tx)).then(
        (s) => {
          sub = s;
          if (finished) void s.unsubscribe();
        },
        (err: Error) => finish(err),
      );
    });
  }

  /** Drops the connection and reconnects at once; subscriptions resume where they were. */
  reconnect(): void {
    if (this.closed) return;
    this.ws?.terminate();
  }

  /** Closes for good: pending calls and subscriptions end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    for (const s of this.subs) s.ended = true;
    this.subs.clear();
    this.byServerId.clear();
    this.failPending(new SocketClosedError('the socket was closed'));
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1_000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closing');
    });
  }

  // ---- connection ---------------------------------------------------------------------

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        perMessageDeflate: false,
        handshakeTimeout: this.o.connectTimeoutMs,
      });
      this.ws = ws;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.opening = undefined;
        this.attempts = 0;
        const reconnect = this.everOpened;
        this.everOpened = true;
        this.startPings(ws);
        this.onStatus?.({ type: 'open', reconnect });
        resolve();
        // Renew every subscription that was in place before the drop.
        for (const s of this.subs) if (s.serverId === undefined) this.renew(s);
      });
      ws.on('message', (data) => this.onMessage(data));
      ws.on('pong', () => {
        this.alive = true;
      });
      ws.on('ping', () => {
        this.alive = true;
      });
      ws.on('error', (err) => {
        this.onStatus?.({ type: 'error', error: err });
        if (!opened) reject(err);
      });
      ws.on('close', (code, reason) => {
        if (!opened) reject(new RpcTransportError(`cannot connect to ${this.url} (close ${code})`));
        // A newer connection already replaced this one: its state is not ours to reset.
        if (this.ws !== ws) return;
        this.ws = undefined;
        clearInterval(this.pingTimer);
        this.opening = undefined;
        this.onStatus?.({ type: 'close', code, reason: reason.toString() });
        this.failPending(new RpcTransportError(`connection to ${this.url} lost (close ${code})`));
        for (const s of this.subs) s.serverId = undefined;
        this.byServerId.clear();
        if (!this.closed && this.subs.size > 0) this.scheduleReconnect();
      });
    });
  }

  private startPings(ws: WebSocket): void {
    this.alive = true;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, this.o.pingIntervalMs);
    this.pingTimer.unref();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    this.attempts++;
    if (this.attempts > this.o.maxReconnectAttempts) {
      const err = new SocketClosedError(
        `gave up reconnecting to ${this.url} after ${this.o.maxReconnectAttempts} attempts`,
      );
      const subs = [...this.subs];
      void this.close();
      for (const s of subs) s.onError?.(err);
      return;
    }
    const base = Math.min(this.o.reconnectMaxMs, this.o.reconnectMinMs * 2 ** (this.attempts - 1));
    // Jitter, so many clients of a restarted node do not all come back in the same instant.
    const delayMs = Math.round(base * (0.75 + Math.random() * 0.5));
    this.onStatus?.({ type: 'reconnecting', attempt: this.attempts, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.connect().catch(() => {
        // The close handler schedules the next attempt.
        if (!this.ws) this.scheduleReconnect();
      });
    }, delayMs);
  }

  // ---- calls and notifications --------------------------------------------------------

  private callNow<T>(
    method: string,
    params: Record<string, unknown> | undefined,
    sync?: (result: T) => void,
  ): Promise<T> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new RpcTransportError(`not connected to ${this.url}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcTransportError(`${method} got no answer within ${this.o.callTimeoutMs} ms`));
      }, this.o.callTimeoutMs);
      this.pending.set(id, {
        settle: (msg) => {
          if (msg.error) {
            reject(new RpcCallError(msg.error.code, msg.error.message, msg.error.data));
            return;
          }
          sync?.(msg.result as T);
          resolve(msg.result as T);
        },
        fail: reject,
        timer,
      });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  private failPending(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.fail(err);
    }
  }

  private onMessage(data: RawData): void {
    let msg: RpcAnswer | RpcAnswer[];
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return; // not ours to answer; the server never sends this
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) this.dispatch(m);
  }

  private dispatch(m: RpcAnswer): void {
    if (typeof m !== 'object' || m === null) return;
    if (m.method === undefined) {
      if (typeof m.id !== 'number') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.settle(m);
      return;
    }
    const id = m.params?.subscription;
    const sub = id === undefined ? undefined : this.byServerId.get(id);
    if (!sub || sub.ended) return;
    switch (m.method) {
      case 'subscription':
        sub.onResult(m.params?.result);
        return;
      case 'lagged':
        // The server closed it; our own `next` says where to resume (we dedupe anyway).
        this.byServerId.delete(id as string);
        sub.serverId = undefined;
        sub.onError?.(new Error(`subscription lagged; resuming`));
        this.renew(sub);
        return;
      case 'subscriptionError': {
        this.byServerId.delete(id as string);
        sub.serverId = undefined;
        const e = m.params?.error;
        sub.onError?.(new RpcCallError(e?.code ?? -32603, e?.message ?? 'subscription failed', e?.data));
        // Retry after a pause: the failure may be passing (storage briefly behind).
        setTimeout(() => this.renew(sub), this.o.reconnectMaxMs).unref();
        return;
      }
    }
  }

  // ---- subscriptions ------------------------------------------------------------------

  /** First subscription: errors reject (bad params, limits); later renewals retry on their own. */
  private async start(state: SubState): Promise<void> {
    await this.connect();
    if (state instanceof BlocksState && state.next === undefined) {
      const info = await this.callNow<InfoResult>('chain_getInfo', undefined);
      state.next = info.height + 1;
    }
    this.subs.add(state);
    try {
      await this.subscribeNow(state);
    } catch (err) {
      this.subs.delete(state);
      state.ended = true;
      throw err;
    }
  }

  private subscribeNow(state: SubState): Promise<string> {
    state.subscribing = true;
    return this.callNow<string>('subscribe', state.params(), (serverId) => {
      // Synchronously, before the next frame is read: its first notification may follow at once.
      state.subscribing = false;
      if (state.ended) return;
      state.serverId = serverId;
      this.byServerId.set(serverId, state);
    }).finally(() => {
      state.subscribing = false;
    });
  }

  /** Subscribes again (after a drop, a lag, an error or a gap), dropping the old server id. */
  private renew(state: SubState): void {
    if (state.ended || this.closed || state.subscribing) return;
    const old = state.serverId;
    if (old !== undefined) {
      this.byServerId.delete(old);
      state.serverId = undefined;
      this.callNow('unsubscribe', { subscription: old }).catch(() => {});
    }
    if (!this.connected) return; // the open handler renews it
    this.subscribeNow(state).then(
      (serverId) => {
        if (state.ended) this.callNow('unsubscribe', { subscription: serverId }).catch(() => {});
      },
      (err: Error) => {
        state.onError?.(err);
        if (this.connected) setTimeout(() => this.renew(state), this.o.reconnectMaxMs).unref();
      },
    );
  }

  private async stop(state: SubState): Promise<void> {
    if (state.ended) return;
    state.ended = true;
    this.subs.delete(state);
    const id = state.serverId;
    state.serverId = undefined;
    if (id === undefined) return;
    this.byServerId.delete(id);
    if (this.connected) await this.callNow('unsubscribe', { subscription: id }).catch(() => {});
  }
}
