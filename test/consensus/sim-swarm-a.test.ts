/**
 * Swarm runs of the simulator: every seed draws its own faults (network, partitions, blackouts,
 * crashes, Byzantine behaviours, set changes) and all checkers run on every step. Split across two
 * files (balanced by cost) so the test runner spreads them over both cores; together they run
 * 300 seeds over n = 4, 5, 7, 10 with f Byzantine validators each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFailures, runBatch } from './sim-support.js';

describe('simulator swarm (a: n = 4, 7)', () => {
  for (const [n, count] of [
    [4, 90],
    [7, 80],
  ] as const) {
    it(`n = ${n}, f Byzantine: ${count} seeds pass every checker`, () => {
      const batch = runBatch(n, 1, count);
      assert.equal(batch.failed.length, 0, describeFailures(n, batch));
      assert.equal(batch.passed, count);
      assert.ok(batch.heights > count, 'the runs made progress');
    });
  }
});
