/**
 * The proposal sizer (node/proposal-size.ts): a height slower than its budget (a fraction of
 * the round-0 timer: 3/4 by default, 1/2 in most cases below), or a round change after a large
 * round-0 proposal, lowers the most transactions this validator proposes; quick heights that
 * the limit bound raise it again, up to blockTxsMax.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type HeightOutcome, PROPOSAL_SIZE_DEFAULTS, ProposalSizer } from '../../node/proposal-size.js';

const MAX = 5_000;
const TIMER = 2_000; // round-0 timer; the budget is half of it with OPTS
/** Round numbers for the arithmetic below (the defaults are 1,000 and 3/4). */
const OPTS = { minTxs: 500, growth: 1.25, budgetFraction: 0.5 };

const height = (o: Partial<HeightOutcome>): HeightOutcome => ({
  round: 0,
  txs: 100,
  elapsedMs: 200,
  round0Txs: undefined,
  ...o,
});

describe('ProposalSizer', () => {
  test('no limit beyond blockTxsMax while heights are quick', () => {
    const s = new ProposalSizer(OPTS);
    for (let i = 0; i < 20; i++) {
      assert.equal(s.observe(height({ txs: 4_000, elapsedMs: 900 }), MAX, TIMER), undefined);
    }
    assert.equal(s.limit(MAX), MAX);
    assert.equal(s.current, undefined);
  });

  test('a round-0 height slower than the budget scales the limit by budget / elapsed', () => {
    const s = new ProposalSizer(OPTS);
    const change = s.observe(height({ txs: 5_000, elapsedMs: 2_500 }), MAX, TIMER);
    assert.deepEqual(change, { from: undefined, to: 2_000, reason: 'slow height' });
    assert.equal(s.limit(MAX), 2_000);
    // A slower one lowers it further; a block already small enough does not raise it.
    s.observe(height({ txs: 3_000, elapsedMs: 3_000 }), MAX, TIMER);
    assert.equal(s.limit(MAX), 1_000);
    s.observe(height({ txs: 4_000, elapsedMs: 2_000 }), MAX, TIMER);
    assert.equal(s.limit(MAX), 1_000);
  });

  test('a round change after a large round-0 proposal halves that proposal', () => {
    const s = new ProposalSizer(OPTS);
    const change = s.observe(
      height({ round: 1, txs: 4_800, elapsedMs: 5_000, round0Txs: 4_800 }),
      MAX,
      TIMER,
    );
    assert.deepEqual(change, { from: undefined, to: 2_400, reason: 'round change' });
  });

  test('a round change without a round-0 proposal (a silent proposer) leaves the limit alone', () => {
    const s = new ProposalSizer(OPTS);
    assert.equal(s.observe(height({ round: 1, txs: 4_000, elapsedMs: 4_500 }), MAX, TIMER), undefined);
    assert.equal(s.limit(MAX), MAX);
  });

  test('never below minTxs, and small slow heights (idle waits, stalls of tiny blocks) teach nothing', () => {
    const s = new ProposalSizer(OPTS);
    s.observe(height({ txs: 600, elapsedMs: 60_000 }), MAX, TIMER);
    assert.equal(s.limit(MAX), 500);
    const t = new ProposalSizer(OPTS);
    assert.equal(t.observe(height({ txs: 300, elapsedMs: 10_000 }), MAX, TIMER), undefined);
    assert.equal(t.observe(height({ round: 2, txs: 10, round0Txs: 400 }), MAX, TIMER), undefined);
    assert.equal(t.limit(MAX), MAX);
  });

  test('quick heights the limit bound raise it by a quarter, then lift it at blockTxsMax', () => {
    const s = new ProposalSizer(OPTS);
    s.observe(height({ txs: 5_000, elapsedMs: 5_000 }), MAX, TIMER); // -> 1,000
    assert.equal(s.limit(MAX), 1_000);
    // A quick height that the limit did not bind (600 < 90% of 1,000) teaches nothing.
    assert.equal(s.observe(height({ txs: 600, elapsedMs: 300 }), MAX, TIMER), undefined);
    const seen: number[] = [];
    for (let i = 0; i < 20 && s.current !== undefined; i++) {
      s.observe(height({ txs: s.limit(MAX), elapsedMs: 500 }), MAX, TIMER);
      seen.push(s.limit(MAX));
    }
    assert.deepEqual(seen, [1_250, 1_563, 1_954, 2_443, 3_054, 3_818, 4_773, 5_000]);
    assert.equal(s.current, undefined);
  });

  test('the budget follows the round timer in force', () => {
    const s = new ProposalSizer(OPTS);
    // 2,500 ms is within half of a 6 s timer.
    assert.equal(s.observe(height({ txs: 5_000, elapsedMs: 2_500 }), MAX, 6_000), undefined);
    s.observe(height({ txs: 5_000, elapsedMs: 6_000 }), MAX, 6_000);
    assert.equal(s.limit(MAX), 2_500);
    // A smaller blockTxsMax still bounds the limit.
    assert.equal(s.limit(1_000), 1_000);
  });

  test('property: the limit stays within [minTxs, blockTxsMax] and only slow or failed heights lower it', () => {
    const outcome = fc.record({
      round: fc.nat({ max: 3 }),
      txs: fc.nat({ max: MAX }),
      elapsedMs: fc.option(fc.nat({ max: 20_000 }), { nil: undefined }),
      round0Txs: fc.option(fc.nat({ max: MAX }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(outcome, { maxLength: 60 }), (heights) => {
        const s = new ProposalSizer(OPTS);
        for (const h of heights) {
          const before = s.limit(MAX);
          const change = s.observe(h, MAX, TIMER);
          const after = s.limit(MAX);
          assert.ok(after >= 500 && after <= MAX);
          if (after < before) {
            assert.ok(change && change.reason !== 'quick height');
            const slow = h.round === 0 && h.elapsedMs !== undefined && h.elapsedMs > TIMER / 2;
            assert.ok(slow || (h.round > 0 && h.round0Txs !== undefined));
          }
          if (after > before) assert.equal(change?.reason, 'quick height');
        }
      }),
    );
  });

  test('defaults: a height may take 3/4 of the round-0 timer, and the floor is 1,000', () => {
    const s = new ProposalSizer(PROPOSAL_SIZE_DEFAULTS);
    assert.equal(s.observe(height({ txs: 5_000, elapsedMs: 1_500 }), MAX, TIMER), undefined);
    s.observe(height({ txs: 5_000, elapsedMs: 1_875 }), MAX, TIMER);
    assert.equal(s.limit(MAX), 4_000);
    s.observe(height({ round: 1, txs: 1_500, round0Txs: 1_500 }), MAX, TIMER);
    assert.equal(s.limit(MAX), 1_000);
  });
});
