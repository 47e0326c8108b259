/**
 * The mempool: signed transactions admitted but not yet committed.
 *
 * Admission checks, in order (each failure a MempoolError with a stable code), cheapest first
 * so that an overloaded node sheds load before spending a signature check on it:
 *   size ≤ txBytesMax (TOO_LARGE) → already held (the same bytes again are accepted
 *   idempotently) → bounds on count and bytes (MEMPOOL_FULL: an accepted transaction is never
 *   dropped to make room) → canonical decoding (MALFORMED_TX) → chain id (WRONG_CHAIN_ID) →
 *   address = addressOf(publicKey) (INVALID_SIGNATURE) → the sender's account exists and may
 *   transact (UNKNOWN_ACCOUNT, NOT_PERMITTED) → nonce window: next ≤ nonce < next +
 *   futureNoncesMax, and no other pending tx with that nonce (BAD_NONCE) → the signature
 *   (INVALID_SIGNATURE), last because it is the one expensive check.
 *
 * One exception to the bounds: a gap filler. When the pool is full but holds transactions
 * behind a nonce gap, a transaction that fills its sender's first gap (every nonce from the
 * next one up to it is held, and a later one of that sender is held too) is admitted into a
 * reserve of a tenth of each bound above it. Why: under overload a client's nonces n … n+k can
 * be refused as full while its n+k+1 … (sent before that answer came) were accepted; refused
 * again at each resend while the pool stayed full, the gap never closed, and after gappedTtlMs
 * the pool dropped the transactions it had accepted behind it. A gap filler is includable at
 * once, so blocks drain the reserve. While no gap can exist, a full pool still refuses before
 * decoding.
 *
 * Transactions leave only when a committed block includes them or makes them stale (their
 * nonce is below the account's new next nonce), when the account can no longer transact, or
 * when one has waited behind a nonce gap for longer than `gappedTtlMs` (expireGapped): a client
 * whose nonce n was refused or lost may never send it again, and its n+1, n+2 … would otherwise
 * hold pool space for ever (after an overload, full pools of them refused every new client).
 */
import { bytesEqual, sha256, toHex } from '../crypto/hash.js';
import { cachedAddressOf } from '../ledger/checks.js';
import { decodeSignedTx, encodeSignedTx, signedTxSigningBytes, txHash } from '../ledger/codec.js';
import { objectSlot } from '../ledger/object-slot.js';
import type { SignedTransaction } from '../ledger/types.js';
import type { VerifyFn } from './verifier.js';

export type MempoolErrorCode =
  | 'TOO_LARGE'
  | 'MALFORMED_TX'
  | 'WRONG_CHAIN_ID'
  | 'INVALID_SIGNATURE'
  | 'UNKNOWN_ACCOUNT'
  | 'NOT_PERMITTED'
  | 'BAD_NONCE'
  | 'MEMPOOL_FULL';

export class MempoolError extends Error {
  override readonly name = 'MempoolError';
  constructor(
    readonly code: MempoolErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    // No stack trace: a refusal is an answer to a client, not a bug, and capturing the stack
    // cost 2.4-5.7 µs per error; in an overloaded run MEMPOOL_FULL refusals made MempoolError
    // and RpcError 13.5% of node 0's samples.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

/** What the mempool needs to know of an account in the latest committed state. */
export interface AccountView {
  nextNonce: number;
  /** False when the account or its member is revoked/removed. */
  canTransact: boolean;
}

export interface MempoolOptions {
  chainId: string;
  txBytesMax: number;
  txsMax: number;
  bytesMax: number;
  futureNoncesMax: number;
  verify: VerifyFn;
  /** The latest committed state's view of an account, or undefined if unknown. */
  account: (address: Uint8Array) => AccountView | undefined;
  /** How long a transaction may wait behind a nonce gap before expireGapped drops it. */
  gappedTtlMs: number;
  /** Clock for admission times (tests inject one). */
  now?: () => number;
}

export interface PoolEntry {
  tx: SignedTransaction;
  bytes: Uint8Array;
  hash: Uint8Array;
  hashHex: string;
  fromHex: string;
  nonce: number;
  /** When it was admitted (ms, the pool's clock). */
  addedAtMs: number;
}

/**
 * The entry a pool made for a transaction object it admitted. Blocks built from the pool, and
 * proposals decoded with `lookup`, carry those same objects, so checking or removing a block's
 * transactions needs neither their hashes nor their senders as hex again (four hex strings per
 * transaction per block, each made, hashed and dropped). Any pool's entry will do: its hex
 * strings describe the transaction's bytes, whichever pool made them.
 */
const entryOf = objectSlot<PoolEntry>();

export class Mempool {
  private readonly byHash = new Map<string, PoolEntry>();
  /** Per sender: pending entries by nonce. */
  private readonly bySender = new Map<string, Map<number, PoolEntry>>();
  private bytesHeld = 0;
  /**
   * Accounts read from the committed state since the last commit, by address hex. The state
   * changes only at a commit (removeCommitted clears this), and otherwise every transaction of
   * a busy sender, and every ready()/hasReady() pass, decoded its account and member again.
   * Only known accounts are kept, so it holds at most the accounts that sent since the commit.
   */
  private readonly accounts = new Map<string, AccountView>();
  /**
   * Hashes of the transactions this node saw commit most recently (at most 2 x txsMax, oldest
   * forgotten first). Under load a peer's forwarded copy of a transaction can arrive after the
   * block that carried it committed; without this it was decoded, its sender looked up and a
   * BAD_NONCE error built before it was dropped, at a third of the cost of admitting it.
   */
  private readonly committedRecently: RecentHashes;
  /** Forwarded transactions skipped because they had just committed. */
  forwardedCommittedSkipped = 0;
  /** Gap fillers admitted while the pool was at its bounds (into the reserve). */
  gapFillersOverBound = 0;
  /**
   * False only when no held transaction can be behind a nonce gap: set when one is admitted
   * behind a gap, cleared by expireGapped's walk when it finds none. While false, a full pool
   * refuses without decoding (no transaction could be a gap filler).
   */
  private gapsMayExist = false;
  /** The reserve above txsMax and bytesMax that only gap fillers may use. */
  private readonly reserveTxs: number;
  private readonly reserveBytes: number;

  constructor(private readonly opts: MempoolOptions) {
    this.committedRecently = new RecentHashes(2 * opts.txsMax);
    this.reserveTxs = Math.ceil(opts.txsMax / 10);
    this.reserveBytes = Math.ceil(opts.bytesMax / 10);
  }

  private accountOf(address: Uint8Array, hex: string): AccountView | undefined {
    const cached = this.accounts.get(hex);
    if (cached) return cached;
    const account = this.opts.account(address);
    if (account) this.accounts.set(hex, account);
    return account;
  }

  get size(): number {
    return this.byHash.size;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }

  get(hashHex: string): PoolEntry | undefined {
    return this.byHash.get(hashHex);
  }

  /**
   * Whether the transaction with this hash is held. Everything held passed admission, its
   * signature included, so a block carrying it need not verify that signature again. `stx`,
   * when given, is the decoded transaction with that hash: the pool's own object is recognised
   * by its entry, without making the hash's hex.
   */
  holds = (hash: Uint8Array, stx?: SignedTransaction): boolean => {
    const e = stx && entryOf.get(stx);
    if (e && this.byHash.get(e.hashHex) === e) return true;
    return this.byHash.has(toHex(hash));
  };

  /** The decoded transaction with this hash, if held (a received proposal reuses it). */
  lookup = (hash: Uint8Array): SignedTransaction | undefined => this.byHash.get(toHex(hash))?.tx;

  /**
   * Admits raw tx bytes; returns the entry (also when it was already held), and `ready`: it was
   * added at its sender's next nonce, so a block can include it now. (A tx behind a nonce gap is
   * held, not ready: telling consensus "pending" for it would arm round timers that no proposal
   * can meet.) Throws MempoolError.
   */
  add(bytes: Uint8Array): { entry: PoolEntry; added: boolean; ready: boolean } {
    this.checkSize(bytes);
    // Strict decoding makes these bytes the canonical encoding, so their SHA-256 is the tx hash.
    const hash = sha256(bytes);
    return this.addHashed(bytes, hash, toHex(hash));
  }

  /**
   * A transaction a peer forwarded: as `add`, except that one this node saw commit recently is
   * skipped (counted in `forwardedCommittedSkipped`) rather than refused with an error, since a
   * late copy is normal under load and says nothing about the peer. Returns whether it was added
   * and whether it is ready for a block.
   */
  addForwarded(bytes: Uint8Array): { added: boolean; ready: boolean } {
    this.checkSize(bytes);
    const hash = sha256(bytes);
    const hashHex = toHex(hash);
    if (this.committedRecently.has(hashHex)) {
      this.forwardedCommittedSkipped++;
      return { added: false, ready: false };
    }
    const r = this.addHashed(bytes, hash, hashHex);
    return { added: r.added, ready: r.ready };
  }

  private checkSize(bytes: Uint8Array): void {
    const max = this.opts.txBytesMax;
    if (bytes.length > max) {
      throw new MempoolError('TOO_LARGE', `transaction of ${bytes.length} bytes exceeds ${max}`, {
        size: bytes.length,
        max,
      });
    }
  }

  private addHashed(
    bytes: Uint8Array,
    hash: Uint8Array,
    hashHex: string,
  ): { entry: PoolEntry; added: boolean; ready: boolean } {
    const o = this.opts;
    const known = this.byHash.get(hashHex);
    if (known) return { entry: known, added: false, ready: false };
    const full = this.byHash.size >= o.txsMax || this.bytesHeld + bytes.length > o.bytesMax;
    // Past the bounds only a gap filler may enter, and only into the reserve.
    if (
      full &&
      (!this.gapsMayExist ||
        this.byHash.size >= o.txsMax + this.reserveTxs ||
        this.bytesHeld + bytes.length > o.bytesMax + this.reserveBytes)
    ) {
      throw this.fullError();
    }
    let tx: SignedTransaction;
    try {
      tx = decodeSignedTx(bytes, hash);
    } catch (err) {
      throw new MempoolError('MALFORMED_TX', `malformed transaction: ${(err as Error).message}`);
    }
    if (tx.tx.chainId !== o.chainId) {
      throw new MempoolError(
        'WRONG_CHAIN_ID',
        `transaction is for chain '${tx.tx.chainId}', this is '${o.chainId}'`,
        {
          expected: o.chainId,
          got: tx.tx.chainId,
        },
      );
    }
    if (!bytesEqual(cachedAddressOf(tx.publicKey), tx.tx.from)) {
      throw new MempoolError('INVALID_SIGNATURE', 'the public key does not belong to the sender address');
    }
    const fromHex = toHex(tx.tx.from);
    const account = this.accountOf(tx.tx.from, fromHex);
    if (!account)
      throw new MempoolError('UNKNOWN_ACCOUNT', `unknown account ${fromHex}`, { address: fromHex });
    if (!account.canTransact) {
      throw new MempoolError('NOT_PERMITTED', `account ${fromHex} is revoked or its member was removed`, {
        address: fromHex,
      });
    }
    const nonce = tx.tx.nonce;
    if (nonce < account.nextNonce) {
      throw new MempoolError(
        'BAD_NONCE',
        `nonce ${nonce} already used; the next nonce is ${account.nextNonce}`,
        {
          expected: account.nextNonce,
          got: nonce,
        },
      );
    }
    if (nonce >= account.nextNonce + o.futureNoncesMax + 1) {
      throw new MempoolError(
        'BAD_NONCE',
        `nonce ${nonce} is too far ahead; the next nonce is ${account.nextNonce} and at most ${o.futureNoncesMax} more are held`,
        { expected: account.nextNonce, got: nonce, futureMax: o.futureNoncesMax },
      );
    }
    const pending = this.bySender.get(fromHex);
    if (pending?.has(nonce)) {
      throw new MempoolError('BAD_NONCE', `another pending transaction already uses nonce ${nonce}`, {
        got: nonce,
        pending: pending.get(nonce)!.hashHex,
      });
    }
    if (full && !fillsFirstGap(pending, nonce, account.nextNonce)) throw this.fullError();
    if (!o.verify(tx.signature, signedTxSigningBytes(tx), tx.publicKey)) {
      throw new MempoolError('INVALID_SIGNATURE', 'invalid transaction signature');
    }
    if (full) this.gapFillersOverBound++;
    // Behind a gap (its nonce - 1 is neither held nor the account's last used one). One whose
    // nonce - 1 is held behind an earlier gap was flagged when that one came in.
    if (nonce !== account.nextNonce && !pending?.has(nonce - 1)) this.gapsMayExist = true;
    const addedAtMs = (o.now ?? Date.now)();
    const entry: PoolEntry = { tx, bytes: encodeSignedTx(tx), hash, hashHex, fromHex, nonce, addedAtMs };
    this.byHash.set(hashHex, entry);
    entryOf.set(tx, entry);
    let m = pending;
    if (!m) {
      m = new Map();
      this.bySender.set(fromHex, m);
    }
    m.set(nonce, entry);
    this.bytesHeld += bytes.length;
    return { entry, added: true, ready: nonce === account.nextNonce };
  }

  private fullError(): MempoolError {
    return new MempoolError('MEMPOOL_FULL', 'the mempool is full; retry later', {
      txs: this.byHash.size,
      bytes: this.bytesHeld,
    });
  }

  /**
   * Transactions a proposer can include now: for each sender, the run of consecutive nonces
   * starting at its next nonce, taken round-robin across senders so one busy account cannot
   * crowd out the rest, up to the count and byte limits.
   */
  ready(txsMax: number, bytesMax: number): PoolEntry[] {
    const runs: PoolEntry[][] = [];
    for (const byNonce of this.bySender.values()) {
      const first = byNonce.values().next().value;
      if (!first) continue;
      const account = this.accountOf(first.tx.tx.from, first.fromHex);
      if (!account?.canTransact) continue;
      const run: PoolEntry[] = [];
      for (let n = account.nextNonce; ; n++) {
        const e = byNonce.get(n);
        if (!e) break;
        run.push(e);
      }
      if (run.length > 0) runs.push(run);
    }
    const out: PoolEntry[] = [];
    let bytes = 0;
    for (let i = 0; out.length < txsMax; i++) {
      let progressed = false;
      for (const run of runs) {
        const e = run[i];
        if (!e) continue;
        if (out.length >= txsMax) break;
        if (bytes + e.bytes.length > bytesMax) return out;
        out.push(e);
        bytes += e.bytes.length;
        progressed = true;
      }
      if (!progressed) break;
    }
    return out;
  }

  /** True when at least one transaction could be proposed now. */
  hasReady(): boolean {
    for (const byNonce of this.bySender.values()) {
      const first = byNonce.values().next().value;
      if (!first) continue;
      const account = this.accountOf(first.tx.tx.from, first.fromHex);
      if (account?.canTransact && byNonce.has(account.nextNonce)) return true;
    }
    return false;
  }

  /**
   * After a block commits: drop its transactions, and for every sender it touched drop what
   * the new state made stale (nonce below the next nonce) or unusable (account revoked).
   * Call with the committed block's transactions after the new state is visible to `account`.
   */
  removeCommitted(txs: readonly SignedTransaction[], hashes?: readonly Uint8Array[]): void {
    this.accounts.clear();
    const senders = new Set<string>();
    txs.forEach((t, i) => {
      const e = entryOf.get(t);
      const hex = e?.hashHex ?? toHex(hashes?.[i] ?? txHash(t));
      this.removeEntry(this.byHash.get(hex));
      this.committedRecently.add(hex);
      senders.add(e?.fromHex ?? toHex(t.tx.from));
    });
    for (const fromHex of senders) this.pruneSender(fromHex);
  }

  /**
   * Drops transactions that have waited longer than gappedTtlMs behind a nonce gap (not in the
   * run of consecutive nonces from the sender's next nonce), and returns how many. O(pool size):
   * the node calls it at most once a second, after a commit.
   */
  expireGapped(): number {
    const now = (this.opts.now ?? Date.now)();
    let dropped = 0;
    let gapped = false;
    for (const [fromHex, byNonce] of [...this.bySender]) {
      const first = byNonce.values().next().value;
      if (!first) continue;
      const account = this.accountOf(first.tx.tx.from, fromHex);
      let next = account?.nextNonce ?? 0;
      while (byNonce.has(next)) next++;
      for (const e of [...byNonce.values()]) {
        if (e.nonce <= next) continue;
        if (now - e.addedAtMs >= this.opts.gappedTtlMs) {
          this.removeEntry(e);
          dropped++;
        } else gapped = true;
      }
    }
    this.gapsMayExist = gapped;
    return dropped;
  }

  /** Re-checks every sender against the state (after governance may have revoked accounts). */
  pruneAll(): void {
    this.accounts.clear();
    for (const fromHex of [...this.bySender.keys()]) this.pruneSender(fromHex);
  }

  private pruneSender(fromHex: string): void {
    const byNonce = this.bySender.get(fromHex);
    if (!byNonce) return;
    const first = byNonce.values().next().value;
    if (!first) return;
    const account = this.accountOf(first.tx.tx.from, fromHex);
    for (const e of [...byNonce.values()]) {
      if (!account?.canTransact || e.nonce < account.nextNonce) this.removeEntry(e);
    }
  }

  private removeEntry(e: PoolEntry | undefined): void {
    if (!e) return;
    this.byHash.delete(e.hashHex);
    const byNonce = this.bySender.get(e.fromHex);
    byNonce?.delete(e.nonce);
    if (byNonce && byNonce.size === 0) this.bySender.delete(e.fromHex);
    this.bytesHeld -= e.bytes.length;
  }
}

/**
 * Whether a transaction with `nonce` fills (part of) its sender's first nonce gap: every nonce
 * from `next` (the account's next nonce) up to it is held, so it is includable now, and a held
 * transaction of the same sender waits above it. A gap of several nonces is filled one by one,
 * each in turn such a transaction (a client resends them in nonce order).
 */
function fillsFirstGap(pending: Map<number, PoolEntry> | undefined, nonce: number, next: number): boolean {
  if (pending === undefined) return false;
  for (let n = next; n < nonce; n++) if (!pending.has(n)) return false;
  for (const held of pending.keys()) if (held > nonce) return true;
  return false;
}

/** A set of the last `capacity` hashes added; the oldest is forgotten when it is full. */
class RecentHashes {
  private readonly set = new Set<string>();
  private readonly ring: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  has(hex: string): boolean {
    return this.set.has(hex);
  }

  add(hex: string): void {
    if (this.set.has(hex)) return;
    if (this.ring.length < this.capacity) this.ring.push(hex);
    else {
      this.set.delete(this.ring[this.next]!);
      this.ring[this.next] = hex;
      this.next = (this.next + 1) % this.capacity;
    }
    this.set.add(hex);
  }
}
