/**
 * Steady load on a local devnet: N validators as separate processes, each member's admin
 * account sending transfers at a fixed rate to its own node for a fixed time. Prints committed
 * tx/s (counted from the blocks), submit-to-commit latency p50/p99, blocks/s, and each node's
 * CPU% and RSS. Figures, not verdicts.
 *
 *   node --import tsx scripts/load.ts [--validators 4] [--rate 400] [--seconds 60] [--base-port 24600]
 *
 * Transactions are signed before the clock starts. Every loop is bounded in count and time.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Signer } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import { encodeSignedTx, txHash } from '../ledger/codec.js';
import { Wallet } from '../ledger/tx-builder.js';
import { prepareDevnet, startNodeProcess, stopNodeProcess, waitForHealth } from '../node/devnet.js';
import { readKeyFile } from '../node/keyfile.js';
import { SynodClient } from '../rpc/client.js';

const opts = new Command()
  .option('--validators <n>', 'validators', '4')
  .option('--rate <tx/s>', 'offered transactions per second, all senders together', '400')
  .option('--seconds <s>', 'how long to offer load', '60')
  .option('--base-port <p>', 'node i serves HTTP on base+i', '24600')
  .parse()
  .opts<{ validators: string; rate: string; seconds: string; basePort: string }>();

const n = Number(opts.validators);
const rate = Number(opts.rate);
const seconds = Number(opts.seconds);
const dir = join(tmpdir(), `synod-load-${process.pid}`);

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
function pct(sorted: number[], p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const nodes = await prepareDevnet({
  validators: n,
  dir,
  basePort: Number(opts.basePort),
  fresh: true,
  logLevel: 'warn',
});
try {
  for (const node of nodes) startNodeProcess(node);
  await Promise.all(nodes.map((node) => waitForHealth(node, 60_000)));
  const clients = nodes.map((node) => new SynodClient(node.rpcUrl, { timeoutMs: 30_000 }));
  const chainId = String((await clients[0]!.getInfo()).chainId);

  // Pre-sign: sender i sends to member (i+1) mod n, through node i.
  const perSender = Math.ceil((rate * seconds) / n);
  const wallets = await Promise.all(
    nodes.map(
      async (_, i) =>
        new Wallet(
          new Signer((await readKeyFile(join(dir, 'keys', `member-${i}.json`))).secretKey),
          chainId,
          0,
        ),
    ),
  );
  const signed = wallets.map((w, i) => {
    const to = wallets[(i + 1) % n]!.address;
    return Array.from({ length: perSender }, () => {
      const stx = w.transfer(to, 1n);
      return { bytes: toHex(encodeSignedTx(stx)), hash: toHex(txHash(stx)) };
    });
  });
  console.log(`pre-signed ${perSender * n} transfers; offering ${rate} tx/s for ${seconds} s to ${n} nodes`);

  const submittedAt = new Map<string, number>();
  const committedAt = new Map<string, number>();
  const pids = nodes.map((node) => node.process!.pid!);
  const cpu0 = pids.map(cpuTicks);
  const startHeight = Number((await clients[0]!.getInfo()).height);
  const t0 = Date.now();
  const tickMs = 50;
  const perTick = (rate * tickMs) / 1000 / n;
  let sent = 0;
  let errors = 0;
  let polledHeight = startHeight;
  let rssMax = pids.map(() => 0);

  const poll = async () => {
    const h = Number((await clients[0]!.getInfo()).height);
    for (let k = polledHeight + 1; k <= h; k++) {
      const b = await clients[0]!.getBlock({ height: k });
      const now = Date.now();
      for (const hash of (b?.txs ?? []) as string[]) committedAt.set(hash, now);
    }
    polledHeight = h;
  };

  // Offer load: every tick each sender submits its share as one JSON-RPC batch.
  const ticks = Math.ceil((seconds * 1000) / tickMs);
  for (let tick = 0; tick < ticks; tick++) {
    const due = t0 + tick * tickMs;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const from = Math.floor(tick * perTick);
    const to = Math.floor((tick + 1) * perTick);
    await Promise.all(
      signed.map(async (list, i) => {
        const batch = list.slice(from, to);
        if (batch.length === 0) return;
        const now = Date.now();
        for (const t of batch) submittedAt.set(t.hash, now);
        const res = await fetch(nodes[i]!.rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(
            batch.map((t, k) => ({ jsonrpc: '2.0', id: k, method: 'tx_submit', params: { tx: t.bytes } })),
          ),
        });
        const answers = (await res.json()) as { error?: unknown }[];
        errors += answers.filter((a) => a.error).length;
        sent += batch.length;
      }),
    );
    if (tick % 10 === 0) {
      await poll();
      rssMax = rssMax.map((m, i) => Math.max(m, rssMb(pids[i]!)));
    }
  }
  const offerEnd = Date.now();
  // Drain: wait (bounded) for what was admitted to commit.
  const drainDeadline = Date.now() + 30_000;
  while (committedAt.size < sent - errors && Date.now() < drainDeadline) {
    await new Promise((r) => setTimeout(r, 100));
    await poll();
  }
  const elapsedS = (offerEnd - t0) / 1000;
  const cpu1 = pids.map(cpuTicks);
  const latencies = [...committedAt].map(([h, t]) => t - (submittedAt.get(h) ?? t)).sort((a, b) => a - b);
  const endHeight = polledHeight;
  const committedInWindow = [...committedAt.values()].filter((t) => t <= offerEnd).length;
  console.log('');
  console.log(`offered        ${(sent / elapsedS).toFixed(0)} tx/s (${sent} sent, ${errors} refused)`);
  console.log(
    `committed      ${(committedInWindow / elapsedS).toFixed(0)} tx/s during the load; ${committedAt.size} in all`,
  );
  console.log(
    `latency        p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms (submit to seen in a block)`,
  );
  console.log(
    `blocks         ${endHeight - startHeight} (${((endHeight - startHeight) / elapsedS).toFixed(2)}/s)`,
  );
  pids.forEach((pid, i) => {
    const cpuPct = ((cpu1[i]! - cpu0[i]!) / 100 / ((Date.now() - t0) / 1000)) * 100;
    console.log(
      `node-${i}         CPU ${cpuPct.toFixed(0)}%  RSS now ${rssMb(pid).toFixed(0)} MB, max ${rssMax[i]!.toFixed(0)} MB`,
    );
  });
} finally {
  await Promise.all(nodes.map((node) => stopNodeProcess(node)));
  rmSync(dir, { recursive: true, force: true });
}
