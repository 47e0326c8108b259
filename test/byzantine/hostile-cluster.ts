/**
 * A 4-validator devnet of real processes with one hostile validator (hostile-main.ts) and the
 * watcher that measures what the Byzantine suite asserts: that the honest nodes never exit, the
 * longest gap between their commits, their peak memory (VmRSS/VmHWM from /proc), and when they
 * banned the attacker (their 'peer misbehaved' log lines with ban: true).
 *
 * Honest nodes run the shipped build exactly as `Cluster` starts them; a node may get a shifted
 * clock through libfaketime. Every wait and loop is bounded in time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signer } from '../../crypto/ed25519.js';
import { NODE_MALLOC_ENV, prepareDevnet, startNodeProcess, waitForHealth } from '../../node/devnet.js';
import { readKeyFile } from '../../node/keyfile.js';
import { peerIdFromPublicKey } from '../../node/p2p/index.js';
import { SynodClient } from '../../rpc/client.js';
import { Cluster, type ClusterOptions, FAST_PARAMS, sleep } from '../e2e/cluster.js';
import type { StrategyName } from './strategies.js';

const REPO = new URL('../../', import.meta.url).pathname;
const HOSTILE_MAIN = new URL('./hostile-main.ts', import.meta.url).pathname;
export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
/** Where each scenario's figures are written (kept after the cluster folder is removed). */
export const RESULTS_DIR = join(tmpdir(), 'synod-byzantine-results');

export interface HostileClusterOptions extends ClusterOptions {
  /** Node index -> strategy run by hostile-main.ts instead of the shipped node. */
  hostile?: Record<number, StrategyName>;
  /** Node index -> libfaketime FAKETIME value (e.g. '-5s'). */
  faketime?: Record<number, string>;
  hostileDurationMs?: number;
}

export class HostileCluster extends Cluster {
  constructor(readonly h: HostileClusterOptions) {
    super(h);
  }

  override async start(): Promise<void> {
    this.nodes = await prepareDevnet({
      validators: this.h.validators ?? 4,
      dir: this.dir,
      basePort: this.h.basePort,
      fresh: false,
      params: this.h.params ?? FAST_PARAMS,
      nodeConfig: this.h.nodeConfig ?? {},
      logLevel: 'debug',
    });
    this.clients = this.nodes.map((n) => new SynodClient(n.rpcUrl, { timeoutMs: 5_000 }));
    for (const n of this.nodes) {
      const strategy = this.h.hostile?.[n.index];
      const fake = this.h.faketime?.[n.index];
      if (strategy !== undefined) this.startHostile(n.index, strategy);
      else if (fake !== undefined) this.startFaked(n.index, fake);
      else startNodeProcess(n);
    }
    await Promise.all(this.nodes.map((n) => waitForHealth(n, 60_000)));
  }

  honest(): number[] {
    return this.nodes.map((n) => n.index).filter((i) => this.h.hostile?.[i] === undefined);
  }

  private startHostile(i: number, strategy: StrategyName): void {
    const n = this.node(i);
    const out = openSync(join(n.home, 'node.log'), 'a');
    n.process = spawn(
      process.execPath,
      ['--import', 'tsx', HOSTILE_MAIN, 'start', '--home', n.home, '--strategy', strategy],
      {
        cwd: REPO,
        stdio: ['ignore', out, out],
        env: {
          ...NODE_MALLOC_ENV,
          ...process.env,
          FORCE_COLOR: '0',
          HOSTILE_DURATION_MS: String(this.h.hostileDurationMs ?? 180_000),
        },
      },
    );
  }

  /** The shipped node under libfaketime: its Date.now() is shifted by `fake`. */
  private startFaked(i: number, fake: string): void {
    if (!existsSync(FAKETIME_LIB)) throw new Error(`${FAKETIME_LIB} missing: apt-get install -y faketime`);
    // startNodeProcess copies process.env when it spawns: set the variables for that one call.
    const saved = { LD_PRELOAD: process.env.LD_PRELOAD, FAKETIME: process.env.FAKETIME };
    process.env.LD_PRELOAD = FAKETIME_LIB;
    process.env.FAKETIME = fake;
    try {
      startNodeProcess(this.node(i));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }

  async peerIdOf(i: number): Promise<string> {
    const key = await readKeyFile(join(this.dir, 'keys', `validator-${i}.json`));
    return peerIdFromPublicKey(new Signer(key.secretKey).publicKey);
  }

  log(i: number): string {
    try {
      return readFileSync(join(this.node(i).home, 'node.log'), 'utf8');
    } catch {
      return '';
    }
  }
}

/** One JSON log line, as pino writes it. */
interface LogLine {
  level: number;
  time: number;
  msg: string;
  [k: string]: unknown;
}

export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as LogLine & { time: number | string };
      // The node's logger writes ISO times; epoch ms here.
      out.push({ ...l, time: typeof l.time === 'string' ? Date.parse(l.time) : l.time });
    } catch {
      // a torn last line
    }
  }
  return out;
}

export interface HonestFigures {
  index: number;
  exited: string | undefined;
  heightStart: number;
  heightEnd: number;
  commitGapMsMax: number;
  rssMbPeak: number;
  hwmMb: number;
  /** When this node first banned the attacker, ms after the attack started (undefined: never). */
  banAfterMs: number | undefined;
  /** Misbehaviour reports about the attacker, by reason. */
  reports: Record<string, number>;
  /** Log lines at level error (50) or fatal (60), the first few. */
  errors: string[];
}

export interface ScenarioFigures {
  name: string;
  dir: string;
  runMs: number;
  attackStartedAt: number | undefined;
  longestCommitGapMs: number;
  peakRssMb: number;
  firstBanMs: number | undefined;
  honest: HonestFigures[];
}

function procStatusKb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  if (pid === undefined) return 0;
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Watches the honest nodes for `runMs`: heights every 250 ms (each request bounded by 2 s),
 * memory, exits. A commit gap is the time between two polls that saw a node's height rise
 * (the first gap counts from the start of the watch, the last one up to its end).
 */
export async function watch(
  cluster: HostileCluster,
  name: string,
  runMs: number,
  hostileIndex: number | undefined,
): Promise<ScenarioFigures> {
  const honest = cluster.honest();
  const start = Date.now();
  const state = new Map(
    honest.map((i) => [i, { lastHeight: -1, lastRise: start, gapMax: 0, start: -1, rssPeak: 0, exited: '' }]),
  );
  const clients = new Map(
    honest.map((i) => [i, new SynodClient(cluster.node(i).rpcUrl, { timeoutMs: 2_000 })]),
  );
  while (Date.now() - start < runMs) {
    await Promise.all(
      honest.map(async (i) => {
        const s = state.get(i)!;
        const child = cluster.node(i).process;
        if (child && (child.exitCode !== null || child.signalCode !== null)) {
          s.exited ||= `exit code ${child.exitCode} signal ${child.signalCode}`;
          return;
        }
        s.rssPeak = Math.max(s.rssPeak, procStatusKb(child?.pid, 'VmRSS'));
        try {
          const h = Number((await clients.get(i)!.getInfo()).height);
          const now = Date.now();
          if (s.start < 0) s.start = h;
          if (h > s.lastHeight) {
            if (s.lastHeight >= 0) s.gapMax = Math.max(s.gapMax, now - s.lastRise);
            s.lastHeight = h;
            s.lastRise = now;
          }
        } catch {
          // no answer within 2 s: counts as no commit seen
        }
      }),
    );
    await sleep(250);
  }
  const end = Date.now();
  const hostilePeer = hostileIndex === undefined ? undefined : await cluster.peerIdOf(hostileIndex);
  const hostileLog = hostileIndex === undefined ? [] : logLines(cluster.log(hostileIndex));
  const attackStartedAt = hostileLog.find((l) => l.msg === 'hostile attack started')?.time;
  const figures: HonestFigures[] = honest.map((i) => {
    const s = state.get(i)!;
    const child = cluster.node(i).process;
    const lines = logLines(cluster.log(i));
    const reports: Record<string, number> = {};
    let banAt: number | undefined;
    for (const l of lines) {
      if (hostilePeer === undefined || l.peer !== hostilePeer) continue;
      if (l.msg === 'peer misbehaved') {
        const reason = String(l.reason);
        reports[reason] = (reports[reason] ?? 0) + 1;
      }
      const banned = (l.msg === 'peer misbehaved' && l.ban === true) || /\bbanned\b/i.test(l.msg);
      if (banned && banAt === undefined) banAt = l.time;
    }
    const errors = lines
      .filter((l) => l.level >= 50)
      .slice(0, 5)
      .map(
        (l) =>
          `${l.msg}${l.err ? `: ${JSON.stringify((l.err as { message?: string }).message ?? l.err)}` : ''}${l.message ? `: ${String(l.message)}` : ''}`,
      );
    return {
      index: i,
      exited: s.exited || undefined,
      heightStart: s.start,
      heightEnd: s.lastHeight,
      // The stretch since the last rise counts too (a node that stopped committing at the end).
      commitGapMsMax: Math.max(s.gapMax, end - s.lastRise),
      rssMbPeak: Math.round(s.rssPeak / 1024),
      hwmMb: Math.round(procStatusKb(child?.pid, 'VmHWM') / 1024),
      banAfterMs:
        banAt === undefined || attackStartedAt === undefined
          ? undefined
          : Math.max(0, banAt - attackStartedAt),
      reports,
      errors,
    };
  });
  const bans = figures.map((f) => f.banAfterMs).filter((x): x is number => x !== undefined);
  const result: ScenarioFigures = {
    name,
    dir: cluster.dir,
    runMs: end - start,
    attackStartedAt,
    longestCommitGapMs: Math.max(...figures.map((f) => f.commitGapMsMax)),
    peakRssMb: Math.max(...figures.map((f) => Math.max(f.rssMbPeak, f.hwmMb))),
    firstBanMs: bans.length > 0 ? Math.min(...bans) : undefined,
    honest: figures,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `# byzantine ${name}: longest commit gap ${result.longestCommitGapMs} ms, peak RSS ${result.peakRssMb} MB, ` +
      `first ban ${result.firstBanMs === undefined ? 'never' : `${result.firstBanMs} ms`} after the attack started; ` +
      `per node ${JSON.stringify(figures.map((f) => ({ i: f.index, gap: f.commitGapMsMax, rss: f.rssMbPeak, hwm: f.hwmMb, h: `${f.heightStart}->${f.heightEnd}`, ban: f.banAfterMs, exited: f.exited, reports: f.reports })))}; figures in ${file}`,
  );
  for (const f of figures) {
    if (f.errors.length > 0) console.log(`# node-${f.index} errors: ${f.errors.join(' | ')}`);
  }
  return result;
}
