/**
 * In-process consensus throughput: n replicas (default 4) in one process, real Ed25519 signing and
 * verification (every replica verifies every signature itself: no shared cache), the production
 * driver over instant in-memory ports, blocks executed as valid at once. Measures what the core costs per decided block, so the numbers
 * are an upper bound for one process running all n replicas; a node runs one replica.
 *
 *   node --import tsx scripts/bench-consensus.ts [--validators 4] [--heights 500] [--txs 100]
 */
import { Command } from 'commander';
import { Driver } from '../consensus/driver.js';
import { Replica } from '../consensus/replica.js';
import { nextStateRoot, type SimBlock, simBlockPort } from '../consensus/sim/block.js';
import { ValidatorSet } from '../consensus/validators.js';
import { Signer, verifierName } from '../crypto/ed25519.js';
import { sha256, taggedHash } from '../crypto/hash.js';

const opts = new Command()
  .option('--validators <n>', 'replicas', (v) => Number(v), 4)
  .option('--heights <n>', 'heights to decide', (v) => Number(v), 500)
  .option('--txs <n>', 'tx ids per block', (v) => Number(v), 100)
  .parse()
  .opts<{ validators: number; heights: number; txs: number }>();

const n = opts.validators;
const port = simBlockPort();
const signers = Array.from(
  { length: n },
  (_, i) => new Signer(sha256(new TextEncoder().encode(`bench/${i}`))),
);
const vs = ValidatorSet.fromPublicKeys(signers.map((s) => s.publicKey));
const genesis = taggedHash('bench/genesis', new Uint8Array(0));
const ZERO = new Uint8Array(32);
let signatures = 0;
const replicas = signers.map(
  (s) =>
    new Replica<SimBlock>({
      chainId: 'bench',
      port,
      signer: {
        address: s.address,
        sign: (m) => {
          signatures++;
          return s.sign(m);
        },
      },
      limits: {
        blockPeriodMs: 1,
        roundTimeoutMsBase: 10_000,
        roundTimeoutMsMax: 80_000,
        emptyBlockIntervalMs: 10_000,
      },
    }),
);
const heads = replicas.map(() => ({ hash: genesis, ts: 0, height: 0 }));
const queue: { to: number; from: string; bytes: Uint8Array }[] = [];
/** Deferred execute and build jobs: run before the next delivery, as a node's next turns. */
const jobs: (() => void)[] = [];
let now = 1_000;
let delivered = 0;
const wake: ({ at: number; fn: () => void } | undefined)[] = replicas.map(() => undefined);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

// Each replica runs the production driver (consensus/driver.ts) over instant in-memory ports.
const drivers = replicas.map(
  (replica, i) =>
    new Driver<SimBlock>({
      replica,
      blocks: port,
      ledger: {
        nextHeight: () => ({
          height: heads[i]!.height + 1,
          validators: vs,
          parentHash: heads[i]!.hash,
          parentTimestampMs: heads[i]!.ts,
        }),
        hasPending: () => true,
        commit: (c) => {
          heads[i] = { hash: c.digest, ts: c.block.timestampMs, height: c.height };
        },
        execute: () => {},
        build: (b) => {
          const txs = Array.from({ length: opts.txs }, (_, k) => `tx-${b.height}-${k}`);
          return {
            height: b.height,
            view: b.round,
            parentHash: heads[i]!.hash,
            timestampMs: Math.max(now, b.minTimestampMs),
            proposer: signers[i]!.address,
            txs,
            stateRoot: nextStateRoot(ZERO, txs),
            nextValidatorsHash: ZERO,
          };
        },
        decided: () => undefined,
      },
      network: {
        broadcast: (m) => {
          for (let to = 0; to < n; to++) if (to !== i) queue.push({ to, from: `n${i}`, bytes: m.bytes });
        },
        send: () => {},
        report: () => {},
      },
      // persist: the record would be fsync'd here; encoding it is part of the measured cost
      wal: { load: () => undefined, save: () => {} },
      time: {
        nowMs: () => now,
        wakeAt: (at, fn) => {
          wake[i] = { at, fn };
        },
        cancelWake: () => {
          wake[i] = undefined;
        },
        later: (_kind, job) => {
          jobs.push(job);
        },
      },
      sync: () => {},
      evidence: () => {},
      fatal: (f) => {
        throw new Error(`replica ${i}: ${f.message}`);
      },
      log: quiet,
    }),
);

const started = performance.now();
const cpuStarted = process.cpuUsage();
for (const d of drivers) d.start();
while (Math.min(...heads.map((h) => h.height)) < opts.heights) {
  const job = jobs.shift();
  if (job) {
    job();
    continue;
  }
  const m = queue.shift();
  if (m) {
    delivered++;
    drivers[m.to]!.onMessage(m.from, m.bytes);
    continue;
  }
  // Quiet: let time pass to the earliest wake-up (the next proposer's block period).
  now = Math.max(now + 1, Math.min(...wake.map((w) => w?.at ?? Number.POSITIVE_INFINITY)));
  for (const w of wake) if (w && w.at <= now) w.fn();
}
const wallSeconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
// CPU time, not wall time: on a shared machine the wall clock also counts other people's work.
const seconds = (cpu.user + cpu.system) / 1e6;
const verified = replicas.reduce((a, r) => a + r.counters.signaturesVerified, 0);
const rounds = replicas.reduce((a, r) => a + r.counters.roundTimeouts, 0);
console.log(
  `n=${n}, ${opts.heights} heights, ${opts.txs} tx ids per block, verifier ${verifierName}, round changes ${rounds}`,
);
console.log(
  `${seconds.toFixed(2)} s of CPU (${wallSeconds.toFixed(2)} s wall); rates below are per CPU-second`,
);
console.log(`${(opts.heights / seconds).toFixed(0)} blocks/s (all ${n} replicas in one process, one core)`);
console.log(
  `${(delivered / seconds).toFixed(0)} messages/s delivered and processed (${(delivered / opts.heights).toFixed(1)} per block)`,
);
console.log(
  `${(signatures / seconds).toFixed(0)} signatures/s, ${(verified / seconds).toFixed(0)} verifications/s`,
);
console.log(`${((seconds * 1e6) / opts.heights).toFixed(0)} µs of CPU per block for the whole cluster`);
