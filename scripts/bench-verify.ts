/**
 * Ed25519 verifications per second on one core (noble, node:crypto, libsodium) and SHA-256
 * hashes per second of 200-byte inputs.
 *
 *   node --import tsx scripts/bench-verify.ts [--seconds S] [--rounds R]
 *
 * Each figure is the median of R timed rounds of about S/R seconds, after a warm-up. Rates are
 * given per wall-clock second and per second of this process's CPU time; on a shared machine
 * the second is the steadier estimate of what one core does. Inputs rotate over 256 distinct keys and messages so
 * nothing is served from a cache.
 */
import {
  createHash,
  createPublicKey,
  verify as nodeVerifyRaw,
  hash as oneShotHash,
  randomBytes,
} from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { generateKeyPair, Signer, verifierName, verify, verifyNoble, verifyNode } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '5' } },
});
const seconds = Number(values.seconds);
const rounds = Math.max(1, Math.floor(Number(values.rounds)));
if (!(seconds > 0)) throw new Error('--seconds must be positive');

interface Row {
  what: string;
  /** Operations per second of wall-clock time. */
  perSecond: number;
  /** Operations per second of this process's CPU time: steadier when other work shares the cores. */
  perCpuSecond: number;
}

/** Runs `op(i)` in batches until `ms` elapse; returns operations per wall and per CPU second. */
function timeRound(op: (i: number) => unknown, ms: number): { wall: number; cpu: number } {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let k = 0; k < 64; k++) op(n++);
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (n * 1000) / (now - start), cpu: (n * 1e6) / (cpu.user + cpu.system) };
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function measure(what: string, op: (i: number) => unknown, check?: () => void): Row {
  check?.();
  const roundMs = (seconds * 1000) / rounds;
  timeRound(op, Math.min(300, roundMs)); // warm-up: JIT, caches
  const samples = Array.from({ length: rounds }, () => timeRound(op, roundMs));
  return {
    what,
    perSecond: median(samples.map((x) => x.wall)),
    perCpuSecond: median(samples.map((x) => x.cpu)),
  };
}

function assertTrue(label: string, ok: boolean): void {
  if (!ok) throw new Error(`${label}: a valid signature did not verify; figures would be meaningless`);
}

// ---- inputs -------------------------------------------------------------------------------

const N = 256;
const items = Array.from({ length: N }, (_, i) => {
  const kp = generateKeyPair();
  const message = new Uint8Array(randomBytes(100 + (i % 100)));
  const signature = new Signer(kp.secretKey).sign(message);
  return { publicKey: kp.publicKey, message, signature };
});
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const keyObjects = items.map((it) =>
  createPublicKey({ key: Buffer.concat([SPKI_PREFIX, it.publicKey]), format: 'der', type: 'spki' }),
);

interface Sodium {
  crypto_sign_verify_detached(sig: Buffer, msg: Buffer, pk: Buffer): boolean;
}
let sodium: Sodium | undefined;
try {
  sodium = createRequire(import.meta.url)('sodium-native') as Sodium;
} catch {
  sodium = undefined;
}
const buffers = items.map((it) => ({
  sig: Buffer.from(it.signature),
  msg: Buffer.from(it.message),
  pk: Buffer.from(it.publicKey),
}));

const inputs200 = Array.from({ length: N }, () => new Uint8Array(randomBytes(200)));

// ---- run ----------------------------------------------------------------------------------

const it = (i: number) => items[i & (N - 1)]!;
const verifyRows: Row[] = [];
verifyRows.push(
  measure(
    '@noble/curves (verifyNoble)',
    (i) => verifyNoble(it(i).signature, it(i).message, it(i).publicKey),
    () =>
      assertTrue(
        'noble',
        items.every((x) => verifyNoble(x.signature, x.message, x.publicKey)),
      ),
  ),
);
verifyRows.push(
  measure('@noble/curves (raw ed25519.verify)', (i) =>
    ed25519.verify(it(i).signature, it(i).message, it(i).publicKey, { zip215: false }),
  ),
);
verifyRows.push(
  measure(
    'node:crypto (verifyNode: key parsed per call)',
    (i) => verifyNode(it(i).signature, it(i).message, it(i).publicKey),
    () =>
      assertTrue(
        'node',
        items.every((x) => verifyNode(x.signature, x.message, x.publicKey)),
      ),
  ),
);
verifyRows.push(
  measure('node:crypto (raw, KeyObject reused)', (i) =>
    nodeVerifyRaw(null, it(i).message, keyObjects[i & (N - 1)]!, it(i).signature),
  ),
);
if (sodium) {
  const s = sodium;
  verifyRows.push(
    measure(
      'libsodium (sodium-native, raw)',
      (i) => {
        const b = buffers[i & (N - 1)]!;
        return s.crypto_sign_verify_detached(b.sig, b.msg, b.pk);
      },
      () =>
        assertTrue(
          'sodium',
          buffers.every((b) => s.crypto_sign_verify_detached(b.sig, b.msg, b.pk)),
        ),
    ),
  );
}
verifyRows.push(
  measure(
    `verify (uses ${verifierName})`,
    (i) => verify(it(i).signature, it(i).message, it(i).publicKey),
    () =>
      assertTrue(
        'verify',
        items.every((x) => verify(x.signature, x.message, x.publicKey)),
      ),
  ),
);

const hashRows: Row[] = [];
const inp = (i: number) => inputs200[i & (N - 1)]!;
hashRows.push(measure('sha256 (crypto/hash.ts)', (i) => sha256(inp(i))));
hashRows.push(measure('node:crypto createHash', (i) => createHash('sha256').update(inp(i)).digest()));
hashRows.push(measure('node:crypto hash() one-shot', (i) => oneShotHash('sha256', inp(i), 'buffer')));
hashRows.push(measure('@noble/hashes sha256', (i) => nobleSha256(inp(i))));

// ---- report -------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
function table(title: string, unit: string, rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.what.length), title.length);
  const head = [`${unit}`, 'µs/op', `${unit} (CPU)`, 'µs/op (CPU)'];
  console.log(`\n${title.padEnd(w)}  ${head.map((h) => h.padStart(16)).join('  ')}`);
  console.log(`${'-'.repeat(w)}  ${head.map(() => '-'.repeat(16)).join('  ')}`);
  for (const r of rows) {
    const cells = [
      fmt(r.perSecond),
      (1e6 / r.perSecond).toFixed(2),
      fmt(r.perCpuSecond),
      (1e6 / r.perCpuSecond).toFixed(2),
    ];
    console.log(`${r.what.padEnd(w)}  ${cells.map((c) => c.padStart(16)).join('  ')}`);
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`Node ${process.version}, ${cpu}, ${cpus().length} cores; one core used.`);
console.log(`Median of ${rounds} rounds, ${seconds} s per figure; load average ${loadavg()[0]!.toFixed(2)}.`);
console.log("(CPU) columns divide by this process's CPU time, so other load on the machine skews them less.");
if (!sodium) console.log('sodium-native did not load.');
table('Ed25519 verify (one core)', 'verifies/s', verifyRows);
table('SHA-256, 200-byte inputs', 'hashes/s', hashRows);
