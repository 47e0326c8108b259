/**
 * The simulator's byte and clock attacks (issue 23, deliver 4): the checkers stay clean under
 * them, and bite when the frame limit is the pre-fix one or the driver judges certified blocks by
 * its clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIM_LIMITS } from '../../consensus/sim/scenario.js';
import { runSimulation } from '../../consensus/sim/simulator.js';

const base = { validators: 4, byzantine: 1, stopOnViolation: true } as const;
const why = (r: { violations: { checker: string; message: string }[] }) =>
  r.violations.map((v) => `[${v.checker}] ${v.message}`).join('\n');

describe('simulator: byte and clock attacks', () => {
  for (const b of ['timestamp-games', 'oversize-block', 'flood-bytes'] as const) {
    it(`${b}: seeds 1-4 pass every checker`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const r = runSimulation({ ...base, seed, patch: { byzantine: [1], behaviors: { 1: [b] } } });
        assert.ok(r.ok, `seed ${seed}: ${why(r)}`);
        assert.ok(r.stats.futureBufferBytesMax <= SIM_LIMITS.bufferedBytesTotalMax!);
        assert.ok(r.stats.futureBufferPeerBytesMax <= SIM_LIMITS.bufferedBytesPerPeerMax!);
        if (b === 'flood-bytes')
          assert.ok(r.stats.futureBufferBytesMax > 64 * 1024, 'the flood reached the buffer');
      }
    });
  }

  it('oversize-block with frameBytesMax = blockBytesMax (the pre-fix limit): frame-limit fires', () => {
    const r = runSimulation({
      ...base,
      seed: 1,
      frameBytesMax: SIM_LIMITS.blockBytesMax,
      patch: { byzantine: [1], behaviors: { 1: ['oversize-block'] } },
    });
    assert.equal(r.violations[0]?.checker, 'frame-limit', why(r));
  });

  it('judge-certified-by-clock with an honest node 3 s behind: a checker catches it; without the bug it passes', () => {
    const patch = {
      byzantine: [],
      behaviors: {},
      clockOffsetsMs: [0, 0, 0, -3_000],
      clockDriftPpm: [0, 0, 0, 0],
    };
    const bad = runSimulation({
      ...base,
      byzantine: 0,
      seed: 5,
      driverBug: 'judge-certified-by-clock',
      patch,
    });
    assert.ok(!bad.ok);
    assert.ok(['fatal', 'liveness'].includes(bad.violations[0]!.checker), why(bad));
    const good = runSimulation({ ...base, byzantine: 0, seed: 5, patch });
    assert.ok(good.ok, why(good));
  });
});
