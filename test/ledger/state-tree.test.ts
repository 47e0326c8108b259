import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EncodingError, encode } from '../../crypto/encoding.js';
import { sha256, taggedHash, toHex } from '../../crypto/hash.js';
import {
  decodeStateProof,
  encodeStateProof,
  type StateProof,
  StateTree,
  StateTreeError,
  verifyStateProof,
} from '../../ledger/state-tree.js';
import {
  byteStringToBytes,
  EMPTY_HASH,
  HashBox,
  hashCount,
  hashInner,
  hashLeaf,
  hashValue,
  keyPath,
  wordsToBytes,
} from '../../ledger/state-tree-hash.js';

// ---- An independent reference: the normative definition, straight from crypto/hash.ts ------
// The tags are spelled out here rather than imported, so that a change to them fails a test.

const utf8 = new TextEncoder();
const EMPTY = taggedHash('synod/smt/empty');

function refLeaf(key: Uint8Array, value: Uint8Array): Uint8Array {
  return taggedHash('synod/smt/leaf', sha256(key), taggedHash('synod/smt/value', value));
}

function bit(path: Uint8Array, i: number): number {
  return (path[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** T(E, d) of the module comment, computed level by level with no compression. */
function refRoot(model: Map<string, [Uint8Array, Uint8Array]>): Uint8Array {
  const items = [...model.values()].map(([k, v]) => ({ path: sha256(k), leaf: refLeaf(k, v) }));
  const t = (es: typeof items, d: number): Uint8Array => {
    if (es.length === 0) return EMPTY;
    if (es.length === 1) return es[0]!.leaf;
    return taggedHash(
      'synod/smt/inner',
      t(
        es.filter((e) => bit(e.path, d) === 0),
        d + 1,
      ),
      t(
        es.filter((e) => bit(e.path, d) === 1),
        d + 1,
      ),
    );
  };
  return t(items, 0);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Keys whose paths share long prefixes (found once by sorting the paths of 'near0'..'near65535'):
 * they put inner nodes many levels below their parents, where hashing and proofs pass through
 * runs of EMPTY siblings. Random keys almost never do.
 */
const NEAR_PAIR = ['near29632', 'near61334'].map((s) => utf8.encode(s)); // 30 bits
const NEAR_TRIPLE = ['near30607', 'near34961', 'near42109'].map((s) => utf8.encode(s)); // 22 bits
const NEAR = [...NEAR_PAIR, ...NEAR_TRIPLE];

function sharedBits(a: Uint8Array, b: Uint8Array): number {
  const pa = sha256(a);
  const pb = sha256(b);
  let i = 0;
  while (i < 256 && bit(pa, i) === bit(pb, i)) i++;
  return i;
}

/** A pool of keys: the near ones and a few short random ones (short, so that they repeat). */
const keyPool = fc
  .array(fc.uint8Array({ maxLength: 4 }), { minLength: 1, maxLength: 10 })
  .map((ks) => [...NEAR, ...ks]);
const value = fc.uint8Array({ maxLength: 80 });

type Cmd =
  | { kind: 'set'; k: number; v: Uint8Array }
  | { kind: 'del'; k: number }
  | { kind: 'many'; changes: [number, Uint8Array | null][] };
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), k: fc.nat(), v: value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), k: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('many' as const),
      changes: fc.array(fc.tuple(fc.nat(), fc.option(value, { nil: null })), { maxLength: 8 }),
    }),
  },
);

type Model = Map<string, [Uint8Array, Uint8Array]>;

function applyCmd(tree: StateTree, model: Model, pool: Uint8Array[], c: Cmd): StateTree {
  const key = (i: number) => pool[i % pool.length]!;
  const put = (k: Uint8Array, v: Uint8Array | null) => {
    if (v === null) model.delete(hex(k));
    else model.set(hex(k), [k, v]);
  };
  switch (c.kind) {
    case 'set':
      put(key(c.k), c.v);
      return tree.set(key(c.k), c.v);
    case 'del':
      put(key(c.k), null);
      return tree.delete(key(c.k));
    case 'many':
      for (const [i, v] of c.changes) put(key(i), v);
      return tree.setMany(c.changes.map(([i, v]) => [key(i), v] as const));
  }
}

function assertMatchesModel(tree: StateTree, model: Model, pool: Uint8Array[]): void {
  assert.equal(tree.size, model.size);
  for (const k of pool) {
    const want = model.get(hex(k));
    assert.deepEqual(tree.get(k), want?.[1]);
    assert.equal(tree.has(k), want !== undefined);
  }
  const got = [...tree.entries()].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
  const want = [...model.values()].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
  assert.deepEqual(got, want);
}

// ---- The word-level hasher against node:crypto and crypto/hash.ts ---------------------------

describe('state tree hashing', () => {
  it('keyPath is SHA-256 for every length across the padding boundaries', () => {
    const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 255);
    for (let n = 0; n <= 300; n++) {
      const want = createHash('sha256').update(data.subarray(0, n)).digest();
      assert.equal(hex(byteStringToBytes(keyPath(data.subarray(0, n)))), want.toString('hex'), `length ${n}`);
    }
  });

  it('inner, leaf, value and empty hashes match their taggedHash definitions', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 40 }),
        (a, b, v, k) => {
          const box = (bytes: Uint8Array) => {
            const h = new HashBox();
            const d = new DataView(bytes.buffer, bytes.byteOffset, 32);
            h.h0 = d.getInt32(0);
            h.h1 = d.getInt32(4);
            h.h2 = d.getInt32(8);
            h.h3 = d.getInt32(12);
            h.h4 = d.getInt32(16);
            h.h5 = d.getInt32(20);
            h.h6 = d.getInt32(24);
            h.h7 = d.getInt32(28);
            return h;
          };
          const out = new HashBox();
          hashInner(box(a), box(b), out);
          assert.equal(hex(wordsToBytes(out)), hex(taggedHash('synod/smt/inner', a, b)));
          const s = Buffer.from(Uint8Array.of(...k, ...v)).toString('latin1');
          hashValue(s, k.length, out);
          assert.equal(hex(wordsToBytes(out)), hex(taggedHash('synod/smt/value', v)));
          const path = Buffer.from(a).toString('latin1');
          hashLeaf(path, box(b), out);
          assert.equal(hex(wordsToBytes(out)), hex(taggedHash('synod/smt/leaf', a, b)));
        },
      ),
      { numRuns: 200 },
    );
    assert.equal(hex(wordsToBytes(EMPTY_HASH)), hex(EMPTY));
  });

  it('pins the roots of small maps (a change of scheme must be deliberate)', () => {
    assert.equal(
      toHex(StateTree.empty().root()),
      '0xa5f74f2a03d6be5f626295b885400dc3aa95a81517972d4fe4f603deb0697bb1',
    );
    const one = StateTree.empty().set(utf8.encode('a'), utf8.encode('1'));
    assert.equal(toHex(one.root()), '0x5028cf1e0d6474f3b35525c748b00be89d885e50ccde8073918af3be3b8c20e8');
    const three = one.set(utf8.encode('b'), utf8.encode('2')).set(utf8.encode('c'), new Uint8Array(0));
    const model: Model = new Map();
    for (const [k, v] of three.entries()) model.set(hex(k), [k, v]);
    assert.equal(toHex(three.root()), toHex(refRoot(model)));
    assert.equal(toHex(three.root()), '0x2c86e2462941a02bc863a6072208acdc09a12daaa2d420cadbe6121b5c38dbbb');
  });

  it('the near keys share the prefixes the tests rely on', () => {
    assert.ok(sharedBits(NEAR_PAIR[0]!, NEAR_PAIR[1]!) >= 30);
    assert.ok(sharedBits(NEAR_TRIPLE[0]!, NEAR_TRIPLE[1]!) >= 22);
    assert.ok(sharedBits(NEAR_TRIPLE[0]!, NEAR_TRIPLE[2]!) >= 22);
    assert.ok(sharedBits(NEAR_TRIPLE[1]!, NEAR_TRIPLE[2]!) >= 22);
  });
});

// ---- The map: incremental updates, order, snapshots --------------------------------------

describe('StateTree', () => {
  it('after any sequence of sets and deletes, matches a model map and a from-scratch rebuild', () => {
    fc.assert(
      fc.property(keyPool, fc.array(cmd, { maxLength: 40 }), (pool, cmds) => {
        let tree = StateTree.empty();
        const model: Model = new Map();
        for (const c of cmds) {
          tree = applyCmd(tree, model, pool, c);
          // Sometimes hash mid-way, so that later updates start from cached hashes.
          if (c.kind === 'many') tree.root();
        }
        assertMatchesModel(tree, model, pool);
        const want = hex(refRoot(model));
        assert.equal(hex(tree.root()), want);
        assert.equal(hex(StateTree.fromEntries([...model.values()]).root()), want);
      }),
      { numRuns: 300 },
    );
  });

  it('the root does not depend on insertion order', () => {
    const entries = fc.uniqueArray(fc.tuple(fc.uint8Array({ maxLength: 12 }), value), {
      selector: ([k]) => hex(k),
      maxLength: 40,
    });
    fc.assert(
      fc.property(
        entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length }))),
        ([es, shuffled]) => {
          const near = NEAR.map((k, i) => [k, Uint8Array.of(i)] as [Uint8Array, Uint8Array]);
          const a = [...es, ...near];
          const b = [...near, ...shuffled];
          const one = a.reduce((t, [k, v]) => t.set(k, v), StateTree.empty());
          const two = b.reduce((t, [k, v]) => t.set(k, v), StateTree.empty());
          const three = StateTree.empty().setMany(b);
          const four = StateTree.fromEntries([...b].reverse());
          const root = hex(one.root());
          assert.equal(hex(two.root()), root);
          assert.equal(hex(three.root()), root);
          assert.equal(hex(four.root()), root);
          // And through history: adding then removing a key leaves no trace. (The extra key is
          // longer than any generated one, so it is not among them.)
          const x = utf8.encode('a key of more than twelve bytes');
          const half = StateTree.fromEntries(a.slice(0, a.length >> 1));
          const grown = half.setMany([[x, Uint8Array.of(1)], ...b]);
          assert.equal(hex(grown.delete(x).root()), root);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('old snapshots keep their root and values after later updates, hashed or not', () => {
    fc.assert(
      fc.property(
        keyPool,
        fc.array(cmd, { minLength: 1, maxLength: 30 }),
        fc.array(cmd, { maxLength: 10 }),
        (pool, cmds, branch) => {
          let tree = StateTree.empty();
          const model: Model = new Map();
          const snaps: { tree: StateTree; model: Model; root: string }[] = [];
          cmds.forEach((c, i) => {
            tree = applyCmd(tree, model, pool, c);
            // Half the snapshots are hashed now, half only at the end (lazily, after their
            // successors have hashed the nodes they share).
            snaps.push({ tree, model: new Map(model), root: i % 2 === 0 ? hex(tree.root()) : '' });
          });
          // A second candidate on a middle parent: must leave that parent untouched.
          const mid = snaps[snaps.length >> 1]!;
          let other = mid.tree;
          const otherModel = new Map(mid.model);
          for (const c of branch) other = applyCmd(other, otherModel, pool, c);
          assert.equal(hex(other.root()), hex(refRoot(otherModel)));
          for (const s of snaps) {
            const want = hex(refRoot(s.model));
            if (s.root !== '') assert.equal(s.root, want);
            assert.equal(hex(s.tree.root()), want);
            assertMatchesModel(s.tree, s.model, pool);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a larger tree: sets one by one, setMany and fromEntries agree, including after deleting half', () => {
    const entries: [Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < 3000; i++)
      entries.push([sha256(Uint8Array.of(i & 255, i >> 8)).subarray(0, 20), utf8.encode(`value ${i}`)]);
    const model: Model = new Map(entries.map(([k, v]) => [hex(k), [k, v]]));
    let oneByOne = StateTree.empty();
    for (const [k, v] of entries) oneByOne = oneByOne.set(k, v);
    const chunked = [0, 1000, 2000].reduce(
      (t, i) => t.setMany(entries.slice(i, i + 1000)),
      StateTree.empty(),
    );
    const built = StateTree.fromEntries(entries);
    const root = hex(refRoot(model));
    for (const t of [oneByOne, chunked, built]) {
      assert.equal(hex(t.root()), root);
      assert.equal(t.size, 3000);
    }
    const deletes = entries.filter((_, i) => i % 2 === 0).map(([k]) => [k, null] as const);
    const halved = built.setMany(deletes);
    for (const [k] of deletes) model.delete(hex(k));
    assert.equal(halved.size, 1500);
    assert.equal(hex(halved.root()), hex(refRoot(model)));
    assert.equal(hex(halved.root()), hex(StateTree.fromEntries([...model.values()]).root()));
    assert.equal(hex(built.root()), root);
  });

  it('large inputs with repeated keys: the last write wins (bucketed sort, crowded buckets too)', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => utf8.encode(`k${i}`));
    const input: [Uint8Array, Uint8Array][] = [];
    for (const [i, k] of keys.entries()) input.push([k, utf8.encode(`old ${i}`)]);
    // Twenty writes to one key land in one bucket, beyond the insertion-sort size.
    for (let r = 0; r < 20; r++) input.push([keys[7]!, utf8.encode(`rewrite ${r}`)]);
    for (const [i, k] of keys.entries()) if (i % 3 === 0) input.push([k, utf8.encode(`new ${i}`)]);
    const model: Model = new Map();
    for (const [k, v] of input) model.set(hex(k), [k, v]);
    const built = StateTree.fromEntries(input);
    const batched = StateTree.empty().setMany(input);
    assert.equal(built.size, 2000);
    assert.equal(batched.size, 2000);
    assert.deepEqual(built.get(keys[7]!), utf8.encode('rewrite 19'));
    assert.deepEqual(built.get(keys[3]!), utf8.encode('new 3'));
    assert.deepEqual(built.get(keys[4]!), utf8.encode('old 4'));
    const root = hex(refRoot(model));
    assert.equal(hex(built.root()), root);
    assert.equal(hex(batched.root()), root);
  });

  it('rehashes only the touched paths, lazily, and nothing for an unchanged tree', () => {
    const entries: [Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < 4000; i++) entries.push([utf8.encode(`account ${i}`), utf8.encode(`balance ${i}`)]);
    const tree = StateTree.fromEntries(entries);
    tree.root();
    let before = hashCount();
    tree.root();
    assert.equal(hashCount() - before, 0, 'root() of a hashed tree');

    for (const i of [0, 1234, 3999]) {
      const key = entries[i]![0];
      const depth = tree.prove(key).siblings.length;
      before = hashCount();
      const next = tree.set(key, utf8.encode('new balance'));
      next.root();
      const spent = hashCount() - before;
      // The key's path (1), its value and leaf (2), one inner hash per level on the path, and
      // at most one per level for siblings whose branch sits below their position. A full
      // rebuild would be about 16,000.
      assert.ok(spent >= 3 + depth && spent <= 3 + 2 * depth, `spent ${spent} for depth ${depth}`);
      before = hashCount();
      tree.root();
      assert.equal(hashCount() - before, 0, 'the parent stays hashed');
    }

    // A batch shares its upper levels: 200 updates cost well under 200 separate ones.
    const batch = entries.slice(0, 200).map(([k]) => [k, utf8.encode('x')] as const);
    before = hashCount();
    tree.setMany(batch).root();
    const batched = hashCount() - before;
    let separate = 0;
    for (const [k, v] of batch) {
      before = hashCount();
      tree.set(k, v).root();
      separate += hashCount() - before;
    }
    assert.ok(batched < 0.75 * separate, `batched ${batched}, separate ${separate}`);
  });

  it('returns the same tree for no-op updates', () => {
    const t = StateTree.fromEntries([[utf8.encode('a'), utf8.encode('1')]]);
    assert.equal(t.set(utf8.encode('a'), utf8.encode('1')), t);
    assert.equal(t.delete(utf8.encode('b')), t);
    assert.equal(t.setMany([]), t);
    assert.equal(t.setMany([[utf8.encode('b'), null]]), t);
    assert.notEqual(t.set(utf8.encode('a'), utf8.encode('2')), t);
    // Also deep in a larger tree, where the no-op is found below many levels.
    const big = StateTree.fromEntries(
      Array.from({ length: 64 }, (_, i) => [Uint8Array.of(i), Uint8Array.of(i)]),
    );
    for (let i = 0; i < 64; i++) {
      assert.equal(big.set(Uint8Array.of(i), Uint8Array.of(i)), big);
      assert.equal(big.delete(Uint8Array.of(i, 0)), big);
      assert.equal(
        big.setMany([
          [Uint8Array.of(i), Uint8Array.of(i)],
          [Uint8Array.of(i, 0), null],
        ]),
        big,
      );
    }
  });

  it('last write wins within setMany and fromEntries', () => {
    const [a, b] = [utf8.encode('a'), utf8.encode('b')];
    const t = StateTree.empty().setMany([
      [a, utf8.encode('1')],
      [b, utf8.encode('2')],
      [a, null],
      [b, utf8.encode('3')],
    ]);
    assert.equal(t.get(a), undefined);
    assert.deepEqual(t.get(b), utf8.encode('3'));
    assert.equal(t.size, 1);
    const u = StateTree.fromEntries([
      [a, utf8.encode('1')],
      [a, utf8.encode('2')],
    ]);
    assert.deepEqual(u.get(a), utf8.encode('2'));
    assert.equal(u.size, 1);
  });

  it('copies keys and values in and out', () => {
    const key = utf8.encode('key');
    const val = utf8.encode('value');
    const t = StateTree.empty().set(key, val);
    const root = hex(t.root());
    key[0] = 0;
    val[0] = 0;
    const got = t.get(utf8.encode('key'))!;
    assert.deepEqual(got, utf8.encode('value'));
    got[0] = 0;
    for (const [k, v] of t.entries()) {
      k[0] = 0;
      v[0] = 0;
    }
    assert.deepEqual(t.get(utf8.encode('key')), utf8.encode('value'));
    assert.equal(hex(t.root()), root);
    // A Buffer view into a larger pooled buffer is copied too, not kept.
    const big = Buffer.from('xxkeyxxvaluexx');
    const u = StateTree.empty().set(big.subarray(2, 5), big.subarray(7, 12));
    big.fill(0);
    assert.deepEqual(u.get(utf8.encode('key')), utf8.encode('value'));
  });

  it('holds entries larger than the scratch buffers (64 KiB), and small ones after them', () => {
    const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
    const key = new Uint8Array(70_000).map((_, i) => (i * 13) & 255);
    const t = StateTree.empty()
      .set(utf8.encode('big'), big)
      .set(key, utf8.encode('v'))
      .set(utf8.encode('s'), Uint8Array.of(1));
    assert.deepEqual(t.get(utf8.encode('big')), big);
    assert.deepEqual(t.get(key), utf8.encode('v'));
    const model: Model = new Map();
    for (const [k, v] of t.entries()) model.set(hex(k), [k, v]);
    assert.equal(model.size, 3);
    assert.equal(hex(t.root()), hex(refRoot(model)));
    assert.ok(verifyStateProof(t.root(), utf8.encode('big'), big, t.prove(utf8.encode('big'))));
  });

  it('refuses keys and values that are not bytes, with a typed error', () => {
    const t = StateTree.empty();
    const isErr = (e: unknown) => e instanceof StateTreeError && e.name === 'StateTreeError';
    assert.throws(() => t.set('a' as unknown as Uint8Array, new Uint8Array(1)), isErr);
    assert.throws(() => t.set(new Uint8Array(1), null as unknown as Uint8Array), isErr);
    assert.throws(() => t.get([1, 2] as unknown as Uint8Array), isErr);
    assert.throws(() => t.setMany([[new Uint8Array(1), 5 as unknown as Uint8Array]]), isErr);
    assert.throws(
      () => StateTree.fromEntries([[new Uint8Array(1), undefined as unknown as Uint8Array]]),
      isErr,
    );
  });
});

// ---- Proofs ---------------------------------------------------------------------------------

/** A tree from a pool, and query keys: some present, some absent. */
const treeAndQueries = fc
  .tuple(
    keyPool,
    fc.array(fc.tuple(fc.nat(), value), { maxLength: 30 }),
    fc.array(fc.uint8Array({ maxLength: 4 }), { maxLength: 4 }),
  )
  .map(([pool, sets, absent]) => {
    const model: Model = new Map();
    for (const [i, v] of sets) {
      const k = pool[i % pool.length]!;
      model.set(hex(k), [k, v]);
    }
    return { tree: StateTree.fromEntries([...model.values()]), model, queries: [...pool, ...absent] };
  });

function flip(b: Uint8Array, bitIndex: number): Uint8Array {
  const c = b.slice();
  c[bitIndex >> 3]! ^= 1 << (bitIndex & 7);
  return c;
}

describe('state proofs', () => {
  it('prove inclusion of present keys and absence of absent ones, also through the encoding', () => {
    fc.assert(
      fc.property(treeAndQueries, ({ tree, model, queries }) => {
        const root = tree.root();
        for (const k of queries) {
          const v = model.get(hex(k))?.[1] ?? null;
          const p = tree.prove(k);
          assert.ok(verifyStateProof(root, k, v, p), `key ${hex(k)}`);
          const bytes = encodeStateProof(p);
          const back = decodeStateProof(bytes);
          assert.deepEqual(back, p);
          assert.deepEqual(encodeStateProof(back), bytes);
          assert.ok(verifyStateProof(root, k, v, back));
          if (v !== null) assert.equal(p.leaf, undefined);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('proofs through long shared prefixes carry runs of EMPTY siblings, one bit each when encoded', () => {
    const tree = StateTree.fromEntries(NEAR_PAIR.map((k) => [k, k]));
    const p = tree.prove(NEAR_PAIR[0]!);
    assert.ok(p.siblings.length >= 31);
    assert.ok(p.siblings.slice(0, 30).every((s) => hex(s) === hex(EMPTY)));
    assert.ok(verifyStateProof(tree.root(), NEAR_PAIR[0]!, NEAR_PAIR[0]!, p));
    assert.ok(encodeStateProof(p).length < 32 * 2 + 20);
    // An absent key that leaves the shared prefix early ends in an EMPTY subtree beside it.
    const absent = utf8.encode('absent');
    const q = tree.prove(absent);
    assert.equal(q.leaf, undefined);
    assert.equal(q.siblings.length, sharedBits(absent, NEAR_PAIR[0]!) + 1);
    assert.ok(verifyStateProof(tree.root(), absent, null, q));
  });

  it('every tampered proof fails', () => {
    fc.assert(
      fc.property(
        treeAndQueries,
        fc.nat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        ({ tree, model, queries }, seed, junk) => {
          const root = tree.root();
          for (const k of queries) {
            const v = model.get(hex(k))?.[1] ?? null;
            const p = tree.prove(k);
            const no = (proof: StateProof, what: string, r = root, val = v, key = k) =>
              assert.equal(verifyStateProof(r, key, val, proof), false, `${what} (key ${hex(k)})`);

            p.siblings.forEach((_, i) => {
              const siblings = [...p.siblings];
              siblings[i] = flip(siblings[i]!, (seed + i) % 256);
              no({ ...p, siblings }, `bit flipped in sibling ${i}`);
            });
            no(p, 'wrong root', flip(root, seed % 256));
            if (v !== null) {
              no(p, 'changed value', root, Uint8Array.of(...v, 0));
              if (v.length > 0) no(p, 'changed value', root, flip(v, seed % (8 * v.length)));
              no(p, 'absence claimed for a present key', root, null);
              // The subtle one: absence "shown" by the key's own leaf, as if it were a neighbour.
              const own = { keyHash: sha256(k), valueHash: taggedHash('synod/smt/value', v) };
              no({ ...p, leaf: own }, "absence claimed with the key's own leaf", root, null);
              no({ ...p, leaf: { keyHash: junk, valueHash: junk } }, 'inclusion proof with a leaf', root);
            } else {
              no(p, 'presence claimed for an absent key', root, new Uint8Array(0));
              no(p, 'presence claimed for an absent key', root, junk);
              if (p.leaf !== undefined) {
                no({ siblings: p.siblings }, 'neighbouring leaf dropped');
                no(
                  { ...p, leaf: { ...p.leaf, valueHash: flip(p.leaf.valueHash, seed % 256) } },
                  'leaf value hash',
                );
                no(
                  { ...p, leaf: { ...p.leaf, keyHash: flip(p.leaf.keyHash, 255 - (seed % 8)) } },
                  'leaf key hash',
                );
                // The neighbour claimed to be the key itself.
                no({ ...p, leaf: { ...p.leaf, keyHash: sha256(k) } }, 'leaf is the key itself');
              } else {
                no({ ...p, leaf: { keyHash: flip(sha256(k), 255), valueHash: junk } }, 'leaf added');
              }
            }
            if (p.siblings.length > 0) {
              no({ ...p, siblings: p.siblings.slice(0, -1) }, 'truncated at the bottom');
              no({ ...p, siblings: p.siblings.slice(1) }, 'truncated at the top');
            }
            no({ ...p, siblings: [...p.siblings, EMPTY] }, 'extended with EMPTY');
            no({ ...p, siblings: [...p.siblings, junk] }, 'extended');
            no({ ...p, siblings: [junk, ...p.siblings] }, 'extended at the top');
            // Another key's proof does not prove this key's value.
            for (const [other, [ok, ov]] of model) {
              if (other !== hex(k)) no(tree.prove(ok), 'proof of another key', root, ov);
            }
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('malformed proof objects are rejected, never thrown on', () => {
    const tree = StateTree.fromEntries([
      [utf8.encode('a'), utf8.encode('1')],
      [utf8.encode('b'), utf8.encode('2')],
    ]);
    const root = tree.root();
    const k = utf8.encode('a');
    const v = utf8.encode('1');
    const good = tree.prove(k);
    assert.ok(verifyStateProof(root, k, v, good));
    const bad: unknown[] = [
      null,
      {},
      { siblings: 'x' },
      { siblings: [new Uint8Array(31)] },
      { siblings: [...good.siblings, 5] },
      { siblings: new Array(257).fill(EMPTY) },
      { siblings: good.siblings, leaf: 1 },
      { siblings: good.siblings, leaf: { keyHash: new Uint8Array(32) } },
    ];
    for (const p of bad) {
      assert.equal(verifyStateProof(root, k, v, p as StateProof), false);
      assert.throws(() => encodeStateProof(p as StateProof), StateTreeError);
    }
    assert.equal(verifyStateProof(root.subarray(1), k, v, good), false);
    assert.equal(verifyStateProof(root, 'a' as unknown as Uint8Array, v, good), false);
    assert.equal(verifyStateProof(root, k, 'x' as unknown as Uint8Array, good), false);
  });

  it('encoded proofs: any change to the bytes fails to decode or fails to verify', () => {
    fc.assert(
      fc.property(
        treeAndQueries,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ({ tree, model, queries }, at, delta) => {
          const root = tree.root();
          for (const k of queries) {
            const v = model.get(hex(k))?.[1] ?? null;
            const bytes = encodeStateProof(tree.prove(k));
            const mutated = bytes.slice();
            mutated[at % bytes.length]! ^= delta;
            const variants = [mutated, bytes.subarray(0, at % bytes.length), Uint8Array.of(...bytes, delta)];
            for (const b of variants) {
              let p: StateProof;
              try {
                p = decodeStateProof(b);
              } catch (e) {
                assert.ok(e instanceof EncodingError, String(e));
                continue;
              }
              assert.equal(verifyStateProof(root, k, v, p), false);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('decoding refuses every non-canonical or malformed form', () => {
    const e32 = EMPTY;
    const s = new Uint8Array(32).fill(7);
    const cases: [string, unknown][] = [
      ['not a map', [1]],
      ['missing field', { depth: 1, empty: Uint8Array.of(0) }],
      ['unknown field', { depth: 0, empty: new Uint8Array(0), siblings: new Uint8Array(0), x: 1 }],
      ['depth above 256', { depth: 257, empty: new Uint8Array(33), siblings: new Uint8Array(257 * 32) }],
      ['bitmap too short', { depth: 9, empty: Uint8Array.of(0), siblings: new Uint8Array(9 * 32) }],
      ['bitmap too long', { depth: 1, empty: Uint8Array.of(0, 0), siblings: s }],
      ['bits past the depth', { depth: 1, empty: Uint8Array.of(0x40), siblings: s }],
      ['siblings too short', { depth: 2, empty: Uint8Array.of(0), siblings: s }],
      ['siblings too long', { depth: 1, empty: Uint8Array.of(0x80), siblings: s }],
      ['EMPTY sibling not flagged', { depth: 1, empty: Uint8Array.of(0), siblings: e32 }],
      [
        'leaf of 63 bytes',
        { depth: 0, empty: new Uint8Array(0), siblings: new Uint8Array(0), leaf: new Uint8Array(63) },
      ],
      ['depth as a string', { depth: '1', empty: Uint8Array.of(0), siblings: s }],
    ];
    for (const [what, v] of cases) {
      assert.throws(() => decodeStateProof(encode(v as never)), EncodingError, what);
    }
    // The canonical forms next to them decode.
    assert.equal(
      decodeStateProof(encode({ depth: 1, empty: Uint8Array.of(0x80), siblings: new Uint8Array(0) })).siblings
        .length,
      1,
    );
    assert.equal(
      decodeStateProof(encode({ depth: 1, empty: Uint8Array.of(0), siblings: s })).siblings.length,
      1,
    );
  });
});
