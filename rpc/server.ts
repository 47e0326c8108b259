/**
 * The node's RPC port: one Node `http` server carrying JSON-RPC over HTTP (`POST /rpc`) and
 * WebSocket (`/rpc`), `/health`, `/metrics` and the explorer's static files.
 *
 *   const rpc = new RpcServer({ backend, logger: log.child({ module: 'rpc' }), port: 8545,
 *                               health, metrics: () => registry.metrics(), metricsRegistry: registry,
 *                               staticDir: 'explorer/dist' });
 *   const { url } = await rpc.start();
 *   rpc.publish('newBlocks', header);   // after each block is stored
 *   await rpc.stop();
 *
 * This file only composes: limits and defaults (options.ts), framing and deadlines
 * (dispatch.ts), the method table (routes.ts), HTTP (http.ts), WebSocket (ws.ts),
 * subscriptions (subscriptions.ts), connection limits (connections.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Topic, TopicPayloads } from './backend.js';
import { type Admission, ConnectionLimiter, REFUSE_LINGER_MS } from './connections.js';
import { Dispatcher } from './dispatch.js';
import { createRequestHandler } from './http.js';
import { createRpcMetrics, type RpcMetrics } from './metrics.js';
import { type ResolvedOptions, type RpcServerOptions, resolveOptions } from './options.js';
import { OriginHostRule } from './origin-host.js';
import { METHOD_NAMES } from './routes.js';
import { SubscriptionHub } from './subscriptions.js';
import { WsTransport } from './ws.js';

export interface RpcServerStats {
  connections: number;
  wsSessions: number;
  subscriptions: number;
  inFlight: number;
}

export interface ListeningAddress {
  host: string;
  port: number;
  /** http://host:port — append /rpc, /health, /metrics. */
  url: string;
  /** ws://host:port/rpc */
  wsUrl: string;
}

type State = 'new' | 'starting' | 'listening' | 'stopping' | 'stopped';

export class RpcServer {
  readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly metrics: RpcMetrics;
  private readonly dispatcher: Dispatcher;
  private readonly hub: SubscriptionHub;
  private readonly ws: WsTransport;
  private readonly limiter: ConnectionLimiter;
  private readonly refused = new WeakMap<Socket, Admission>();
  private readonly http: Server;
  private state: State = 'new';
  private bound: ListeningAddress | undefined;
  private stopping: Promise<void> | undefined;

  /** Validates the options (throws RpcOptionsError naming the bad fields); does not listen yet. */
  constructor(input: RpcServerOptions) {
    const o = resolveOptions(input);
    this.options = o;
    this.log = o.logger;
    const limits = o.limits;
    this.metrics = createRpcMetrics(o.metricsRegistry, new Set(METHOD_NAMES));
    this.dispatcher = new Dispatcher({ backend: o.backend, log: this.log, limits, metrics: this.metrics });
    this.hub = new SubscriptionHub(o.backend, this.log, this.metrics);
    this.limiter = new ConnectionLimiter(limits.maxConnectionsPerIp, limits.maxConnections);
    const refusal = (socket: Socket) => this.refused.get(socket);
    const originHost = new OriginHostRule({
      bindHost: o.host,
      allowedHosts: o.allowedHosts,
      allowedOrigins: o.allowedOrigins,
    });
    this.ws = new WsTransport({
      originHost,
      dispatcher: this.dispatcher,
      hub: this.hub,
      limits,
      log: this.log,
      metrics: this.metrics,
      refusal,
    });
    this.http = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        maxHeaderSize: limits.maxHeaderBytes,
        // Node enforces the two timeouts above only when it sweeps its connections; the
        // default sweep (30 s) would stretch a 1 s header timeout to 31 s.
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
      },
      createRequestHandler({
        dispatcher: this.dispatcher,
        limits,
        log: this.log,
        metrics: this.metrics,
        health: o.health,
        metricsText: o.metrics,
        staticDir: o.staticDir,
        refusal,
        originHost,
      }),
    );
    // Before Node's own listener, so the admission is known when the first request arrives.
    this.http.prependListener('connection', (socket: Socket) => this.onConnection(socket));
    this.http.on('upgrade', (req, socket, head) => this.ws.handleUpgrade(req, socket, head));
  }

  /** Binds and listens; resolves with the bound address (useful with port 0). */
  async start(): Promise<ListeningAddress> {
    if (this.state !== 'new') throw new Error(`RPC server cannot start: it is ${this.state}`);
    this.state = 'starting';
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.state = 'stopped';
        this.ws.terminateAll();
        reject(err);
      };
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.http.on('error', (err) => this.log.error({ err }, 'RPC server error'));
    const addr = this.http.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.bound = {
      host: addr.address,
      port: addr.port,
      url: `http://${h}:${addr.port}`,
      wsUrl: `ws://${h}:${addr.port}/rpc`,
    };
    this.state = 'listening';
    this.log.info({ url: this.bound.url }, 'RPC server listening');
    return this.bound;
  }

  /**
   * Stops: new calls answer SHUTTING_DOWN, calls in progress get `shutdownGraceMs` to finish
   * (then their signals abort), WebSocket clients get close 1001, and every socket is closed.
   * Idempotent; resolves when the port is released.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Pushes an event to the topic's subscribers. Never throws; a no-op unless listening. */
  /** Whether a 'tx' event for this hash has a subscriber (so the publisher can skip building it). */
  watchesTx(hashHex: string): boolean {
    return this.state === 'listening' && this.hub.watchesTx(hashHex);
  }

  watchesAnyTx(): boolean {
    return this.state === 'listening' && this.hub.watchesAnyTx();
  }

  publish<T extends Topic>(topic: T, payload: TopicPayloads[T]): void {
    if (this.state === 'listening') this.hub.publish(topic, payload);
  }

  address(): ListeningAddress | undefined {
    return this.bound;
  }

  stats(): RpcServerStats {
    return {
      connections: this.limiter.open,
      wsSessions: this.ws.sessionCount,
      subscriptions: this.hub.size,
      inFlight: this.dispatcher.inFlight,
    };
  }

  private onConnection(socket: Socket): void {
    const admission = this.limiter.admit(socket);
    if (!admission.ok) {
      this.refused.set(socket, admission);
      this.metrics.rejected(admission.status === 429 ? 'connectionsPerIp' : 'connections');
      this.log.debug({ remoteAddress: socket.remoteAddress, status: admission.status }, 'connection refused');
      // It gets an answer to its first request; one that sends nothing is cut soon.
      setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
      return;
    }
    this.metrics.connections(this.limiter.open);
    socket.once('close', () => this.metrics.connections(this.limiter.open));
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'new' || this.state === 'stopped') {
      this.state = 'stopped';
      this.ws.terminateAll();
      return;
    }
    this.state = 'stopping';
    this.dispatcher.beginShutdown();
    this.ws.beginShutdown();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.dispatcher.drain(this.options.limits.shutdownGraceMs);
    // A turn for the answers of the calls that just ended to be written, then one for the
    // close frames, before cutting.
    await new Promise((r) => setImmediate(r));
    this.ws.closeSessions();
    this.http.closeIdleConnections();
    // Let clients finish the close handshake and keep-alive sockets go idle, briefly.
    const linger = Math.min(1_000, Math.max(50, this.options.limits.shutdownGraceMs));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, linger)))]);
    clearTimeout(timer);
    this.ws.terminateAll();
    this.http.closeAllConnections();
    await closed;
    this.state = 'stopped';
    this.log.info('RPC server stopped');
  }
}

/** Same as `new RpcServer(options)`. */
export function createRpcServer(options: RpcServerOptions): RpcServer {
  return new RpcServer(options);
}
