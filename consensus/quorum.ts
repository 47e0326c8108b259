/**
 * Quorum sizes (docs/protocol.md §1.1, docs/architecture.md): for n validators, f = floor((n - 1) / 3) Byzantine ones
 * are tolerated and a quorum is q = ceil((n + f + 1) / 2). Then 2q - n >= f + 1 (two quorums share
 * an honest validator) and n - f >= q (the honest ones alone form a quorum), for every n >= 1.
 */

function checkSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`validator count must be an integer >= 1, got ${n}`);
}

/** f: the number of Byzantine validators a set of n tolerates. */
export function faultsTolerated(n: number): number {
  checkSize(n);
  return Math.floor((n - 1) / 3);
}

/** q = ceil((n + f + 1) / 2). */
export function quorumSize(n: number): number {
  const f = faultsTolerated(n);
  return Math.ceil((n + f + 1) / 2);
}

/** QBFT's `quorum(n)` = floor((2n - 1) / 3) + 1; equal to `quorumSize` for every n >= 1 (§1.1). */
export function qbftQuorumSize(n: number): number {
  checkSize(n);
  return Math.floor((2 * n - 1) / 3) + 1;
}

/** Number of distinct validators in `authors` (keys), the only way votes are ever counted. */
export function hasQuorum(distinctAuthors: number, n: number): boolean {
  return distinctAuthors >= quorumSize(n);
}
