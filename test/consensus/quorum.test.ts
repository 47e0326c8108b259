import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { faultsTolerated, qbftQuorumSize, quorumSize } from '../../consensus/quorum.js';

describe('quorum (docs/protocol.md §1.1)', () => {
  it('f = floor((n-1)/3) and q = ceil((n+f+1)/2) for every n from 1 to 100, with both quorum properties', () => {
    for (let n = 1; n <= 100; n++) {
      const f = faultsTolerated(n);
      const q = quorumSize(n);
      assert.equal(f, Math.floor((n - 1) / 3), `f(${n})`);
      assert.equal(q, Math.ceil((n + f + 1) / 2), `q(${n})`);
      // Two quorums share at least f+1 validators, so at least one honest one (Lemma 1).
      assert.ok(2 * q - n >= f + 1, `n=${n}: 2q-n=${2 * q - n} < f+1=${f + 1}`);
      // The n-f honest validators alone form a quorum (liveness).
      assert.ok(n - f >= q, `n=${n}: n-f=${n - f} < q=${q}`);
      // A quorum never exceeds the set, and f Byzantine validators alone are never one.
      assert.ok(q <= n && q > f, `n=${n}: q=${q}`);
      // QBFT's formula gives the same quorum for every n (§1.1, §8).
      assert.equal(q, qbftQuorumSize(n), `n=${n}: QBFT's quorum`);
    }
  });

  it('the table for n = 1..10 (§9 #2); n = 1 decides alone', () => {
    const table = Array.from({ length: 10 }, (_, i) => [i + 1, faultsTolerated(i + 1), quorumSize(i + 1)]);
    assert.deepEqual(table, [
      [1, 0, 1],
      [2, 0, 2],
      [3, 0, 2],
      [4, 1, 3],
      [5, 1, 4],
      [6, 1, 4],
      [7, 2, 5],
      [8, 2, 6],
      [9, 2, 6],
      [10, 3, 7],
    ]);
  });

  it('the intersection bound is tight: smallest overlap of two quorums, by brute force for n <= 12', () => {
    for (let n = 1; n <= 12; n++) {
      const q = quorumSize(n);
      let minOverlap = n;
      // Enumerate pairs of q-subsets as bitmasks.
      const subsets: number[] = [];
      for (let m = 0; m < 1 << n; m++) if (popcount(m) === q) subsets.push(m);
      for (const a of subsets) for (const b of subsets) minOverlap = Math.min(minOverlap, popcount(a & b));
      assert.equal(minOverlap, 2 * q - n, `n=${n}`);
      assert.ok(minOverlap >= faultsTolerated(n) + 1, 'expected minOverlap >= faultsTolerated(n) + 1');
    }
  });

  it('the old 2f+1 rule is unsafe for n = 5, 6, where q is 4 (§1.1)', () => {
    for (const n of [5, 6]) {
      const old = 2 * faultsTolerated(n) + 1;
      assert.equal(old, 3);
      assert.equal(quorumSize(n), 4);
      assert.ok(2 * old - n < faultsTolerated(n) + 1, `two 2f+1 sets of ${n} can share no honest validator`);
    }
  });

  it('rejects a set size below 1 or not an integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => quorumSize(bad), RangeError);
      assert.throws(() => faultsTolerated(bad), RangeError);
    }
  });
});

function popcount(x: number): number {
  let c = 0;
  while (x) {
    x &= x - 1;
    c++;
  }
  return c;
}
