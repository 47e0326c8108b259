/**
 * The replica's interface to its driver: the events it consumes and the `Ready` batch of actions
 * it returns for each one (etcd/raft's Step/Ready, in one call).
 *
 * Time reaches the core only as `nowMs` in events; the core never reads a clock. Every event
 * carries the driver's current time; `tick` exists only to say "time has passed".
 */
import type { CommitCertificate } from './certificate.js';
import type { Evidence } from './evidence.js';
import type { ConsensusLimits } from './limits.js';
import type { MessageKind } from './messages.js';
import type { ValidatorSet } from './validators.js';

/** Opaque identity of the network peer a frame came from (e.g. a libp2p peer id). */
export type PeerId = string;

/**
 * Start deciding `height` (R0). Sent once at boot and, after every `commit` in a Ready, once the
 * ledger holds that block: then height = committed height + 1 and `validators` is V(height), read
 * from the state after the committed block (§7). On a restart, pass the last persisted WAL record
 * in `wal`; it is restored if it is for `height` and ignored if older (the ledger already holds
 * that block), and a record for a later height is refused (WalError 'ahead-of-ledger').
 */
export interface StartHeightEvent {
  type: 'startHeight';
  nowMs: number;
  height: number;
  validators: ValidatorSet;
  /** blockHash of block height-1 (the genesis hash for height 1). */
  parentHash: Uint8Array;
  parentTimestampMs: number;
  wal?: Uint8Array;
  /**
   * The chain parameters in force at `height` that the core uses (CHAIN_PARAM_LIMIT_NAMES), read
   * like `validators` from the state after block height-1, so a passed param.set applies from the
   * next height on every node without a restart. They replace those of the previous height; an
   * absent one keeps its value. Every other limit stays as constructed. A merged set that
   * `resolveLimits` refuses is not used: the previous limits stay (counter `limitsRefused`).
   */
  limits?: Partial<ChainParamLimits>;
}

/** The limits that are chain parameters (ledger/params.ts), and so may change at a height. */
export const CHAIN_PARAM_LIMIT_NAMES = Object.freeze([
  'roundTimeoutMsBase',
  'roundTimeoutMsMax',
  'blockPeriodMs',
  'emptyBlockIntervalMs',
  'clockSkewMsMax',
] as const satisfies readonly (keyof ConsensusLimits)[]);

export type ChainParamLimits = Pick<ConsensusLimits, (typeof CHAIN_PARAM_LIMIT_NAMES)[number]>;

/** A frame received from the network (not yet decoded or verified). */
export interface MessageEvent {
  type: 'message';
  nowMs: number;
  from: PeerId;
  bytes: Uint8Array;
}

/** Time has passed. Send one no later than the last Ready's `wakeAtMs`; extra ticks are harmless. */
export interface TickEvent {
  type: 'tick';
  nowMs: number;
}

/** Answer to a `build` request: a block for (height, round), built and executed by the driver. */
export interface ProposalBuiltEvent<B> {
  type: 'proposalBuilt';
  nowMs: number;
  height: number;
  round: number;
  block: B;
}

/** Answer to an `execute` request: whether re-executing the block reproduced its header (FRESH). */
export interface BlockExecutedEvent {
  type: 'blockExecuted';
  nowMs: number;
  digest: Uint8Array;
  valid: boolean;
}

/** Whether the driver's mempool holds a transaction not yet committed (arms the round-0 timer, §1.3). */
export interface PendingTxsEvent {
  type: 'pendingTxs';
  nowMs: number;
  pending: boolean;
}

/** A block with its certificate obtained by sync (treated exactly like a DECIDED message, R7). */
export interface DecidedEvent<B> {
  type: 'decided';
  nowMs: number;
  block: B;
  cert: CommitCertificate;
}

export type ConsensusEvent<B> =
  | StartHeightEvent
  | MessageEvent
  | TickEvent
  | ProposalBuiltEvent<B>
  | BlockExecutedEvent
  | PendingTxsEvent
  | DecidedEvent<B>;

/** A decided block to write to the ledger in one atomic batch (block, certificate, state). */
export interface Commit<B> {
  height: number;
  block: B;
  blockBytes: Uint8Array;
  digest: Uint8Array;
  cert: CommitCertificate;
}

/** A frame to broadcast to every peer: the validators of this and the next height, and observers. */
export interface OutboundMessage {
  kind: MessageKind;
  height: number;
  round: number;
  bytes: Uint8Array;
}

/** Re-execute `block` on the state after block height-1; answer with `blockExecuted`. */
export interface ExecuteRequest<B> {
  height: number;
  digest: Uint8Array;
  block: B;
}

/**
 * Build (and execute) a block for (height, round) and answer with `proposalBuilt`. The block must
 * have that height and B.view = round, B.proposer = this replica, B.parentHash = the parent's
 * hash, and a timestamp >= minTimestampMs (the parent's + 1) and not ahead of the driver's clock.
 */
export interface BuildRequest {
  height: number;
  round: number;
  minTimestampMs: number;
}

/** A peer sent messages of a past height: send it the DECIDED of `height` if the ledger holds it (§4). */
export interface ServeDecidedRequest {
  to: PeerId;
  height: number;
}

/** This replica is behind or lacks a block: fetch blocks with certificates from `height` on (§4). */
export interface SyncRequest {
  height: number;
  reason: 'decided-ahead' | 'validators-ahead' | 'unknown-block';
  /** For 'unknown-block': the digest a COMMIT quorum names. */
  digest?: Uint8Array;
}

/**
 * A peer sent something no honest node sends (a malformed frame, a bad signature or certificate
 * at the height being decided, a proposal from a non-proposer, an invalid justification...): the
 * driver lowers the peer's score, which ends in a ban. Never raised for what an honest node can
 * send (a stale or future message, a duplicate, a block its clock judges early).
 */
export interface Offence {
  peer: PeerId;
  reason: DropReason;
}

/** Stop: continuing could fork. The replica is halted and ignores every later event. */
export interface FatalAlarm {
  code: 'determinism-fault' | 'invalid-decided-block';
  height: number;
  digest: Uint8Array;
  message: string;
}

/**
 * What the driver must do after one `step`, IN THIS ORDER:
 *   1. `persist`: write these WAL bytes and fsync them. Nothing below may happen first: the
 *      messages were signed against this record (persist before send, docs/protocol.md §3.3).
 *   2. `commit`: write the block, certificate and resulting state in one atomic ledger batch and
 *      make it durable; then send startHeight(height + 1) as the next event.
 *   3. `messages`: broadcast each frame. The core has already counted its own messages (a
 *      replica's messages are delivered to itself inside the core); do not loop them back.
 *   4. the requests (`execute`, `build`, `serveDecided`, `requestSync`), in any order, answering
 *      with events later; `evidence`: persist, expose over RPC and forward each record once;
 *      `offences`: report each to the peer scorer.
 *   5. arrange a `tick` at `wakeAtMs` (replacing any earlier arrangement).
 * Steps must be serialised: the next event is stepped only after this Ready was persisted (1).
 */
export interface Ready<B> {
  persist?: Uint8Array;
  commit?: Commit<B>;
  messages: OutboundMessage[];
  execute: ExecuteRequest<B>[];
  build: BuildRequest[];
  serveDecided: ServeDecidedRequest[];
  requestSync: SyncRequest[];
  evidence: Evidence[];
  /** Provable misbehaviour of the peers whose frames this step read. */
  offences: Offence[];
  fatal?: FatalAlarm;
  /** When the core next needs a tick; undefined when it waits only for events. */
  wakeAtMs?: number;
}

/** Why a received message was dropped (the labels of the `dropped` counter). */
export type DropReason =
  | 'not-started'
  | 'halted'
  | 'too-large'
  | 'malformed'
  | 'bad-block-encoding'
  | 'wrong-chain'
  | 'own-echo'
  | 'past-height'
  | 'future-too-far'
  | 'future-evicted'
  /** Above h, an author or signature V(h) cannot vouch for (the set may change there): not buffered, not an offence. */
  | 'future-unauthenticated'
  | 'not-validator'
  | 'bad-signature'
  | 'duplicate'
  | 'conflicting'
  | 'equivocation-excess'
  | 'old-round'
  | 'round-too-far'
  | 'not-proposer'
  | 'bad-proposal'
  | 'bad-block'
  | 'bad-timestamp'
  | 'invalid-block'
  | 'bad-round-change'
  | 'bad-decided'
  | 'stale-event';

export const DROP_REASONS: readonly DropReason[] = [
  'not-started',
  'halted',
  'too-large',
  'malformed',
  'bad-block-encoding',
  'wrong-chain',
  'own-echo',
  'past-height',
  'future-too-far',
  'future-evicted',
  'future-unauthenticated',
  'not-validator',
  'bad-signature',
  'duplicate',
  'conflicting',
  'equivocation-excess',
  'old-round',
  'round-too-far',
  'not-proposer',
  'bad-proposal',
  'bad-block',
  'bad-timestamp',
  'invalid-block',
  'bad-round-change',
  'bad-decided',
  'stale-event',
];

/** Counters for metrics. Monotonic over the replica's lifetime (not reset per height). */
export interface ReplicaCounters {
  received: number;
  dropped: Record<DropReason, number>;
  signaturesVerified: number;
  verifyCacheHits: number;
  sent: Record<MessageKind, number>;
  decided: number;
  roundTimeouts: number;
  /** Timeouts that found fewer than q validators at the round, so re-armed it (see Replica.onTick). */
  roundTimeoutsDeferred: number;
  roundSkips: number;
  roundJumps: number;
  evidence: number;
  buffered: number;
  executeRequests: number;
  buildRequests: number;
  syncRequests: number;
  decidedServed: number;
  /** startHeight limits refused by resolveLimits (the previous ones stayed in force). */
  limitsRefused: number;
}
