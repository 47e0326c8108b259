/**
 * Chain parameters: set in the genesis file, changeable later by a passed `param.set`
 * governance proposal. Every parameter is a non-negative integer with bounds, so a vote can
 * never set a value the node cannot run with.
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
}

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
});

/** Inclusive bounds of each parameter. */
export const PARAM_BOUNDS: Readonly<Record<keyof ChainParams, readonly [number, number]>> = Object.freeze({
  blockPeriodMs: [1, 60_000],
  emptyBlockIntervalMs: [1, 86_400_000],
  roundTimeoutMsBase: [10, 600_000],
  roundTimeoutMsMax: [10, 3_600_000],
  clockSkewMsMax: [0, 600_000],
  blockTxsMax: [1, 100_000],
  blockBytesMax: [1024, 64 * 1024 * 1024],
  txBytesMax: [256, 1024 * 1024],
  dataKeyBytesMax: [1, 4096],
  dataValueBytesMax: [0, 1024 * 1024],
  govThresholdNumerator: [1, 1_000],
  govThresholdDenominator: [1, 1_000],
  proposalTtlBlocks: [1, 10_000_000],
});

export const PARAM_NAMES = Object.keys(DEFAULT_PARAMS) as (keyof ChainParams)[];

export function isParamName(name: string): name is keyof ChainParams {
  return (PARAM_NAMES as string[]).includes(name);
}

/**
 * Problems with a parameter set, each naming the parameter; empty when valid. Checks bounds
 * and the relations the protocol needs (PROTOCOL.md §1.3: blockPeriodMs < roundTimeoutMsBase
 * <= roundTimeoutMsMax; a threshold of at least one half; a transaction fits in a block).
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
  if (!(p.blockPeriodMs < p.roundTimeoutMsBase))
    out.push('params.blockPeriodMs: must be below roundTimeoutMsBase');
  if (!(p.roundTimeoutMsBase <= p.roundTimeoutMsMax)) {
    out.push('params.roundTimeoutMsMax: must be at least roundTimeoutMsBase');
  }
  if (
    p.govThresholdNumerator * 2 < p.govThresholdDenominator ||
    p.govThresholdNumerator > p.govThresholdDenominator
  ) {
    out.push('params.govThresholdNumerator: the threshold must be between 1/2 and 1');
  }
  if (p.txBytesMax > p.blockBytesMax) out.push('params.txBytesMax: must not exceed blockBytesMax');
  return out;
}
