/**
 * The benchmark's summary arithmetic: the median of the verify windows that sets the bound, and
 * which steps count as sustained (the rate printed beside the peak).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  describeRates,
  isSustained,
  median,
  type StepOutcome,
  sustainedRate,
} from '../../scripts/bench-summary.js';

const carried: StepOutcome = { offered: 1003, committed: 987, refused: 0, withheld: 0, p50: 248 };

describe('bench summary', () => {
  it('median: the middle value, or the mean of the middle two', () => {
    assert.equal(median([3]), 3);
    assert.equal(median([19_226, 11_764, 15_000]), 15_000);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), RangeError);
  });

  it('median: as many values at or below it as at or above it, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (xs) => {
          const m = median(xs);
          assert.ok(xs.filter((x) => x <= m).length >= xs.length / 2);
          assert.ok(xs.filter((x) => x >= m).length >= xs.length / 2);
          assert.equal(median([...xs].reverse()), m);
        },
      ),
    );
  });

  it('describeRates names the median, the range and the count', () => {
    assert.equal(describeRates([12_163.4, 17_937, 15_138]), 'median 15,138/s (12,163-17,937 over 3 windows)');
  });

  it('a step is sustained only with nothing refused, 95% committed and p50 under a second', () => {
    assert.equal(isSustained(carried), true);
    assert.equal(isSustained({ ...carried, refused: 1 }), false);
    assert.equal(isSustained({ ...carried, withheld: 5 }), false);
    // Refused once and accepted when resent: the network still fell behind for a moment.
    assert.equal(isSustained({ ...carried, refusals: 3 }), false);
    assert.equal(isSustained({ ...carried, refusals: 0 }), true);
    assert.equal(isSustained({ ...carried, committed: 0.94 * carried.offered }), false);
    assert.equal(isSustained({ ...carried, p50: 1001 }), false);
    assert.equal(isSustained({ ...carried, p50: 1000 }), true);
  });

  it('sustainedRate: the best sustained step, not the peak of an overloaded one', () => {
    const run: StepOutcome[] = [
      { offered: 502, committed: 495, refused: 0, withheld: 0, p50: 231 },
      { offered: 2007, committed: 1961, refused: 0, withheld: 0, p50: 670 },
      { offered: 3009, committed: 2560, refused: 3653, withheld: 0, p50: 2930 },
    ];
    assert.equal(sustainedRate(run), 1961);
    assert.equal(sustainedRate(run.slice(2)), 0);
    assert.equal(sustainedRate([]), 0);
  });
});
