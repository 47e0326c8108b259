/** Counters of the networking layer, as plain data for the metrics exporter. */
import { PROTOCOL_NAMES, type ProtocolName } from './protocols.js';

export interface ProtocolCounters {
  /** Frames received and delivered (one-way) or received as responses (sync, requester side). */
  framesIn: number;
  /** Frames handed to a stream. */
  framesOut: number;
  /** Payload bytes, without length prefixes. */
  bytesIn: number;
  bytesOut: number;
  /** Messages evicted from a full outbound queue (drop-oldest) or discarded with a removed/banned peer. */
  dropped: number;
  /** `send` calls to peers that are not allowed (or banned): nothing was queued. */
  unroutable: number;
  /** Messages waiting in outbound queues at the time of the snapshot. */
  queued: number;
  /** Outbound streams opened, and streams that failed (open, write or read errors). */
  streamsOpened: number;
  streamErrors: number;
  /** Exceptions thrown by the upper layer's message handler (caught and logged). */
  handlerErrors: number;
}

export interface SyncCounters {
  /** Requests we sent, and how they ended. */
  requestsOut: number;
  responsesOk: number;
  timeouts: number;
  failures: number;
  /** Requests we received, served to the end, or failed (handler error, no handler, timeout). */
  requestsIn: number;
  served: number;
  serveErrors: number;
}

export interface P2PStats {
  peerId: string;
  running: boolean;
  /** Distinct peers with at least one open connection. */
  connectedPeers: number;
  allowedPeers: number;
  bannedPeers: number;
  protocols: Record<ProtocolName, ProtocolCounters>;
  sync: SyncCounters;
  /** Reports (from the upper layer and from framing violations) by reason. */
  misbehaviour: Record<string, number>;
  /** Bans issued, and disconnects we initiated, by cause. */
  bans: number;
  disconnects: { misbehaviour: number; removed: number };
  /** Dials we started (redial loop and on-demand for requests). */
  dials: { attempts: number; successes: number; failures: number };
  /** Connections opened/closed, and refused by the gater after the handshake revealed the peer. */
  connections: { opened: number; closed: number; deniedInbound: number; deniedOutbound: number };
}

export type MutableCounters = Omit<
  P2PStats,
  'peerId' | 'running' | 'connectedPeers' | 'allowedPeers' | 'bannedPeers'
>;

function protocolCounters(): ProtocolCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dropped: 0,
    unroutable: 0,
    queued: 0,
    streamsOpened: 0,
    streamErrors: 0,
    handlerErrors: 0,
  };
}

export function createCounters(): MutableCounters {
  const protocols = {} as Record<ProtocolName, ProtocolCounters>;
  for (const p of PROTOCOL_NAMES) protocols[p] = protocolCounters();
  return {
    protocols,
    sync: {
      requestsOut: 0,
      responsesOk: 0,
      timeouts: 0,
      failures: 0,
      requestsIn: 0,
      served: 0,
      serveErrors: 0,
    },
    misbehaviour: {},
    bans: 0,
    disconnects: { misbehaviour: 0, removed: 0 },
    dials: { attempts: 0, successes: 0, failures: 0 },
    connections: { opened: 0, closed: 0, deniedInbound: 0, deniedOutbound: 0 },
  };
}

/** A deep copy, so callers can keep or diff snapshots. */
export function cloneCounters(c: MutableCounters): MutableCounters {
  return structuredClone(c);
}
