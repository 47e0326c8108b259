/** Protocol ids and default limits of the Synod wire protocols. */

export const PROTOCOLS = {
  /** One-way consensus messages, high rate. */
  consensus: '/synod/consensus/1',
  /** One-way batched transaction forwarding. */
  tx: '/synod/tx/1',
  /** Request/response: one request frame, then zero or more response frames until end of stream. */
  sync: '/synod/sync/1',
} as const;

export type ProtocolName = keyof typeof PROTOCOLS;
export type OneWayProtocol = 'consensus' | 'tx';
export const ONE_WAY_PROTOCOLS: readonly OneWayProtocol[] = ['consensus', 'tx'];
export const PROTOCOL_NAMES: readonly ProtocolName[] = ['consensus', 'tx', 'sync'];

const MiB = 1024 * 1024;

export const DEFAULT_MAX_FRAME_BYTES: Readonly<Record<ProtocolName, number>> = {
  consensus: 4 * MiB,
  tx: 8 * MiB,
  sync: 16 * MiB,
};

/**
 * Outbound queue bounds per (peer, protocol). Consensus keeps many small messages (votes);
 * tx batches are fewer and larger. The byte bound is raised to at least one maximum frame.
 */
export const DEFAULT_QUEUE: Readonly<Record<OneWayProtocol, { maxMessages: number; maxBytes: number }>> = {
  consensus: { maxMessages: 8192, maxBytes: 16 * MiB },
  tx: { maxMessages: 1024, maxBytes: 32 * MiB },
};

/** Largest single write to a stream: small messages are coalesced up to this size. */
export const MAX_BATCH_BYTES = 256 * 1024;
