/**
 * Validator-set changes under Byzantine faults, in the deterministic simulator (which applies a
 * scenario's `setChanges` at chosen heights, as the ledger does for passed proposals): nodes join
 * from the observers, an equivocating validator is voted out, honest ones leave, and every
 * checker (agreement, certificate validity against V(h), no honest double-sign, liveness after
 * the heal) holds on every step. Once the Byzantine validator is out of the set, its messages are
 * dropped as from a non-validator; while it is in, none are.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation, type SimOptions, type SimResult } from '../../consensus/sim/simulator.js';

function run(opts: SimOptions): SimResult {
  const r = runSimulation({ ...opts, stopOnViolation: true });
  assert.ok(
    r.ok,
    `seed ${r.seed}: ${r.violations.map((v) => `[${v.checker}] ${v.message}`).join('; ')}\n  ${r.description}`,
  );
  return r;
}

const FOUR = {
  validators: 4,
  byzantine: 1,
  patch: {
    observers: 2,
    byzantine: [1],
    behaviors: { 1: ['equivocate', 'double-vote', 'flood-future', 'bogus-round-change'] as const },
    clockOffsetsMs: [0, 5, -5, 10, -10, 3],
    faultTicks: 6_000,
    txCount: 30,
    // One tx per block, so the chain passes every change height during the fault phase.
    maxTxsPerBlock: 1,
  },
} satisfies Omit<SimOptions, 'seed'>;

describe('validator-set changes under Byzantine faults', () => {
  it('n = 4 with an equivocator: a node joins at 4, the equivocator is removed at 8, another joins at 12, an honest one leaves at 15', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = run({
        seed,
        ...FOUR,
        patch: {
          ...FOUR.patch,
          behaviors: { ...FOUR.patch.behaviors },
          setChanges: [
            { height: 4, add: 4 },
            { height: 8, remove: 1 },
            { height: 12, add: 5 },
            { height: 15, remove: 0 },
          ],
        },
      });
      assert.ok(
        r.stats.minHonestHeight >= 16,
        `seed ${seed}: every change height was passed (${r.stats.minHonestHeight})`,
      );
      assert.ok(
        (r.stats.dropped['not-validator'] ?? 0) > 0,
        `seed ${seed}: the removed equivocator's messages are dropped`,
      );
    }
  });

  it('the same runs with the equivocator kept in the set drop nothing as from a non-validator', () => {
    for (let seed = 1; seed <= 2; seed++) {
      const r = run({
        seed,
        ...FOUR,
        patch: {
          ...FOUR.patch,
          behaviors: { ...FOUR.patch.behaviors },
          setChanges: [
            { height: 4, add: 4 },
            { height: 12, add: 5 },
          ],
        },
      });
      assert.equal(r.stats.dropped['not-validator'] ?? 0, 0);
      assert.ok(r.stats.evidence > 0, 'its equivocation was recorded as evidence');
    }
  });

  it('n = 7 with 2 Byzantine: grow to 8, remove a double voter, swap an honest validator for a new one, remove the silent one', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const r = run({
        seed,
        validators: 7,
        byzantine: 2,
        patch: {
          observers: 2,
          byzantine: [2, 5],
          behaviors: { 2: ['double-vote', 'flood-future'], 5: ['silent'] },
          clockOffsetsMs: [0, 5, -5, 10, -10, 3, 7, -7, 1],
          // Each set keeps its Byzantine members within its own f: 8 -> f 2, 7 -> f 2, 6 -> f 1.
          setChanges: [
            { height: 5, add: 7 },
            { height: 9, remove: 2 },
            { height: 13, remove: 3, add: 8 },
            { height: 16, remove: 5 },
          ],
          faultTicks: 6_000,
          txCount: 30,
          maxTxsPerBlock: 1,
        },
      });
      assert.ok(r.stats.minHonestHeight >= 17, `seed ${seed}: every change height was passed`);
      // The removed double voter's messages are dropped as from outside V(h): at the current
      // height as 'not-validator', above it (its flood-future) as 'future-unauthenticated'.
      const outside =
        (r.stats.dropped['not-validator'] ?? 0) + (r.stats.dropped['future-unauthenticated'] ?? 0);
      assert.ok(outside > 0);
    }
  });
});
