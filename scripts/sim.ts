/**
 * The consensus simulator's command line (`npm run sim -- ...`).
 *
 *   --seeds N        run seeds 1..N (default 100); the last line is "P passed, F failed"
 *   --seed S         replay one seed exactly (add --trace to print its event trace)
 *   --validators n   initial validator count (default: drawn from the seed among 4, 5, 7, 10)
 *   --byzantine b    Byzantine validators, at most f (default: drawn from the seed, 0..f)
 *   --ticks T        length of the fault phase in ticks (1 tick = 1 virtual ms; default: drawn)
 *   --broken RULE    run with a deliberately unsafe rule, to see the checkers fire
 *   --driver-bug B   run the driver with a deliberately broken rule (send-before-persist,
 *                    judge-certified-by-clock, stale-params)
 *
 * A failing seed prints the command that replays it. Exit status 1 if any seed failed.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { BrokenRule } from '../consensus/replica.js';
import type { DriverBug } from '../consensus/sim/scenario.js';
import { runSimulation, type SimResult } from '../consensus/sim/simulator.js';

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

const program = new Command()
  .name('sim')
  .description('Deterministic simulation of the Synod consensus core')
  .option('--seeds <n>', 'run seeds 1..n', positiveInt('--seeds'))
  .option('--seed <s>', 'run one seed', positiveInt('--seed'))
  .option('--from <s>', 'with --seeds, start at this seed instead of 1', positiveInt('--from'))
  .option('--validators <n>', 'initial validator count', positiveInt('--validators'))
  .option('--byzantine <b>', 'number of Byzantine validators (at most f)', positiveInt('--byzantine'))
  .option('--ticks <t>', 'fault-phase length in ticks (virtual ms)', positiveInt('--ticks'))
  .addOption(
    new Option('--broken <rule>', 'deliberately unsafe rule').choices([
      'quorum-f-plus-1',
      'round-change-forgets-prepared',
    ]),
  )
  .addOption(
    new Option('--driver-bug <bug>', 'deliberately broken driver rule').choices([
      'send-before-persist',
      'judge-certified-by-clock',
      'stale-params',
    ]),
  )
  .option('--trace', 'print the event trace of the seed')
  .option('--verbose', 'print one line per seed')
  .parse();

const opts = program.opts<{
  seeds?: number;
  seed?: number;
  from?: number;
  validators?: number;
  byzantine?: number;
  ticks?: number;
  broken?: BrokenRule;
  driverBug?: DriverBug;
  trace?: boolean;
  verbose?: boolean;
}>();

if (opts.validators !== undefined && opts.validators < 1) program.error('--validators must be at least 1');
if (opts.seed !== undefined && opts.seeds !== undefined)
  program.error('give either --seed S or --seeds N, not both');
// With neither, a default batch.
if (opts.seed === undefined && opts.seeds === undefined) opts.seeds = 100;

function replayCommand(seed: number): string {
  const parts = ['npm run sim --', `--seed ${seed}`];
  if (opts.validators !== undefined) parts.push(`--validators ${opts.validators}`);
  if (opts.byzantine !== undefined) parts.push(`--byzantine ${opts.byzantine}`);
  if (opts.ticks !== undefined) parts.push(`--ticks ${opts.ticks}`);
  if (opts.broken !== undefined) parts.push(`--broken ${opts.broken}`);
  if (opts.driverBug !== undefined) parts.push(`--driver-bug ${opts.driverBug}`);
  return `${parts.join(' ')} --trace`;
}

function run(seed: number, trace: boolean): SimResult {
  return runSimulation({
    seed,
    validators: opts.validators,
    byzantine: opts.byzantine,
    ticks: opts.ticks,
    brokenRule: opts.broken,
    driverBug: opts.driverBug,
    trace,
    stopOnViolation: !trace,
  });
}

function report(r: SimResult): void {
  console.log(`seed ${r.seed} FAILED: ${r.description}`);
  for (const v of r.violations.slice(0, 10)) console.log(`  [${v.checker}] t=${v.t} ${v.node}: ${v.message}`);
  console.log(`  replay: ${replayCommand(r.seed)}`);
}

function summary(r: SimResult): string {
  const s = r.stats;
  return (
    `seed ${r.seed} ${r.ok ? 'ok' : 'FAILED'} ${r.description} | ticks=${s.ticks} height=${s.minHonestHeight}..${s.maxHeight} ` +
    `commits=${s.commits} msgs=${s.messagesDelivered} crashes=${s.crashes} partitions=${s.partitions} evidence=${s.evidence} ` +
    `sigs=${s.signatures} verifies=${s.verifications} worstLatencyAfterHeal=${s.worstLatencyAfterHealMs}/${s.livenessBoundMs} fp=${r.fingerprint}`
  );
}

try {
  if (opts.seed !== undefined) {
    const r = run(opts.seed, opts.trace ?? false);
    if (r.trace) for (const line of r.trace) console.log(line);
    console.log(summary(r));
    if (Object.keys(r.stats.dropped).length > 0) console.log(`dropped: ${JSON.stringify(r.stats.dropped)}`);
    if (!r.ok) report(r);
    console.log(r.ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
    process.exitCode = r.ok ? 0 : 1;
  } else {
    const first = opts.from ?? 1;
    const count = opts.seeds!;
    let passed = 0;
    let failed = 0;
    let ticks = 0;
    let heights = 0;
    const started = performance.now();
    for (let seed = first; seed < first + count; seed++) {
      const r = run(seed, false);
      ticks += r.stats.ticks;
      heights += r.stats.maxHeight;
      if (opts.verbose) console.log(summary(r));
      if (r.ok) passed++;
      else {
        failed++;
        report(r);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${count} seeds in ${seconds.toFixed(1)} s: ${(count / seconds).toFixed(2)} seeds/s, ` +
        `${Math.round(ticks / seconds)} ticks/s, ${Math.round(heights / seconds)} heights/s`,
    );
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  }
} catch (e) {
  if (e instanceof RangeError) program.error(e.message);
  throw e;
}
