import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { toHex } from '../../crypto/hash.js';
import {
  EMPTY_TREE_HASH,
  leafHash,
  MerkleTree,
  merkleProof,
  merkleRoot,
  merkleTreeHash,
  nodeHash,
  verifyMerkleProof,
} from '../../crypto/merkle.js';

const utf8 = new TextEncoder();
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// ---- an independent reference: RFC 6962 section 2.1, recursive, with @noble/hashes ---------

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function refTreeHash(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return nobleSha256(new Uint8Array(0));
  if (d.length === 1) return nobleSha256(cat(Uint8Array.of(0), d[0]!));
  const k = largestPowerOfTwoBelow(d.length);
  return nobleSha256(cat(Uint8Array.of(1), refTreeHash(d.slice(0, k)), refTreeHash(d.slice(k))));
}
/** RFC 6962 PATH(m, D[n]): siblings from the leaf up. */
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = largestPowerOfTwoBelow(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), refTreeHash(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), refTreeHash(d.slice(0, k))];
}
function refRoot(d: Uint8Array[]): Uint8Array {
  const count = new Uint8Array(8);
  new DataView(count.buffer).setBigUint64(0, BigInt(d.length));
  return nobleSha256(cat(Uint8Array.of(2), count, refTreeHash(d)));
}

const leavesArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 40 });
/** Distinct leaves (each tagged with its position), for claims that hinge on the leaf's content. */
const distinct = (n: number) => Array.from({ length: n }, (_, i) => utf8.encode(`leaf ${i}`));

describe('Merkle: golden values', () => {
  // The Certificate Transparency reference test vectors for the RFC 6962 tree hash.
  const ctLeaves = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ].map(h);
  const ctRoots = [
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  for (let n = 0; n <= 8; n++) {
    it(`RFC 6962 tree hash of the CT test leaves, size ${n}`, () => {
      assert.equal(toHex(merkleTreeHash(ctLeaves.slice(0, n))), `0x${ctRoots[n]}`);
      assert.equal(toHex(new MerkleTree(ctLeaves.slice(0, n)).treeHash), `0x${ctRoots[n]}`);
    });
  }

  it('count-binding roots of small inputs', () => {
    const s = (...xs: string[]) => xs.map((x) => utf8.encode(x));
    const golden: [Uint8Array[], string][] = [
      [[], '0xf0c1e0b4cd1983b9c92909f8145cc102993e4c797489c0ba98639fd93056b82f'],
      [s('a'), '0xa94fe96b1c38a1bdfb72939d6cd46bc31a31bfe1ad0d960804189a287b6558a0'],
      [s('a', 'b', 'c'), '0x7d36854b375536f2bb96cbc87f12825048cc9888d457bfa7a25e1b30df5f6da8'],
      [s('a', 'b', 'c', 'd', 'e'), '0x18949a0a0f9894ca630d9057e57e45b148a1d82c2a303251f3dd06a4bca92752'],
    ];
    for (const [leaves, root] of golden) {
      assert.equal(toHex(merkleRoot(leaves)), root);
      assert.equal(toHex(refRoot(leaves)), root);
    }
  });

  it('the empty list: tree hash is SHA-256 of the empty string; the root binds count 0', () => {
    assert.deepEqual(EMPTY_TREE_HASH, nobleSha256(new Uint8Array(0)));
    assert.deepEqual(merkleTreeHash([]), EMPTY_TREE_HASH);
    assert.deepEqual(merkleRoot([]), nobleSha256(cat(Uint8Array.of(2), new Uint8Array(8), EMPTY_TREE_HASH)));
    assert.throws(() => merkleProof([], 0), RangeError);
    assert.equal(verifyMerkleProof(merkleRoot([]), new Uint8Array(0), 0, 0, []), false);
  });

  it('leaf and node hashes are domain separated (RFC 6962 prefixes 0x00 and 0x01)', () => {
    const a = utf8.encode('a');
    assert.deepEqual(leafHash(a), nobleSha256(cat(Uint8Array.of(0), a)));
    const l = leafHash(a);
    const r = leafHash(utf8.encode('b'));
    assert.deepEqual(nodeHash(l, r), nobleSha256(cat(Uint8Array.of(1), l, r)));
    // An inner node presented as a 64-byte leaf does not reproduce the two-leaf root.
    assert.notDeepEqual(merkleTreeHash([cat(l, r)]), merkleTreeHash([a, utf8.encode('b')]));
    assert.throws(() => nodeHash(l, r.subarray(1)), RangeError);
  });

  it('an odd last node is carried up, not duplicated: [a, b, c] and [a, b, c, c] differ', () => {
    const abc = ['a', 'b', 'c'].map((x) => utf8.encode(x));
    assert.notDeepEqual(merkleTreeHash(abc), merkleTreeHash([...abc, abc[2]!]));
    assert.deepEqual(
      merkleTreeHash(abc),
      nodeHash(nodeHash(leafHash(abc[0]!), leafHash(abc[1]!)), leafHash(abc[2]!)),
    );
  });

  it('large leaves (beyond the scratch buffer) hash like small ones', () => {
    const big = new Uint8Array(10_000).map((_, i) => i * 7);
    assert.deepEqual(leafHash(big), nobleSha256(cat(Uint8Array.of(0), big)));
    assert.deepEqual(merkleRoot([big, utf8.encode('x'), big]), refRoot([big, utf8.encode('x'), big]));
  });

  it('10,000 leaves: merkleRoot, MerkleTree and the reference agree', () => {
    const leaves = Array.from({ length: 10_000 }, (_, i) => nobleSha256(utf8.encode(`tx ${i}`)));
    const root = merkleRoot(leaves);
    assert.deepEqual(root, refRoot(leaves));
    const tree = new MerkleTree(leaves);
    assert.deepEqual(tree.root, root);
    for (const i of [0, 1, 4095, 8191, 8192, 9998, 9999]) {
      const proof = tree.proof(i);
      assert.equal(verifyMerkleProof(root, leaves[i]!, i, leaves.length, proof), true, `index ${i}`);
    }
  });
});

describe('Merkle: proofs', () => {
  it('roots and proofs match the RFC 6962 reference, and every proof verifies (property)', () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const root = merkleRoot(leaves);
        assert.deepEqual(root, refRoot(leaves));
        assert.deepEqual(merkleTreeHash(leaves), refTreeHash(leaves));
        const tree = new MerkleTree(leaves);
        assert.deepEqual(tree.root, root);
        for (let i = 0; i < leaves.length; i++) {
          const proof = tree.proof(i);
          assert.deepEqual(proof, refPath(i, leaves), `proof ${i}`);
          assert.equal(verifyMerkleProof(root, leaves[i]!, i, leaves.length, proof), true, `index ${i}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('merkleProof equals MerkleTree#proof and refuses indexes outside the list', () => {
    const leaves = distinct(7);
    const tree = new MerkleTree(leaves);
    for (let i = 0; i < 7; i++) assert.deepEqual(merkleProof(leaves, i), tree.proof(i));
    for (const bad of [-1, 7, 1.5, Number.NaN]) assert.throws(() => merkleProof(leaves, bad), RangeError);
  });

  it('flipping any bit of any sibling makes the proof fail (property)', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(255), (leaves, iSeed, sSeed, bit) => {
        const i = iSeed % leaves.length;
        const proof = merkleProof(leaves, i);
        fc.pre(proof.length > 0);
        const s = sSeed % proof.length;
        const bad = proof.map((p) => p.slice());
        bad[s]![bit >> 3]! ^= 1 << (bit & 7);
        assert.equal(verifyMerkleProof(merkleRoot(leaves), leaves[i]!, i, leaves.length, bad), false);
      }),
      { numRuns: 300 },
    );
  });

  it('every bit of every sibling, exhaustively, for a 13-leaf tree', () => {
    const leaves = distinct(13);
    const root = merkleRoot(leaves);
    for (let i = 0; i < leaves.length; i++) {
      const proof = merkleProof(leaves, i);
      for (let s = 0; s < proof.length; s++) {
        for (let bit = 0; bit < 256; bit++) {
          const bad = proof.map((p) => p.slice());
          bad[s]![bit >> 3]! ^= 1 << (bit & 7);
          assert.equal(verifyMerkleProof(root, leaves[i]!, i, leaves.length, bad), false);
        }
      }
    }
  });

  it('a proof verifies at another index only when that claim is true (property)', () => {
    // With repeated leaves, "leaf x at j" can be true too; then the proofs coincide.
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...distinct(3)), { minLength: 1, maxLength: 24 }),
        fc.nat(),
        fc.nat(),
        (leaves, a, b) => {
          const i = a % leaves.length;
          const j = b % leaves.length;
          const proof = merkleProof(leaves, i);
          const truth =
            Buffer.from(leaves[j]!).equals(Buffer.from(leaves[i]!)) &&
            sameProof(proof, merkleProof(leaves, j));
          assert.equal(verifyMerkleProof(merkleRoot(leaves), leaves[i]!, j, leaves.length, proof), truth);
        },
      ),
      { numRuns: 300 },
    );
  });

  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 31]) {
    it(`${n} distinct leaves: wrong index, count, leaf, root or proof shape all fail`, () => {
      const leaves = distinct(n);
      const root = merkleRoot(leaves);
      const other = utf8.encode('not a leaf');
      for (let i = 0; i < n; i++) {
        const leaf = leaves[i]!;
        const proof = merkleProof(leaves, i);
        const ok = (l: Uint8Array, idx: number, cnt: number, p: Uint8Array[], r = root) =>
          verifyMerkleProof(r, l, idx, cnt, p);
        assert.equal(ok(leaf, i, n, proof), true);
        for (let j = 0; j < n; j++)
          if (j !== i) assert.equal(ok(leaf, j, n, proof), false, `index ${j} for ${i}`);
        // Counts of the same proof shape included: the root binds the count.
        for (let m = 1; m <= 2 * n + 2; m++)
          if (m !== n) assert.equal(ok(leaf, i, m, proof), false, `count ${m}`);
        for (const bad of [-1, n, n + 1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          assert.equal(ok(leaf, bad, n, proof), false, `index ${bad}`);
        }
        assert.equal(ok(leaf, i, 0, proof), false);
        assert.equal(ok(leaf, i, -n, proof), false);
        assert.equal(ok(other, i, n, proof), false, 'other leaf');
        assert.equal(ok(cat(leaf, Uint8Array.of(0)), i, n, proof), false, 'extended leaf');
        assert.equal(ok(leafHash(leaf), i, n, proof), false, 'leaf hash instead of leaf');
        if (n > 1) assert.equal(ok(leaves[(i + 1) % n]!, i, n, proof), false, 'neighbour leaf');
        assert.equal(ok(leaf, i, n, [...proof, proof[0] ?? root]), false, 'extra sibling');
        if (proof.length > 0) {
          assert.equal(ok(leaf, i, n, proof.slice(0, -1)), false, 'missing sibling');
          assert.equal(ok(leaf, i, n, [proof[0]!.subarray(1), ...proof.slice(1)]), false, 'short sibling');
        }
        if (proof.length > 1) assert.equal(ok(leaf, i, n, [...proof].reverse()), false, 'reordered siblings');
        assert.equal(ok(leaf, i, n, proof, merkleTreeHash(leaves)), false, 'tree hash given as the root');
        assert.equal(ok(leaf, i, n, proof, root.subarray(1)), false, 'short root');
      }
    });
  }

  it('inner nodes cannot be proven as leaves', () => {
    const leaves = distinct(8);
    const root = merkleRoot(leaves);
    const n01 = nodeHash(leafHash(leaves[0]!), leafHash(leaves[1]!));
    const n23 = nodeHash(leafHash(leaves[2]!), leafHash(leaves[3]!));
    const right = merkleTreeHash(leaves.slice(4));
    // As a 4-leaf or 2-leaf tree one level up, the siblings line up, but the 0x00 prefix does not.
    for (const count of [2, 4, 8]) {
      assert.equal(
        verifyMerkleProof(root, cat(leafHash(leaves[0]!), leafHash(leaves[1]!)), 0, count, [n23, right]),
        false,
      );
      assert.equal(verifyMerkleProof(root, n01, 0, count, [n23, right]), false);
    }
  });
});

function sameProof(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x).equals(Buffer.from(b[i]!)));
}
