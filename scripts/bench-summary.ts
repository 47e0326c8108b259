/**
 * The benchmark's summary arithmetic, apart from the harness so that it can be tested: the
 * verify-rate windows, which steps count as carried ("sustained") rather than fallen behind,
 * and the soak's slopes.
 */

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "median 15,210/s (11,764-19,226 over 6 windows)" */
export function describeRates(rates: readonly number[]): string {
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  return `median ${f(median(rates))}/s (${f(Math.min(...rates))}-${f(Math.max(...rates))} over ${rates.length} windows)`;
}

/**
 * A step the network carried rather than fell behind on: nothing refused, nearly all of its
 * load committed within the step, and a median latency a client would accept. Its highest
 * committed rate is printed beside the peak, because the peak itself often comes from an
 * overloaded step (blocks of 2,000 transactions, seconds of latency) that commits more per
 * second than the network holds for long.
 */
export const SUSTAINED_COMMITTED_MIN = 0.95;
export const SUSTAINED_P50_MAX_MS = 1000;

export interface StepOutcome {
  offered: number;
  committed: number;
  refused: number;
  withheld: number;
  /** Refusal answers, resends included (absent in results written before retries existed). */
  refusals?: number;
  p50: number;
}

export function isSustained(step: StepOutcome): boolean {
  return (
    step.refused + step.withheld === 0 &&
    (step.refusals ?? 0) === 0 &&
    step.committed >= SUSTAINED_COMMITTED_MIN * step.offered &&
    step.p50 <= SUSTAINED_P50_MAX_MS
  );
}

/** The highest committed rate among the sustained steps; 0 when there is none. */
export function sustainedRate(steps: readonly StepOutcome[]): number {
  return Math.max(0, ...steps.filter(isSustained).map((x) => x.committed));
}

/**
 * Least-squares slope of y over x (per unit of x), over the points whose y is a number: a soak
 * sample in which a node did not answer its metrics poll in time (an overloaded node can be
 * seconds late) carries NaN for that node, and one such sample made the whole slope NaN.
 * NaN with fewer than two usable points.
 */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) {
      px.push(xs[i]!);
      py.push(ys[i]!);
    }
  }
  const k = px.length;
  if (k < 2) return Number.NaN;
  const mx = px.reduce((a, b) => a + b, 0) / k;
  const my = py.reduce((a, b) => a + b, 0) / k;
  let num = 0;
  let den = 0;
  for (let i = 0; i < k; i++) {
    num += (px[i]! - mx) * (py[i]! - my);
    den += (px[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
