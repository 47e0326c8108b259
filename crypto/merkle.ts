/**
 * Binary Merkle trees over lists of byte strings (transaction hashes, receipts) with inclusion
 * proofs.
 *
 * The tree is the RFC 6962 (Certificate Transparency) Merkle Tree Hash, with domain-separated
 * hashing so that a leaf can never pass for an inner node (the second-preimage attack on naive
 * Merkle trees):
 *
 *   MTH([])       = SHA-256()                                   (the hash of the empty string)
 *   MTH([d])      = SHA-256(0x00 || d)                          (leaf)
 *   MTH(D[0..n])  = SHA-256(0x01 || MTH(D[0..k]) || MTH(D[k..n])), k = largest power of 2 < n
 *
 * Splitting at the largest power of two means an odd node at the end of a level is carried up
 * unchanged (never duplicated as Bitcoin does, which lets [a, b, c] and [a, b, c, c] share a
 * root). Computed bottom-up, level by level, this is the same tree.
 *
 * The root that Synod stores and signs binds the leaf count as well:
 *
 *   merkleRoot(D) = SHA-256(0x02 || uint64_be(n) || MTH(D))
 *
 * Why: RFC 6962 leaves the tree size to the signed tree head; our block headers carry only
 * the root. Without the count, a proof for leaf 4 of 5 also verifies as "leaf 1 of 2" (both
 * walks are one left sibling), so a light client could be told a wrong index or count. With
 * it, (index, count) are authenticated by the root. The 0x02 prefix keeps a root distinct from
 * leaves and inner nodes, so roots can themselves be leaves of another tree.
 *
 * A proof is the list of sibling hashes from the leaf level upwards; levels where the node is
 * carried up contribute no sibling (RFC 9162 section 2.1.3 inclusion proofs, same order).
 */
import { bytesEqual, HASH_LENGTH, type Hash, sha256 } from './hash.js';
import { digest, digestInto, sha256Bytes } from './sha256-words.js';

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const ROOT_PREFIX = 0x02;

/** MTH of the empty list: SHA-256 of the empty string (RFC 6962). */
export const EMPTY_TREE_HASH: Hash = sha256();
// A private copy, so that a caller mutating the exported array cannot change our roots.
const EMPTY = EMPTY_TREE_HASH.slice();

export type MerkleProof = Uint8Array[];

// Scratch buffers: hashing one contiguous buffer through a single update is markedly faster
// than several small updates, and sha256 is synchronous, so sharing them is safe.
const LEAF_SCRATCH_MAX = 4096;
let leafScratch = new Uint8Array(1 + 128);
const nodeScratch = new Uint8Array(1 + 2 * HASH_LENGTH);
nodeScratch[0] = NODE_PREFIX;
const rootScratch = new Uint8Array(1 + 8 + HASH_LENGTH);
rootScratch[0] = ROOT_PREFIX;

/**
 * Writes SHA-256(0x00 || data), the hash of a leaf, to out[at..at+32). Leaves and inner nodes
 * are hashed in JavaScript (crypto/sha256-words.ts) straight into their level's buffer: through
 * node:crypto each would come back in a Buffer of its own, a native allocation per hash, four
 * per transaction in a block (its tx leaf, its receipt leaf, and about one inner node of each tree).
 */
function hashLeafInto(data: Uint8Array, out: Uint8Array, at: number): void {
  const need = 1 + data.length;
  // Large leaves go through two updates rather than growing the scratch buffer for good.
  if (need > LEAF_SCRATCH_MAX) {
    out.set(sha256(Uint8Array.of(LEAF_PREFIX), data), at);
    return;
  }
  if (leafScratch.length < need) leafScratch = new Uint8Array(Math.max(need, 2 * leafScratch.length));
  leafScratch[0] = LEAF_PREFIX;
  leafScratch.set(data, 1);
  digest(leafScratch, need);
  digestInto(out, at);
}

/** SHA-256(0x00 || data): the hash of a leaf. */
export function leafHash(data: Uint8Array): Hash {
  const out = new Uint8Array(HASH_LENGTH);
  hashLeafInto(data, out, 0);
  return out;
}

/** SHA-256(0x01 || left || right): the hash of an inner node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  if (left.length !== HASH_LENGTH || right.length !== HASH_LENGTH) {
    throw new RangeError('Merkle node children must be 32-byte hashes');
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_LENGTH);
  return sha256Bytes(nodeScratch, nodeScratch.length);
}

/** SHA-256(0x02 || uint64_be(count) || treeHash): the count-binding root. */
function countRoot(count: number, treeHash: Uint8Array): Hash {
  const view = new DataView(rootScratch.buffer);
  // Two 32-bit halves: counts are safe integers (< 2^53), which fit the high half easily.
  view.setUint32(1, Math.floor(count / 0x1_0000_0000));
  view.setUint32(5, count >>> 0);
  rootScratch.set(treeHash, 9);
  return sha256Bytes(rootScratch, rootScratch.length);
}

function hashLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  const flat = new Uint8Array(leaves.length * HASH_LENGTH);
  for (let i = 0; i < leaves.length; i++) hashLeafInto(leaves[i]!, flat, i * HASH_LENGTH);
  return flat;
}

/**
 * Hashes one level (`count` 32-byte nodes laid end to end in `src`) into the next, writing to
 * `dst` (which may be `src`: each pair is copied out before its slot is overwritten). Returns
 * the size of the next level.
 */
function reduceLevel(src: Uint8Array, count: number, dst: Uint8Array): number {
  let out = 0;
  for (let i = 0; i + 1 < count; i += 2) {
    nodeScratch.set(src.subarray(i * HASH_LENGTH, (i + 2) * HASH_LENGTH), 1);
    digest(nodeScratch, nodeScratch.length);
    digestInto(dst, out * HASH_LENGTH);
    out++;
  }
  if (count % 2 === 1) {
    // The odd last node is carried up unchanged (RFC 6962 split at a power of two).
    dst.set(src.subarray((count - 1) * HASH_LENGTH, count * HASH_LENGTH), out * HASH_LENGTH);
    out++;
  }
  return out;
}

/** The plain RFC 6962 Merkle Tree Hash, without the count binding (interoperability, tests). */
export function merkleTreeHash(leaves: readonly Uint8Array[]): Hash {
  if (leaves.length === 0) return EMPTY.slice();
  const level = hashLeaves(leaves);
  let count = leaves.length;
  while (count > 1) count = reduceLevel(level, count, level);
  return level.slice(0, HASH_LENGTH);
}

/** The Merkle root of `leaves`, binding their count (see the module comment). */
export function merkleRoot(leaves: readonly Uint8Array[]): Hash {
  return countRoot(leaves.length, merkleTreeHash(leaves));
}

/**
 * A tree that keeps every level, for serving many proofs from one list (O(n) to build,
 * O(log n) per proof).
 */
export class MerkleTree {
  readonly count: number;
  /** The count-binding root, as `merkleRoot` computes it. */
  readonly root: Hash;
  /** The RFC 6962 tree hash, as `merkleTreeHash` computes it. */
  readonly treeHash: Hash;
  /** levels[0] holds the leaf hashes; each level is 32-byte nodes laid end to end. */
  private readonly levels: Uint8Array[] = [];

  constructor(leaves: readonly Uint8Array[]) {
    this.count = leaves.length;
    if (leaves.length === 0) {
      this.treeHash = EMPTY.slice();
    } else {
      let level = hashLeaves(leaves);
      let count = leaves.length;
      this.levels.push(level);
      while (count > 1) {
        const next = new Uint8Array(Math.ceil(count / 2) * HASH_LENGTH);
        count = reduceLevel(level, count, next);
        level = next;
        this.levels.push(level);
      }
      this.treeHash = level.slice(0, HASH_LENGTH);
    }
    this.root = countRoot(this.count, this.treeHash);
  }

  /** Sibling hashes from the leaf level up; throws RangeError for an index outside the list. */
  proof(index: number): MerkleProof {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.count) {
      throw new RangeError(`Merkle proof index ${index} outside 0..${this.count - 1}`);
    }
    const proof: MerkleProof = [];
    let i = index;
    let n = this.count;
    for (let d = 0; n > 1; d++) {
      const level = this.levels[d]!;
      const sibling = i % 2 === 1 ? i - 1 : i + 1 < n ? i + 1 : -1;
      if (sibling >= 0) proof.push(level.slice(sibling * HASH_LENGTH, (sibling + 1) * HASH_LENGTH));
      i = Math.floor(i / 2);
      n = Math.ceil(n / 2);
    }
    return proof;
  }
}

/** The inclusion proof of `leaves[index]`. Throws RangeError for an index outside the list. */
export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  return new MerkleTree(leaves).proof(index);
}

/**
 * Checks that `leaf` (the data, not its hash) is element `index` of a list of `count` leaves
 * whose root is `root`. Returns false, never throws, for any malformed input.
 */
export function verifyMerkleProof(
  root: Uint8Array,
  leaf: Uint8Array,
  index: number,
  count: number,
  proof: readonly Uint8Array[],
): boolean {
  if (!(root instanceof Uint8Array) || root.length !== HASH_LENGTH) return false;
  if (!(leaf instanceof Uint8Array) || !Array.isArray(proof)) return false;
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    return false;
  }
  let h = leafHash(leaf);
  let i = index;
  let n = count;
  let used = 0;
  while (n > 1) {
    const hasSibling = i % 2 === 1 || i + 1 < n;
    if (hasSibling) {
      const sibling = proof[used++];
      if (!(sibling instanceof Uint8Array) || sibling.length !== HASH_LENGTH) return false;
      h = i % 2 === 1 ? nodeHash(sibling, h) : nodeHash(h, sibling);
    }
    i = Math.floor(i / 2);
    n = Math.ceil(n / 2);
  }
  // Every sibling must be consumed: extra entries mean the proof is for another shape.
  if (used !== proof.length) return false;
  return bytesEqual(countRoot(count, h), root);
}
