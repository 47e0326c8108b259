/**
 * The simulator runs the production driver (issue 24), so a broken driver rule is caught by the
 * seeds: with `send-before-persist` (consensus/driver.ts broadcasts a Ready's messages before
 * saving its WAL record), a node that crashes in between restarts without remembering what it
 * signed, and the checkers see it sign below a round it already signed in, or sign twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation, Simulation } from '../../consensus/sim/simulator.js';

/** Seeds 1..SEEDS_MAX at default settings (crash rates drawn per seed); about 5 s. */
const SEEDS_MAX = 20;
const WAL_LOSS_CHECKERS = ['round', 'double-sign', 'agreement'];

describe('simulator: a broken driver rule is caught', () => {
  it(`send-before-persist fails a seed in 1..${SEEDS_MAX}; that seed passes with the real driver`, () => {
    let caught: { seed: number; checker: string; message: string } | undefined;
    for (let seed = 1; seed <= SEEDS_MAX && !caught; seed++) {
      const r = runSimulation({ seed, driverBug: 'send-before-persist', stopOnViolation: true });
      const v = r.violations[0];
      if (!r.ok && v) caught = { seed, checker: v.checker, message: v.message };
    }
    assert.ok(caught, `no seed in 1..${SEEDS_MAX} caught send-before-persist`);
    assert.ok(WAL_LOSS_CHECKERS.includes(caught.checker), `${caught.checker}: ${caught.message}`);
    const honest = runSimulation({ seed: caught.seed, stopOnViolation: true });
    assert.ok(honest.ok, `seed ${caught.seed} fails without the bug: ${honest.violations[0]?.message}`);
  });
});

describe('simulator: chain-parameter changes', () => {
  // The scenario is drawn in the constructor: no need to run a seed to see its changes.
  const changed = (seed: number) => new Simulation({ seed }).scenario.paramChanges.length > 0;

  it('seeds with parameter changes pass; stale-params (heights started without them) is caught', () => {
    const seeds: number[] = [];
    for (let seed = 1; seed <= 40 && seeds.length < 3; seed++) if (changed(seed)) seeds.push(seed);
    assert.ok(seeds.length >= 1, 'no seed in 1..40 drew a parameter change');
    for (const seed of seeds) {
      const good = runSimulation({ seed, stopOnViolation: true });
      assert.ok(good.ok, `seed ${seed}: ${good.violations[0]?.message}`);
      const bad = runSimulation({ seed, driverBug: 'stale-params', stopOnViolation: true });
      assert.equal(bad.violations[0]?.checker, 'params', `seed ${seed}: ${bad.description}`);
    }
  });
});

describe('simulator: torn WAL appends', () => {
  it('a crash that tears the WAL append is cut at restart by the production scanner, and the seed passes', () => {
    let torn: number | undefined;
    for (let seed = 1; seed <= 60 && torn === undefined; seed++) {
      const r = runSimulation({ seed, stopOnViolation: true });
      assert.ok(r.ok, `seed ${seed}: ${r.violations[0]?.message}`);
      if (r.stats.walTornTails > 0) torn = seed;
    }
    assert.ok(torn !== undefined, 'no seed in 1..60 tore a WAL append');
  });
});
