/**
 * Read-path benchmark of the JSON-RPC server: chain_getBlock and chain_getTx served by a node
 * of a local devnet while that devnet commits a steady stream of transfers. Figures, not
 * verdicts: the client, the load generator and the validators share the same cores.
 *
 *   node --import tsx scripts/bench-rpc.ts [--requests 3000] [--clients 50] [--load-rate 200]
 *                                          [--validators 4] [--base-port 34700] [--json]
 *
 * Reports, per method: requests/s and p50/p99 latency with 1 client (sequential calls) and
 * with N concurrent clients; and the cost of one 100-entry batch against 100 single calls.
 * Everything binds 127.0.0.1; every loop is bounded by a count.
 */
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Signer } from '../crypto/ed25519.js';
import { prepareDevnet, startNodeProcess, stopNodeProcess, waitForHealth } from '../node/devnet.js';
import { readKeyFile } from '../node/keyfile.js';
import { type AccountClient, type BatchCall, SynodClient } from '../rpc/client.js';

const opts = new Command()
  .option('--requests <n>', 'calls per measurement', '1000')
  .option('--clients <n>', 'concurrent clients of the concurrent runs', '50')
  .option('--batches <n>', '100-entry batches to time', '100')
  .option('--load-rate <tx/s>', 'transfers offered per second during the measurements', '200')
  .option('--validators <n>', 'validators of the devnet', '4')
  .option('--base-port <p>', 'node i serves HTTP on base+i (libp2p on base+100+i)', '34700')
  .option('--json', 'print the figures as one JSON line too')
  .parse()
  .opts<{
    requests: string;
    clients: string;
    batches: string;
    loadRate: string;
    validators: string;
    basePort: string;
    json?: boolean;
  }>();

const REQUESTS = Number(opts.requests);
const CLIENTS = Number(opts.clients);
const BATCHES = Number(opts.batches);
const LOAD_RATE = Number(opts.loadRate);
const BATCH_SIZE = 100;
/** Hard cap on transfers the load generator sends, whatever the run length. */
const LOAD_TX_MAX = 200_000;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Figures {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Error messages by count (the first few kinds). */
  errorKinds?: Record<string, number>;
}

/** Runs `total` calls spread over `workers` concurrent loops; each call timed on its own. */
async function measure(
  total: number,
  workers: number,
  call: (i: number, worker: number) => Promise<unknown>,
): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const kinds: Record<string, number> = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        try {
          await call(i, w);
        } catch (err) {
          errors++;
          const kind = (err as Error).message.slice(0, 80);
          kinds[kind] = (kinds[kind] ?? 0) + 1;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    seconds: round(seconds, 2),
    perSecond: Math.round(total / seconds),
    p50Ms: round(pct(latencies, 50), 2),
    p99Ms: round(pct(latencies, 99), 2),
    errors,
    ...(errors > 0 ? { errorKinds: kinds } : {}),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Sends transfers at about `rate`/s until stopped (or LOAD_TX_MAX), round-robin over senders. */
function startLoad(senders: AccountClient[], to: Uint8Array, rate: number): { stop: () => Promise<number> } {
  let stopped = false;
  let sent = 0;
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const done = (async () => {
    while (rate > 0 && !stopped && sent < LOAD_TX_MAX) {
      const t = performance.now();
      await Promise.all(
        Array.from({ length: perTick }, (_, k) =>
          senders[(sent + k) % senders.length]!.transfer(to, 1n).catch(() => {}),
        ),
      );
      sent += perTick;
      const wait = tickMs - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return sent;
    },
  };
}

/**
 * One simulated client: one keep-alive connection, calls one after another on it. Plain
 * node:http rather than the SDK's fetch, whose connection pool is shared by every client in the
 * process and would blur "N clients" into "some connections".
 */
class Reader {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private nextId = 1;
  constructor(private readonly url: URL) {}

  post(body: unknown): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (err) {
              reject(err);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    const answer = (await this.post({ jsonrpc: '2.0', id: this.nextId++, method, params })) as {
      result?: unknown;
      error?: { message: string };
    };
    if (answer.error) throw new Error(answer.error.message);
    return answer.result;
  }

  async batch(calls: BatchCall[]): Promise<unknown[]> {
    const answers = (await this.post(
      calls.map((c, i) => ({ jsonrpc: '2.0', id: i, method: c.method, params: c.params })),
    )) as { error?: { message: string } }[];
    if (!Array.isArray(answers)) throw new Error('a batch was not answered with an array');
    for (const a of answers) if (a.error) throw new Error(a.error.message);
    return answers;
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * The node's event-loop delay since the previous scrape (prom-client resets its histogram on
 * every collect), in ms: how long the node's own work held back every request it served.
 */
async function loopDelay(httpPort: number): Promise<{ p50: number; p99: number; max: number }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const metric = (name: string) => {
    const m = new RegExp(`^synod_process_nodejs_eventloop_lag_${name}_seconds ([0-9.eE+-]+)$`, 'm').exec(
      text,
    );
    return m ? round(Number(m[1]) * 1000, 2) : Number.NaN;
  };
  return { p50: metric('p50'), p99: metric('p99'), max: metric('max') };
}

const dir = join(tmpdir(), `synod-bench-rpc-${process.pid}`);
const nodes = await prepareDevnet({
  validators: Number(opts.validators),
  dir,
  basePort: Number(opts.basePort),
  fresh: true,
  logLevel: 'warn',
  params: { blockPeriodMs: 100, emptyBlockIntervalMs: 1_000 },
});
let failed = true;
try {
  for (const n of nodes) startNodeProcess(n);
  await Promise.all(nodes.map((n) => waitForHealth(n, 60_000)));
  const target = new SynodClient(nodes[0]!.rpcUrl, { timeoutMs: 30_000 });
  const signers = await Promise.all(
    nodes.map(
      async (_, i) => new Signer((await readKeyFile(join(dir, 'keys', `member-${i}.json`))).secretKey),
    ),
  );
  // Load goes to another node, so node 0's RPC is measured while it takes part in consensus,
  // executes blocks and receives forwarded transactions, not while it also answers tx_submit.
  const loadClient = new SynodClient(nodes[nodes.length > 1 ? 1 : 0]!.rpcUrl, { timeoutMs: 30_000 });
  const senders = signers.slice(1).map((s) => loadClient.account(s));
  if (senders.length === 0) senders.push(loadClient.account(signers[0]!));

  // Something to read: 300 committed transactions in waves of 10, so blocks hold about 10.
  const hashes: string[] = [];
  for (let wave = 0; wave < 30; wave++) {
    const sent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => senders[i % senders.length]!.transfer(signers[0]!.address, 1n)),
    );
    for (const s of sent) hashes.push((await target.waitForTx(s.hash, { timeoutMs: 60_000 })).hash);
  }
  const tip = (await target.getInfo()).height;
  process.stderr.write(
    `devnet ready: ${nodes.length} validators, height ${tip}, ${hashes.length} txs to read (about ${Math.round(hashes.length / tip)} per block)\n`,
  );

  await loopDelay(nodes[0]!.httpPort); // resets the node's histogram: measure from here
  const load = startLoad(senders, signers[0]!.address, LOAD_RATE);
  const heightAtStart = (await target.getInfo()).height;
  const t0 = performance.now();
  // One SDK client per simulated client: each keeps its own keep-alive connection(s).
  const readers = Array.from({ length: CLIENTS }, () => new Reader(new URL(nodes[0]!.rpcUrl)));
  const getBlock = (i: number, w: number) => readers[w]!.call('chain_getBlock', { height: 1 + (i % tip) });
  const getTx = (i: number, w: number) =>
    readers[w]!.call('chain_getTx', { hash: hashes[i % hashes.length]! });
  // A warm-up, so the first figures do not include connection set-up and JIT.
  await measure(200, 10, getBlock);
  const results = {
    chain_getBlock: {
      oneClient: await measure(REQUESTS, 1, getBlock),
      concurrent: await measure(REQUESTS, CLIENTS, getBlock),
    },
    chain_getTx: {
      oneClient: await measure(REQUESTS, 1, getTx),
      concurrent: await measure(REQUESTS, CLIENTS, getTx),
    },
  };
  const batchCalls = (b: number): BatchCall[] =>
    Array.from({ length: BATCH_SIZE }, (_, k) => ({
      method: 'chain_getTx',
      params: { hash: hashes[(b * BATCH_SIZE + k) % hashes.length]! },
    }));
  const batch = await measure(BATCHES, 1, (b) => readers[0]!.batch(batchCalls(b)));
  const singles = await measure(BATCHES, 1, async (b) => {
    for (const c of batchCalls(b)) await readers[0]!.call(c.method, c.params ?? {});
  });
  for (const r of readers) r.close();
  const delay = await loopDelay(nodes[0]!.httpPort);
  const sent = await load.stop();
  const loadSeconds = (performance.now() - t0) / 1000;
  const heightAtEnd = (await target.getInfo()).height;

  const line = (name: string, f: Figures) =>
    `${name.padEnd(28)} ${String(f.perSecond).padStart(7)} req/s   p50 ${f.p50Ms.toFixed(2).padStart(7)} ms   p99 ${f.p99Ms
      .toFixed(2)
      .padStart(7)} ms   errors ${f.errors}${f.errorKinds ? ` ${JSON.stringify(f.errorKinds)}` : ''}`;
  const out = [
    `load during the run: ${sent} transfers offered (~${Math.round(sent / loadSeconds)}/s), ${heightAtEnd - heightAtStart} blocks committed`,
    `node 0 event-loop delay during the run: p50 ${delay.p50} ms, p99 ${delay.p99} ms, max ${delay.max} ms`,
    line('chain_getBlock, 1 client', results.chain_getBlock.oneClient),
    line(`chain_getBlock, ${CLIENTS} clients`, results.chain_getBlock.concurrent),
    line('chain_getTx, 1 client', results.chain_getTx.oneClient),
    line(`chain_getTx, ${CLIENTS} clients`, results.chain_getTx.concurrent),
    `100-entry batch of chain_getTx: p50 ${batch.p50Ms} ms, p99 ${batch.p99Ms} ms per batch ` +
      `(${round(batch.p50Ms / BATCH_SIZE, 3)} ms per entry); 100 single calls: p50 ${singles.p50Ms} ms`,
  ];
  console.log(out.join('\n'));
  if (opts.json) {
    console.log(
      JSON.stringify({
        validators: nodes.length,
        loadTxPerSecond: Math.round(sent / loadSeconds),
        nodeEventLoopDelayMs: delay,
        ...results,
        batch100: { perBatch: batch, hundredSingles: singles },
      }),
    );
  }
  failed = false;
} finally {
  await Promise.all(nodes.map((n) => stopNodeProcess(n)));
  // Kept after a failure: the node logs say why.
  if (failed) process.stderr.write(`node logs kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
