/** Shared by the simulator tests: run a batch of seeds and describe failures with their replay command. */

import { faultsTolerated } from '../../consensus/quorum.js';
import { runSimulation, type SimResult } from '../../consensus/sim/simulator.js';

export interface Batch {
  passed: number;
  failed: SimResult[];
  ticks: number;
  heights: number;
}

/** Seeds first..first+count-1 with n validators of which f are Byzantine (behaviours drawn per seed). */
export function runBatch(n: number, first: number, count: number): Batch {
  const out: Batch = { passed: 0, failed: [], ticks: 0, heights: 0 };
  for (let seed = first; seed < first + count; seed++) {
    const r = runSimulation({ seed, validators: n, byzantine: faultsTolerated(n), stopOnViolation: true });
    out.ticks += r.stats.ticks;
    out.heights += r.stats.maxHeight;
    if (r.ok) out.passed++;
    else out.failed.push(r);
  }
  return out;
}

export function describeFailures(n: number, batch: Batch): string {
  return batch.failed
    .map(
      (r) =>
        `seed ${r.seed}: ${r.violations.map((v) => `[${v.checker}] ${v.message}`).join('; ')}\n` +
        `  replay: npm run sim -- --seed ${r.seed} --validators ${n} --byzantine ${faultsTolerated(n)} --trace`,
    )
    .join('\n');
}
