/**
 * The hostile-validator suite (issue 23, deliver 3): 4 validators on real processes, node 3
 * running one hostile strategy (hostile-main.ts), or honest nodes with shifted clocks. For each
 * scenario the 3 honest nodes must never exit, keep committing (longest gap between commits under
 * COMMIT_GAP_MS_MAX), stay under RSS_MB_MAX, and, where the misbehaviour is provable, at least one
 * of them must have reported or banned the attacker. Figures go to RESULTS_DIR and a table is
 * printed at the end. Slow (about a minute a scenario): `npm run test:byzantine`, not `npm test`.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FAST_PARAMS } from '../e2e/cluster.js';
import { FAKETIME_LIB, HostileCluster, RESULTS_DIR, type ScenarioFigures, watch } from './hostile-cluster.js';
import type { StrategyName } from './strategies.js';

/** Generous: a shared 2-core machine; the round timeout caps at 4 s with FAST_PARAMS. */
const COMMIT_GAP_MS_MAX = 20_000;
const RSS_MB_MAX = 600;
const ATTACK_MS = Number(process.env.BYZANTINE_ATTACK_MS ?? 45_000);
const HOSTILE = 3;

const results: ScenarioFigures[] = [];

interface Scenario {
  name: string;
  basePort: number;
  strategy?: StrategyName;
  faketime?: Record<number, string>;
  params?: Record<string, number>;
  /** The attacker's misbehaviour is provable: some honest node must report or ban it. */
  provable: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'tx-flood', basePort: 28000, strategy: 'tx-flood', provable: true },
  { name: 'oversize-proposer', basePort: 28010, strategy: 'oversize-proposer', provable: false },
  { name: 'oversize-round-change', basePort: 28020, strategy: 'oversize-round-change', provable: false },
  { name: 'timestamps', basePort: 28030, strategy: 'timestamps', provable: false },
  { name: 'equivocation', basePort: 28040, strategy: 'equivocation', provable: true },
  { name: 'flood', basePort: 28050, strategy: 'flood', provable: true },
  { name: 'sync-liar', basePort: 28060, strategy: 'sync-liar', provable: true },
  { name: 'slow-reader', basePort: 28070, strategy: 'slow-reader', provable: false },
  // Default clockSkewMsMax (2 s): node 2's proposals (5 s ahead) are refused, yet all follow.
  { name: 'clocks-5s-default-skew', basePort: 29000, faketime: { 1: '-5s', 2: '+5s' }, provable: false },
  // A skew bound that covers ±5 s honest clocks: every proposal is acceptable.
  {
    name: 'clocks-5s-wide-skew',
    basePort: 29010,
    faketime: { 1: '-5s', 2: '+5s' },
    params: { ...FAST_PARAMS, clockSkewMsMax: 12_000 },
    provable: false,
  },
];

for (const s of SCENARIOS) {
  const skip =
    s.faketime !== undefined && !existsSync(FAKETIME_LIB)
      ? `${FAKETIME_LIB} missing (apt-get install -y faketime): clock scenario skipped`
      : false;
  test(`byzantine: ${s.name}`, { skip, timeout: ATTACK_MS + 150_000 }, async () => {
    const cluster = new HostileCluster({
      basePort: s.basePort,
      params: s.params ?? FAST_PARAMS,
      hostileDurationMs: ATTACK_MS + 30_000,
      ...(s.strategy ? { hostile: { [HOSTILE]: s.strategy } } : {}),
      ...(s.faketime ? { faketime: s.faketime } : {}),
    });
    try {
      await cluster.start();
      for (const i of cluster.honest()) await cluster.waitForHeight(i, 3, 60_000);
      const fig = await watch(cluster, s.name, ATTACK_MS, s.strategy ? HOSTILE : undefined);
      results.push(fig);
      for (const f of fig.honest) {
        assert.equal(f.exited, undefined, `node-${f.index} exited (${f.exited}); logs in ${cluster.dir}`);
        assert.ok(
          f.heightEnd > f.heightStart,
          `node-${f.index} did not commit: ${f.heightStart}->${f.heightEnd}`,
        );
        assert.ok(
          f.commitGapMsMax < COMMIT_GAP_MS_MAX,
          `node-${f.index} longest commit gap ${f.commitGapMsMax} ms >= ${COMMIT_GAP_MS_MAX}`,
        );
        assert.ok(
          Math.max(f.rssMbPeak, f.hwmMb) < RSS_MB_MAX,
          `node-${f.index} peak RSS ${f.rssMbPeak} MB / HWM ${f.hwmMb} MB >= ${RSS_MB_MAX}`,
        );
      }
      if (s.strategy)
        assert.ok(fig.attackStartedAt !== undefined, 'the hostile node never started its attack');
      if (s.provable) {
        const reported = fig.honest.filter((f) => Object.keys(f.reports).length > 0);
        assert.ok(
          reported.length > 0,
          `no honest node reported or banned the attacker; logs in ${cluster.dir}`,
        );
      }
      // Honest nodes agree on the chain they hold.
      const upTo = Math.min(...fig.honest.map((f) => f.heightEnd)) - 1;
      await cluster.sameChain(cluster.honest(), Math.min(upTo, 20));
    } finally {
      await cluster.close();
    }
  });
}

after(() => {
  if (results.length === 0) return;
  const rows = results.map((r) => {
    const reports = new Map<string, number>();
    for (const f of r.honest)
      for (const [k, v] of Object.entries(f.reports)) reports.set(k, (reports.get(k) ?? 0) + v);
    return {
      scenario: r.name,
      gapMs: r.longestCommitGapMs,
      rssMb: r.peakRssMb,
      banMs: r.firstBanMs ?? 'never',
      heights: r.honest.map((f) => `${f.heightStart}->${f.heightEnd}`).join(' '),
      reports: [...reports].map(([k, v]) => `${k}:${v}`).join(' ') || '-',
    };
  });
  const md = [
    `| scenario | longest commit gap ms (< ${COMMIT_GAP_MS_MAX}) | peak RSS MB (< ${RSS_MB_MAX}) | first ban ms after attack | honest heights | reports |`,
    '|---|---|---|---|---|---|',
    ...rows.map(
      (x) => `| ${x.scenario} | ${x.gapMs} | ${x.rssMb} | ${x.banMs} | ${x.heights} | ${x.reports} |`,
    ),
  ].join('\n');
  writeFileSync(join(RESULTS_DIR, 'summary.md'), `${md}\n`);
  writeFileSync(join(RESULTS_DIR, 'summary.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n# byzantine suite figures (${RESULTS_DIR}/summary.md)\n${md}`);
});
