/**
 * Benchmark of the authenticated state tree (ledger/state-tree.ts).
 *
 *   node --import tsx scripts/bench-state.ts [--accounts 1000000] [--blocks 10] [--leveldb 200000]
 *
 * Builds a tree of N accounts (20-byte addresses, account records of about 60 bytes in the
 * canonical encoding), then runs blocks of 1,000 transfers (2,000 touched keys: sender and
 * recipient, each read and written) followed by root(). Prints the build time, per-block times,
 * hashes per update, proof sizes, heap and RSS per account, and the bytes per account of the
 * same flat state in LevelDB (written to a temporary folder, compacted, measured on disk).
 * Figures only; the data is generated from a fixed seed, so runs are comparable.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Level } from 'level';
import { encode } from '../crypto/encoding.js';
import { taggedHash } from '../crypto/hash.js';
import { encodeStateProof, StateTree, verifyStateProof } from '../ledger/state-tree.js';
import { HashBox, hashCount, hashInner } from '../ledger/state-tree-hash.js';

const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '1000000' },
    blocks: { type: 'string', default: '10' },
    transfers: { type: 'string', default: '1000' },
    leveldb: { type: 'string' },
  },
});
const N = Number(args.accounts);
const BLOCKS = Number(args.blocks);
const TRANSFERS = Number(args.transfers);
const LEVEL_N = args.leveldb === undefined ? Math.min(N, 200_000) : Number(args.leveldb);
for (const [name, v] of [
  ['accounts', N],
  ['blocks', BLOCKS],
  ['transfers', TRANSFERS],
  ['leveldb', LEVEL_N],
] as const) {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name}: expected a non-negative integer`);
}
if (N < 2) throw new Error('--accounts: at least 2');

// A full collection before each memory reading, so the figures are live data, not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function memory(): { heap: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

// Deterministic data: a xorshift128 generator from a fixed seed.
let s0 = 0x9e3779b9;
let s1 = 0x243f6a88;
let s2 = 0xb7e15162;
let s3 = 0x12345678;
function rand32(): number {
  const t = s0 ^ (s0 << 11);
  s0 = s1;
  s1 = s2;
  s2 = s3;
  s3 = (s3 ^ (s3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
  return s3;
}
function randInt(n: number): number {
  return Math.floor((rand32() / 0x1_0000_0000) * n);
}

const ms = (t: number) => `${t.toFixed(1)} ms`;

/**
 * CPU time of the main thread in ms (Linux; NaN elsewhere), at 10 ms resolution: summed over many
 * blocks it tells the work done apart from time spent waiting for a core on a busy machine,
 * which wall-clock figures include. (process.cpuUsage counts the GC helper threads as well.)
 */
const statPath = `/proc/self/task/${process.pid}/stat`;
function mainThreadCpu(): number {
  try {
    const fields = readFileSync(statPath, 'latin1').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of the stat line, counted from the state field (3).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Side tables (off the V8 heap): every address, balance and nonce, so a block's new records can
// be computed before the timed section and the timing covers the tree alone.
const addresses = new Uint8Array(20 * N);
const balances = new Float64Array(N);
const nonces = new Uint32Array(N);
const members = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
function address(i: number): Uint8Array {
  return addresses.subarray(20 * i, 20 * i + 20);
}
function record(i: number): Uint8Array {
  return encode({
    balance: balances[i]!,
    member: members[i % members.length]!,
    nonce: nonces[i]!,
    roles: 1,
    status: 'active',
  });
}

const base = memory();
console.log(`state tree benchmark: ${N.toLocaleString('en-US')} accounts, node ${process.version}`);

// The flat state as the node reads it from disk at start-up: one buffer of records with offsets
// (off the heap, like LevelDB's read buffers), handed to fromEntries as views.
let t0 = performance.now();
let records: Uint8Array | null = new Uint8Array(80 * N);
const offsets = new Uint32Array(N + 1);
for (let i = 0; i < N; i++) {
  for (let j = 0; j < 20; j += 4) {
    const r = rand32();
    addresses[20 * i + j] = r >>> 24;
    addresses[20 * i + j + 1] = r >>> 16;
    addresses[20 * i + j + 2] = r >>> 8;
    addresses[20 * i + j + 3] = r;
  }
  balances[i] = 1_000_000_000 + randInt(1_000_000_000_000);
  nonces[i] = randInt(1000);
  const v = record(i);
  records.set(v, offsets[i]!);
  offsets[i + 1] = offsets[i]! + v.length;
}
const valueBytes = offsets[N]!;
console.log(`generated in ${ms(performance.now() - t0)}; mean record ${(valueBytes / N).toFixed(1)} bytes`);
function* flatState(): Generator<[Uint8Array, Uint8Array]> {
  for (let i = 0; i < N; i++) yield [address(i), records!.subarray(offsets[i]!, offsets[i + 1]!)];
}
const before = memory();

let c0 = mainThreadCpu();
t0 = performance.now();
let tree = StateTree.fromEntries(flatState());
const tBuild = performance.now() - t0;
const h0 = hashCount();
t0 = performance.now();
const genesisRoot = tree.root();
const tRoot = performance.now() - t0;
console.log(
  `fromEntries: ${ms(tBuild)} structure + ${ms(tRoot)} first root() = ${ms(tBuild + tRoot)} ` +
    `(main-thread CPU ${ms(mainThreadCpu() - c0)})`,
);
console.log(
  `  hashes: ${(hashCount() - h0).toLocaleString('en-US')} (${((hashCount() - h0) / N).toFixed(2)} per account)`,
);

const after = memory();
const perAccount = (b: number) => `${(b / N).toFixed(0)} B/account`;
console.log(
  `memory of the tree: heap +${mb(after.heap - before.heap)} = ${perAccount(after.heap - before.heap)}; ` +
    `RSS +${mb(after.rss - before.rss)} = ${perAccount(after.rss - before.rss)}`,
);
records = null;
const dropped = memory();
console.log(
  `process: heap ${mb(dropped.heap)}, RSS ${mb(dropped.rss)} (before any data: heap ${mb(base.heap)}, ` +
    `RSS ${mb(base.rss)}; the benchmark's own side tables hold ${(addresses.byteLength + balances.byteLength + nonces.byteLength) / N} B/account)`,
);

// ---- Blocks of transfers ------------------------------------------------------------------

interface Transfer {
  from: number;
  to: number;
  fromValue: Uint8Array;
  toValue: Uint8Array;
}
function makeBlock(): Transfer[] {
  const block: Transfer[] = [];
  for (let k = 0; k < TRANSFERS; k++) {
    const from = randInt(N);
    let to = randInt(N - 1);
    if (to >= from) to++;
    const amount = 1 + randInt(1000);
    balances[from]! -= amount;
    balances[to]! += amount;
    nonces[from]!++;
    block.push({ from, to, fromValue: record(from), toValue: record(to) });
  }
  return block;
}

/** Transaction by transaction: read both accounts, write both, straight on the tree. */
function executeOneByOne(parent: StateTree, block: Transfer[]): StateTree {
  let next = parent;
  for (const tx of block) {
    const fromAddr = address(tx.from);
    const toAddr = address(tx.to);
    if (next.get(fromAddr) === undefined || next.get(toAddr) === undefined)
      throw new Error('missing account');
    next = next.set(fromAddr, tx.fromValue);
    next = next.set(toAddr, tx.toValue);
  }
  return next;
}

/** As ledger/state.ts does: reads through a cache, then the block's writes in one setMany. */
function executeBatched(parent: StateTree, block: Transfer[]): StateTree {
  const seen = new Set<number>();
  const writes: [Uint8Array, Uint8Array][] = [];
  for (const tx of block) {
    for (const i of [tx.from, tx.to]) {
      if (!seen.has(i) && parent.get(address(i)) === undefined) throw new Error('missing account');
      seen.add(i);
    }
    writes.push([address(tx.from), tx.fromValue], [address(tx.to), tx.toValue]);
  }
  return parent.setMany(writes);
}

const variants = [
  {
    name: 'get+set per transfer, then root()',
    run: executeOneByOne,
    total: [] as number[],
    root: [] as number[],
    cpu: 0,
  },
  {
    name: 'reads, one setMany, then root()',
    run: executeBatched,
    total: [] as number[],
    root: [] as number[],
    cpu: 0,
  },
];
const hashesPerBlock: number[] = [];
// Every version stays reachable until the end, to measure what keeping old states costs.
const versions: StateTree[] = [tree];
for (let b = 0; b < BLOCKS; b++) {
  const block = makeBlock();
  const parent = tree;
  const roots: string[] = [];
  // Alternate which variant runs first: the second finds the parent's upper nodes in cache.
  for (const v of b % 2 === 0 ? variants : [...variants].reverse()) {
    const h = hashCount();
    c0 = mainThreadCpu();
    t0 = performance.now();
    const next = v.run(parent, block);
    const t1 = performance.now();
    roots.push(Buffer.from(next.root()).toString('hex'));
    const t2 = performance.now();
    v.cpu += mainThreadCpu() - c0;
    v.total.push(t2 - t0);
    v.root.push(t2 - t1);
    if (v === variants[1]) {
      hashesPerBlock.push(hashCount() - h);
      tree = next;
      versions.push(next);
    }
  }
  if (roots[0] !== roots[1]) throw new Error('the two ways of executing a block disagree on the root');
}
if (BLOCKS > 0) {
  const touched = 2 * TRANSFERS;
  const list = (xs: number[]) => xs.map((t) => t.toFixed(1)).join(' ');
  console.log(
    `${BLOCKS} blocks of ${TRANSFERS} transfers (${touched} touched keys), each block on its parent:`,
  );
  for (const v of variants) {
    console.log(
      `  ${v.name}: min ${ms(Math.min(...v.total))}, median ${ms(median(v.total))} [${list(v.total)}]; ` +
        `root() alone median ${ms(median(v.root))}; main-thread CPU ${ms(v.cpu / BLOCKS)} per block`,
    );
  }
  const hpb = median(hashesPerBlock);
  console.log(
    `  hashes per block (batched) ${hpb.toLocaleString('en-US')}: ${(hpb / TRANSFERS).toFixed(1)} per transfer, ` +
      `${(hpb / touched).toFixed(1)} per touched key (of which 3 are the key's path on read and on write, ` +
      `its value and its leaf)`,
  );
  const all = memory();
  versions.length = 0;
  const last = memory();
  console.log(
    `  each older state kept reachable costs ${mb((all.heap - last.heap) / BLOCKS)} of heap ` +
      `(the nodes its block replaced; unchanged ones are shared)`,
  );
}

// ---- Proofs -------------------------------------------------------------------------------

{
  const root = tree.root();
  const P = Math.min(1000, N);
  let siblings = 0;
  let bytes = 0;
  let maxDepth = 0;
  const proofs = [];
  t0 = performance.now();
  for (let k = 0; k < P; k++) proofs.push(tree.prove(address(randInt(N))));
  const tProve = performance.now() - t0;
  for (const p of proofs) {
    siblings += p.siblings.length;
    maxDepth = Math.max(maxDepth, p.siblings.length);
    bytes += encodeStateProof(p).length;
  }
  const k = randInt(N);
  const pk = tree.prove(address(k));
  const vk = tree.get(address(k))!;
  t0 = performance.now();
  for (let r = 0; r < 200; r++) if (!verifyStateProof(root, address(k), vk, pk)) throw new Error('proof');
  const tVerify = (performance.now() - t0) / 200;
  console.log(
    `proofs: mean ${(siblings / P).toFixed(1)} siblings (max ${maxDepth}), ${(bytes / P).toFixed(0)} bytes encoded; ` +
      `prove ${((tProve / P) * 1000).toFixed(0)} µs, verify ${(tVerify * 1000).toFixed(0)} µs`,
  );
  console.log(`genesis root ${Buffer.from(genesisRoot).toString('hex')}`);
}

// ---- The hash itself -----------------------------------------------------------------------

{
  const a = new HashBox();
  const b = new HashBox();
  b.h0 = 1;
  const R = 200_000;
  t0 = performance.now();
  for (let r = 0; r < R; r++) hashInner(a, b, a);
  const tWords = performance.now() - t0;
  const x = new Uint8Array(32);
  const y = new Uint8Array(32).fill(1);
  t0 = performance.now();
  for (let r = 0; r < R; r++) taggedHash('synod/smt/inner', x, y);
  const tCrypto = performance.now() - t0;
  console.log(
    `inner hash: ${((tWords / R) * 1000).toFixed(2)} µs word-level, ` +
      `${((tCrypto / R) * 1000).toFixed(2)} µs through crypto/hash.ts taggedHash (node:crypto)`,
  );
}

// ---- The same flat state in LevelDB ------------------------------------------------------

if (LEVEL_N > 0) {
  const dir = mkdtempSync(join(tmpdir(), 'synod-bench-state-'));
  try {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    t0 = performance.now();
    const CHUNK = 10_000;
    for (let i = 0; i < LEVEL_N; i += CHUNK) {
      const ops = [];
      for (let j = i; j < Math.min(LEVEL_N, i + CHUNK); j++) {
        ops.push({ type: 'put' as const, key: address(j), value: record(j) });
      }
      await db.batch(ops);
    }
    // Compaction rewrites the write-ahead log and level-0 files into sorted tables, the steady
    // state of a long-running node. `level` resolves to classic-level on Node, which has it,
    // but its public type does not declare it.
    const compactRange = (db as unknown as { compactRange(a: Uint8Array, b: Uint8Array): Promise<void> })
      .compactRange;
    await compactRange.call(db, new Uint8Array(0), new Uint8Array(21).fill(0xff));
    const tWrite = performance.now() - t0;
    await db.close();
    let size = 0;
    for (const f of readdirSync(dir)) size += statSync(join(dir, f)).size;
    let raw = 0;
    for (let i = 0; i < LEVEL_N; i++) raw += 20 + record(i).length;
    console.log(
      `LevelDB flat state (${LEVEL_N.toLocaleString('en-US')} accounts, key = 20-byte address, default Snappy): ` +
        `${mb(size)} on disk after compaction = ${(size / LEVEL_N).toFixed(1)} B/account ` +
        `(raw key + value ${(raw / LEVEL_N).toFixed(1)} B); written and compacted in ${ms(tWrite)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
