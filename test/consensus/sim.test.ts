/**
 * The simulator itself: determinism (a seed replays exactly), the liveness phase (§9 #20), and
 * proof that the checkers bite: runs with deliberately broken rules must report violations within
 * a bounded number of seeds, while the same seeds pass with the correct rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Prng } from '../../consensus/sim/prng.js';
import { runSimulation, type SimOptions } from '../../consensus/sim/simulator.js';

/** Runs seeds from 1 until the first failure (at most `bound` seeds); returns that result. */
function firstFailure(opts: Omit<SimOptions, 'seed'>, bound: number) {
  for (let seed = 1; seed <= bound; seed++) {
    const r = runSimulation({ ...opts, seed, stopOnViolation: true });
    if (!r.ok) return r;
  }
  return undefined;
}

describe('simulator', () => {
  it('the PRNG is deterministic and roughly uniform', () => {
    const a = new Prng(123);
    const b = new Prng(123);
    const xs = Array.from({ length: 1_000 }, () => a.u32());
    assert.deepEqual(
      xs,
      Array.from({ length: 1_000 }, () => b.u32()),
    );
    assert.notDeepEqual(
      xs.slice(0, 10),
      Array.from({ length: 10 }, () => new Prng(124).u32()),
    );
    const buckets = new Array(10).fill(0);
    const c = new Prng(5);
    for (let i = 0; i < 10_000; i++) buckets[c.int(10)]++;
    for (const k of buckets) assert.ok(k > 850 && k < 1_150, `bucket ${k}`);
  });

  it('a seed replays exactly: same fingerprint, statistics and trace', () => {
    for (const seed of [3, 11]) {
      const x = runSimulation({ seed, trace: true });
      const y = runSimulation({ seed, trace: true });
      assert.equal(x.fingerprint, y.fingerprint);
      assert.deepEqual(x.stats, y.stats);
      assert.deepEqual(x.trace, y.trace);
      assert.ok(x.trace!.length > 50, 'expected x.trace!.length > 50');
    }
    assert.notEqual(runSimulation({ seed: 1 }).fingerprint, runSimulation({ seed: 2 }).fingerprint);
  });

  it('#20 long asynchrony, then heal: every tx commits within the stated bound', () => {
    const r = runSimulation({
      seed: 2_024,
      validators: 7,
      byzantine: 2,
      patch: {
        faultTicks: 20_000,
        net: {
          dropRate: 0.3,
          dupRate: 0.1,
          delayMinMs: 5,
          delayMaxMs: 400,
          spikeRate: 0.05,
          healDelayMaxMs: 40,
        },
        partitionRate: 0.6,
        blackoutRate: 0.3,
        crashRate: 0.3,
        txCount: 40,
        txAfterHeal: 5,
      },
    });
    assert.ok(r.ok, r.violations.map((v) => `[${v.checker}] ${v.message}`).join('\n'));
    assert.ok(r.stats.crashes > 0 && r.stats.partitions > 0, 'faults happened');
    assert.ok(
      r.stats.worstLatencyAfterHealMs <= r.stats.livenessBoundMs,
      'expected r.stats.worstLatencyAfterHealMs <= r.stats.livenessBoundMs',
    );
    assert.ok(r.stats.minHonestHeight > 0, 'expected r.stats.minHonestHeight > 0');
  });

  it('regression: seed 58 (n = 4, 1 Byzantine) is live (a replica one round ahead with capped timeouts)', () => {
    const r = runSimulation({ seed: 58, validators: 4, byzantine: 1 });
    assert.ok(r.ok, r.violations.map((v) => `[${v.checker}] ${v.message}`).join('\n'));
  });

  it('the checkers bite: a quorum of f+1 breaks certificate validity at once', () => {
    const r = firstFailure({ brokenRule: 'quorum-f-plus-1' }, 3);
    assert.ok(r, 'a violation within 3 seeds');
    assert.equal(r.violations[0]!.checker, 'certificate');
  });

  it('the checkers bite: a quorum of f+1 breaks agreement (certificate checker off) within 30 seeds', () => {
    const r = firstFailure({ brokenRule: 'quorum-f-plus-1', disabledCheckers: ['certificate'] }, 30);
    assert.ok(r, 'an agreement violation within 30 seeds');
    assert.equal(r.violations[0]!.checker, 'agreement');
    // The same seed with the correct rule passes: the violation comes from the broken rule.
    assert.ok(
      runSimulation({ seed: r.seed, stopOnViolation: true }).ok,
      'expected runSimulation({ seed: r.seed, stopOnViolation: true }).ok',
    );
  });

  it('the checkers bite: round changes that forget the prepared value (IBFT bug 1) break agreement within 30 seeds', () => {
    const r = firstFailure({ brokenRule: 'round-change-forgets-prepared' }, 30);
    assert.ok(r, 'an agreement violation within 30 seeds');
    assert.equal(r.violations[0]!.checker, 'agreement');
    assert.ok(
      runSimulation({ seed: r.seed, stopOnViolation: true }).ok,
      'expected runSimulation({ seed: r.seed, stopOnViolation: true }).ok',
    );
  });
});
