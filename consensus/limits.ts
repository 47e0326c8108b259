/**
 * Every bound and timing constant of the consensus core, in one place, with the relations
 * between them asserted when this module loads (and again for any override, in `resolveLimits`).
 * Units are last in names. Times are milliseconds of the clock the driver reports in events.
 */
import { LimitsError } from './errors.js';

export interface ConsensusLimits {
  /** Timeout of round 0; round r waits min(roundTimeoutMsBase * 2^r, roundTimeoutMsMax) (docs/protocol.md §1.3). */
  roundTimeoutMsBase: number;
  /** Cap of the exponential back-off. Must exceed one good round after GST (≈ 4Δ + execution). */
  roundTimeoutMsMax: number;
  /** The round-0 proposer proposes no earlier than parent.timestamp + blockPeriodMs. */
  blockPeriodMs: number;
  /** With no pending transaction, an (empty) block is made only this long after the parent. */
  emptyBlockIntervalMs: number;
  /** A fresh block's timestamp may be at most this far ahead of the receiver's clock. */
  clockSkewMsMax: number;
  /** Messages for heights h+1 .. h+futureHeightsMax are buffered; further ahead they are dropped (§4). */
  futureHeightsMax: number;
  /** Per author, votes and round changes are kept for at most this many rounds above the current one (§4). */
  roundsAheadMax: number;
  /** Buffered future-height messages per network peer; on overflow that peer's oldest is evicted. */
  bufferedMessagesPerPeerMax: number;
  /** Buffered future-height messages in total. */
  bufferedMessagesTotalMax: number;
  /** Bytes of buffered future-height messages per network peer (one full proposal and a round of votes). */
  bufferedBytesPerPeerMax: number;
  /** Bytes of buffered future-height messages in total. */
  bufferedBytesTotalMax: number;
  /** Largest validator set; also bounds every justification and certificate list. */
  validatorsMax: number;
  /** Largest encoded block accepted inside a consensus message. */
  blockBytesMax: number;
  /** Largest consensus frame. */
  messageBytesMax: number;
  /** Largest chain id, in UTF-8 bytes. */
  chainIdBytesMax: number;
  /** A peer that sends messages of a past height is answered with a DECIDED at most this often. */
  decidedServeIntervalMs: number;
  /** Peers remembered for that rate limit. */
  servePeersMax: number;
  /** The core asks the driver to sync at most this often. */
  syncRequestIntervalMs: number;
  /** Signatures remembered as verified within one height (re-sent items are not re-verified). */
  verifiedCacheEntriesMax: number;
}

/**
 * Upper bound on one signed item on the wire ([payload, signature]): the payload is the domain tag,
 * a chain id of at most `chainIdBytesMax` bytes, a type, two integers, a 20-byte author, a 32-byte
 * digest and an optional (round, digest) pair. Used only to check `messageBytesMax` below.
 */
export const SIGNED_ITEM_BYTES_MAX_FIXED = 256;

export const DEFAULT_LIMITS: Readonly<ConsensusLimits> = Object.freeze({
  roundTimeoutMsBase: 2_000,
  roundTimeoutMsMax: 32_000,
  blockPeriodMs: 500,
  emptyBlockIntervalMs: 10_000,
  clockSkewMsMax: 2_000,
  futureHeightsMax: 2,
  roundsAheadMax: 4,
  bufferedMessagesPerPeerMax: 256,
  bufferedMessagesTotalMax: 4_096,
  bufferedBytesPerPeerMax: 12 * 1024 * 1024,
  bufferedBytesTotalMax: 64 * 1024 * 1024,
  validatorsMax: 256,
  blockBytesMax: 4 * 1024 * 1024,
  messageBytesMax: 5 * 1024 * 1024,
  chainIdBytesMax: 64,
  decidedServeIntervalMs: 1_000,
  servePeersMax: 1_024,
  syncRequestIntervalMs: 2_000,
  verifiedCacheEntriesMax: 16_384,
});

function positiveInt(l: ConsensusLimits, key: keyof ConsensusLimits): void {
  const v = l[key];
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new LimitsError(`${key} must be a positive safe integer, got ${v}`);
}

/** Throws LimitsError unless every limit is a positive integer and the relations hold. */
export function checkLimits(l: ConsensusLimits): void {
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ConsensusLimits)[]) positiveInt(l, key);
  const rel = (ok: boolean, what: string) => {
    if (!ok) throw new LimitsError(`consensus limits: ${what}`);
  };
  // §1.3: the proposer must be allowed to propose before the others give up on round 0.
  rel(l.blockPeriodMs < l.roundTimeoutMsBase, 'blockPeriodMs < roundTimeoutMsBase');
  rel(l.roundTimeoutMsBase <= l.roundTimeoutMsMax, 'roundTimeoutMsBase <= roundTimeoutMsMax');
  rel(l.blockPeriodMs <= l.emptyBlockIntervalMs, 'blockPeriodMs <= emptyBlockIntervalMs');
  // A future height must be bufferable at all, and the per-peer bound must fit in the total.
  rel(l.futureHeightsMax >= 1, 'futureHeightsMax >= 1');
  rel(
    l.bufferedMessagesPerPeerMax <= l.bufferedMessagesTotalMax,
    'bufferedMessagesPerPeerMax <= bufferedMessagesTotalMax',
  );
  // A peer must be able to buffer one full round of every message kind for the next height.
  rel(
    l.bufferedMessagesPerPeerMax >= 4,
    'bufferedMessagesPerPeerMax >= 4 (one round of PROPOSAL, PREPARE, COMMIT, RC)',
  );
  // A peer must be able to buffer the largest frame (its next-height proposal) and a round of votes.
  rel(
    l.bufferedBytesPerPeerMax >= l.messageBytesMax + 64 * 1024,
    'bufferedBytesPerPeerMax >= messageBytesMax + 64 KiB',
  );
  rel(
    l.bufferedBytesPerPeerMax <= l.bufferedBytesTotalMax,
    'bufferedBytesPerPeerMax <= bufferedBytesTotalMax',
  );
  // The largest legal PROPOSAL (block + a full RC set + a full prepare certificate) or RC must fit a frame.
  rel(
    l.messageBytesMax >=
      l.blockBytesMax + 2 * l.validatorsMax * (SIGNED_ITEM_BYTES_MAX_FIXED + l.chainIdBytesMax) + 1024,
    'messageBytesMax >= blockBytesMax + 2 * validatorsMax * signed item size + framing',
  );
  // The cache must at least hold one height's worth of a full set's votes.
  rel(l.verifiedCacheEntriesMax >= 4 * l.validatorsMax, 'verifiedCacheEntriesMax >= 4 * validatorsMax');
  rel(l.servePeersMax >= l.validatorsMax, 'servePeersMax >= validatorsMax');
}

/** The defaults with `overrides` applied, checked. */
export function resolveLimits(overrides: Partial<ConsensusLimits> = {}): Readonly<ConsensusLimits> {
  const merged: ConsensusLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (merged as unknown as Record<string, number>)[k] = v;
  }
  checkLimits(merged);
  return Object.freeze(merged);
}

// Fail at load, not at the first timeout, if someone edits the defaults into an inconsistent state.
checkLimits(DEFAULT_LIMITS);
