/**
 * The block store: committed blocks, their certificates and receipts, the lookup indexes and
 * the latest flat state, in one LevelDB database (package `level`, binary keys and values).
 *
 * Key space. Every key starts with a one-byte bucket prefix; integers are big-endian so that
 * LevelDB's byte order is numeric order (range scans walk heights and indexes in order).
 *
 * | prefix | bucket      | key                                            | value                              |
 * |--------|-------------|------------------------------------------------|------------------------------------|
 * | 0x01   | header      | height:u64                                     | encodeHeader(header)               |
 * | 0x02   | blockTx     | height:u64 ‖ index:u32                         | encodeSignedTx(tx)                 |
 * | 0x03   | receipt     | height:u64 ‖ index:u32                         | encodeReceipt(receipt)             |
 * | 0x04   | cert        | height:u64                                     | encodeCert(cert) (none at 0)       |
 * | 0x05   | blockHash   | blockHash:32                                   | height:u64                         |
 * | 0x06   | txLocation  | txHash:32                                      | height:u64 ‖ index:u32             |
 * | 0x07   | accountTx   | address:20 ‖ height:u64 ‖ index:u32            | txHash:32                          |
 * | 0x08   | state       | state key (the ledger's namespaced key)        | value (latest state only)          |
 * | 0x09   | meta        | name (UTF-8)                                   | see META below                     |
 *
 * A block is its header plus its transactions, stored one entry per transaction (and one per
 * receipt) under the block's height: reading a block is one range scan, and reading one
 * transaction by hash is two point reads rather than decoding a whole (up to 4 MB) block.
 *
 * `accountTx` holds one entry per (address involved, tx): the sender, and the account a tx
 * names (transfer recipient, registered or revoked key). "An account's newest txs before a
 * cursor" is a reverse range scan from address ‖ cursor.
 *
 * `state` is the flat latest state: the ledger's state keys and values after the latest
 * block. The node rebuilds its authenticated state tree from it at start-up; history is in
 * the blocks, not here.
 *
 * Atomicity and durability. `commitBlock` writes everything a block changes (header, txs,
 * receipts, certificate, indexes, state diff, latest height) in ONE `db.batch`. LevelDB
 * appends a batch to its write-ahead log as one checksummed record before applying it; on
 * reopen the log is replayed and a torn last record is dropped, so a crash at any point leaves
 * the store at the previous block or the new one, never between. Durability is a separate
 * question: without `sync` a write resolves once it is in the OS page cache, which survives a
 * kill -9 of the process but not a power loss or kernel crash. Block commits therefore use
 * `{ sync: true }` (LevelDB fsyncs the log before resolving), so a block this node has
 * committed, and may have told clients about, survives power loss.
 *
 * Cost (2-core VM, ext4, median per commit, measured while other work loaded the machine):
 * empty block 0.3-0.5 ms synced vs 0.13 ms unsynced; 10 txs + 30 state writes 1-2 ms vs
 * 0.9 ms; 50 txs + 150 writes 7 ms vs 4 ms. The fsync adds about 0.3-3 ms per block; the rest
 * is level's per-operation cost (about 5 operations per tx), which grows with the block.
 */
import { Level } from 'level';
import { ADDRESS_LENGTH, type Address, addressOf } from '../crypto/ed25519.js';
import { bytesEqual, type Hash, toHex } from '../crypto/hash.js';
import { IN_HEAP_BYTES_MAX } from '../crypto/transient-bytes.js';
import {
  blockHash,
  decodeCert,
  decodeHeader,
  decodeReceipt,
  decodeSignedTx,
  encodeCert,
  encodeHeader,
  encodeReceipt,
  encodeSignedTx,
  txHash,
} from '../ledger/codec.js';
import type { Block, BlockHeader, CommitCertificate, Receipt, SignedTransaction } from '../ledger/types.js';

export const STORE_SCHEMA_VERSION = 1;
/** Largest page a range read returns. */
export const STORE_PAGE_LIMIT_MAX = 1_000;

const P_HEADER = 0x01;
const P_BLOCK_TX = 0x02;
const P_RECEIPT = 0x03;
const P_CERT = 0x04;
const P_BLOCK_HASH = 0x05;
const P_TX_LOCATION = 0x06;
const P_ACCOUNT_TX = 0x07;
const P_STATE = 0x08;
const P_META = 0x09;

/** Names in the meta bucket. */
const META = {
  /** u32: STORE_SCHEMA_VERSION of the store's layout, written when the store is created. */
  schemaVersion: 'schemaVersion',
  /** u64: height of the latest committed block; absent while the store is empty. */
  latestHeight: 'latestHeight',
  /** 32 bytes: hash of block 0, written with block 0. */
  genesisHash: 'genesisHash',
  /** UTF-8: the chain id of block 0, written with block 0. */
  chainId: 'chainId',
} as const;

// ---- errors ------------------------------------------------------------------------------

export type StoreErrorCode =
  /** The block's height is not latest height + 1. */
  | 'HEIGHT_MISMATCH'
  /** The block's parentHash is not the hash of the stored latest block. */
  | 'PARENT_MISMATCH'
  /** The block's chain id is not the stored chain's. */
  | 'CHAIN_ID_MISMATCH'
  /** A block above height 0 came without its commit certificate. */
  | 'CERT_MISSING'
  /** The receipts do not match the block's transactions one to one (count or tx hash). */
  | 'RECEIPTS_MISMATCH'
  /** A state diff entry is not [non-empty bytes, bytes | null]. */
  | 'BAD_DIFF'
  /** A read was asked for an invalid height, cursor or page size. */
  | 'BAD_ARGUMENT'
  /** The folder holds a store of another schema version. */
  | 'SCHEMA_MISMATCH'
  /** The database could not be opened (in use by another process, unreadable). */
  | 'OPEN_FAILED'
  /** LevelDB refused the batch (disk full, I/O error): nothing of the block was written. */
  | 'WRITE_FAILED'
  /** Stored bytes did not decode: the database is damaged. */
  | 'CORRUPT'
  /** The store was used after close(). */
  | 'CLOSED';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- shapes ------------------------------------------------------------------------------

/** A changed state key: the new value, or null when the key was deleted. */
export type StateDiffEntry = readonly [key: Uint8Array, value: Uint8Array | null];
/**
 * The state keys a block changed (what block execution yields). Read-only, so the ledger's
 * StateDiff (ledger/state.ts) and `as const` tuples are both accepted.
 */
export type StateDiff = readonly StateDiffEntry[];

export interface CommitInput {
  block: Block;
  /** The block's commit certificate; null only for block 0. */
  cert: CommitCertificate | null;
  /** One receipt per transaction, in block order. */
  receipts: readonly Receipt[];
  /** The state changes of the block (for block 0: the whole genesis state). */
  diff: StateDiff;
}

/** Position of a transaction in the chain; also the cursor of account pages. */
export interface TxLocation {
  height: number;
  index: number;
}

export interface StoredTx extends TxLocation {
  tx: SignedTransaction;
  receipt: Receipt;
}

export interface AccountTxRef extends TxLocation {
  hash: Hash;
}

export interface PageOptions<C> {
  /** Exclusive cursor: only entries strictly older than it. */
  before?: C;
  /** 1..STORE_PAGE_LIMIT_MAX */
  limit: number;
}

export interface StoreOptions {
  /** fsync each block commit (default true). Tests on throwaway folders may turn it off. */
  sync?: boolean;
}

export type StoreDb = Level<Uint8Array, Uint8Array>;

// ---- key encoding ------------------------------------------------------------------------

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

// Big-endian writes by hand: a DataView per number allocated more than the key it went into,
// and a block of transfers builds about five keys per transaction.
function putU32(b: Uint8Array, at: number, n: number): void {
  b[at] = n >>> 24;
  b[at + 1] = (n >>> 16) & 0xff;
  b[at + 2] = (n >>> 8) & 0xff;
  b[at + 3] = n & 0xff;
}

function putU64(b: Uint8Array, at: number, n: number): void {
  putU32(b, at, Math.floor(n / 2 ** 32));
  putU32(b, at + 4, n >>> 0);
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  putU64(b, 0, n);
  return b;
}

function readU64(b: Uint8Array, offset = 0): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(offset) * 2 ** 32 + v.getUint32(offset + 4);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  putU32(b, 0, n);
  return b;
}

function readU32(b: Uint8Array, offset = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(offset);
}

function key(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 1;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  out[0] = prefix;
  let o = 1;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** prefix ‖ middle ‖ u64(height) ‖ u32(index), in one allocation (prefix -1: none). */
function positionKey(prefix: number, height: number, index: number, middle?: Uint8Array): Uint8Array {
  const start = prefix < 0 ? 0 : 1;
  const m = middle?.length ?? 0;
  const out = new Uint8Array(start + m + 12);
  if (start) out[0] = prefix;
  if (middle) out.set(middle, start);
  putU64(out, start + m, height);
  putU32(out, start + m + 8, index);
  return out;
}

/** The smallest key above every key that starts with `prefix`. */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]! += 1;
      return out.subarray(0, i + 1);
    }
  }
  throw new Error('prefixEnd: prefix is all 0xff');
}

const headerKey = (h: number) => key(P_HEADER, u64(h));
const blockTxKey = (h: number, i: number) => positionKey(P_BLOCK_TX, h, i);
const receiptKey = (h: number, i: number) => positionKey(P_RECEIPT, h, i);
const certKey = (h: number) => key(P_CERT, u64(h));
const blockHashKey = (hash: Hash) => key(P_BLOCK_HASH, hash);
const txLocationKey = (hash: Hash) => key(P_TX_LOCATION, hash);
const accountTxKey = (a: Address, h: number, i: number) => positionKey(P_ACCOUNT_TX, h, i, a);
/** A transaction's location: u64(height) ‖ u32(index). */
const txLocation = (h: number, i: number) => positionKey(-1, h, i);
const stateKey = (k: Uint8Array) => key(P_STATE, k);
const metaKey = (name: string) => key(P_META, utf8.encode(name));

/**
 * The accounts a transaction involves, for the account index: its sender and the account it
 * names, each once.
 */
export function txAddresses(stx: SignedTransaction): Address[] {
  const out: Address[] = [stx.tx.from];
  const add = (a: Address) => {
    if (!out.some((x) => bytesEqual(x, a))) out.push(a);
  };
  switch (stx.tx.kind) {
    case 'asset.transfer':
      add(stx.tx.body.to);
      break;
    case 'identity.register':
      add(addressOf(stx.tx.body.publicKey));
      break;
    case 'identity.revoke':
      add(stx.tx.body.address);
      break;
    case 'identity.rotate':
      // The account moves to the new key's address: its history starts with the rotation.
      add(addressOf(stx.tx.body.newPublicKey));
      break;
    default:
      break;
  }
  return out;
}

function checkHeight(height: number, what = 'height'): void {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new StoreError('BAD_ARGUMENT', `${what}: expected a non-negative integer, got ${height}`);
  }
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > STORE_PAGE_LIMIT_MAX) {
    throw new StoreError(
      'BAD_ARGUMENT',
      `limit: expected an integer in 1..${STORE_PAGE_LIMIT_MAX}, got ${limit}`,
    );
  }
}

/**
 * LevelDB hands back Node Buffers. Callers get plain Uint8Arrays (Buffer's slice shares memory
 * and its equality differs), so values are viewed (before decoding) or copied (when returned).
 */
function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

function decoded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new StoreError('CORRUPT', `${what}: stored bytes do not decode: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/**
 * Moves the batch's small keys and values into one shared buffer. Why: a typed array small
 * enough to live inside the JS heap has no native memory of its own, and the first time native
 * code asks for its bytes (LevelDB's batch does, for every key and value) V8 moves it out: a
 * malloc, and later a free and a sweep, per key. A block of transfers has about seven such keys
 * and values per transaction; they were most of a node's ArrayBuffer allocations.
 */
function packSmall(ops: BatchOp[]): void {
  let total = 0;
  for (const op of ops) {
    if (op.key.length <= IN_HEAP_BYTES_MAX) total += op.key.length;
    if (op.type === 'put' && op.value.length <= IN_HEAP_BYTES_MAX) total += op.value.length;
  }
  if (total <= IN_HEAP_BYTES_MAX) return;
  const arena = new Uint8Array(total);
  let at = 0;
  const place = (b: Uint8Array): Uint8Array => {
    if (b.length > IN_HEAP_BYTES_MAX) return b;
    arena.set(b, at);
    at += b.length;
    return arena.subarray(at - b.length, at);
  };
  for (const op of ops) {
    op.key = place(op.key);
    if (op.type === 'put') op.value = place(op.value);
  }
}

// ---- the store ---------------------------------------------------------------------------

export class BlockStore {
  private latest = -1;
  private latestBlockHash: Hash | null = null;
  private genesis: Hash | null = null;
  private chain: string | null = null;
  private closed = false;
  /** Commits run one at a time: each checks its height against the previous one's result. */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: StoreDb,
    private readonly sync: boolean,
  ) {}

  /** Opens (creating if needed) the store in folder `dir`. */
  static async open(dir: string, opts: StoreOptions = {}): Promise<BlockStore> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    return BlockStore.openDb(db, opts);
  }

  /** Opens the store over a Level instance the caller built (binary `view` encodings). */
  static async openDb(db: StoreDb, opts: StoreOptions = {}): Promise<BlockStore> {
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      const why = cause?.code === 'LEVEL_LOCKED' ? 'it is in use by another process' : (err as Error).message;
      throw new StoreError('OPEN_FAILED', `cannot open the block store at ${db.location}: ${why}`, {
        cause: err,
      });
    }
    const store = new BlockStore(db, opts.sync ?? true);
    try {
      await store.loadMeta();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  private async loadMeta(): Promise<void> {
    const version = await this.db.get(metaKey(META.schemaVersion));
    if (version === undefined) {
      await this.db.put(metaKey(META.schemaVersion), u32(STORE_SCHEMA_VERSION), { sync: this.sync });
    } else if (readU32(version) !== STORE_SCHEMA_VERSION) {
      throw new StoreError(
        'SCHEMA_MISMATCH',
        `the block store has schema version ${readU32(version)}, this node reads ${STORE_SCHEMA_VERSION}`,
      );
    }
    const latest = await this.db.get(metaKey(META.latestHeight));
    if (latest === undefined) return;
    this.latest = readU64(latest);
    const header = await this.getHeader(this.latest);
    if (header === null) {
      throw new StoreError('CORRUPT', `latest height ${this.latest} has no stored header`);
    }
    this.latestBlockHash = blockHash(header);
    const genesis = await this.db.get(metaKey(META.genesisHash));
    this.genesis = genesis === undefined ? null : copy(genesis);
    const chain = await this.db.get(metaKey(META.chainId));
    this.chain = chain === undefined ? null : utf8Decoder.decode(chain);
  }

  /**
   * LevelDB's own estimate of the memory it holds (memtables and block cache), in bytes, or
   * undefined where the backend does not say (only classic-level, Node's backend, does).
   */
  memoryBytes(): number | undefined {
    const db = this.db as StoreDb & { getProperty?: (name: string) => string };
    if (this.closed || typeof db.getProperty !== 'function') return undefined;
    const n = Number(db.getProperty('leveldb.approximate-memory-usage'));
    return Number.isFinite(n) ? n : undefined;
  }

  /** Height of the latest committed block; -1 while the store is empty. */
  latestHeight(): number {
    return this.latest;
  }

  /** Hash of the latest committed block; null while the store is empty. */
  latestHash(): Hash | null {
    return this.latestBlockHash;
  }

  /** Hash of block 0; null until it is committed. */
  genesisHash(): Hash | null {
    return this.genesis;
  }

  /** Chain id of block 0; null until it is committed. */
  chainId(): string | null {
    return this.chain;
  }

  /**
   * Writes a block with everything it changes in one atomic, synced batch and returns its
   * hash. Refuses (StoreError) a block that does not extend the stored latest block.
   */
  commitBlock(input: CommitInput): Promise<Hash> {
    const run = this.tail.then(() => this.doCommit(input));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async doCommit({ block, cert, receipts, diff }: CommitInput): Promise<Hash> {
    if (this.closed) throw new StoreError('CLOSED', 'the block store is closed');
    const { header, txs } = block;
    const h = header.height;
    if (h !== this.latest + 1) {
      throw new StoreError(
        'HEIGHT_MISMATCH',
        `block height ${h} does not follow the latest height ${this.latest}`,
      );
    }
    if (h > 0) {
      if (!bytesEqual(header.parentHash, this.latestBlockHash!)) {
        throw new StoreError(
          'PARENT_MISMATCH',
          `block ${h} has parent ${toHex(header.parentHash)}, the stored block ${this.latest} is ${toHex(this.latestBlockHash!)}`,
        );
      }
      if (header.chainId !== this.chain) {
        throw new StoreError(
          'CHAIN_ID_MISMATCH',
          `block ${h} is for chain '${header.chainId}', not '${this.chain}'`,
        );
      }
      if (cert === null) throw new StoreError('CERT_MISSING', `block ${h} has no commit certificate`);
    }
    if (receipts.length !== txs.length) {
      throw new StoreError(
        'RECEIPTS_MISMATCH',
        `block ${h} has ${txs.length} txs but ${receipts.length} receipts`,
      );
    }

    const hash = blockHash(header);
    const ops: BatchOp[] = [
      { type: 'put', key: headerKey(h), value: encodeHeader(header) },
      { type: 'put', key: blockHashKey(hash), value: u64(h) },
    ];
    if (cert !== null) ops.push({ type: 'put', key: certKey(h), value: encodeCert(cert) });
    txs.forEach((stx, i) => {
      const bytes = encodeSignedTx(stx);
      const receipt = receipts[i]!;
      const th = txHash(stx); // remembered beside the transaction since it was admitted
      if (!bytesEqual(receipt.txHash, th)) {
        throw new StoreError(
          'RECEIPTS_MISMATCH',
          `block ${h}: receipt ${i} is not for tx ${i} (${toHex(th)})`,
        );
      }
      ops.push({ type: 'put', key: blockTxKey(h, i), value: bytes });
      ops.push({ type: 'put', key: receiptKey(h, i), value: encodeReceipt(receipt) });
      ops.push({ type: 'put', key: txLocationKey(th), value: txLocation(h, i) });
      for (const a of txAddresses(stx)) ops.push({ type: 'put', key: accountTxKey(a, h, i), value: th });
    });
    diff.forEach((entry, i) => {
      const [k, v] = entry;
      if (!(k instanceof Uint8Array) || k.length === 0 || !(v === null || v instanceof Uint8Array)) {
        throw new StoreError(
          'BAD_DIFF',
          `block ${h}: state diff entry ${i} is not [non-empty bytes, bytes | null]`,
        );
      }
      ops.push(v === null ? { type: 'del', key: stateKey(k) } : { type: 'put', key: stateKey(k), value: v });
    });
    if (h === 0) {
      ops.push({ type: 'put', key: metaKey(META.genesisHash), value: hash });
      ops.push({ type: 'put', key: metaKey(META.chainId), value: utf8.encode(header.chainId) });
    }
    // The latest height moves in the same batch as the block, so it never points past it.
    ops.push({ type: 'put', key: metaKey(META.latestHeight), value: u64(h) });
    packSmall(ops);

    try {
      // A chained batch, not db.batch(ops): abstract-level copies and re-checks every op of an
      // array batch (about 10 µs each); the chained form costs 1-2 µs per op, and a block of
      // transfers writes 7 ops per transaction.
      const batch = this.db.batch();
      try {
        for (const op of ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
      } catch (err) {
        // Never written, so never closed by write(): release it here.
        await batch.close();
        throw err;
      }
      await batch.write({ sync: this.sync });
    } catch (err) {
      throw new StoreError('WRITE_FAILED', `block ${h} was not written: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // Memory follows the disk only after the batch is durable.
    this.latest = h;
    this.latestBlockHash = hash;
    if (h === 0) {
      this.genesis = hash;
      this.chain = header.chainId;
    }
    return hash;
  }

  private async get(k: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.closed) throw new StoreError('CLOSED', 'the block store is closed');
    return this.db.get(k);
  }

  /** The header at `height`, or null if no block is stored there. */
  async getHeader(height: number): Promise<BlockHeader | null> {
    checkHeight(height);
    const bytes = await this.get(headerKey(height));
    return bytes === undefined ? null : decoded(`header ${height}`, () => decodeHeader(view(bytes)));
  }

  /** Headers newest first, strictly below `before` (default: all). For block listings. */
  async getHeaders({ before, limit }: PageOptions<number>): Promise<BlockHeader[]> {
    checkLimit(limit);
    if (before !== undefined) checkHeight(before, 'before');
    const out: BlockHeader[] = [];
    const range = {
      gte: key(P_HEADER),
      lt: before === undefined ? key(P_HEADER + 1) : headerKey(before),
      reverse: true,
      limit,
    };
    for await (const [k, v] of this.db.iterator(range)) {
      out.push(decoded(`header ${readU64(k, 1)}`, () => decodeHeader(view(v))));
    }
    return out;
  }

  /** The block (header and txs) at `height`, or null. */
  async getBlock(height: number): Promise<Block | null> {
    const header = await this.getHeader(height);
    if (header === null) return null;
    const txs: SignedTransaction[] = [];
    const prefix = key(P_BLOCK_TX, u64(height));
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
      txs.push(decoded(`tx ${height}/${readU32(k, 9)}`, () => decodeSignedTx(view(v))));
    }
    return { header, txs };
  }

  /** Height of the block with this hash, or null. */
  async getHeightByHash(hash: Hash): Promise<number | null> {
    const v = await this.get(blockHashKey(hash));
    return v === undefined ? null : readU64(v);
  }

  /** The block with this hash, or null. */
  async getBlockByHash(hash: Hash): Promise<Block | null> {
    const height = await this.getHeightByHash(hash);
    return height === null ? null : this.getBlock(height);
  }

  /** The commit certificate of block `height`; null if absent (and always for block 0). */
  async getCert(height: number): Promise<CommitCertificate | null> {
    checkHeight(height);
    const bytes = await this.get(certKey(height));
    return bytes === undefined ? null : decoded(`cert ${height}`, () => decodeCert(view(bytes)));
  }

  /** The receipts of block `height` in tx order; null if no block is stored there. */
  async getReceipts(height: number): Promise<Receipt[] | null> {
    checkHeight(height);
    if ((await this.get(headerKey(height))) === undefined) return null;
    const out: Receipt[] = [];
    const prefix = key(P_RECEIPT, u64(height));
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
      out.push(decoded(`receipt ${height}/${readU32(k, 9)}`, () => decodeReceipt(view(v))));
    }
    return out;
  }

  /** Where a transaction was committed, or null if it never was. */
  async getTxLocation(hash: Hash): Promise<TxLocation | null> {
    const loc = await this.get(txLocationKey(hash));
    return loc === undefined ? null : { height: readU64(loc), index: readU32(loc, 8) };
  }

  /** A committed transaction with its receipt and position, or null. */
  async getTx(hash: Hash): Promise<StoredTx | null> {
    const loc = await this.getTxLocation(hash);
    if (loc === null) return null;
    const { height, index } = loc;
    const [txBytes, receiptBytes] = await this.db.getMany([
      blockTxKey(height, index),
      receiptKey(height, index),
    ]);
    if (txBytes === undefined || receiptBytes === undefined) {
      throw new StoreError(
        'CORRUPT',
        `tx ${toHex(hash)} is indexed at ${height}/${index} but not stored there`,
      );
    }
    return {
      tx: decoded(`tx ${height}/${index}`, () => decodeSignedTx(view(txBytes))),
      receipt: decoded(`receipt ${height}/${index}`, () => decodeReceipt(view(receiptBytes))),
      height,
      index,
    };
  }

  /**
   * An account's transactions newest first, strictly before the cursor `before` when given.
   * The last entry of a page is the cursor of the next one.
   */
  async getAccountTxs(address: Address, { before, limit }: PageOptions<TxLocation>): Promise<AccountTxRef[]> {
    checkLimit(limit);
    // A shorter value would scan every address that starts with it.
    if (address.length !== ADDRESS_LENGTH) {
      throw new StoreError(
        'BAD_ARGUMENT',
        `address: expected ${ADDRESS_LENGTH} bytes, got ${address.length}`,
      );
    }
    const prefix = key(P_ACCOUNT_TX, address);
    let lt = prefixEnd(prefix);
    if (before !== undefined) {
      checkHeight(before.height, 'before.height');
      if (!Number.isInteger(before.index) || before.index < 0 || before.index > 0xffffffff) {
        throw new StoreError('BAD_ARGUMENT', `before.index: expected a u32, got ${before.index}`);
      }
      lt = accountTxKey(address, before.height, before.index);
    }
    const out: AccountTxRef[] = [];
    const at = prefix.length;
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt, reverse: true, limit })) {
      out.push({ hash: copy(v), height: readU64(k, at), index: readU32(k, at + 8) });
    }
    return out;
  }

  /** One value of the latest flat state, or null. */
  async getStateValue(k: Uint8Array): Promise<Uint8Array | null> {
    const v = await this.get(stateKey(k));
    return v === undefined ? null : copy(v);
  }

  /**
   * The whole latest flat state in key order, read from one snapshot (a commit running
   * meanwhile is not seen half-applied).
   */
  async *loadState(): AsyncIterable<[key: Uint8Array, value: Uint8Array]> {
    if (this.closed) throw new StoreError('CLOSED', 'the block store is closed');
    for await (const [k, v] of this.db.iterator({ gte: key(P_STATE), lt: key(P_STATE + 1) })) {
      yield [copy(k.subarray(1)), copy(v)];
    }
  }

  /** Waits for a commit in flight, then closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.db.close();
  }
}
