/**
 * The WebSocket side of the RPC port: upgrades on `/rpc`, the same methods as HTTP plus
 * subscribe/unsubscribe, heartbeats, and per-connection limits.
 *
 * - A message is one JSON-RPC request or batch; calls run concurrently and answers may come
 *   out of order (match them by id). Beyond `wsMaxInFlight` unanswered messages, new ones are
 *   answered RATE_LIMITED instead of run.
 * - A message over `wsMaxMessageBytes` closes the connection with 1009 (the WebSocket code
 *   for "message too big"); there is no request id to answer to at that point.
 * - Every `heartbeatMs` the server pings; a connection that has not answered the previous ping
 *   by then is terminated, so dead peers do not hold sockets or subscriptions.
 * - A connection whose unread backlog passes `wsMaxBufferedBytes` is terminated: the client
 *   stopped reading, and memory must stay bounded.
 * - Per-message compression is off: it costs CPU per frame and invites compression bombs.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { type Admission, rawHttpAnswer } from './connections.js';
import type { Caller, Dispatcher } from './dispatch.js';
import { RpcError, RpcErrorCode } from './errors.js';
import { forbiddenError, requestPath } from './http.js';
import type { RpcMetrics } from './metrics.js';
import type { Limits } from './options.js';
import type { OriginHostRule } from './origin-host.js';
import type { SubscriptionApi } from './routes.js';
import type { SubscribeParams } from './schemas.js';
import { Outbox, type Subscription, type SubscriptionHub } from './subscriptions.js';

export interface WsDeps {
  dispatcher: Dispatcher;
  hub: SubscriptionHub;
  limits: Limits;
  log: Logger;
  metrics: RpcMetrics;
  refusal: (socket: Socket) => Admission | undefined;
  originHost: OriginHostRule;
}

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

class WsSession {
  alive = true;
  private inFlight = 0;
  private readonly subs = new Map<string, Subscription>();
  private readonly outbox: Outbox;
  private readonly ac = new AbortController();

  constructor(
    readonly ws: WebSocket,
    private readonly remoteAddress: string,
    private readonly deps: WsDeps,
    onClose: (s: WsSession) => void,
  ) {
    this.outbox = new Outbox(ws, deps.limits, deps.metrics, () => {
      deps.log.warn({ remoteAddress, buffered: ws.bufferedAmount }, 'WebSocket client too slow, terminating');
      deps.metrics.rejected('wsBacklog');
      ws.terminate();
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => deps.log.debug({ err, remoteAddress }, 'WebSocket error'));
    ws.on('close', () => {
      this.ac.abort();
      for (const sub of [...this.subs.values()]) sub.end('closed');
      this.outbox.close();
      onClose(this);
    });
  }

  private onMessage(data: RawData, _isBinary: boolean): void {
    const { dispatcher, limits, log } = this.deps;
    const text = toText(data);
    if (this.inFlight >= limits.wsMaxInFlight) {
      this.deps.metrics.rejected('wsInFlight');
      const err = RpcError.rateLimited('inFlightPerConnection', limits.wsMaxInFlight);
      dispatcher.handleText(text, this.caller([]), err).then(
        (out) => out !== null && this.outbox.write(out),
        (e) => log.error({ err: e }, 'WebSocket reject failed'),
      );
      return;
    }
    this.inFlight++;
    const created: Subscription[] = [];
    dispatcher
      .handleText(text, this.caller(created))
      .then(
        (out) => {
          if (out !== null) this.outbox.write(out);
        },
        (err) => log.error({ err }, 'WebSocket dispatch failed'),
      )
      .finally(() => {
        this.inFlight--;
        // Only now may the new subscriptions speak: their id reached the client first.
        for (const sub of created) sub.release();
      });
  }

  private caller(created: Subscription[]): Caller {
    const subscriptions: SubscriptionApi = {
      subscribe: (params) => this.subscribe(params, created),
      unsubscribe: (id) => this.unsubscribe(id),
    };
    return { transport: 'ws', remoteAddress: this.remoteAddress, signal: this.ac.signal, subscriptions };
  }

  private subscribe(params: SubscribeParams, created: Subscription[]): string {
    const max = this.deps.limits.wsMaxSubscriptions;
    if (this.subs.size >= max) throw RpcError.rateLimited('subscriptionsPerConnection', max);
    const sub = this.deps.hub.create(params, this.outbox, (s) => this.subs.delete(s.id));
    this.subs.set(sub.id, sub);
    created.push(sub);
    return sub.id;
  }

  private unsubscribe(id: string): boolean {
    const sub = this.subs.get(id);
    if (!sub) return false;
    sub.end('unsubscribed');
    return true;
  }
}

export class WsTransport {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<WsSession>();
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly deps: WsDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.limits.wsMaxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.heartbeat = setInterval(() => this.beat(), deps.limits.heartbeatMs);
    this.heartbeat.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The http server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refused = this.deps.refusal(req.socket);
    if (refused && !refused.ok) {
      rawHttpAnswer(socket, refused.status, { jsonrpc: '2.0', id: null, error: refused.error.toObject() });
      return;
    }
    // Browsers apply no CORS to WebSockets: the Origin of the upgrade is the only sign of a page
    // of another origin, and the Host of DNS rebinding (origin-host.ts).
    const host = req.headers.host;
    const what = !this.deps.originHost.hostAllowed(host)
      ? 'host'
      : this.deps.originHost.checkOrigin(req.headers.origin, host).ok
        ? undefined
        : 'origin';
    if (what !== undefined) {
      this.deps.metrics.rejected(what);
      this.deps.log.debug(
        { host, origin: req.headers.origin },
        `WebSocket upgrade refused: ${what} not allowed`,
      );
      rawHttpAnswer(socket, 403, { jsonrpc: '2.0', id: null, error: forbiddenError(what).toObject() });
      return;
    }
    if (requestPath(req.url) !== '/rpc') {
      rawHttpAnswer(socket, 404, { error: 'not found' });
      return;
    }
    if (this.closing) {
      const error = new RpcError(RpcErrorCode.SHUTTING_DOWN).toObject();
      rawHttpAnswer(socket, 503, { jsonrpc: '2.0', id: null, error });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WsSession(ws, req.socket.remoteAddress ?? '', this.deps, (s) => {
        this.sessions.delete(s);
        this.deps.metrics.wsSessions(this.sessions.size);
      });
      this.sessions.add(session);
      this.deps.metrics.wsSessions(this.sessions.size);
    });
  }

  private beat(): void {
    for (const s of this.sessions) {
      if (!s.alive) {
        this.deps.log.debug('WebSocket missed a heartbeat, terminating');
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }

  /** Refuses new upgrades; open sessions keep working until closeSessions(). */
  beginShutdown(): void {
    this.closing = true;
  }

  /** Asks every client to go away (1001), the WebSocket code for a server going down. */
  closeSessions(): void {
    for (const s of this.sessions) s.ws.close(1001, 'server shutting down');
  }

  /** Cuts whatever is still open and stops the heartbeat. */
  terminateAll(): void {
    clearInterval(this.heartbeat);
    for (const s of this.sessions) s.ws.terminate();
    this.wss.close();
  }
}
