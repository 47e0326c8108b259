/** Round timeouts (docs/protocol.md §1.3): min(base * 2^r, max), restarted on every round entry. */
import type { ConsensusLimits } from './limits.js';

export function roundTimeoutMs(
  limits: Pick<ConsensusLimits, 'roundTimeoutMsBase' | 'roundTimeoutMsMax'>,
  round: number,
): number {
  const { roundTimeoutMsBase: base, roundTimeoutMsMax: max } = limits;
  // Past 2^52 the product is not exact, and it is far above any sane cap anyway.
  if (round >= 52) return max;
  return Math.min(base * 2 ** round, max);
}
