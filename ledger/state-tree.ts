/**
 * The authenticated state: a map from byte-string keys to byte-string values whose Merkle root
 * commits to the whole map, with inclusion and non-inclusion proofs a light client can check
 * against the state root of a certified header.
 *
 * The tree is a sparse Merkle tree of depth 256 indexed by path = SHA-256(key), in the
 * compressed form of Diem's Jellyfish tree: a subtree holding a single entry is replaced by that
 * entry's leaf, an empty subtree by a constant. Normative definition (all a second
 * implementation needs; `taggedHash` and `sha256` are those of crypto/hash.ts):
 *
 *   path(k)      = sha256(k); bit i of a path is bit 7 - (i mod 8) of byte floor(i / 8), 0 = left
 *   valueHash(v) = taggedHash('synod/smt/value', v)
 *   leaf(k, v)   = taggedHash('synod/smt/leaf', path(k), valueHash(v))
 *   EMPTY        = taggedHash('synod/smt/empty')
 *   inner(l, r)  = taggedHash('synod/smt/inner', l, r)
 *
 *   T(E, d), for a set E of entries whose paths agree on their first d bits:
 *     EMPTY if E is empty; leaf(k, v) if E = {(k, v)};
 *     otherwise inner(T(E0, d + 1), T(E1, d + 1)), Eb being the entries whose path has bit d = b.
 *   root = T(all entries, 0)
 *
 * So the root is a function of the set of entries alone: insertion order and history cannot
 * matter. Two entries whose paths share a long prefix are hashed through one inner node per
 * shared bit, with EMPTY siblings; for hashed keys that adds about one level on average, and it
 * keeps proofs a plain list of siblings (an EMPTY sibling costs one bit in the encoded proof).
 * Domain tags keep the three kinds of node apart, so a leaf can never pass for an inner node,
 * nor either for EMPTY (the second-preimage attack on untagged Merkle trees). A leaf commits to
 * the full path, which is what lets it stand for a whole subtree; it commits to the value's hash
 * rather than the value so that a proof of absence can show a neighbouring leaf in 64 bytes.
 *
 * A proof for key k is the list of siblings along k's path from the root down to the node where
 * the path ends: k's own leaf (inclusion), an empty subtree, or another key's leaf whose path
 * shares the proof's depth in bits with k's (both non-inclusion; the latter carries that leaf's
 * path and value hash). Collision resistance makes the valid proof for a (root, key) unique.
 *
 * In memory, nodes are immutable and shared between versions (path copying): `set` returns a
 * new tree and the old one is an intact snapshot, so the ledger can execute a candidate block
 * on its parent state and drop it, or validate several candidates on one parent. Inner nodes
 * exist only where paths branch (a binary Patricia trie) and record the bit they branch on.
 * Hashes are computed lazily at `root()` or `prove()` and cached in the nodes, so a change costs
 * one hash per level on its path (plus one per level that an unchanged sibling subtree skips,
 * about one per path on average) and a batch shares the levels its paths have in common.
 *
 * Keys, values and paths are stored as one-byte-per-character strings: on V8 an 80-byte string
 * costs about 105 bytes of heap against 270 to 350 for a Uint8Array of the same length
 * (measured on Node 20), and the tree is meant to hold every account of the chain in memory.
 */
import { Buffer } from 'node:buffer';
import {
  asBytes,
  asMap,
  asNumber,
  decode,
  EncodingError,
  encode,
  expectKeys,
  type ValueMap,
} from '../crypto/encoding.js';
import { bytesEqual, HASH_LENGTH, sha256, taggedHash } from '../crypto/hash.js';
import {
  byteStringToBytes,
  EMPTY_HASH,
  HashBox,
  type HashWords,
  hashInner,
  hashLeaf,
  hashValue,
  keyPath,
  TAG_EMPTY,
  TAG_INNER,
  TAG_LEAF,
  TAG_VALUE,
  wordsToBytes,
} from './state-tree-hash.js';

/** Paths have this many bits, so proofs have at most this many siblings. */
export const STATE_PATH_BITS = 256;

/** A misuse of the state tree API (a key or value that is not a Uint8Array, a malformed proof). */
export class StateTreeError extends Error {
  override readonly name = 'StateTreeError';
}

/**
 * Proof that a key has a value, or has none, under a state root. Check it with
 * verifyStateProof; send it as encodeStateProof bytes.
 */
export interface StateProof {
  /** Sibling hashes from the top: siblings[i] is the subtree beside the key's path at depth i + 1. */
  readonly siblings: readonly Uint8Array[];
  /**
   * Only in a proof of absence that ends at another key's leaf: that leaf's path (the SHA-256 of
   * its key) and the hash of its value.
   */
  readonly leaf?: { readonly keyHash: Uint8Array; readonly valueHash: Uint8Array } | undefined;
}

// ---- Nodes --------------------------------------------------------------------------------

class Leaf implements HashWords {
  // Field order is memory order: what a lookup reads comes first, next to the object header,
  // so that a step down the tree touches one cache line.
  /** sha256(key), one character per byte. */
  readonly path: string;
  /** key || value, one character per byte. */
  readonly kv: string;
  readonly keyLength: number;
  hashed = false;
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  h4 = 0;
  h5 = 0;
  h6 = 0;
  h7 = 0;
  constructor(path: string, kv: string, keyLength: number) {
    this.path = path;
    this.kv = kv;
    this.keyLength = keyLength;
  }
}

class Inner implements HashWords {
  /** The path of a leaf below (the leftmost): all paths below agree with it up to `bit`. */
  readonly path: string;
  /**
   * The path bit this node branches on. Every path below agrees on bits 0..bit-1, and `left`
   * holds those with the bit clear. The node may sit higher than depth `bit` (its parent branched
   * earlier): the levels in between have an EMPTY sibling.
   */
  readonly bit: number;
  readonly left: Node;
  readonly right: Node;
  /** Whether h0..h7 hold inner(left, right) as seen from depth `bit`. */
  hashed = false;
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  h4 = 0;
  h5 = 0;
  h6 = 0;
  h7 = 0;
  constructor(bit: number, left: Node, right: Node) {
    this.path = left.path;
    this.bit = bit;
    this.left = left;
    this.right = right;
  }
}

type Node = Leaf | Inner;
/** A subtree; null is the empty one. */
type Tree = Node | null;

function bitAt(path: string, i: number): number {
  return (path.charCodeAt(i >>> 3) >>> (7 - (i & 7))) & 1;
}

/** The number of leading bits two paths share (256 if equal). */
function commonPrefix(a: string, b: string): number {
  for (let i = 0; i < 32; i++) {
    const x = a.charCodeAt(i) ^ b.charCodeAt(i);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return STATE_PATH_BITS;
}

/** Index of the first item in [lo, hi) whose path has `bit` set; the items are sorted by path and agree before `bit`. */
function firstWithBit(
  items: readonly { readonly path: string }[],
  lo: number,
  hi: number,
  bit: number,
): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bitAt(items[mid]!.path, bit) === 1) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// ---- Hashing ------------------------------------------------------------------------------

const TMP_L = new HashBox();
const TMP_R = new HashBox();
const TMP_V = new HashBox();

/** Hashes n and every not-yet-hashed node below it. Unchanged subtrees are cached, so this visits only new nodes. */
function ensureHashed(n: Node): void {
  if (n.hashed) return;
  if (n instanceof Leaf) {
    hashValue(n.kv, n.keyLength, TMP_V);
    hashLeaf(n.path, TMP_V, n);
  } else {
    ensureHashed(n.left);
    ensureHashed(n.right);
    hashInner(hashAt(n.left, n.bit + 1, TMP_L), hashAt(n.right, n.bit + 1, TMP_R), n);
  }
  n.hashed = true;
}

/**
 * T of the (hashed) subtree n as placed at `depth`: a leaf stands for itself at any depth; an
 * inner node placed above its branching bit is wrapped in one inner hash per skipped level, with
 * EMPTY on the side its paths do not take. The result is in n itself or in `tmp`.
 */
function hashAt(n: Node, depth: number, tmp: HashBox): HashWords {
  if (n instanceof Leaf || n.bit === depth) return n;
  const path = n.path;
  tmp.h0 = n.h0;
  tmp.h1 = n.h1;
  tmp.h2 = n.h2;
  tmp.h3 = n.h3;
  tmp.h4 = n.h4;
  tmp.h5 = n.h5;
  tmp.h6 = n.h6;
  tmp.h7 = n.h7;
  for (let level = n.bit - 1; level >= depth; level--) {
    if (bitAt(path, level) === 1) hashInner(EMPTY_HASH, tmp, tmp);
    else hashInner(tmp, EMPTY_HASH, tmp);
  }
  return tmp;
}

// ---- Building and updating ----------------------------------------------------------------

/** A pending change: set (leaf) or delete (null). */
class Op {
  readonly path: string;
  readonly leaf: Leaf | null;
  constructor(path: string, leaf: Leaf | null) {
    this.path = path;
    this.leaf = leaf;
  }
}

function byPath(a: { readonly path: string }, b: { readonly path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Sorts by path, stably. Paths are uniform hashes, so a counting pass on their leading bits
 * leaves buckets of a few items each: for a million items about three times faster than a
 * comparison sort, which matters for the start-up rebuild.
 */
function sortByPath<T extends { readonly path: string }>(items: T[]): T[] {
  const n = items.length;
  if (n < 1024) return items.sort(byPath);
  const bits = Math.min(16, 29 - Math.clz32(n)); // about 4 to 8 items per bucket
  const shift = 16 - bits;
  const buckets = 1 << bits;
  const bucketOf = (path: string) => ((path.charCodeAt(0) << 8) | path.charCodeAt(1)) >>> shift;
  const ends = new Uint32Array(buckets + 1);
  for (const item of items) ends[bucketOf(item.path) + 1]!++;
  for (let b = 0; b < buckets; b++) ends[b + 1]! += ends[b]!;
  const out: T[] = new Array(n);
  for (const item of items) out[ends[bucketOf(item.path)]!++] = item;
  // ends[b] is now where bucket b ends.
  let start = 0;
  for (let b = 0; b < buckets; b++) {
    const end = ends[b]!;
    if (end - start <= 16) {
      // Insertion sort (stable) for the usual few items.
      for (let i = start + 1; i < end; i++) {
        const item = out[i]!;
        let j = i - 1;
        while (j >= start && out[j]!.path > item.path) {
          out[j + 1] = out[j]!;
          j--;
        }
        out[j + 1] = item;
      }
    } else {
      // Crowded only if keys were ground to share a prefix: still n log n.
      const part = out.slice(start, end).sort(byPath);
      for (let i = 0; i < part.length; i++) out[start + i] = part[i]!;
    }
    start = end;
  }
  return out;
}

/** Sorts by path and keeps, of several items with one path, the last given. */
function sortLastWins<T extends { readonly path: string }>(items: T[]): T[] {
  const sorted = sortByPath(items);
  let w = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i + 1 < sorted.length && sorted[i + 1]!.path === sorted[i]!.path) continue;
    sorted[w++] = sorted[i]!;
  }
  sorted.length = w;
  return sorted;
}

/** The canonical subtree of leaves[lo, hi), sorted by path with distinct paths. */
function build(leaves: readonly Leaf[], lo: number, hi: number): Tree {
  if (hi - lo <= 1) return hi > lo ? leaves[lo]! : null;
  const bit = commonPrefix(leaves[lo]!.path, leaves[hi - 1]!.path);
  const mid = firstWithBit(leaves, lo, hi, bit);
  // First and last differ at `bit`, so both halves hold at least one leaf.
  return new Inner(bit, build(leaves, lo, mid)!, build(leaves, mid, hi)!);
}

/** Change in entry count during one merge (merges are synchronous, so module state is safe). */
let sizeDelta = 0;

/** The subtree of the sets among ops[lo, hi) where nothing was before (deletes there are of absent keys). */
function buildFromOps(ops: readonly Op[], lo: number, hi: number): Tree {
  if (hi - lo === 1) {
    const leaf = ops[lo]!.leaf;
    if (leaf !== null) sizeDelta++;
    return leaf;
  }
  const leaves: Leaf[] = [];
  for (let i = lo; i < hi; i++) {
    const leaf = ops[i]!.leaf;
    if (leaf !== null) leaves.push(leaf);
  }
  sizeDelta += leaves.length;
  return build(leaves, 0, leaves.length);
}

/** Two sibling subtrees under a branch on `bit`, collapsed when either is empty (the canonical form). */
function join(bit: number, left: Tree, right: Tree): Tree {
  if (left === null) return right;
  if (right === null) return left;
  return new Inner(bit, left, right);
}

/** Applies ops[lo, hi) (sorted, distinct paths) to the leaf `leaf`. */
function mergeLeaf(leaf: Leaf, ops: readonly Op[], lo: number, hi: number): Tree {
  if (hi - lo === 1 && ops[lo]!.path === leaf.path) {
    const next = ops[lo]!.leaf;
    if (next === null) {
      sizeDelta--;
      return null;
    }
    // Writing the value it already has keeps the (hashed) leaf, so the tree comes back unchanged.
    return next.kv === leaf.kv ? leaf : next;
  }
  const leaves: Leaf[] = [];
  let placed = false;
  for (let i = lo; i < hi; i++) {
    const op = ops[i]!;
    if (!placed && op.path >= leaf.path) {
      placed = true;
      if (op.path === leaf.path) {
        if (op.leaf === null) sizeDelta--;
        else leaves.push(op.leaf.kv === leaf.kv ? leaf : op.leaf);
        continue;
      }
      leaves.push(leaf);
    }
    if (op.leaf !== null) {
      leaves.push(op.leaf);
      sizeDelta++;
    }
  }
  if (!placed) leaves.push(leaf);
  return build(leaves, 0, leaves.length);
}

/**
 * Applies ops[lo, hi) (sorted, distinct paths, all agreeing with this position on their first
 * `depth` bits) to the subtree n at `depth`. Untouched subtrees are returned as they are, so
 * an update copies only the nodes on its paths.
 */
function merge(n: Tree, depth: number, ops: readonly Op[], lo: number, hi: number): Tree {
  if (lo >= hi) return n;
  if (n === null) return buildFromOps(ops, lo, hi);
  if (n instanceof Leaf) return mergeLeaf(n, ops, lo, hi);
  const bit = n.bit;
  if (bit > depth) {
    // Some paths may leave n's common prefix before its branching bit. The ops are sorted, so
    // the least shared prefix among them is that of the first or the last.
    const ref = n.path;
    const c = Math.min(commonPrefix(ops[lo]!.path, ref), commonPrefix(ops[hi - 1]!.path, ref));
    if (c < bit) {
      const mid = firstWithBit(ops, lo, hi, c);
      return bitAt(ref, c) === 0
        ? join(c, merge(n, c + 1, ops, lo, mid), buildFromOps(ops, mid, hi))
        : join(c, buildFromOps(ops, lo, mid), merge(n, c + 1, ops, mid, hi));
    }
  }
  const mid = firstWithBit(ops, lo, hi, bit);
  const left = merge(n.left, bit + 1, ops, lo, mid);
  const right = merge(n.right, bit + 1, ops, mid, hi);
  if (left === n.left && right === n.right) return n;
  return join(bit, left, right);
}

/**
 * merge() for one change, without the batch bookkeeping (set and delete): sets (leaf) or deletes
 * (null) the entry at `path` in the subtree n at `depth`.
 */
function insert(n: Tree, depth: number, path: string, leaf: Leaf | null): Tree {
  if (n === null) {
    if (leaf !== null) sizeDelta++;
    return leaf;
  }
  if (n.path === path) {
    // Either n is the key's leaf, or n is an inner node whose leftmost leaf is the key's: then
    // the path follows n's prefix and we go down below.
    if (n instanceof Leaf) {
      if (leaf === null) {
        sizeDelta--;
        return null;
      }
      return leaf.kv === n.kv ? n : leaf;
    }
  } else if (n instanceof Leaf || n.bit > depth) {
    // Where the path leaves n's common prefix, the key is absent: a new branch or nothing.
    const c = commonPrefix(path, n.path);
    if (n instanceof Leaf || c < n.bit) {
      if (leaf === null) return n;
      sizeDelta++;
      return bitAt(path, c) === 1 ? new Inner(c, n, leaf) : new Inner(c, leaf, n);
    }
  }
  const inner = n as Inner;
  const goRight = bitAt(path, inner.bit) === 1;
  const child = goRight ? inner.right : inner.left;
  const next = insert(child, inner.bit + 1, path, leaf);
  if (next === child) return inner;
  return goRight ? join(inner.bit, inner.left, next) : join(inner.bit, next, inner.right);
}

// ---- Byte strings -------------------------------------------------------------------------

const KV_SCRATCH_BYTES = 64 * 1024;
const kvScratch = Buffer.allocUnsafeSlow(KV_SCRATCH_BYTES);

/** key || value as a one-byte-per-character string (a flat string, not a rope). */
function packKv(key: Uint8Array, value: Uint8Array): string {
  const n = key.length + value.length;
  // Rare large entries get a buffer of their own rather than growing the scratch for good.
  const buf = n <= KV_SCRATCH_BYTES ? kvScratch : Buffer.allocUnsafeSlow(n);
  buf.set(key, 0);
  buf.set(value, key.length);
  return buf.toString('latin1', 0, n);
}

function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new StateTreeError('state key must be a Uint8Array');
}

function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StateTreeError('state value must be a Uint8Array');
}

function newLeaf(key: Uint8Array, value: Uint8Array): Leaf {
  return new Leaf(keyPath(key), packKv(key, value), key.length);
}

// ---- The tree -----------------------------------------------------------------------------

/**
 * An immutable authenticated map from byte strings to byte strings. Updates return a new tree
 * and leave this one intact; versions share their unchanged nodes. Keys and values are copied
 * in and copied out, so no caller can change a tree by mutating an array.
 */
export class StateTree {
  /** The number of entries. */
  readonly size: number;
  readonly #node: Tree;

  private constructor(node: Tree, size: number) {
    this.#node = node;
    this.size = size;
  }

  static readonly #EMPTY = new StateTree(null, 0);

  /** The empty map; its root is EMPTY = taggedHash('synod/smt/empty'). */
  static empty(): StateTree {
    return StateTree.#EMPTY;
  }

  /**
   * Builds a tree from entries in any order (of several entries with one key, the last wins).
   * Sorts once by path and builds bottom-up with one node per branch: the start-up rebuild from
   * the flat state. Hashing is left to the first root().
   */
  static fromEntries(entries: Iterable<readonly [Uint8Array, Uint8Array]>): StateTree {
    const leaves: Leaf[] = [];
    for (const [key, value] of entries) {
      checkKey(key);
      checkValue(value);
      leaves.push(newLeaf(key, value));
    }
    const sorted = sortLastWins(leaves);
    return new StateTree(build(sorted, 0, sorted.length), sorted.length);
  }

  /** The value under key (a fresh copy), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    const leaf = find(this.#node, keyPath(key));
    return leaf === undefined ? undefined : byteStringToBytes(leaf.kv, leaf.keyLength);
  }

  /** Whether key has a value. */
  has(key: Uint8Array): boolean {
    checkKey(key);
    return find(this.#node, keyPath(key)) !== undefined;
  }

  /** A tree with key set to value (this tree itself when key already has exactly that value). */
  set(key: Uint8Array, value: Uint8Array): StateTree {
    checkKey(key);
    checkValue(value);
    const leaf = newLeaf(key, value);
    return this.#insert(leaf.path, leaf);
  }

  /** A tree without key (this tree itself when key has no value). */
  delete(key: Uint8Array): StateTree {
    checkKey(key);
    return this.#insert(keyPath(key), null);
  }

  /**
   * A tree with every change applied: [key, value] sets, [key, null] deletes; of several changes
   * to one key the last wins. One pass over the tree: the nodes the changed paths share are
   * copied once, not once per change.
   */
  setMany(changes: Iterable<readonly [Uint8Array, Uint8Array | null]>): StateTree {
    const ops: Op[] = [];
    for (const [key, value] of changes) {
      checkKey(key);
      if (value === null) {
        ops.push(new Op(keyPath(key), null));
      } else {
        checkValue(value);
        const leaf = newLeaf(key, value);
        ops.push(new Op(leaf.path, leaf));
      }
    }
    return this.#apply(sortLastWins(ops));
  }

  #insert(path: string, leaf: Leaf | null): StateTree {
    sizeDelta = 0;
    const node = insert(this.#node, 0, path, leaf);
    return node === this.#node ? this : new StateTree(node, this.size + sizeDelta);
  }

  #apply(ops: readonly Op[]): StateTree {
    if (ops.length === 0) return this;
    sizeDelta = 0;
    const node = merge(this.#node, 0, ops, 0, ops.length);
    return node === this.#node ? this : new StateTree(node, this.size + sizeDelta);
  }

  /** The 32-byte Merkle root of the whole map (hashes only the nodes not hashed before). */
  root(): Uint8Array {
    const n = this.#node;
    if (n === null) return wordsToBytes(EMPTY_HASH);
    ensureHashed(n);
    return wordsToBytes(hashAt(n, 0, TMP_L));
  }

  /** A proof of key's value, or of its absence, against root(). */
  prove(key: Uint8Array): StateProof {
    checkKey(key);
    const path = keyPath(key);
    const siblings: Uint8Array[] = [];
    let n = this.#node;
    if (n !== null) ensureHashed(n);
    let depth = 0;
    while (n !== null) {
      if (n instanceof Leaf) {
        if (n.path === path) return { siblings };
        hashValue(n.kv, n.keyLength, TMP_V);
        return { siblings, leaf: { keyHash: byteStringToBytes(n.path), valueHash: wordsToBytes(TMP_V) } };
      }
      const bit = n.bit;
      // Where the path leaves n's common prefix above its branching bit, it ends in an empty
      // subtree whose sibling is n itself.
      const c = bit > depth ? commonPrefix(path, n.path) : bit;
      const end = Math.min(c, bit);
      for (let level = depth; level < end; level++) siblings.push(wordsToBytes(EMPTY_HASH));
      if (c < bit) {
        siblings.push(wordsToBytes(hashAt(n, c + 1, TMP_L)));
        return { siblings };
      }
      const goRight = bitAt(path, bit) === 1;
      siblings.push(wordsToBytes(hashAt(goRight ? n.left : n.right, bit + 1, TMP_L)));
      n = goRight ? n.right : n.left;
      depth = bit + 1;
    }
    return { siblings };
  }

  /** Every [key, value] (fresh copies), in the order of their paths (SHA-256 of the key). */
  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    const stack: Node[] = [];
    if (this.#node !== null) stack.push(this.#node);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n instanceof Leaf) {
        yield [byteStringToBytes(n.kv, 0, n.keyLength), byteStringToBytes(n.kv, n.keyLength)];
      } else {
        stack.push(n.right, n.left);
      }
    }
  }

  [Symbol.iterator](): IterableIterator<[Uint8Array, Uint8Array]> {
    return this.entries();
  }
}

function find(n: Tree, path: string): Leaf | undefined {
  // Branch bits alone lead to the only leaf the path could be; the path check at the end
  // covers the levels a compressed node skipped.
  while (n instanceof Inner) n = bitAt(path, n.bit) === 1 ? n.right : n.left;
  return n !== null && n.path === path ? n : undefined;
}

// ---- Proofs: verification and encoding ----------------------------------------------------
// Verification uses crypto/hash.ts directly, not the tree's word-level hasher: it is the
// light client's code path, and it cross-checks the tree in every proof test.

const EMPTY_BYTES = taggedHash(TAG_EMPTY);

function isHash(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === HASH_LENGTH;
}

function isWellFormed(proof: unknown): proof is StateProof {
  if (typeof proof !== 'object' || proof === null) return false;
  const { siblings, leaf } = proof as { siblings?: unknown; leaf?: unknown };
  if (!Array.isArray(siblings) || siblings.length > STATE_PATH_BITS) return false;
  for (const s of siblings) if (!isHash(s)) return false;
  if (leaf === undefined) return true;
  if (typeof leaf !== 'object' || leaf === null) return false;
  const { keyHash, valueHash } = leaf as { keyHash?: unknown; valueHash?: unknown };
  return isHash(keyHash) && isHash(valueHash);
}

function bitOfBytes(path: Uint8Array, i: number): number {
  return (path[i >>> 3]! >>> (7 - (i & 7))) & 1;
}

function commonPrefixBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < HASH_LENGTH; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return STATE_PATH_BITS;
}

/**
 * Whether `proof` shows that, under `root`, `key` has exactly `value` (value non-null) or has no
 * value (value null). Pure and standalone: a light client needs no tree. Never throws; a
 * malformed proof is simply false.
 */
export function verifyStateProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
): boolean {
  if (!isHash(root) || !(key instanceof Uint8Array)) return false;
  if (value !== null && !(value instanceof Uint8Array)) return false;
  if (!isWellFormed(proof)) return false;
  const path = sha256(key);
  const siblings = proof.siblings;
  const depth = siblings.length;
  let h: Uint8Array;
  if (value !== null) {
    if (proof.leaf !== undefined) return false;
    h = taggedHash(TAG_LEAF, path, taggedHash(TAG_VALUE, value));
  } else if (proof.leaf !== undefined) {
    // The other leaf must be a different key: else a present key's own leaf, shown as a
    // "neighbour", would prove its absence. That it lies on this key's path down to the proof's
    // depth already follows from the root matching (an honest tree puts a leaf only under its
    // own path's prefix); checked anyway, as it is the definition and costs nothing.
    const other = proof.leaf.keyHash;
    if (commonPrefixBytes(other, path) < depth || bytesEqual(other, path)) return false;
    h = taggedHash(TAG_LEAF, other, proof.leaf.valueHash);
  } else {
    h = EMPTY_BYTES;
  }
  for (let i = depth - 1; i >= 0; i--) {
    const s = siblings[i]!;
    h = bitOfBytes(path, i) === 1 ? taggedHash(TAG_INNER, s, h) : taggedHash(TAG_INNER, h, s);
  }
  return bytesEqual(h, root);
}

/**
 * The canonical bytes of a proof: encode({depth, empty, siblings, leaf?}) where `empty` is a
 * bitmap of ceil(depth / 8) bytes, bit i (most significant first) set when siblings[i] is EMPTY,
 * `siblings` concatenates the other siblings top-down, and `leaf` is keyHash || valueHash.
 * About 32 bytes per level; EMPTY siblings cost one bit.
 */
export function encodeStateProof(proof: StateProof): Uint8Array {
  if (!isWellFormed(proof)) throw new StateTreeError('malformed state proof');
  const depth = proof.siblings.length;
  const empty = new Uint8Array((depth + 7) >>> 3);
  const kept: Uint8Array[] = [];
  proof.siblings.forEach((s, i) => {
    if (bytesEqual(s, EMPTY_BYTES)) empty[i >>> 3]! |= 0x80 >>> (i & 7);
    else kept.push(s);
  });
  const m: ValueMap = { depth, empty, siblings: Buffer.concat(kept) };
  if (proof.leaf !== undefined) m.leaf = Buffer.concat([proof.leaf.keyHash, proof.leaf.valueHash]);
  return encode(m);
}

/** Parses encodeStateProof bytes; anything but exactly that canonical form throws EncodingError. */
export function decodeStateProof(bytes: Uint8Array): StateProof {
  const what = 'state proof';
  const m = asMap(decode(bytes), what);
  expectKeys(m, ['depth', 'empty', 'siblings'], ['leaf'], what);
  const depth = asNumber(m.depth, `${what} depth`);
  if (depth > STATE_PATH_BITS) throw new EncodingError(`${what}: depth ${depth} above ${STATE_PATH_BITS}`);
  const empty = asBytes(m.empty, `${what} empty`, (depth + 7) >>> 3);
  if ((depth & 7) !== 0 && (empty[empty.length - 1]! & (0xff >>> (depth & 7))) !== 0) {
    throw new EncodingError(`${what}: bits set past the depth in the empty bitmap`);
  }
  let emptyCount = 0;
  for (let i = 0; i < depth; i++) emptyCount += bitOfBytes(empty, i);
  const packed = asBytes(m.siblings, `${what} siblings`, HASH_LENGTH * (depth - emptyCount));
  const siblings: Uint8Array[] = [];
  let j = 0;
  for (let i = 0; i < depth; i++) {
    if (bitOfBytes(empty, i) === 1) {
      siblings.push(EMPTY_BYTES.slice());
      continue;
    }
    const s = packed.slice(j, j + HASH_LENGTH);
    j += HASH_LENGTH;
    // A second spelling of the same proof would break encode(decode(b)) = b.
    if (bytesEqual(s, EMPTY_BYTES)) throw new EncodingError(`${what}: EMPTY sibling ${i} not in the bitmap`);
    siblings.push(s);
  }
  if (m.leaf === undefined) return { siblings };
  const leaf = asBytes(m.leaf, `${what} leaf`, 2 * HASH_LENGTH);
  return { siblings, leaf: { keyHash: leaf.slice(0, HASH_LENGTH), valueHash: leaf.slice(HASH_LENGTH) } };
}
