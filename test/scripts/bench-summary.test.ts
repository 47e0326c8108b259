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
  slope,
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

  it('slope: least squares over the answered samples; an unanswered one (NaN) is skipped', () => {
    assert.equal(slope([0, 1, 2, 3], [5, 7, 9, 11]), 2);
    // Run J's soak: a node missed its metrics poll once, and the slope printed NaN.
    assert.equal(slope([0, 1, 2, 3], [5, Number.NaN, 9, 11]), 2);
    assert.ok(Number.isNaN(slope([0, 1], [5, Number.NaN])));
    assert.ok(Number.isNaN(slope([2, 2, 2], [1, 2, 3])));
    fc.assert(
      fc.property(
        // Sample times: seconds with millisecond precision, as the soak records them.
        fc.array(
          fc.integer({ min: 0, max: 3_600_000 }).map((ms) => ms / 1000),
          { minLength: 2, maxLength: 30 },
        ),
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        (xs, a, b) => {
          fc.pre(new Set(xs).size > 1);
          const got = slope(
            xs,
            xs.map((x) => a * x + b),
          );
          assert.ok(Math.abs(got - a) <= 1e-6 * (1 + Math.abs(a)), `${got} vs ${a}`);
        },
      ),
    );
  });
});
