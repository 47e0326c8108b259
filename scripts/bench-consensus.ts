/**
 * In-process consensus throughput: n replicas (default 4) in one process, real Ed25519 signing and
 * verification (every replica verifies every signature itself: no shared cache), instant delivery,
 * blocks executed as valid at once. Measures what the core costs per decided block, so the numbers
 * are an upper bound for one process running all n replicas; a node runs one replica.
 *
 *   node --import tsx scripts/bench-consensus.ts [--validators 4] [--heights 500] [--txs 100]
 */
import { Command } from 'commander';
import type { Ready } from '../consensus/events.js';
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
const queue: { to: number; bytes: Uint8Array }[] = [];
let now = 1_000;
let delivered = 0;
const wake: (number | undefined)[] = replicas.map(() => undefined);

function apply(i: number, first: Ready<SimBlock>): void {
  const jobs = [first];
  while (jobs.length > 0) {
    const r = jobs.shift()!;
    const rep = replicas[i]!;
    // persist: the bytes would be fsync'd here; encoding them is part of the measured cost
    if (r.commit)
      heads[i] = { hash: r.commit.digest, ts: r.commit.block.timestampMs, height: r.commit.height };
    for (const m of r.messages)
      for (let to = 0; to < n; to++) if (to !== i) queue.push({ to, bytes: m.bytes });
    for (const e of r.execute)
      jobs.push(rep.step({ type: 'blockExecuted', nowMs: now, digest: e.digest, valid: true }));
    for (const b of r.build) {
      const txs = Array.from({ length: opts.txs }, (_, k) => `tx-${b.height}-${k}`);
      const block: SimBlock = {
        height: b.height,
        view: b.round,
        parentHash: heads[i]!.hash,
        timestampMs: Math.max(now, b.minTimestampMs),
        proposer: signers[i]!.address,
        txs,
        stateRoot: nextStateRoot(ZERO, txs),
        nextValidatorsHash: ZERO,
      };
      jobs.push(rep.step({ type: 'proposalBuilt', nowMs: now, height: b.height, round: b.round, block }));
    }
    if (r.commit) {
      jobs.push(
        rep.step({
          type: 'startHeight',
          nowMs: now,
          height: r.commit.height + 1,
          validators: vs,
          parentHash: r.commit.digest,
          parentTimestampMs: r.commit.block.timestampMs,
        }),
      );
    }
    wake[i] = r.wakeAtMs ?? wake[i];
  }
}

const started = performance.now();
const cpuStarted = process.cpuUsage();
for (let i = 0; i < n; i++) {
  apply(
    i,
    replicas[i]!.step({
      type: 'startHeight',
      nowMs: now,
      height: 1,
      validators: vs,
      parentHash: genesis,
      parentTimestampMs: 0,
    }),
  );
  apply(i, replicas[i]!.step({ type: 'pendingTxs', nowMs: now, pending: true }));
}
while (Math.min(...heads.map((h) => h.height)) < opts.heights) {
  const m = queue.shift();
  if (m) {
    delivered++;
    apply(m.to, replicas[m.to]!.step({ type: 'message', nowMs: now, from: `n${m.to}`, bytes: m.bytes }));
    continue;
  }
  // Quiet: let time pass to the earliest wake-up (the next proposer's block period).
  now = Math.max(now + 1, Math.min(...wake.map((w) => w ?? Number.POSITIVE_INFINITY)));
  for (let i = 0; i < n; i++) apply(i, replicas[i]!.step({ type: 'tick', nowMs: now }));
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
