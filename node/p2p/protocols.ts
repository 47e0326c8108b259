/** Protocol ids and default limits of the Synod wire protocols. */
import { DEFAULT_LIMITS } from '../../consensus/limits.js';

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

/**
 * Largest frame accepted per protocol. What a node must send has to fit what its peers accept,
 * by construction (docs/architecture.md, "Rules for hostile peers"):
 * - consensus: the core's `messageBytesMax`, which consensus/limits.ts proves is at least the
 *   largest block plus the largest envelope (a full certificate or justification). A DECIDED or
 *   ROUND-CHANGE carrying a maximal block therefore always fits; the chain parameter
 *   `blockBytesMax` is capped by the same protocol block size (ledger/params.ts).
 * - sync: one response frame carries one block and its certificate, so the consensus bound
 *   serves it too; kept larger only as headroom for its own envelope.
 * - tx: a forwarded batch is closed before its encoding would pass this bound.
 */
export const DEFAULT_MAX_FRAME_BYTES: Readonly<Record<ProtocolName, number>> = {
  consensus: DEFAULT_LIMITS.messageBytesMax,
  tx: 8 * MiB,
  sync: 16 * MiB,
};

// The sync frame carries what a DECIDED carries (a block and its certificate) and a little more.
if (DEFAULT_MAX_FRAME_BYTES.sync < DEFAULT_MAX_FRAME_BYTES.consensus + 64 * 1024) {
  throw new Error('p2p limits: the sync frame must hold a consensus-sized block with its certificate');
}

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
