/**
 * The local devnet: N validators, each its own OS process, on 127.0.0.1.
 *
 * Layout under `dir` (default .synod/devnet):
 *   genesis.json                 the network's genesis
 *   keys/validator-<i>.json      validator keys (copied into each node home)
 *   keys/member-<i>.json         the funded admin account of member i
 *   node-<i>/config.json         HTTP on basePort+i, libp2p on basePort+100+i
 *   node-<i>/node.log            the node's log (JSON lines)
 *
 * An existing devnet folder is reused (the chain continues) unless `fresh` is set. One node
 * restarts alone with `synod start --home DIR/node-<i>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureNodeBuild } from '../bin/build.js';
import { createDevnet } from '../genesis/devnet.js';

export interface DevnetOptions {
  validators: number;
  dir: string;
  basePort: number;
  fresh: boolean;
  /** Extra config merged into every node's config.json. */
  nodeConfig?: Record<string, unknown>;
  /** Chain parameters written into a new genesis (tests use short timeouts). */
  params?: Record<string, number>;
  logLevel?: string;
}

export interface DevnetNode {
  index: number;
  home: string;
  rpcUrl: string;
  httpPort: number;
  p2pPort: number;
  process?: ChildProcess;
}

let builtMain: string | undefined;

/** Writes genesis, keys and node homes unless they already exist (or `fresh`). */
export async function prepareDevnet(opts: DevnetOptions): Promise<DevnetNode[]> {
  const dir = resolve(opts.dir);
  if (opts.fresh) rmSync(dir, { recursive: true, force: true });
  const genesisPath = join(dir, 'genesis.json');
  if (!existsSync(genesisPath)) {
    mkdirSync(dir, { recursive: true });
    await createDevnet({ validators: opts.validators, outDir: dir, basePort: opts.basePort });
    if (opts.params) {
      const doc = JSON.parse(readFileSync(genesisPath, 'utf8'));
      doc.params = { ...doc.params, ...opts.params };
      writeFileSync(genesisPath, `${JSON.stringify(doc, null, 2)}\n`);
    }
  }
  const nodes: DevnetNode[] = [];
  for (let i = 0; i < opts.validators; i++) {
    const home = join(dir, `node-${i}`);
    const httpPort = opts.basePort + i;
    const p2pPort = opts.basePort + 100 + i;
    mkdirSync(home, { recursive: true });
    const keyInHome = join(home, 'validator-key.json');
    if (!existsSync(keyInHome)) copyFileSync(join(dir, 'keys', `validator-${i}.json`), keyInHome);
    const extra = opts.nodeConfig ?? {};
    const section = (name: string) => (extra[name] ?? {}) as Record<string, unknown>;
    const config = {
      ...extra,
      genesisFile: '../genesis.json',
      validatorKeyFile: 'validator-key.json',
      http: { host: '127.0.0.1', ...section('http'), port: httpPort },
      p2p: { ...section('p2p'), listen: `/ip4/127.0.0.1/tcp/${p2pPort}` },
      log: { level: opts.logLevel ?? 'info', pretty: false, ...section('log') },
    };
    writeFileSync(join(home, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    nodes.push({ index: i, home, httpPort, p2pPort, rpcUrl: `http://127.0.0.1:${httpPort}/rpc` });
  }
  return nodes;
}

/**
 * glibc malloc settings for node processes (the caller's environment wins): two arenas rather
 * than eight per core for the libuv and V8 threads; a fixed mmap threshold of 4 MB (the default
 * `blockBytesMax`), so blocks, WAL records and peer batches come from the heap and their
 * memory is reused; and a trim threshold of 16 MB, so at most that much freed memory stays at the
 * top of an arena (glibc's own sliding threshold would let it rise to 64 MB). Why not a low
 * threshold (131072 until 2026-11-27): every buffer above it was a fresh mmap, and on this
 * platform a page fault costs about 10-15 µs, so a node in a backlog (blocks of 1,000-2,000
 * transactions) took 3,000-3,500 faults a second, 5.8% of the machine. The Dockerfile sets the
 * same.
 */
export const NODE_MALLOC_ENV = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '4194304',
  MALLOC_TRIM_THRESHOLD_: '16777216',
};

/**
 * Starts one node process; its output goes to HOME/node.log. `extraArgs` go to the CLI,
 * `nodeFlags` to Node itself (e.g. `--cpu-prof`, which NODE_OPTIONS refuses, or heap limits).
 */
export function startNodeProcess(
  node: DevnetNode,
  extraArgs: string[] = [],
  nodeFlags: string[] = [],
): ChildProcess {
  // Transpiled once per launcher process (bin/build.js: a validator under the tsx loader
  // carried 30-60 MB more RSS); rebuilt only when a source changed.
  builtMain ??= ensureNodeBuild();
  const out = openSync(join(node.home, 'node.log'), 'a');
  const child = spawn(
    process.execPath,
    [...nodeFlags, builtMain, 'start', '--home', node.home, ...extraArgs],
    {
      stdio: ['ignore', out, out],
      env: { ...NODE_MALLOC_ENV, ...process.env, FORCE_COLOR: '0' },
    },
  );
  node.process = child;
  return child;
}

/** Polls GET /health until it answers 200 or `timeoutMs` passes. */
export async function waitForHealth(node: DevnetNode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const url = `http://127.0.0.1:${node.httpPort}/health`;
  while (Date.now() < deadline) {
    if (node.process && node.process.exitCode !== null) {
      throw new Error(
        `node-${node.index} exited with code ${node.process.exitCode}; see ${join(node.home, 'node.log')}${logTail(node)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `node-${node.index} did not answer ${url} within ${timeoutMs} ms; see ${join(node.home, 'node.log')}${logTail(node)}`,
  );
}

/**
 * The end of a node's log, for an error message: a caller that removes the network folder on
 * failure (the benchmark does) would otherwise leave nothing to read.
 */
function logTail(node: DevnetNode, lines = 15): string {
  try {
    const text = readFileSync(join(node.home, 'node.log'), 'utf8').trimEnd();
    if (text === '') return ' (the log is empty)';
    return `; its last lines:\n${text.split('\n').slice(-lines).join('\n')}`;
  } catch {
    return ' (no log)';
  }
}

/** Stops a node: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopNodeProcess(node: DevnetNode, graceMs = 10_000): Promise<void> {
  const child = node.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
