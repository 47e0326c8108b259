/**
 * The hostile validator's entry point (test only): `node --import tsx test/byzantine/hostile-main.ts
 * start --home DIR --strategy NAME` (or SYNOD_HOSTILE_STRATEGY=NAME). It starts the REAL node
 * (SynodNode.start, as `synod start` does) and then arms one strategy from strategies.ts, which
 * rewires the running node's parts from outside. SIGTERM/SIGINT stop it like `synod start`.
 */
import { basename, dirname, resolve } from 'node:path';
import { SynodNode } from '../../node/node.js';
import { arm, STRATEGY_NAMES, type StrategyName } from './strategies.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[2] !== 'start') {
  console.error('usage: hostile-main.ts start --home DIR [--strategy NAME] [--duration-ms N]');
  process.exit(2);
}
const home = resolve(flag('home') ?? '');
const strategy = (flag('strategy') ?? process.env.SYNOD_HOSTILE_STRATEGY ?? 'none') as StrategyName;
if (!STRATEGY_NAMES.includes(strategy)) {
  console.error(`unknown strategy '${strategy}'; one of ${STRATEGY_NAMES.join(', ')}`);
  process.exit(2);
}
const durationMs = Number(flag('duration-ms') ?? process.env.HOSTILE_DURATION_MS ?? 180_000);
const index = Number(/node-(\d+)$/.exec(basename(home))?.[1] ?? Number.NaN);
if (!Number.isInteger(index)) {
  console.error(`--home must be a devnet node folder named node-<i>, got ${home}`);
  process.exit(2);
}

const node = await SynodNode.start({ home });
const log = node.log.child({ module: 'hostile' });
arm(strategy, { node, index, devnetDir: dirname(home), log, durationMs }).catch((err) =>
  log.error({ err }, 'hostile strategy failed'),
);
const shutdown = (signal: string) => {
  log.info({ signal }, 'shutting down');
  void node.stop().finally(() => process.exit(0));
};
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
