/**
 * The peer-to-peer host: libp2p (TCP + Noise + Yamux) with our Ed25519 identity, an allow-list
 * connection gater, the three Synod protocols, redial, misbehaviour bans and counters.
 *
 * Payloads are opaque byte strings here; the node decides what they mean. Nothing else of
 * libp2p runs: no discovery, no DHT, no identify (streams are negotiated per protocol by
 * multistream-select, which needs no prior knowledge of the peer's protocols).
 */
import './polyfill.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { anySignal } from 'any-signal';
import { createLibp2p } from 'libp2p';
import { type Logger, pino } from 'pino';
import { publicKeyFromSecret } from '../../crypto/ed25519.js';
import { type AllowEntry, type AllowedPeer, AllowList } from './allowlist.js';
import {
  FrameTooLargeError,
  P2PNotRunningError,
  PeerNotAllowedError,
  PeerUnreachableError,
} from './errors.js';
import { allowListGater } from './gater.js';
import { libp2pPrivateKey, peerIdFromPublicKey } from './identity.js';
import { type InboundContext, readOneWay } from './inbound.js';
import { Misbehaviour } from './misbehaviour.js';
import { noiseAeadName, noiseCrypto } from './noise-crypto.js';
import { type P2PHostOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Outbox } from './outbox.js';
import { ONE_WAY_PROTOCOLS, type OneWayProtocol, PROTOCOLS } from './protocols.js';
import { type DialOutcome, Redialer } from './redial.js';
import { cloneCounters, createCounters, type MutableCounters, type P2PStats } from './stats.js';
import { requestSync, type SyncContext, serveSync } from './sync.js';
import type { MessageHandler, PeerInfo, PeerRef, RequestOptions, SyncHandler } from './types.js';

// Re-exported so callers may import the host and its types from one module.
export type { P2PHostOptions } from './options.js';
export type {
  MessageHandler,
  PeerInfo,
  PeerRef,
  RequestOptions,
  SyncHandler,
  SyncResponse,
} from './types.js';

/** Distinct misbehaviour reasons kept in the counters; more are folded into "other". */
const MAX_REASONS = 64;

export class P2PHost {
  /** Our peer id string, known before start. */
  readonly peerId: string;
  readonly publicKey: Uint8Array;

  private readonly secretKey: Uint8Array;
  private readonly log: Logger;
  private readonly opts: ResolvedOptions;
  private readonly sync: SyncContext;

  private readonly allow = new AllowList();
  private readonly mis: Misbehaviour;
  private readonly redialer: Redialer;
  private readonly counters: MutableCounters = createCounters();
  private readonly outboxes = new Map<string, Map<OneWayProtocol, Outbox>>();
  private readonly messageHandlers: Partial<Record<OneWayProtocol, MessageHandler>> = {};
  private syncHandler: SyncHandler | undefined;
  private readonly onPeerConnected: ((peer: PeerInfo) => void) | undefined;
  private readonly onPeerDisconnected: ((peer: PeerInfo) => void) | undefined;

  private node: Libp2p | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  /** Aborted on stop: cancels dials, requests and sync serves in flight. */
  private readonly stopController = new AbortController();

  constructor(options: P2PHostOptions) {
    if (!(options.secretKey instanceof Uint8Array) || options.secretKey.length !== 32) {
      throw new TypeError('secretKey must be a 32-byte Ed25519 seed');
    }
    this.secretKey = options.secretKey.slice();
    this.publicKey = publicKeyFromSecret(this.secretKey);
    this.peerId = peerIdFromPublicKey(this.publicKey);
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'p2p' });
    this.opts = resolveOptions(options);
    this.mis = new Misbehaviour(options.misbehaviour);
    const redial = options.redial ?? {};
    this.redialer = new Redialer(
      {
        ...redial,
        firstDelayMs: (id) => (this.peerId < id ? 0 : Math.min(2 * (redial.baseMs ?? 500), 2_000)),
      },
      (id) => this.redialAttempt(id),
      this.log,
    );
    if (options.handlers?.consensus) this.messageHandlers.consensus = options.handlers.consensus;
    if (options.handlers?.tx) this.messageHandlers.tx = options.handlers.tx;
    this.syncHandler = options.handlers?.sync;
    this.onPeerConnected = options.onPeerConnected;
    this.onPeerDisconnected = options.onPeerDisconnected;
    this.sync = {
      maxFrameBytes: this.opts.maxFrame.sync,
      limits: this.opts.sync,
      counters: this.counters,
      log: this.log,
      stopSignal: this.stopController.signal,
      handler: () => this.syncHandler,
      protocolViolation: (peerId, reason) => this.punish(peerId, reason, true),
    };
    if (options.allowedPeers) this.allow.replace(options.allowedPeers, this.peerId);
  }

  /** True between a successful `start()` and `stop()`. */
  get running(): boolean {
    return this.state === 'running';
  }

  /** The underlying libp2p node, for diagnostics and tests. Do not write on Synod protocols through it. */
  get libp2p(): Libp2p {
    if (this.node === undefined) throw new P2PNotRunningError('p2p host not started');
    return this.node;
  }

  /** Starts listening and dialling the allowed peers. A host starts once; make a new one to restart. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new P2PNotRunningError(`cannot start a host that is ${this.state}`);
    this.state = 'starting';
    let node: Libp2p | undefined;
    try {
      const privateKey = await libp2pPrivateKey(this.secretKey, this.publicKey);
      node = await createLibp2p({
        privateKey,
        start: false,
        addresses: { listen: this.opts.listen },
        transports: [tcp()],
        connectionEncrypters: [noise({ crypto: noiseCrypto })],
        streamMuxers: [yamux()],
        connectionGater: allowListGater((id) => this.isDenied(id), this.counters, this.log),
        connectionManager: {
          dialTimeout: this.opts.dialTimeoutMs,
          inboundConnectionThreshold: this.opts.inboundConnectionsPerSecond,
        },
        // Kept on: it opens a probe stream every 10 s and aborts connections that stop
        // answering, which is how a silently dead TCP peer gets noticed and redialled.
        connectionMonitor: { enabled: true },
      });
      for (const p of ONE_WAY_PROTOCOLS) {
        await node.handle(
          PROTOCOLS[p],
          ({ stream, connection }) => this.onOneWayStream(p, stream, connection),
          {
            maxInboundStreams: 8,
            maxOutboundStreams: 8,
          },
        );
      }
      await node.handle(PROTOCOLS.sync, ({ stream, connection }) => this.onSyncStream(stream, connection), {
        maxInboundStreams: this.opts.sync.maxConcurrent,
        maxOutboundStreams: this.opts.sync.maxConcurrent,
      });
      node.addEventListener('peer:connect', (e) => this.onConnect(e.detail));
      node.addEventListener('peer:disconnect', (e) => this.onDisconnect(e.detail));
      node.addEventListener('connection:open', () => this.counters.connections.opened++);
      node.addEventListener('connection:close', (e) => {
        this.counters.connections.closed++;
        // Writers idle on a stream of this connection would not notice it died (streams.ts).
        const boxes = this.outboxes.get(e.detail.remotePeer.toString());
        if (boxes !== undefined) for (const b of boxes.values()) b.poke();
      });
      this.node = node;
      await node.start();
      // stop() may have been called while we were starting.
      if (this.state !== 'starting') throw new P2PNotRunningError('p2p host stopped while starting');
      this.state = 'running';
    } catch (err) {
      this.state = 'stopped';
      this.redialer.stop();
      try {
        await node?.stop();
      } catch {
        // already failing; the original error is the one to report
      }
      throw err;
    }
    for (const e of this.allow.values()) if (e.addrs.length > 0) this.redialer.schedule(e.peerId);
    this.log.info(
      { peerId: this.peerId, addrs: this.multiaddrs(), allowed: this.allow.size, noiseAead: noiseAeadName },
      'p2p started',
    );
  }

  /** Closes every stream and connection, cancels timers and requests. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const node = this.node;
    this.state = 'stopping';
    this.stopController.abort(new P2PNotRunningError('p2p host stopped'));
    this.redialer.stop();
    for (const boxes of this.outboxes.values()) for (const b of boxes.values()) b.close();
    this.outboxes.clear();
    try {
      await node?.stop();
    } finally {
      this.state = 'stopped';
      this.log.info({ peerId: this.peerId }, 'p2p stopped');
    }
  }

  /** Our listen addresses without the `/p2p/<id>` suffix (port 0 resolved). Empty when not running. */
  multiaddrs(): string[] {
    if (this.node === undefined || this.state !== 'running') return [];
    return this.node.getMultiaddrs().map((ma) => ma.decapsulateCode(421).toString());
  }

  /** Sets the handler for inbound messages of a one-way protocol (replacing any previous one). */
  setMessageHandler(protocol: OneWayProtocol, handler: MessageHandler | undefined): void {
    if (handler === undefined) delete this.messageHandlers[protocol];
    else this.messageHandlers[protocol] = handler;
  }

  /** Sets the sync request handler. Without one, inbound sync requests are reset. */
  setSyncHandler(handler: SyncHandler | undefined): void {
    this.syncHandler = handler;
  }

  /**
   * Replaces the allow-list. Connections to peers no longer listed are closed and their queues
   * dropped; new peers with addresses are dialled. Our own key is ignored. Throws (changing
   * nothing) on a malformed key or address.
   */
  setAllowedPeers(peers: readonly AllowedPeer[]): { added: string[]; removed: string[] } {
    const diff = this.allow.replace(peers, this.peerId);
    for (const e of diff.removed) {
      this.redialer.cancel(e.peerId);
      this.mis.forget(e.peerId);
      const boxes = this.outboxes.get(e.peerId);
      if (boxes !== undefined) for (const b of boxes.values()) b.close();
      this.outboxes.delete(e.peerId);
      if (this.node !== undefined && this.openConnection(e) !== undefined) {
        this.counters.disconnects.removed++;
        this.node
          .hangUp(e.id)
          .catch((err: unknown) => this.log.debug({ err, peer: e.peerId }, 'hang up failed'));
      }
    }
    if (this.running) {
      for (const e of [...diff.added, ...diff.readdressed]) {
        if (e.addrs.length === 0 || this.openConnection(e) !== undefined) continue;
        // New addresses deserve a prompt try, not the tail of an old back-off.
        this.redialer.cancel(e.peerId);
        this.redialer.schedule(e.peerId);
      }
    }
    const result = { added: diff.added.map((e) => e.peerId), removed: diff.removed.map((e) => e.peerId) };
    if (result.added.length + result.removed.length + diff.readdressed.length > 0) {
      this.log.info(
        { ...result, readdressed: diff.readdressed.length, allowed: this.allow.size },
        'allow-list changed',
      );
    }
    return result;
  }

  /** Whether `peer` is in the allow-list (banned or not). */
  isAllowed(peer: PeerRef): boolean {
    return this.allow.has(this.resolve(peer));
  }

  /** Whether we have an open connection to `peer`. */
  isConnected(peer: PeerRef): boolean {
    const e = this.allow.get(this.resolve(peer));
    return e !== undefined && this.openConnection(e) !== undefined;
  }

  /** Allowed peers we currently have an open connection to. */
  connectedPeers(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const e of this.allow.values()) if (this.openConnection(e) !== undefined) out.push(infoOf(e));
    return out;
  }

  /**
   * Queues `payload` for `peer` on a one-way protocol. Returns false (and counts `unroutable`)
   * if the peer is not allowed or is banned. An allowed peer that is not connected yet still gets
   * the message queued, delivered once it connects; when the queue is full the OLDEST message is
   * dropped and counted. Throws FrameTooLargeError when `payload` exceeds the protocol maximum.
   * The caller must not modify `payload` afterwards (it is framed later, without a copy).
   */
  send(peer: PeerRef, protocol: OneWayProtocol, payload: Uint8Array): boolean {
    const max = this.opts.maxFrame[protocol];
    if (payload.length > max) throw new FrameTooLargeError(payload.length, max);
    const e = this.allow.get(this.resolve(peer));
    if (e === undefined || !this.running || this.mis.isBanned(e.peerId)) {
      this.counters.protocols[protocol].unroutable++;
      return false;
    }
    this.outbox(e, protocol).enqueue(payload);
    return true;
  }

  /** Queues `payload` for every allowed, connected, unbanned peer; returns how many. */
  broadcast(protocol: OneWayProtocol, payload: Uint8Array): number {
    const max = this.opts.maxFrame[protocol];
    if (payload.length > max) throw new FrameTooLargeError(payload.length, max);
    if (!this.running) return 0;
    let n = 0;
    for (const e of this.allow.values()) {
      if (this.openConnection(e) === undefined || this.mis.isBanned(e.peerId)) continue;
      this.outbox(e, protocol).enqueue(payload);
      n++;
    }
    return n;
  }

  /**
   * Sends one sync request and collects every response frame until the responder ends the
   * stream. Dials the peer if needed. Rejects with SyncTimeoutError (time limit),
   * SyncRequestError (reset by the responder, too many frames/bytes, transport failure),
   * PeerNotAllowedError, PeerUnreachableError, FrameTooLargeError (request too large), or the
   * caller's abort reason.
   */
  async request(peer: PeerRef, payload: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array[]> {
    if (!this.running) throw new P2PNotRunningError('p2p host not running');
    const max = this.opts.maxFrame.sync;
    if (payload.length > max) throw new FrameTooLargeError(payload.length, max);
    const id = this.resolve(peer);
    const e = this.allow.get(id);
    if (e === undefined) throw new PeerNotAllowedError(`peer ${id} is not allowed`);
    if (this.mis.isBanned(id)) throw new PeerNotAllowedError(`peer ${id} is banned`);
    const connect = async (signal: AbortSignal) =>
      this.openConnection(e) ?? (await this.dialEntry(e, signal));
    return requestSync(this.sync, id, connect, payload, options);
  }

  /**
   * Reports misbehaviour by `peer` (e.g. an invalid signature), counted by `reason`. At the
   * configured threshold within the window the peer is disconnected and banned for a bounded
   * time. Returns true when this report caused a ban.
   */
  reportMisbehaviour(peer: PeerRef, reason: string): boolean {
    return this.punish(this.resolve(peer), reason, false);
  }

  /** A snapshot of the counters as plain data. */
  stats(): P2PStats {
    const snap = cloneCounters(this.counters);
    for (const boxes of this.outboxes.values()) {
      for (const [p, b] of boxes) snap.protocols[p].queued += b.queued;
    }
    return {
      peerId: this.peerId,
      running: this.running,
      connectedPeers: this.node !== undefined && this.running ? this.node.getPeers().length : 0,
      allowedPeers: this.allow.size,
      bannedPeers: this.mis.bannedCount(),
      ...snap,
    };
  }

  // ---- internals ----

  private resolve(peer: PeerRef): string {
    return typeof peer === 'string' ? peer : peerIdFromPublicKey(peer);
  }

  private openConnection(e: AllowEntry): Connection | undefined {
    if (this.node === undefined) return undefined;
    return this.node.getConnections(e.id).find((c) => c.status === 'open');
  }

  private outbox(e: AllowEntry, protocol: OneWayProtocol): Outbox {
    let boxes = this.outboxes.get(e.peerId);
    if (boxes === undefined) {
      boxes = new Map();
      this.outboxes.set(e.peerId, boxes);
    }
    let box = boxes.get(protocol);
    if (box === undefined) {
      box = new Outbox({
        protocolId: PROTOCOLS[protocol],
        ...this.opts.queue[protocol],
        connection: () => this.openConnection(e),
        counters: this.counters.protocols[protocol],
        log: this.log.child({ peer: e.peerId, protocol }),
        openTimeoutMs: this.opts.streamOpenTimeoutMs,
        retryBaseMs: 100,
        retryMaxMs: 5_000,
      });
      boxes.set(protocol, box);
    }
    return box;
  }

  private isDenied(peerId: string): boolean {
    return !this.allow.has(peerId) || this.mis.isBanned(peerId);
  }

  private async dialEntry(e: AllowEntry, signal: AbortSignal): Promise<Connection> {
    if (this.node === undefined) throw new P2PNotRunningError('p2p host not running');
    if (e.addrs.length === 0) throw new PeerUnreachableError(`no address known for ${e.peerId}`);
    const c = this.counters.dials;
    c.attempts++;
    // anySignal, not AbortSignal.any, which leaks on Node 20 when `signal` lives long (sync.ts).
    const dialSignal = anySignal([signal, AbortSignal.timeout(this.opts.dialTimeoutMs)]);
    try {
      const conn = await this.node.dial(e.addrs, { signal: dialSignal });
      c.successes++;
      return conn;
    } catch (err) {
      c.failures++;
      if (signal.aborted) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new PeerUnreachableError(`cannot reach ${e.peerId}: ${msg}`, { cause: err });
    } finally {
      dialSignal.clear();
    }
  }

  private async redialAttempt(peerId: string): Promise<DialOutcome> {
    if (!this.running) return true;
    const e = this.allow.get(peerId);
    if (e === undefined || e.addrs.length === 0) return true;
    const banned = this.mis.banRemaining(peerId);
    if (banned > 0) return banned + 10;
    if (this.openConnection(e) !== undefined) return true;
    try {
      await this.dialEntry(e, this.stopController.signal);
      return true;
    } catch (err) {
      this.log.debug({ err, peer: peerId }, 'dial failed');
      return false;
    }
  }

  private onConnect(peerId: PeerId): void {
    const id = peerId.toString();
    const e = this.allow.get(id);
    if (e === undefined) return;
    this.redialer.connected(id);
    this.log.debug({ peer: id }, 'peer connected');
    const boxes = this.outboxes.get(id);
    if (boxes !== undefined) for (const b of boxes.values()) b.connected();
    if (this.onPeerConnected) {
      try {
        this.onPeerConnected(infoOf(e));
      } catch (err) {
        this.log.warn({ err }, 'onPeerConnected handler threw');
      }
    }
  }

  private onDisconnect(peerId: PeerId): void {
    const id = peerId.toString();
    const e = this.allow.get(id);
    if (e === undefined || !this.running) return;
    this.log.debug({ peer: id }, 'peer disconnected');
    if (e.addrs.length > 0) this.redialer.disconnected(id);
    if (this.onPeerDisconnected) {
      try {
        this.onPeerDisconnected(infoOf(e));
      } catch (err) {
        this.log.warn({ err }, 'onPeerDisconnected handler threw');
      }
    }
  }

  /** The allow-list entry of a connection's remote peer, or undefined (stream then refused). */
  private admit(stream: Stream, connection: Connection): AllowEntry | undefined {
    const id = connection.remotePeer.toString();
    const e = this.allow.get(id);
    if (e === undefined || this.isDenied(id) || !this.running) {
      stream.abort(new PeerNotAllowedError(`peer ${id} is not allowed`));
      return undefined;
    }
    return e;
  }

  private onOneWayStream(protocol: OneWayProtocol, stream: Stream, connection: Connection): void {
    const e = this.admit(stream, connection);
    if (e === undefined) return;
    const ctx: InboundContext = {
      protocol: PROTOCOLS[protocol],
      maxFrameBytes: this.opts.maxFrame[protocol],
      counters: this.counters.protocols[protocol],
      log: this.log,
      handler: () => this.messageHandlers[protocol],
      stillAllowed: () => !this.isDenied(e.peerId),
      protocolViolation: (reason) => this.punish(e.peerId, reason, true),
    };
    void readOneWay(ctx, infoOf(e), stream);
  }

  private onSyncStream(stream: Stream, connection: Connection): void {
    const e = this.admit(stream, connection);
    if (e === undefined) return;
    void serveSync(this.sync, infoOf(e), stream);
  }

  /**
   * Counts a misbehaviour report and bans when due (`immediate` for protocol violations).
   * A ban drops the peer's queues and closes its connections; the gater then refuses it and the
   * redial loop waits for the ban to run out.
   */
  private punish(peerId: string, reason: string, immediate: boolean): boolean {
    const reasons = this.counters.misbehaviour;
    let key = reason.slice(0, 64) || 'unspecified';
    if (!(key in reasons) && Object.keys(reasons).length >= MAX_REASONS) key = 'other';
    reasons[key] = (reasons[key] ?? 0) + 1;
    const e = this.allow.get(peerId);
    if (e === undefined) return false;
    const ban = immediate || this.mis.report(peerId);
    this.log.warn({ peer: peerId, reason: key, ban }, 'peer misbehaved');
    if (!ban) return false;
    this.mis.ban(peerId);
    this.counters.bans++;
    const boxes = this.outboxes.get(peerId);
    if (boxes !== undefined) for (const b of boxes.values()) b.clear();
    if (this.node !== undefined && this.openConnection(e) !== undefined) {
      this.counters.disconnects.misbehaviour++;
      this.node.hangUp(e.id).catch((err: unknown) => this.log.debug({ err, peer: peerId }, 'hang up failed'));
    }
    return true;
  }
}

function infoOf(e: AllowEntry): PeerInfo {
  return { peerId: e.peerId, publicKey: e.publicKey };
}

/** Creates and starts a host. */
export async function createP2PHost(options: P2PHostOptions): Promise<P2PHost> {
  const host = new P2PHost(options);
  await host.start();
  return host;
}
