/**
 * Chain parameters: set in the genesis file, changeable later by a passed `param.set`
 * governance proposal. This module is their one home, and `paramProblems` their one validity
 * rule: genesis validation, the ledger (a `param.set` when proposed and again when executed) and
 * the node at start all ask it, so a vote can never set a value some part of the node cannot run
 * with (docs/architecture.md, "Governance cannot brick the chain").
 *
 * The rule is: every parameter an integer within PARAM_BOUNDS, and the relations
 *   blockPeriodMs < roundTimeoutMsBase <= roundTimeoutMsMax,
 *   blockPeriodMs <= emptyBlockIntervalMs            (consensus/limits.ts checkLimits)
 *   blockBytesMax <= PROTOCOL_BLOCK_BYTES_MAX        (the largest block consensus frames carry)
 *   txBytesMax + BLOCK_ENVELOPE_BYTES_MAX <= blockBytesMax   (every block can carry any one tx,
 *                                                    so a vote always fits)
 *   1/2 <= govThresholdNumerator / govThresholdDenominator < 1
 *                                                    (a proposal passes when yes * den > members
 *                                                    * num: with num = den not even every member's
 *                                                    yes passes, and every proposal, including one
 *                                                    to undo it, would be rejected at once)
 *   dataKeyBytesMax + dataValueBytesMax <= memberDataBytesMax  (one largest entry fits a quota)
 * ledger may not import consensus, so the consensus constants it needs are restated here and
 * test/ledger/params-consistency.test.ts holds them equal, and proves that every parameter set
 * this rule accepts is one consensus `resolveLimits` accepts too.
 */

export interface ChainParams {
  /** Earliest time after the parent's timestamp at which the round-0 proposer proposes. */
  blockPeriodMs: number;
  /** With no pending transaction, an empty block is made only this long after the parent. */
  emptyBlockIntervalMs: number;
  /** Round timeout of round 0; round r waits min(base * 2^r, max). */
  roundTimeoutMsBase: number;
  roundTimeoutMsMax: number;
  /** How far ahead of a validator's clock a block timestamp may be. */
  clockSkewMsMax: number;
  /** Limits of one block and one transaction. */
  blockTxsMax: number;
  blockBytesMax: number;
  txBytesMax: number;
  /** Size limits inside transactions. */
  dataKeyBytesMax: number;
  dataValueBytesMax: number;
  /** A proposal passes when yes * denominator > members * numerator (default: > 2/3). */
  govThresholdNumerator: number;
  govThresholdDenominator: number;
  /** Blocks after which an open proposal expires. */
  proposalTtlBlocks: number;
  /**
   * Storage quota of one member, over all its accounts' data.put entries (usage/<member> in the
   * state): how many keys it may hold, and how many bytes (UTF-8 key bytes + value bytes, summed).
   */
  memberDataKeysMax: number;
  memberDataBytesMax: number;
}

const MiB = 1024 * 1024;

/**
 * The largest encoded block the consensus frames carry: consensus DEFAULT_LIMITS.blockBytesMax,
 * from which the consensus frame limit is derived (node/p2p/protocols.ts). Restated here because
 * the ledger may not import consensus; test/ledger/params-consistency.test.ts holds them equal.
 */
export const PROTOCOL_BLOCK_BYTES_MAX = 4 * MiB;

/**
 * Upper bound on what a block holds besides its transactions' bytes when it carries one: the
 * header (at most ~440 bytes with a 64-byte chain id) and the block's map and list framing.
 */
export const BLOCK_ENVELOPE_BYTES_MAX = 512;

/**
 * Parameters added after chains were already running. The state stores one only when it differs
 * from its default (state.ts paramsCodec), so the state roots of chains that never change them
 * are what they were before they existed. Their defaults are therefore part of the state format:
 * never change them.
 */
export const PARAMS_STORED_WHEN_CHANGED: readonly (keyof ChainParams)[] = Object.freeze([
  'memberDataKeysMax',
  'memberDataBytesMax',
]);

export const DEFAULT_PARAMS: Readonly<ChainParams> = Object.freeze({
  blockPeriodMs: 200,
  emptyBlockIntervalMs: 5_000,
  roundTimeoutMsBase: 2_000,
  roundTimeoutMsMax: 30_000,
  clockSkewMsMax: 2_000,
  blockTxsMax: 5_000,
  blockBytesMax: 4 * 1024 * 1024,
  txBytesMax: 64 * 1024,
  dataKeyBytesMax: 256,
  dataValueBytesMax: 16 * 1024,
  govThresholdNumerator: 2,
  govThresholdDenominator: 3,
  proposalTtlBlocks: 1_000,
  // Generous: a benchmark writing a fresh key per transaction for minutes stays far below them.
  memberDataKeysMax: 1_000_000,
  memberDataBytesMax: 256 * MiB,
});

/** Inclusive bounds of each parameter. */
export const PARAM_BOUNDS: Readonly<Record<keyof ChainParams, readonly [number, number]>> = Object.freeze({
  blockPeriodMs: [1, 60_000],
  emptyBlockIntervalMs: [1, 86_400_000],
  roundTimeoutMsBase: [10, 600_000],
  roundTimeoutMsMax: [10, 3_600_000],
  // At least 100 ms: consensus needs a positive skew, and below NTP's usual accuracy honest
  // proposals would be refused.
  clockSkewMsMax: [100, 600_000],
  blockTxsMax: [1, 100_000],
  blockBytesMax: [1024, PROTOCOL_BLOCK_BYTES_MAX],
  txBytesMax: [256, 1024 * 1024],
  dataKeyBytesMax: [1, 4096],
  dataValueBytesMax: [0, 1024 * 1024],
  govThresholdNumerator: [1, 1_000],
  govThresholdDenominator: [1, 1_000],
  proposalTtlBlocks: [1, 10_000_000],
  memberDataKeysMax: [1, 100_000_000],
  memberDataBytesMax: [1024, 1024 * 1024 * MiB],
});

export const PARAM_NAMES = Object.keys(DEFAULT_PARAMS) as (keyof ChainParams)[];

export function isParamName(name: string): name is keyof ChainParams {
  return (PARAM_NAMES as string[]).includes(name);
}

/**
 * Problems with a parameter set, each naming the parameter; empty when valid. The one validity
 * rule of chain parameters (see the module comment for the relations and why each holds).
 */
export function paramProblems(p: ChainParams): string[] {
  const out: string[] = [];
  for (const name of PARAM_NAMES) {
    const v = p[name];
    const [lo, hi] = PARAM_BOUNDS[name];
    if (!Number.isSafeInteger(v) || v < lo || v > hi)
      out.push(`params.${name}: must be an integer in ${lo}..${hi}`);
  }
  if (out.length > 0) return out;
  // Consensus (consensus/limits.ts checkLimits, docs/protocol.md §1.3): the proposer must be allowed to
  // propose before the others give up on round 0, and the back-off must not shrink.
  if (!(p.blockPeriodMs < p.roundTimeoutMsBase))
    out.push('params.blockPeriodMs: must be below roundTimeoutMsBase');
  if (!(p.roundTimeoutMsBase <= p.roundTimeoutMsMax)) {
    out.push('params.roundTimeoutMsMax: must be at least roundTimeoutMsBase');
  }
  if (!(p.blockPeriodMs <= p.emptyBlockIntervalMs)) {
    out.push('params.emptyBlockIntervalMs: must be at least blockPeriodMs');
  }
  // Reachable: yes = members passes iff den > num; at least one half, so two disjoint halves
  // cannot both pass.
  if (p.govThresholdNumerator * 2 < p.govThresholdDenominator) {
    out.push('params.govThresholdNumerator: the threshold must be at least 1/2');
  }
  if (p.govThresholdNumerator >= p.govThresholdDenominator) {
    out.push(
      'params.govThresholdNumerator: must be below govThresholdDenominator (a threshold of 1 or more is never reached)',
    );
  }
  if (p.txBytesMax + BLOCK_ENVELOPE_BYTES_MAX > p.blockBytesMax) {
    out.push(
      `params.txBytesMax: a block of blockBytesMax must hold one such transaction and ${BLOCK_ENVELOPE_BYTES_MAX} bytes of header`,
    );
  }
  if (p.dataKeyBytesMax + p.dataValueBytesMax > p.memberDataBytesMax) {
    out.push('params.memberDataBytesMax: must hold one entry of dataKeyBytesMax + dataValueBytesMax');
  }
  return out;
}

/**
 * The chain parameters the consensus core uses at a height (its timers, when to propose, the
 * freshness rule), under the names of consensus/limits.ts ConsensusLimits. The node passes them
 * at construction and with every startHeight (consensus/events.ts StartHeightEvent.limits).
 */
export const HEIGHT_LIMIT_NAMES = Object.freeze([
  'roundTimeoutMsBase',
  'roundTimeoutMsMax',
  'blockPeriodMs',
  'emptyBlockIntervalMs',
  'clockSkewMsMax',
] as const);

export type HeightLimits = Pick<ChainParams, (typeof HEIGHT_LIMIT_NAMES)[number]>;

export function heightLimitsOf(p: ChainParams): HeightLimits {
  return {
    roundTimeoutMsBase: p.roundTimeoutMsBase,
    roundTimeoutMsMax: p.roundTimeoutMsMax,
    blockPeriodMs: p.blockPeriodMs,
    emptyBlockIntervalMs: p.emptyBlockIntervalMs,
    clockSkewMsMax: p.clockSkewMsMax,
  };
}
