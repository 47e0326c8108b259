/**
 * Throughput benchmark of a local network: N validators as separate processes on 127.0.0.1,
 * load offered over JSON-RPC batches at rising rates until committed throughput stops rising,
 * and optionally a soak at 80% of the peak.
 *
 *   npm run bench -- [--validators 4] [--duration 15] [--rates 500,1000,...] [--quick] [--out FILE]
 *                    [--kind transfer|data] [--payload BYTES] [--soak 10m [--soak-rate TX/S]]
 *                    [--cpu-prof DIR] [--node-flags "--max-semi-space-size=32"]
 *
 * Order of work, so that only the load itself is timed:
 *   1. measure Ed25519 verifications per second on one core (the fastest verifier present),
 *      in half-second windows, and derive the bound cores x rate / validators: every validator
 *      verifies every transaction, so the network can never commit faster than that (measured
 *      again after the run with the validators stopped; the final bound takes the median of
 *      all windows, since this machine's speed wanders by a third from second to second);
 *   2. start the network, register one pool of sender accounts per step (and the soak) and
 *      fund them;
 *   3. sign every transaction of every step in worker threads (the soak's after the climb,
 *      once its rate is known, still before its clock starts);
 *   4. per step, wait (bounded) for every mempool to be empty, offer the rate for the duration
 *      (one batch per node every tick), then wait a bounded time for the admitted transactions
 *      to commit.
 * Commits are counted from the blocks themselves (chain_getBlock lists the tx hashes; a block
 * counts for the window its header timestamp falls in), and latency runs from the moment a
 * transaction is first sent to the moment the poller sees its block. A refusal that says
 * "later" (MEMPOOL_FULL) is retried after a back-off, the sender's later nonces held until
 * then (scripts/bench-senders.ts); a refusal for good stops the sender for the step. Each step
 * uses fresh senders, so a nonce gap left by one cannot stall the next. The soak also samples
 * every node's RSS and mempool size every 5 s, reports their slopes after a warm-up of a fifth
 * of the run, and counts accepted transactions that never committed: "stranded" when an
 * earlier nonce of the same sender was never accepted (refused for good, or still waiting to
 * be resent when the load stopped), else "lost".
 * Every loop is bounded in count and time; all node processes are stopped in `finally`.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { generateKeyPair, Signer, verifierName, verify } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import { encodeSignedTx } from '../ledger/codec.js';
import { Wallet } from '../ledger/tx-builder.js';
import {
  type DevnetNode,
  prepareDevnet,
  startNodeProcess,
  stopNodeProcess,
  waitForHealth,
} from '../node/devnet.js';
import { readKeyFile } from '../node/keyfile.js';
import { SynodClient } from '../rpc/client.js';
import { SenderSchedule } from './bench-senders.js';
import {
  type BenchKind,
  runSignJob,
  type SignJob,
  type SignResult,
  startSignWorker,
} from './bench-sign-worker.js';
import {
  describeRates,
  isSustained,
  median,
  SUSTAINED_COMMITTED_MIN,
  SUSTAINED_P50_MAX_MS,
  slope,
  sustainedRate,
} from './bench-summary.js';
import { renderChart } from './bench-svg.js';

interface Options {
  validators: string;
  duration?: string;
  rates?: string;
  quick?: boolean;
  out?: string;
  senders?: string;
  basePort: string;
  keep?: boolean;
  cpuProf?: string;
  logLevel: string;
  kind: string;
  payload?: string;
  soak?: string;
  soakRate?: string;
  nodeFlags?: string;
  blockPeriod?: string;
}

const opts = new Command()
  .description('offer rising load to a local network and report committed throughput and latency')
  .option('--validators <n>', 'validators, each its own process', '4')
  .option('--duration <s>', 'seconds of load per step (default 15, quick 6)')
  .option('--rates <list>', 'offered tx/s per step, comma-separated, rising')
  .option('--quick', 'a run of about a minute')
  .option('--out <file>', 'JSON results (default bench-results/bench-<date>.json; the chart beside it)')
  .option('--senders <n>', 'sender accounts per step (default 200, quick 100)')
  .option('--base-port <p>', 'node i serves HTTP on base+i', '25700')
  .option('--log-level <level>', 'node log level', 'warn')
  .option('--cpu-prof <dir>', 'write a CPU profile of node 0 into DIR (when it stops)')
  .option('--keep', 'keep the network folder (node logs) after the run')
  .option('--kind <kind>', 'what to send: transfer, or data (data.put writes)', 'transfer')
  .option(
    '--payload <bytes>',
    'transfer memo length (default 0, at most 256), or data.put value length (default 64)',
  )
  .option('--soak <duration>', 'after the climb, offer 80% of its peak for this long (e.g. 10m, 90s)')
  .option('--soak-rate <tx/s>', 'soak at this rate, without a climb first')
  .option('--node-flags <flags>', 'Node flags for every validator, e.g. "--max-old-space-size=160"')
  .option(
    '--block-period <ms>',
    "genesis blockPeriodMs: a block's earliest time after its parent (default 200)",
  )
  .parse()
  .opts<Options>();

const quick = opts.quick === true;
const nodeFlags = opts.nodeFlags?.split(/\s+/).filter((f) => f !== '') ?? [];
const n = Number(opts.validators);
const duration = Number(opts.duration ?? (quick ? 6 : 15));
// Steps of 500 through the region where a 2-core host saturates (about 2,000 tx/s): a jump from
// 2,000 to 3,000 measured the peak only deep in overload, where each run's figure scattered.
const rates = (
  opts.rates ?? (quick ? '500,1000,2000,3000,4000' : '500,1000,1500,2000,2500,3000,3500,4000,5000,6000')
)
  .split(',')
  .map(Number);
const sendersPerStep = Number(opts.senders ?? (quick ? 100 : 200));
const blockPeriodMs = opts.blockPeriod === undefined ? undefined : Number(opts.blockPeriod);
if (blockPeriodMs !== undefined && !(Number.isInteger(blockPeriodMs) && blockPeriodMs >= 1))
  throw new Error('--block-period must be a whole number of milliseconds, at least 1');
if (opts.kind !== 'transfer' && opts.kind !== 'data') throw new Error('--kind must be transfer or data');
const kind: BenchKind = opts.kind;
const payloadBytes = Number(opts.payload ?? (kind === 'data' ? 64 : 0));
// Memos are capped by the ledger at 256 bytes; data values by the dataValueBytesMax parameter.
const payloadMax = kind === 'transfer' ? 256 : 16 * 1024;
if (!(Number.isInteger(payloadBytes) && payloadBytes >= 0 && payloadBytes <= payloadMax)) {
  throw new Error(`--payload must be 0..${payloadMax} bytes for ${kind}`);
}
/** Soak length in seconds (0: no soak): "10m", "90s" or plain seconds. */
function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--soak: expected a duration like 10m or 90s, got '${text}'`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}
const soakS = opts.soak !== undefined ? parseDuration(opts.soak) : 0;
if (soakS > 4 * 3600) throw new Error('--soak: at most 4h');
if (opts.soakRate !== undefined && !(Number(opts.soakRate) > 0 && Number(opts.soakRate) <= 100_000)) {
  throw new Error('--soak-rate: 1..100000');
}
if (opts.soakRate !== undefined && soakS === 0) throw new Error('--soak-rate needs --soak');
/** The rising steps; none when the soak rate is given. */
const climbRates = opts.soakRate !== undefined ? [] : rates;
const basePort = Number(opts.basePort);
if (!(Number.isInteger(n) && n >= 1 && n <= 20)) throw new Error('--validators must be 1..20');
if (!(duration > 0 && duration <= 600)) throw new Error('--duration must be in (0, 600] seconds');
if (rates.length === 0 || rates.some((r) => !(r > 0 && r <= 100_000)))
  throw new Error('--rates: 1..100000 each');
if (!(Number.isInteger(sendersPerStep) && sendersPerStep >= 1 && sendersPerStep <= 5000)) {
  throw new Error('--senders must be 1..5000');
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outFile = opts.out ?? join('bench-results', `bench-${stamp}.json`);

const TICK_MS = 50;
/** Back-off of a sender after a refusal that says "later": doubles per refusal in a row. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 4_000;
/** Calls per submitted batch at most: the nodes are configured with rpc.batchMax 2,000 below. */
const SUBMIT_BATCH_MAX = 2_000;
const POLL_MS = 100;
/** How long after a step's load the harness waits for admitted transactions to commit. */
const DRAIN_MS = quick ? 5_000 : 15_000;
/** The soak waits longer: its claim is that every accepted transaction commits. */
const SOAK_DRAIN_MS = 60_000;
/** Soak probes (RSS, mempool sizes) every this many ticks: 5 s. */
const SAMPLE_TICKS = 100;
/** A step that does not raise the best committed rate by this factor ends the climb. */
const RISE = 1.05;
/** Use by other processes (% of one core) above which a step is reported as disturbed. */
const OTHER_PCT_MAX = 25;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let aborted = false;
/** The signal that interrupted the run; its exit status is then 128 + the signal's number. */
let interruptedBy: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | undefined;
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
// Ctrl-C, `timeout`, a closed terminal: each ends the run through the cleanup below (stop the
// validators, remove their folder). Without a handler SIGTERM and SIGHUP killed this process
// alone and left four validator processes running.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    if (!aborted) console.log(`\n${signal}: stopping the run`);
    aborted = true;
    interruptedBy ??= signal;
  });
}

// ---------------------------------------------------------------------------------- progress
const tty = process.stderr.isTTY === true;
function progress(label: string, frac: number): void {
  if (!tty) return;
  const width = 30;
  const done = Math.max(0, Math.min(width, Math.round(frac * width)));
  process.stderr.write(
    `\r${label} [${'#'.repeat(done)}${'-'.repeat(width - done)}] ${Math.round(frac * 100)}%   `,
  );
}
function progressEnd(): void {
  if (tty) process.stderr.write('\r\x1b[K');
}

// ------------------------------------------------------------------------------- /proc probes
function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime, clock ticks of 1/100 s
  } catch {
    return Number.NaN;
  }
}
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
/** Busy and total jiffies of the whole machine, to tell what other processes take from the run. */
function hostTicks(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - (f[4] ?? 0), total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}
function pct(sorted: number[], p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ------------------------------------------------------------------------------ verify bound
/** Half-second windows of verification per measurement (before the run, and after it). */
const VERIFY_WINDOWS = 6;
const VERIFY_WINDOW_NS = 500_000_000n;

/**
 * Verifications per second on this thread, one figure per half-second window of a fixed valid
 * signature. Several windows, not one long run, because this machine's speed wanders: on an
 * idle host consecutive windows read anywhere from 11,800 to 19,200/s, and a single second at
 * the start of the run moved the bound by a third between two runs of the same code.
 */
function measureVerifyWindows(windows = VERIFY_WINDOWS): number[] {
  const kp = generateKeyPair();
  const msg = new Uint8Array(120).fill(7);
  const sig = new Signer(kp.secretKey).sign(msg);
  for (let i = 0; i < 500; i++) verify(sig, msg, kp.publicKey); // warm-up
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) {
    const t0 = process.hrtime.bigint();
    let count = 0;
    // Bounded both ways: at most 1,000,000 checks (seconds at any plausible speed), ~0.5 s.
    while (count < 1_000_000) {
      for (let i = 0; i < 500; i++) if (!verify(sig, msg, kp.publicKey)) throw new Error('verify failed');
      count += 500;
      if (process.hrtime.bigint() - t0 > VERIFY_WINDOW_NS) break;
    }
    rates.push(count / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return rates;
}

// --------------------------------------------------------------------------------- JSON-RPC
/**
 * POSTs a JSON body over node:http through `agent`. The harness bounds its connections per
 * node with agents (fetch's pool is unbounded): nodes refuse more than 64 connections per IP,
 * and an unbounded burst of slow batches would also starve the block poller.
 */
function postJson(url: string, agent: Agent, body: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON-RPC error code of a transaction already committed (rpc/errors.ts). */
const ALREADY_KNOWN = 1013;
/**
 * Refusals a client retries (rpc/errors.ts): the pool is full, a per-client limit, a handler
 * deadline (the tx may be in: a resend then answers ALREADY_KNOWN), the sender's or its
 * member's share of the pool (1015, 1016: room comes with the next block). The rest (a bad
 * nonce, signature or account) cannot succeed by retrying.
 */
const RETRYABLE = new Set([1005, 1009, 1011, 1015, 1016]);

interface Posted {
  /**
   * The refused positions of the batch, each with its error code; undefined when the whole
   * batch got no answer (a transport failure, an HTTP error), which a client retries.
   */
  refused: Map<number, number | undefined>;
  firstError?: string;
}
/** Every position of a batch of `n` refused without an answer. */
const noAnswer = (n: number, firstError: string): Posted => ({
  refused: new Map(Array.from({ length: n }, (_, k) => [k, undefined])),
  firstError,
});
/** Submits 0x-hex encoded transactions as one JSON-RPC batch; the body is built as a string. */
async function submitBatch(url: string, agent: Agent, hexes: readonly string[]): Promise<Posted> {
  let body = '[';
  for (let k = 0; k < hexes.length; k++) {
    if (k > 0) body += ',';
    body += `{"jsonrpc":"2.0","id":${k},"method":"tx_submit","params":{"tx":"${hexes[k]}"}}`;
  }
  body += ']';
  try {
    let text: string;
    try {
      text = await postJson(url, agent, body);
    } catch (e) {
      // A keep-alive socket the node closed just as it was reused fails before any answer.
      // tx_submit is idempotent (the same bytes again answer the same hash), so send once more.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ECONNRESET' && code !== 'EPIPE') throw e;
      text = await postJson(url, agent, body);
    }
    const answers = JSON.parse(text) as {
      id?: number;
      error?: { code?: number; message?: string };
    }[];
    if (!Array.isArray(answers)) return noAnswer(hexes.length, JSON.stringify(answers));
    // ALREADY_KNOWN after a resend: the first copy got in (and committed). Not a refusal.
    const bad = answers.filter((a) => a.error && a.error.code !== ALREADY_KNOWN);
    return {
      refused: new Map(bad.map((a) => [a.id ?? -1, a.error?.code])),
      firstError: bad[0]?.error?.message,
    };
  } catch (e) {
    return noAnswer(hexes.length, String(e));
  }
}

// ------------------------------------------------------------------------------ block poller
/** Follows the chain on one node and records when each tx hash was first seen in a block. */
class BlockPoller {
  /**
   * Its own keep-alive connection, apart from the submit connections: under load those are busy
   * with batches and a poll queued behind them would see blocks seconds late.
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private rpc<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
    return new Promise((resolve, reject) => {
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: 30_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            try {
              const answer = JSON.parse(text) as { result?: T; error?: { message: string } };
              if (answer.error) reject(new Error(answer.error.message));
              else resolve(answer.result as T);
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('poll timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }
  readonly committedAt = new Map<string, number>();
  /**
   * Each new block: when the poller saw it, its header timestamp (when its proposer built it,
   * on this same machine's clock), and its tx count. Under saturation the poller itself is
   * starved of CPU and sees blocks late, so throughput is counted by the header time.
   */
  readonly blocks: { at: number; ts: number; txs: number }[] = [];
  /** Header timestamp of the block that holds each tx. */
  readonly committedTs = new Map<string, number>();
  height = 0;
  private running = false;
  private loop?: Promise<void>;
  constructor(private readonly url: string) {}

  /** Slowest poll so far, reset per step: a lagging poller inflates latency, so it is reported. */
  maxPollMs = 0;
  async pollOnce(): Promise<void> {
    const started = Date.now();
    const h = Number((await this.rpc<{ height: number }>('chain_getInfo', {})).height);
    // At most 200 blocks per poll, so one poll is bounded even after a long pause.
    for (let k = this.height + 1; k <= Math.min(h, this.height + 200); k++) {
      const b = await this.rpc<{ txs?: string[]; header?: { timestamp?: number } } | null>('chain_getBlock', {
        height: k,
        full: false,
      });
      const now = Date.now();
      const txs = b?.txs ?? [];
      const ts = b?.header?.timestamp ?? now;
      for (const hash of txs) {
        if (this.committedAt.has(hash)) continue;
        this.committedAt.set(hash, now);
        this.committedTs.set(hash, ts);
      }
      this.blocks.push({ at: now, ts, txs: txs.length });
      this.height = k;
    }
    this.maxPollMs = Math.max(this.maxPollMs, Date.now() - started);
  }
  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running && !aborted) {
        try {
          await this.pollOnce();
        } catch {
          // a slow answer under load; the next poll catches up
        }
        await sleep(POLL_MS);
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.agent.destroy();
  }
}

// ------------------------------------------------------------------------------------ setup
/** Submits a signed sequence to one node in batches and waits until the account's nonce passes it. */
async function submitAndSettle(
  node: DevnetNode,
  client: SynodClient,
  wallet: Wallet,
  hexes: string[],
  timeoutMs: number,
): Promise<void> {
  for (let i = 0; i < hexes.length; i += 500) {
    const r = await submitBatch(node.rpcUrl, agents[node.index]!, hexes.slice(i, i + 500));
    if (r.refused.size > 0)
      throw new Error(`setup refused ${r.refused.size} txs on node-${node.index}: ${r.firstError}`);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const acct = await client.getAccount(wallet.address);
    if (acct && Number(acct.nonce) >= wallet.nonce) return;
    await sleep(200);
  }
  throw new Error(`setup transactions of node-${node.index}'s member did not commit in ${timeoutMs} ms`);
}

// ------------------------------------------------------------------------------------- main
/** One pre-signed transaction of a run, in its sender's nonce order. */
interface QueuedTx {
  hex: string;
  hash: string;
  sender: number;
  nonce: number;
}

interface StepResult {
  rate: number;
  durationS: number;
  offered: number;
  /** Distinct transactions sent (at least once). */
  sent: number;
  /** Distinct transactions a node accepted (at the first send or a later one). */
  accepted: number;
  /** Sent, and still refused at their last answer when the load stopped. */
  refused: number;
  /** Never sent: behind a refusal of their sender when the load stopped. */
  withheld: number;
  /** Refusal answers, each send counted (MEMPOOL_FULL when the network is saturated). */
  refusals: number;
  /** Sends of a transaction after a refusal of it (bench-senders.ts back-off). */
  retries: number;
  committed: number;
  committedTotal: number;
  /** Accepted but not seen in a block by the end of the drain. */
  uncommitted: number;
  /** Of the uncommitted: accepted behind a never-accepted nonce of the same sender. */
  stranded: number;
  /** Of the uncommitted: neither committed nor behind a refusal. */
  lost: number;
  p50: number;
  p95: number;
  p99: number;
  blocksPerS: number;
  txsPerBlock: number;
  nodes: { cpuPct: number; rssMb: number; rssMaxMb: number }[];
  /** Whole machine busy, in % of one core (cores x 100 is all of it). */
  hostBusyPct: number;
  harnessPct: number;
  /** Machine use by processes other than the nodes and the harness, in % of one core. */
  otherPct: number;
  firstError?: string;
}

/** One soak sample: seconds since the load began, each node's RSS and mempool size. */
interface SoakSample {
  t: number;
  rssMb: number[];
  mempoolTxs: number[];
  height: number;
}

const cores = availableParallelism();
const cpuModel = cpus()[0]?.model ?? 'unknown';
console.log(`machine: ${cores} cores, ${cpuModel}, Node ${process.version}`);
if (nodeFlags.length > 0) console.log(`node flags: ${nodeFlags.join(' ')}`);
if (blockPeriodMs !== undefined) console.log(`genesis blockPeriodMs: ${blockPeriodMs}`);
// The figures only mean something on an otherwise idle machine; say so when it is not.
const load0 = loadavg()[0]!;
if (load0 > 0.5)
  console.log(`warning: load average ${load0.toFixed(2)} before start; other work shares the CPU`);
progress('measuring Ed25519 verify rate', 0);
const verifyBefore = measureVerifyWindows();
progressEnd();
// The bound until the run ends; then it is taken again over the windows of both measurements.
let verifyRate = median(verifyBefore);
let bound = (cores * verifyRate) / n;
console.log(
  `verify: ${describeRates(verifyBefore)} per core (${verifierName}); bound ${cores} x ${verifyRate.toFixed(0)} / ${n} = ${bound.toFixed(0)} tx/s (measured again after the run)`,
);
console.log(
  `load: ${kind === 'data' ? `data.put of ${payloadBytes}-byte values` : `transfers${payloadBytes > 0 ? ` with ${payloadBytes}-byte memos` : ''}`}`,
);

const dir = join(tmpdir(), `synod-bench-${process.pid}`);
const nodes = await prepareDevnet({
  validators: n,
  dir,
  basePort,
  fresh: true,
  logLevel: opts.logLevel,
  ...(blockPeriodMs === undefined ? {} : { params: { blockPeriodMs } }),
  // Large enough that the harness, not a default cap, limits setup and load.
  nodeConfig: {
    rpc: { batchMax: 2_000, bodyBytesMax: 16 * 1024 * 1024 },
    mempool: { futureNoncesMax: 10_000 },
  },
});
/** Longest wait for the mempools to empty before a run: the gapped-tx expiry (30 s) and more. */
const POOL_WAIT_MS = 60_000;
/** Submit connections per node: well under the nodes' 64 per IP, with room for the poller. */
const SUBMIT_SOCKETS = 16;
// FIFO: every socket is reused in turn, so none sits idle long enough for the node's keep-alive
// timeout to close it under the client (LIFO, the default, leaves the last ones idle).
const newAgent = () => new Agent({ keepAlive: true, maxSockets: SUBMIT_SOCKETS, scheduling: 'fifo' });
const agents = nodes.map(newAgent);
const workers: ReturnType<typeof startSignWorker>[] = [];
const steps: StepResult[] = [];
let poller: BlockPoller | undefined;
try {
  for (const node of nodes) {
    const profile = node.index === 0 && opts.cpuProf !== undefined;
    if (profile) mkdirSync(resolve(opts.cpuProf!), { recursive: true });
    const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(opts.cpuProf!)}`] : [];
    startNodeProcess(node, [], [...prof, ...nodeFlags]);
  }
  progress('starting validators', 0.1);
  // Generous: twice (2026-11-27), with the test suite running beside the benchmark on two cores,
  // a validator had not answered within 60 s; why is not established, and the error now ends
  // with the node's log.
  await Promise.all(nodes.map((node) => waitForHealth(node, 120_000)));
  const clients = nodes.map((node) => new SynodClient(node.rpcUrl, { timeoutMs: 30_000 }));
  const chainId = String((await clients[0]!.getInfo()).chainId);
  const activePoller = new BlockPoller(nodes[0]!.rpcUrl);
  poller = activePoller;
  await activePoller.pollOnce();
  activePoller.start();

  // Accounts: one pool of senders per climb step (and one for the soak); member i registers
  // and funds the senders whose index is i modulo n, through its own node. Registration
  // commits before funding, so every recipient exists when its transfer executes.
  const members = await Promise.all(
    nodes.map(
      async (_, i) =>
        new Wallet(
          new Signer((await readKeyFile(join(dir, 'keys', `member-${i}.json`))).secretKey),
          chainId,
          0,
        ),
    ),
  );
  const pools = climbRates.length + (soakS > 0 ? 1 : 0);
  const total = sendersPerStep * pools;
  const keys = Array.from({ length: total }, () => generateKeyPair());
  const signers = keys.map((k) => new Signer(k.secretKey));
  const roles = kind === 'data' ? ['transfer', 'data'] : ['transfer'];
  const t0Setup = Date.now();
  progress(`registering ${total} accounts`, 0.3);
  await Promise.all(
    members.map((m, i) => {
      const hexes: string[] = [];
      for (let a = i; a < total; a += n)
        hexes.push(toHex(encodeSignedTx(m.register(keys[a]!.publicKey, roles))));
      return submitAndSettle(nodes[i]!, clients[i]!, m, hexes, 120_000);
    }),
  );
  progress(`funding ${total} accounts`, 0.6);
  await Promise.all(
    members.map((m, i) => {
      const hexes: string[] = [];
      for (let a = i; a < total; a += n)
        hexes.push(toHex(encodeSignedTx(m.transfer(signers[a]!.address, 1_000_000_000n))));
      return submitAndSettle(nodes[i]!, clients[i]!, m, hexes, 120_000);
    }),
  );
  progressEnd();
  console.log(`accounts: ${total} registered and funded in ${((Date.now() - t0Setup) / 1000).toFixed(1)} s`);

  const nWorkers = Math.max(1, Math.min(cores, 8));
  /** Signs `perSender` transactions for each sender of pool `p`, in worker threads, in pool order. */
  async function signPool(p: number, perSender: number): Promise<SignResult> {
    if (workers.length === 0) for (let w = 0; w < nWorkers; w++) workers.push(startSignWorker());
    const pool = Array.from({ length: sendersPerStep }, (_, j) => p * sendersPerStep + j);
    const jobs: SignJob[] = workers.map(() => ({ chainId, kind, payloadBytes, senders: [] }));
    pool.forEach((a, j) => {
      const to = signers[pool[(j + 1) % pool.length]!]!.address;
      jobs[j % nWorkers]!.senders.push({ secretKey: keys[a]!.secretKey, to, count: perSender, nonce: 0 });
    });
    const parts = await Promise.all(jobs.map((job, w) => runSignJob(workers[w]!, job)));
    // Back to pool order: sender j was job j % nWorkers, entry floor(j / nWorkers).
    return pool.map((_, j) => parts[j % nWorkers]![Math.floor(j / nWorkers)]!);
  }
  async function stopWorkers(): Promise<void> {
    await Promise.all(workers.map((w) => w.terminate()));
    workers.length = 0;
  }

  // Pre-sign every climb step's transactions before any clock starts.
  const t0Sign = Date.now();
  const signed: SignResult[] = [];
  for (let s = 0; s < climbRates.length; s++) {
    progress(`signing step ${s + 1}/${climbRates.length}`, s / climbRates.length);
    signed.push(await signPool(s, Math.ceil((climbRates[s]! * duration) / sendersPerStep)));
  }
  progressEnd();
  if (climbRates.length > 0) {
    const signedCount = signed.reduce((acc, st) => acc + st.reduce((b, x) => b + x.hex.length, 0), 0);
    console.log(
      `signed: ${signedCount} transactions in ${((Date.now() - t0Sign) / 1000).toFixed(1)} s on ${nWorkers} workers`,
    );
  }
  await stopWorkers();

  const pids = nodes.map((node) => node.process!.pid!);

  /**
   * Offers `rate` tx/s from one pre-signed pool for `seconds`, then waits up to `drainMs` for
   * what was admitted to commit. `sample` runs every SAMPLE_TICKS ticks (the soak's probes).
   */
  /**
   * Waits (bounded) until every node's mempool is empty, so that a run does not start behind
   * the previous one's backlog: after an overload the pools hold transactions stranded behind
   * refused nonces until mempool.gappedTtlMs (30 s) drops them.
   */
  async function awaitEmptyPools(label: string, limitMs: number): Promise<void> {
    const started = Date.now();
    let held: number[] = [];
    while (!aborted && Date.now() - started < limitMs) {
      const st = await Promise.all(clients.map((c) => c.getStatus().catch(() => undefined)));
      held = st.map((x) => Number((x?.mempool as { txs?: number } | undefined)?.txs ?? Number.NaN));
      if (held.every((h) => h === 0)) break;
      progress(`${label}: waiting for the mempools to empty (${held.join(', ')})`, 0);
      await sleep(500);
    }
    progressEnd();
    const waited = (Date.now() - started) / 1000;
    if (!held.every((h) => h === 0)) {
      console.log(
        `           ${label}: mempools still hold ${held.join(', ')} txs after ${waited.toFixed(0)} s`,
      );
    } else if (waited >= 1) {
      console.log(`           ${label}: waited ${waited.toFixed(0)} s for the mempools to empty`);
    }
  }

  async function runLoad(
    label: string,
    rate: number,
    seconds: number,
    pool: SignResult,
    drainMs: number,
    sample?: (elapsedS: number) => void,
  ): Promise<StepResult> {
    await awaitEmptyPools(label, POOL_WAIT_MS);
    // Queue per node: transaction k belongs to sender k % P, which always uses node
    // (sender % n), so each sender's nonces arrive at one node in order.
    const queues: QueuedTx[][] = nodes.map(() => []);
    const totalTx = Math.round(rate * seconds);
    const nonceOf = new Array<number>(sendersPerStep).fill(0);
    for (let k = 0; k < totalTx; k++) {
      const j = k % sendersPerStep;
      const nonce = nonceOf[j]!++;
      const src = pool[j]!;
      queues[j % n]!.push({ hex: src.hex[nonce]!, hash: src.hash[nonce]!, sender: j, nonce });
    }
    pool.length = 0; // free the strings once queued
    // Fresh connections per run: the nodes close keep-alive sockets idle for 5 s, and a batch
    // sent on one just being closed fails with ECONNRESET (the drain leaves them idle that long).
    for (let i = 0; i < n; i++) {
      agents[i]!.destroy();
      agents[i] = newAgent();
    }
    const submittedAt = new Map<string, number>();
    const ticks = Math.ceil((seconds * 1000) / TICK_MS);
    const cpu0 = pids.map(cpuTicks);
    const host0 = hostTicks();
    const self0 = process.cpuUsage();
    const rssMax = pids.map(() => 0);
    const blocks0 = activePoller.blocks.length;
    /** Distinct transactions sent at least once (a resend is counted in `retries`). */
    let sent = 0;
    let retries = 0;
    /**
     * Per sender, nonce order and back-off: a transaction refused with "later" (MEMPOOL_FULL
     * and the like) waits out a pause with everything its sender has not sent yet, then goes
     * again (scripts/bench-senders.ts); one refused for good stops its sender for the run.
     */
    const schedule = new SenderSchedule<QueuedTx>({ retryBaseMs: RETRY_BASE_MS, retryMaxMs: RETRY_MAX_MS });
    /** Accepted transactions by hash, with sender and nonce (to tell stranded from lost). */
    const acceptedAt = new Map<string, { sender: number; nonce: number }>();
    let firstError: string | undefined;
    const inflight = new Set<Promise<void>>();
    const submit = (i: number, part: QueuedTx[]) => {
      const p = submitBatch(
        nodes[i]!.rpcUrl,
        agents[i]!,
        part.map((t) => t.hex),
      ).then((r) => {
        const now = Date.now();
        part.forEach((t, k) => {
          if (!r.refused.has(k)) {
            acceptedAt.set(t.hash, { sender: t.sender, nonce: t.nonce });
            schedule.answer(t, 'accepted', now);
            return;
          }
          const code = r.refused.get(k);
          schedule.answer(t, code === undefined || RETRYABLE.has(code) ? 'retry' : 'refused', now);
        });
        firstError ??= r.firstError;
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };
    const t0 = Date.now();
    for (let tick = 0; tick < ticks && !aborted; tick++) {
      const wait = t0 + tick * TICK_MS - Date.now();
      if (wait > 0) await sleep(wait);
      const now = Date.now();
      // What waited out its back-off goes first, so each sender's nonces stay in order.
      const parts: QueuedTx[][] = nodes.map(() => []);
      for (const t of schedule.due(now)) parts[t.sender % n]!.push(t);
      for (let i = 0; i < n; i++) {
        const q = queues[i]!;
        const from = Math.floor((tick * q.length) / ticks);
        const to = Math.floor(((tick + 1) * q.length) / ticks);
        for (let k = from; k < to; k++) if (schedule.offer(q[k]!)) parts[i]!.push(q[k]!);
        const part = parts[i]!;
        if (part.length === 0) continue;
        for (const t of part) {
          if (submittedAt.has(t.hash)) retries++;
          else {
            submittedAt.set(t.hash, now);
            sent++;
          }
        }
        for (let k = 0; k < part.length; k += SUBMIT_BATCH_MAX)
          submit(i, part.slice(k, k + SUBMIT_BATCH_MAX));
      }
      if (tick % 10 === 0) {
        pids.forEach((pid, i) => {
          rssMax[i] = Math.max(rssMax[i]!, rssMb(pid));
        });
      }
      if (sample && tick % SAMPLE_TICKS === 0) sample((Date.now() - t0) / 1000);
      progress(label, (tick + 1) / ticks);
    }
    const offerEnd = Date.now();
    const elapsedS = (offerEnd - t0) / 1000;
    const cpu1 = pids.map(cpuTicks);
    const host1 = hostTicks();
    const self1 = process.cpuUsage(self0);
    // Machine busy share (of all cores) and what the harness itself used, both in % of one core.
    const hostBusyPct = ((host1.busy - host0.busy) / (host1.total - host0.total)) * cores * 100;
    const harnessPct = ((self1.user + self1.system) / 1e6 / elapsedS) * 100;
    // Bounded drain: answers first, then commits of whatever was admitted.
    // The cap's timer is unref'd: left pending, it kept the process alive for drainMs after the
    // run had ended (an interrupted run took 16 s to exit).
    const cap = new Promise<void>((r) => setTimeout(r, drainMs).unref());
    await Promise.race([Promise.all(inflight), cap]);
    // Not accepted by the end of the load: sent and refused (still refused at its last answer),
    // or never sent (behind its sender's refusal when the load stopped).
    let refused = 0;
    let withheld = 0;
    for (const t of schedule.pending()) {
      if (submittedAt.has(t.hash)) refused++;
      else withheld++;
    }
    const drainDeadline = Date.now() + drainMs;
    const committedOf = () => {
      let c = 0;
      for (const h of submittedAt.keys()) if (activePoller.committedAt.has(h)) c++;
      return c;
    };
    while (!aborted && Date.now() < drainDeadline && committedOf() < acceptedAt.size) {
      progress(`${label}: draining`, 1 - (drainDeadline - Date.now()) / drainMs);
      await sleep(POLL_MS * 2);
    }
    progressEnd();
    const blocksInWindow = activePoller.blocks.slice(blocks0).filter((b) => b.ts >= t0 && b.ts <= offerEnd);
    const latencies: number[] = [];
    let inWindow = 0;
    for (const [h, at] of submittedAt) {
      const c = activePoller.committedAt.get(h);
      if (c === undefined) continue;
      latencies.push(c - at);
      if (activePoller.committedTs.get(h)! <= offerEnd) inWindow++;
    }
    latencies.sort((a, b) => a - b);
    // Accepted but never committed: stranded when an earlier nonce of the same sender was never
    // accepted (refused for good, or still waiting to be resent when the load stopped: the node
    // holds the later one behind a gap that will not fill, and drops it after
    // mempool.gappedTtlMs), else lost.
    let stranded = 0;
    let lost = 0;
    for (const [h, a] of acceptedAt) {
      if (activePoller.committedAt.has(h)) continue;
      const low = schedule.lowestUnaccepted(a.sender);
      if (low !== undefined && a.nonce > low) stranded++;
      else lost++;
    }
    const txsInBlocks = blocksInWindow.reduce((a, b) => a + b.txs, 0);
    const step: StepResult = {
      rate,
      durationS: elapsedS,
      offered: (sent + withheld) / elapsedS,
      sent,
      accepted: acceptedAt.size,
      refused,
      withheld,
      refusals: schedule.refusals,
      retries,
      committed: inWindow / elapsedS,
      committedTotal: latencies.length,
      uncommitted: stranded + lost,
      stranded,
      lost,
      p50: pct(latencies, 50),
      p95: pct(latencies, 95),
      p99: pct(latencies, 99),
      blocksPerS: blocksInWindow.length / elapsedS,
      txsPerBlock: blocksInWindow.length ? txsInBlocks / blocksInWindow.length : 0,
      nodes: pids.map((pid, i) => ({
        cpuPct: ((cpu1[i]! - cpu0[i]!) / 100 / elapsedS) * 100,
        rssMb: rssMb(pid),
        rssMaxMb: Math.max(rssMax[i]!, rssMb(pid)),
      })),
      hostBusyPct,
      harnessPct,
      otherPct: 0,
      firstError,
    };
    step.otherPct = Math.max(0, hostBusyPct - harnessPct - step.nodes.reduce((a, x) => a + x.cpuPct, 0));
    return step;
  }

  const header = [
    'offered',
    'committed',
    'refused',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'blocks/s',
    'tx/block',
    ...nodes.map((_, i) => `n${i} CPU%/RSS MB`),
  ];
  function printStep(step: StepResult): void {
    const cells = [
      step.offered.toFixed(0),
      step.committed.toFixed(0),
      String(step.refused + step.withheld),
      step.p50.toFixed(0),
      step.p95.toFixed(0),
      step.p99.toFixed(0),
      step.blocksPerS.toFixed(2),
      step.txsPerBlock.toFixed(0),
      ...step.nodes.map((x) => `${x.cpuPct.toFixed(0)}/${x.rssMaxMb.toFixed(0)}`),
    ];
    console.log(cells.map((c) => c.padStart(10)).join(' '));
    console.log(
      `           host busy ${step.hostBusyPct.toFixed(0)}% (harness ${step.harnessPct.toFixed(0)}%, other processes ${step.otherPct.toFixed(0)}%), slowest block poll ${activePoller.maxPollMs} ms`,
    );
    activePoller.maxPollMs = 0;
    if (step.firstError) {
      console.log(
        `           ${step.refusals} refusals answered, ${step.retries} resent after a back-off; first: ${step.firstError.slice(0, 160)}`,
      );
    }
  }

  // ---- the climb
  let summary: string | undefined;
  let peak = 0;
  let halfPeakStep: number | undefined;
  let halfPeakP99 = Number.NaN;
  let sustained: number | undefined;
  if (climbRates.length > 0) {
    console.log('');
    console.log(header.map((h) => h.padStart(10)).join(' '));
    let best = 0;
    for (let s = 0; s < climbRates.length && !aborted; s++) {
      const rate = climbRates[s]!;
      const step = await runLoad(
        `step ${s + 1}/${climbRates.length} ${rate} tx/s`,
        rate,
        duration,
        signed[s]!,
        DRAIN_MS,
      );
      printStep(step);
      if (aborted) {
        // Its load and drain were cut short: its figures are not a measurement of the rate.
        console.log('           cut short: not counted');
        break;
      }
      steps.push(step);
      // A step during which other processes took a sizeable share of the CPU says nothing about
      // the node's limit, so it is flagged and does not end the climb.
      const disturbed = step.otherPct > OTHER_PCT_MAX;
      if (disturbed)
        console.log(`           disturbed: other processes used ${step.otherPct.toFixed(0)}% of a core`);
      if (!disturbed && step.committed < best * RISE) break; // throughput stopped rising
      best = Math.max(best, step.committed);
    }
    if (steps.length === 0 && !aborted) throw new Error('no step ran');
    if (steps.length > 0) {
      peak = Math.max(...steps.map((x) => x.committed));
      const half = steps.reduce((a, b) =>
        Math.abs(b.offered - peak / 2) < Math.abs(a.offered - peak / 2) ? b : a,
      );
      halfPeakStep = half.rate;
      halfPeakP99 = half.p99;
      sustained = sustainedRate(steps);
      const peakStep = steps.find((x) => x.committed === peak)!;
      console.log('');
      console.log(
        `sustained ${sustained.toFixed(0)} tx/s (the highest step with nothing refused, ${SUSTAINED_COMMITTED_MIN * 100}% of its load committed and p50 under ${SUSTAINED_P50_MAX_MS} ms)`,
      );
      if (!isSustained(peakStep)) {
        console.log(
          `the peak came from a step the network fell behind on (${peakStep.offered.toFixed(0)} tx/s offered: ${((peakStep.committed / peakStep.offered) * 100).toFixed(0)}% committed, p50 ${peakStep.p50.toFixed(0)} ms, ${peakStep.refused + peakStep.withheld} refused); a soak at 80% of it may be more than the network sustains (--soak-rate sets the rate)`,
        );
      }
    }
  }

  // ---- the soak
  let soak: Record<string, unknown> | undefined;
  if (soakS > 0 && !aborted) {
    const rate = Math.round(opts.soakRate !== undefined ? Number(opts.soakRate) : 0.8 * peak);
    if (!(rate > 0)) throw new Error('soak: no rate (the climb measured no throughput)');
    const t0Sign = Date.now();
    progress('signing the soak', 0);
    const pool = await signPool(climbRates.length, Math.ceil((rate * soakS) / sendersPerStep));
    await stopWorkers();
    progressEnd();
    console.log('');
    console.log(
      `soak: ${rate} tx/s for ${soakS} s (${opts.soakRate !== undefined ? 'as asked' : '80% of the peak'}); signed in ${((Date.now() - t0Sign) / 1000).toFixed(0)} s`,
    );
    const samples: SoakSample[] = [];
    const step = await runLoad(`soak ${rate} tx/s`, rate, soakS, pool, SOAK_DRAIN_MS, (t) => {
      const rss = pids.map(rssMb);
      void Promise.all(clients.map((c) => c.getStatus().catch(() => undefined))).then((st) => {
        samples.push({
          t,
          rssMb: rss,
          mempoolTxs: st.map((x) => Number((x?.mempool as { txs?: number } | undefined)?.txs ?? Number.NaN)),
          height: Number(st[0]?.height ?? Number.NaN),
        });
      });
    });
    console.log(header.map((h) => h.padStart(10)).join(' '));
    printStep(step);
    if (aborted) console.log(`           cut short after ${step.durationS.toFixed(0)} of ${soakS} s`);
    // Warm-up: the first fifth of the run (JIT, caches, LevelDB's first compactions).
    const warm = samples.filter((x) => x.t >= soakS / 5);
    const minutes = warm.map((x) => x.t / 60);
    const rssSlopes = nodes.map((_, i) =>
      slope(
        minutes,
        warm.map((x) => x.rssMb[i]!),
      ),
    );
    const poolSlopes = nodes.map((_, i) =>
      slope(
        minutes,
        warm.map((x) => x.mempoolTxs[i]!),
      ),
    );
    const rssMaxMb = Math.max(...step.nodes.map((x) => x.rssMaxMb));
    soak = {
      rate,
      seconds: soakS,
      step,
      samples,
      rssSlopeMbPerMin: rssSlopes,
      mempoolSlopeTxsPerMin: poolSlopes,
      rssMaxMb,
      lost: step.lost,
      stranded: step.stranded,
      interrupted: aborted,
    };
    console.log(
      `soak: accepted ${step.accepted}, committed ${step.committedTotal}, lost ${step.lost}, stranded behind a refused nonce ${step.stranded}, not accepted ${step.refused + step.withheld} (${step.refusals} refusals answered, ${step.retries} resent)`,
    );
    console.log(
      `soak: RSS max ${rssMaxMb.toFixed(0)} MB; RSS slope after warm-up ${rssSlopes.map((x) => x.toFixed(2)).join(', ')} MB/min; mempool slope ${poolSlopes.map((x) => x.toFixed(1)).join(', ')} txs/min`,
    );
  }

  // ---- the bound again, with the validators stopped, so that the machine's drift over the run
  // evens out (the validators' own work would skew a measurement taken while they run)
  let verifyAfter: number[] = [];
  if (!aborted) {
    await activePoller.stop();
    await Promise.all(nodes.map((node) => stopNodeProcess(node)));
    progress('measuring Ed25519 verify rate again', 0);
    verifyAfter = measureVerifyWindows();
    progressEnd();
    verifyRate = median([...verifyBefore, ...verifyAfter]);
    bound = (cores * verifyRate) / n;
    console.log('');
    console.log(
      `verify after the run: ${describeRates(verifyAfter)}; both: ${describeRates([...verifyBefore, ...verifyAfter])}; bound ${cores} x ${verifyRate.toFixed(0)} / ${n} = ${bound.toFixed(0)} tx/s`,
    );
  }
  if (halfPeakStep !== undefined)
    summary = `peak ${peak.toFixed(0)} tx/s, ${((peak / bound) * 100).toFixed(0)}% of bound ${bound.toFixed(0)} tx/s, p99 ${halfPeakP99.toFixed(0)} ms at half peak`;

  mkdirSync(dirname(outFile), { recursive: true });
  const results = {
    date: new Date().toISOString(),
    machine: { cores, cpuModel, node: process.version },
    options: {
      validators: n,
      duration,
      rates: climbRates,
      sendersPerStep,
      quick,
      kind,
      payloadBytes,
      soakS,
      nodeFlags,
      blockPeriodMs,
    },
    verify: {
      perCore: verifyRate,
      verifier: verifierName,
      bound,
      windowsBefore: verifyBefore,
      windowsAfter: verifyAfter,
    },
    steps,
    peak,
    sustained,
    halfPeakStep,
    summary,
    soak,
    interruptedBy,
  };
  if (steps.length === 0 && soak === undefined) {
    // Only an interrupted run gets here (a complete one has a step or throws 'no step ran').
    console.log(`interrupted by ${interruptedBy} before a step completed: no results written`);
  } else {
    writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
    const svgFile = `${outFile.replace(/\.json$/, '')}.svg`;
    if (steps.length > 0) {
      writeFileSync(
        svgFile,
        renderChart(
          steps,
          `${n} validators, ${cores} cores: committed tx/s and latency against offered load`,
        ),
      );
    }
    console.log('');
    console.log(`results ${outFile}${steps.length > 0 ? `, chart ${svgFile}` : ''}`);
    if (interruptedBy !== undefined)
      console.log(`interrupted by ${interruptedBy}: only the steps that completed count`);
    if (summary) console.log(summary);
  }
} finally {
  progressEnd();
  await poller?.stop();
  await Promise.all(workers.map((w) => w.terminate()));
  await Promise.all(nodes.map((node) => stopNodeProcess(node)));
  for (const a of agents) a.destroy();
  if (opts.keep) console.log(`network folder kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
// An interrupted run exits as the signal would have ended it (128 + its number), after cleanup.
if (interruptedBy !== undefined) process.exitCode = 128 + SIGNAL_NUMBERS[interruptedBy];
