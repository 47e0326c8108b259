/** Options of the p2p host, and their defaults. */
import type { Logger } from 'pino';
import type { AllowedPeer } from './allowlist.js';
import type { MisbehaviourOptions } from './misbehaviour.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_QUEUE,
  ONE_WAY_PROTOCOLS,
  type OneWayProtocol,
  PROTOCOL_NAMES,
  type ProtocolName,
} from './protocols.js';
import type { RedialOptions } from './redial.js';
import type { MessageHandler, PeerInfo, SyncHandler } from './types.js';

export interface P2PHostOptions {
  /** 32-byte Ed25519 seed of this node (its validator or observer key). */
  secretKey: Uint8Array;
  /** Its public key, checked against the seed when given. */
  publicKey?: Uint8Array;
  /** Listen multiaddrs. Default `['/ip4/127.0.0.1/tcp/0']`. */
  listen?: string[];
  /** Initial allow-list; replace it later with `setAllowedPeers`. */
  allowedPeers?: readonly AllowedPeer[];
  /** Parent logger; we log through `child({module: 'p2p'})`. Default: silent. */
  logger?: Logger;
  handlers?: { consensus?: MessageHandler; tx?: MessageHandler; sync?: SyncHandler };
  onPeerConnected?: (peer: PeerInfo) => void;
  onPeerDisconnected?: (peer: PeerInfo) => void;
  /** Largest payload per frame. Defaults: consensus 4 MiB, tx 8 MiB, sync 16 MiB. */
  maxFrameBytes?: Partial<Record<ProtocolName, number>>;
  /** Outbound queue bound per (peer, protocol); drop-oldest when full. */
  queue?: Partial<Record<OneWayProtocol, { maxMessages?: number; maxBytes?: number }>>;
  redial?: RedialOptions & {
    /** Limit for one dial attempt. Default 10 s. */
    dialTimeoutMs?: number;
  };
  misbehaviour?: MisbehaviourOptions;
  sync?: {
    /** Default whole-request limit for `request`. Default 15 s. */
    timeoutMs?: number;
    /** A response with more frames fails. Default 10,000. */
    maxResponseFrames?: number;
    /** A response with more payload bytes fails. Default 256 MiB. */
    maxResponseBytes?: number;
    /** Time an inbound sync stream has to deliver its request. Default 10 s. */
    requestReadTimeoutMs?: number;
    /** Concurrent sync streams per connection, each way. Default 16. */
    maxConcurrent?: number;
  };
  /**
   * Connections accepted per second from one IP. libp2p's default of 5 is too low for a devnet
   * whose nodes all share 127.0.0.1. Default 64.
   */
  inboundConnectionsPerSecond?: number;
  /** Time limit for opening an outbound stream, protocol negotiation included. Default 10 s. */
  streamOpenTimeoutMs?: number;
}

export interface SyncLimits {
  timeoutMs: number;
  maxResponseFrames: number;
  maxResponseBytes: number;
  requestReadTimeoutMs: number;
  maxConcurrent: number;
}

export interface ResolvedOptions {
  listen: string[];
  maxFrame: Record<ProtocolName, number>;
  queue: Record<OneWayProtocol, { maxMessages: number; maxBytes: number }>;
  dialTimeoutMs: number;
  streamOpenTimeoutMs: number;
  sync: SyncLimits;
  inboundConnectionsPerSecond: number;
}

const MiB = 1024 * 1024;
/** Frames above this are refused by configuration: one frame is held in memory whole. */
export const MAX_CONFIGURABLE_FRAME = 256 * MiB;

/** Fills in defaults and validates; throws RangeError on nonsense. */
export function resolveOptions(o: P2PHostOptions): ResolvedOptions {
  const maxFrame = { ...DEFAULT_MAX_FRAME_BYTES };
  for (const p of PROTOCOL_NAMES) {
    const v = o.maxFrameBytes?.[p];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1 || v > MAX_CONFIGURABLE_FRAME) {
      throw new RangeError(`maxFrameBytes.${p} must be an integer in [1, ${MAX_CONFIGURABLE_FRAME}]`);
    }
    maxFrame[p] = v;
  }
  const queue = { consensus: { ...DEFAULT_QUEUE.consensus }, tx: { ...DEFAULT_QUEUE.tx } };
  for (const p of ONE_WAY_PROTOCOLS) {
    const q = o.queue?.[p];
    const limits = queue[p];
    if (q?.maxMessages !== undefined) limits.maxMessages = Math.max(1, Math.floor(q.maxMessages));
    if (q?.maxBytes !== undefined) limits.maxBytes = Math.max(1, Math.floor(q.maxBytes));
    // A queue must be able to hold at least one maximum-size frame.
    limits.maxBytes = Math.max(limits.maxBytes, maxFrame[p]);
  }
  return {
    listen: o.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    maxFrame,
    queue,
    dialTimeoutMs: o.redial?.dialTimeoutMs ?? 10_000,
    streamOpenTimeoutMs: o.streamOpenTimeoutMs ?? 10_000,
    sync: {
      timeoutMs: o.sync?.timeoutMs ?? 15_000,
      maxResponseFrames: o.sync?.maxResponseFrames ?? 10_000,
      maxResponseBytes: o.sync?.maxResponseBytes ?? 256 * MiB,
      requestReadTimeoutMs: o.sync?.requestReadTimeoutMs ?? 10_000,
      maxConcurrent: o.sync?.maxConcurrent ?? 16,
    },
    inboundConnectionsPerSecond: o.inboundConnectionsPerSecond ?? 64,
  };
}
