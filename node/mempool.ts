/**
 * The mempool: signed transactions admitted but not yet committed.
 *
 * Admission checks, in order (each failure a MempoolError with a stable code), cheapest first
 * so that an overloaded node sheds load before spending a signature check on it:
 *   size ≤ txBytesMax (TOO_LARGE) → already held (the same bytes again are accepted
 *   idempotently) → a full pool holding nothing behind a nonce gap refuses here, before
 *   decoding (MEMPOOL_FULL) → canonical decoding (MALFORMED_TX) → chain id (WRONG_CHAIN_ID) →
 *   address = addressOf(publicKey) (INVALID_SIGNATURE) → the sender's account exists and may
 *   transact (UNKNOWN_ACCOUNT, NOT_PERMITTED) → nonce window: next ≤ nonce < next +
 *   futureNoncesMax, and no other pending tx with that nonce (BAD_NONCE) → quotas and room
 *   (MEMBER_QUOTA, SENDER_QUOTA, MEMPOOL_FULL; below) → the signature (INVALID_SIGNATURE), last
 *   because it is the one expensive check. Nothing is evicted before the signature verifies.
 *
 * Two kinds of transaction, by where their nonce falls (per sender, against the committed
 * state's next nonce): EXECUTABLE ones extend the sender's run of consecutive held nonces from
 * its next nonce (a block can include them now); GAPPED ones wait behind a missing nonce and
 * can never be included until it comes. A gap filler (an executable tx with gapped ones of its
 * sender above it) turns those into executable ones.
 *
 * Why gapped ones are kept on a short leash: they cost nothing to send and blocks never drain
 * them. 40 accounts submitting nonces next+1 … next+256 once filled the whole 10,000-entry
 * pool, and every other client got MEMPOOL_FULL until they expired, repeatably (issue 23). So
 * (docs/architecture.md: "a transaction beyond a nonce gap is queued, not accepted, and never crowds out
 * executable ones"):
 * - Gapped transactions live in a budget of their own: at most gappedPercentMax % of txsMax
 *   and of bytesMax in all, and at most senderGappedTxsMax per sender (SENDER_QUOTA). When that
 *   budget (or the pool) is full, a gapped newcomer takes the place of the newest gap of the
 *   member holding the most gapped ones (within a member, of its sender holding the most), but
 *   only if its own member (sender) then holds fewer than that one did: max-min fairness, so
 *   one member's accounts cannot keep the budget, and equals do not churn. Otherwise it is
 *   refused with MEMPOOL_FULL (`data.reason = 'gapped'`).
 * - An executable transaction is never refused as full while the pool holds a gapped one that
 *   could make room: it evicts gapped ones (newest gap first, of the member and then the sender
 *   holding the most; its own sender's last) until it fits. Only when even evicting every
 *   gapped transaction would not make room is it refused with MEMPOOL_FULL. Evicted
 *   transactions were never includable; their senders resend them after filling the gap.
 * - Executable transactions of one member are bounded by its share of the pool:
 *   share = max(1 / activeMembers, memberPercentMin / 100) of txsMax and of bytesMax
 *   (MEMBER_QUOTA). Equal shares are the fair split between the members of a consortium; the
 *   floor keeps a few busy members from being starved by idle ones (with many members, a
 *   member may still fill a block). The quota counts a member's executable transactions when
 *   one is admitted; the gapped ones a filler turns executable were already held.
 *   A sender's executable transactions are bounded by the nonce window (futureNoncesMax + 1).
 *
 * The reserve for gap fillers: when the pool is full, a gap filler may also use a reserve of a
 * tenth of each bound above it, before evicting anything. Why: under overload a client's nonces
 * n … n+k can be refused as full while its n+k+1 … (sent before that answer came) were
 * accepted; a filler is includable at once and unlocks what it fills, so blocks drain the
 * reserve.
 *
 * Transactions leave only when a committed block includes them or makes them stale (their
 * nonce is below the account's new next nonce), when the account can no longer transact, when
 * an executable (or fairer gapped) one evicts a gapped one (above), or when one has waited
 * behind a nonce gap for longer than `gappedTtlMs` (expireGapped): a client whose nonce n was
 * refused or lost may never send it again. An executable transaction is never dropped to make
 * room.
 */
import { bytesEqual, sha256, toHex } from '../crypto/hash.js';
import { Refusal } from '../crypto/refusal.js';
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
  | 'MEMPOOL_FULL'
  /** The sender holds its most transactions behind a nonce gap (senderGappedTxsMax). */
  | 'SENDER_QUOTA'
  /** The sender's member holds its share of the pool's executable transactions. */
  | 'MEMBER_QUOTA';

export class MempoolError extends Refusal {
  override readonly name = 'MempoolError';
  constructor(
    readonly code: MempoolErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** What the mempool needs to know of an account in the latest committed state. */
export interface AccountView {
  nextNonce: number;
  /** False when the account or its member is revoked/removed. */
  canTransact: boolean;
  /** The member the account belongs to (quotas are per member); absent: the account is its own. */
  memberId?: string;
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
  /** Share (%) of txsMax and of bytesMax that transactions behind a nonce gap may hold in all. Default 10. */
  gappedPercentMax?: number;
  /** Transactions behind a nonce gap one sender may hold. Default 64. */
  senderGappedTxsMax?: number;
  /** Floor (%) of a member's share of the pool's executable transactions. Default 25. */
  memberPercentMin?: number;
  /** Active members in the latest committed state (read once per commit). Absent: 1. */
  activeMembers?: () => number;
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

/** What the pool holds of one sender, and how much of it is executable. */
interface SenderSlot {
  fromHex: string;
  member: MemberSlot;
  /** Pending entries by nonce. */
  byNonce: Map<number, PoolEntry>;
  /** The account's next nonce when last read (it changes only when a tx of this sender commits). */
  next: number;
  /**
   * The first nonce from `next` up that is not held: entries below it are executable, entries
   * above it wait behind the gap at `runEnd`.
   */
  runEnd: number;
  readyTxs: number;
  readyBytes: number;
  gappedTxs: number;
  gappedBytes: number;
}

/** The totals of one member's senders (the quotas' unit). */
interface MemberSlot {
  id: string;
  senders: Set<SenderSlot>;
  readyTxs: number;
  readyBytes: number;
  gappedTxs: number;
  gappedBytes: number;
}

export class Mempool {
  private readonly byHash = new Map<string, PoolEntry>();
  private readonly bySender = new Map<string, SenderSlot>();
  private readonly members = new Map<string, MemberSlot>();
  private bytesHeld = 0;
  private gappedTxsHeld = 0;
  private gappedBytesHeld = 0;
  /**
   * Accounts read from the committed state since the last commit, by address hex. The state
   * changes only at a commit (removeCommitted clears this), and otherwise every transaction of
   * a busy sender, and every ready()/hasReady() pass, decoded its account and member again.
   * Only known accounts are kept, so it holds at most the accounts that sent since the commit.
   */
  private readonly accounts = new Map<string, AccountView>();
  /** A member's quota of executable txs and bytes, computed once per commit (activeMembers). */
  private memberQuota: { txs: number; bytes: number } | undefined;
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
  /** Gapped transactions evicted to make room for executable (or fairer gapped) ones. */
  evictedGapped = 0;
  /** The reserve above txsMax and bytesMax that only gap fillers may use. */
  private readonly reserveTxs: number;
  private readonly reserveBytes: number;
  /** The budget of transactions behind a nonce gap, in all. */
  private readonly gappedTxsMax: number;
  private readonly gappedBytesMax: number;
  private readonly senderGappedTxsMax: number;
  private readonly memberPercentMin: number;

  constructor(private readonly opts: MempoolOptions) {
    this.committedRecently = new RecentHashes(2 * opts.txsMax);
    this.reserveTxs = Math.ceil(opts.txsMax / 10);
    this.reserveBytes = Math.ceil(opts.bytesMax / 10);
    const gappedPercent = opts.gappedPercentMax ?? 10;
    this.gappedTxsMax = Math.ceil((opts.txsMax * gappedPercent) / 100);
    this.gappedBytesMax = Math.ceil((opts.bytesMax * gappedPercent) / 100);
    this.senderGappedTxsMax = opts.senderGappedTxsMax ?? 64;
    this.memberPercentMin = opts.memberPercentMin ?? 25;
  }

  private accountOf(address: Uint8Array, hex: string): AccountView | undefined {
    const cached = this.accounts.get(hex);
    if (cached) return cached;
    const account = this.opts.account(address);
    if (account) this.accounts.set(hex, account);
    return account;
  }

  /** The most executable txs and bytes one member may hold (see the header). */
  private quotaOfMember(): { txs: number; bytes: number } {
    if (this.memberQuota) return this.memberQuota;
    const active = Math.max(1, this.opts.activeMembers?.() ?? 1);
    const share = Math.min(1, Math.max(1 / active, this.memberPercentMin / 100));
    this.memberQuota = {
      txs: Math.ceil(this.opts.txsMax * share),
      bytes: Math.ceil(this.opts.bytesMax * share),
    };
    return this.memberQuota;
  }

  get size(): number {
    return this.byHash.size;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** Transactions held behind a nonce gap (not includable until it fills). */
  get gappedTxs(): number {
    return this.gappedTxsHeld;
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
    const len = bytes.length;
    const full = this.byHash.size >= o.txsMax || this.bytesHeld + len > o.bytesMax;
    // A full pool with nothing behind a gap has nothing to evict and no gap to fill: refuse
    // before decoding, so an overloaded node spends no work on what it cannot take.
    if (full && this.gappedTxsHeld === 0) throw this.fullError();
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
    let slot = this.bySender.get(fromHex);
    if (slot && slot.next !== account.nextNonce) {
      // The state moved on without removeCommitted naming this sender: re-read it.
      this.pruneSender(fromHex);
      slot = this.bySender.get(fromHex);
    }
    if (slot?.byNonce.has(nonce)) {
      throw new MempoolError('BAD_NONCE', `another pending transaction already uses nonce ${nonce}`, {
        got: nonce,
        pending: slot.byNonce.get(nonce)!.hashHex,
      });
    }
    const memberId = account.memberId ?? fromHex;
    const member = slot?.member ?? this.members.get(memberId);
    const runEnd = slot?.runEnd ?? account.nextNonce;
    // Every nonce below runEnd is held or used, so a nonce not held is either runEnd itself
    // (executable now) or above it (behind the gap at runEnd).
    const executable = nonce === runEnd;
    let victims: PoolEntry[];
    let filler = false;
    if (executable) {
      const quota = this.quotaOfMember();
      const mTxs = member?.readyTxs ?? 0;
      const mBytes = member?.readyBytes ?? 0;
      if (mTxs + 1 > quota.txs || mBytes + len > quota.bytes) {
        throw new MempoolError(
          'MEMBER_QUOTA',
          `member ${memberId} holds ${mTxs} executable transactions (${mBytes} bytes) in this mempool; its share is ${quota.txs} (${quota.bytes} bytes); retry after a block`,
          { memberId, txs: mTxs, bytes: mBytes, max: quota.txs, bytesMax: quota.bytes },
        );
      }
      filler = (slot?.gappedTxs ?? 0) > 0;
      victims = this.roomForExecutable(len, filler, slot);
    } else {
      const sGapped = slot?.gappedTxs ?? 0;
      if (sGapped + 1 > this.senderGappedTxsMax) {
        throw new MempoolError(
          'SENDER_QUOTA',
          `account ${fromHex} holds ${sGapped} transactions behind its nonce gap at ${runEnd} (at most ${this.senderGappedTxsMax}); send nonce ${runEnd} first`,
          { address: fromHex, gapped: sGapped, max: this.senderGappedTxsMax, expected: runEnd, got: nonce },
        );
      }
      victims = this.roomForGapped(len, member, slot, runEnd);
    }
    if (!o.verify(tx.signature, signedTxSigningBytes(tx), tx.publicKey)) {
      throw new MempoolError('INVALID_SIGNATURE', 'invalid transaction signature');
    }
    if (filler && full) this.gapFillersOverBound++;
    for (const v of victims) {
      this.removeEntry(v);
      this.evictedGapped++;
    }
    // An eviction may have emptied (and dropped) this sender's slot.
    slot = this.bySender.get(fromHex) ?? this.newSlot(fromHex, memberId, account.nextNonce);
    const addedAtMs = (o.now ?? Date.now)();
    const entry: PoolEntry = { tx, bytes: encodeSignedTx(tx), hash, hashHex, fromHex, nonce, addedAtMs };
    this.byHash.set(hashHex, entry);
    entryOf.set(tx, entry);
    slot.byNonce.set(nonce, entry);
    this.bytesHeld += len;
    if (executable) {
      this.count(slot, len, 1, 0);
      slot.runEnd++;
      // A filler makes the run above it executable.
      for (let e = slot.byNonce.get(slot.runEnd); e; e = slot.byNonce.get(++slot.runEnd)) {
        this.count(slot, e.bytes.length, 1, -1);
      }
    } else {
      this.count(slot, len, 0, 1);
    }
    return { entry, added: true, ready: nonce === account.nextNonce };
  }

  /**
   * The gapped entries an executable tx of `len` bytes must evict to fit, or MEMPOOL_FULL when
   * evicting all of them would not do. The bound is txsMax / bytesMax (plus the reserve for a
   * gap filler); a pool already past it (by the reserve) may swap, never grow.
   */
  private roomForExecutable(len: number, filler: boolean, own: SenderSlot | undefined): PoolEntry[] {
    const o = this.opts;
    const txsCap = Math.max(o.txsMax + (filler ? this.reserveTxs : 0), this.byHash.size);
    const bytesCap = Math.max(o.bytesMax + (filler ? this.reserveBytes : 0), this.bytesHeld);
    let txs = this.byHash.size + 1;
    let bytes = this.bytesHeld + len;
    if (txs <= txsCap && bytes <= bytesCap) return [];
    if (txs - this.gappedTxsHeld > txsCap || bytes - this.gappedBytesHeld > bytesCap) throw this.fullError();
    const victims: PoolEntry[] = [];
    const taken = new Map<SenderSlot, number>();
    // Bounded: each step takes one more of the gapped entries, which suffice (checked above).
    while (txs > txsCap || bytes > bytesCap) {
      const v = this.newestGap(taken, own) ?? this.newestGap(taken);
      if (!v) throw this.fullError();
      victims.push(v);
      txs--;
      bytes -= v.bytes.length;
    }
    return victims;
  }

  /**
   * The gapped entry a gapped tx of `len` bytes may evict to fit (none when it fits), or
   * MEMPOOL_FULL: within the gapped budget and the pool's bounds, and taking the place of the
   * newest gap of the heaviest member (sender) only if its own member (sender) then holds fewer.
   */
  private roomForGapped(
    len: number,
    member: MemberSlot | undefined,
    slot: SenderSlot | undefined,
    runEnd: number,
  ): PoolEntry[] {
    const o = this.opts;
    const fits = (freedBytes: number, freedTxs: number) =>
      this.gappedTxsHeld - freedTxs + 1 <= this.gappedTxsMax &&
      this.gappedBytesHeld - freedBytes + len <= this.gappedBytesMax &&
      this.byHash.size - freedTxs + 1 <= o.txsMax &&
      this.bytesHeld - freedBytes + len <= o.bytesMax;
    if (fits(0, 0)) return [];
    const v = this.newestGap(new Map());
    if (v) {
      const vSlot = this.bySender.get(v.fromHex)!;
      const fairer =
        vSlot.member !== member
          ? (member?.gappedTxs ?? 0) + 1 < vSlot.member.gappedTxs
          : (slot?.gappedTxs ?? 0) + 1 < vSlot.gappedTxs;
      if (fairer && fits(v.bytes.length, 1)) return [v];
    }
    throw new MempoolError(
      'MEMPOOL_FULL',
      `the mempool's room for transactions behind a nonce gap is full; send nonce ${runEnd} first`,
      {
        reason: 'gapped',
        txs: this.byHash.size,
        bytes: this.bytesHeld,
        gappedTxs: this.gappedTxsHeld,
        gappedTxsMax: this.gappedTxsMax,
        expected: runEnd,
      },
    );
  }

  /**
   * The newest gap (highest nonce) of the sender holding the most gapped entries within the
   * member holding the most, not counting those already `taken` (per sender, from the top),
   * and not of `exclude`. Linear in the members and senders held: called only to evict.
   */
  private newestGap(taken: Map<SenderSlot, number>, exclude?: SenderSlot): PoolEntry | undefined {
    let best: SenderSlot | undefined;
    let bestMember = 0;
    let bestSender = 0;
    for (const m of this.members.values()) {
      if (m.gappedTxs === 0) continue;
      let mLeft = m.gappedTxs;
      let top: SenderSlot | undefined;
      let topLeft = 0;
      for (const s of m.senders) {
        const left = s.gappedTxs - (taken.get(s) ?? 0);
        if (s === exclude) {
          mLeft -= s.gappedTxs;
          continue;
        }
        mLeft -= taken.get(s) ?? 0;
        if (left > topLeft) {
          top = s;
          topLeft = left;
        }
      }
      if (top && (mLeft > bestMember || (mLeft === bestMember && topLeft > bestSender))) {
        best = top;
        bestMember = mLeft;
        bestSender = topLeft;
      }
    }
    if (!best) return undefined;
    const skip = taken.get(best) ?? 0;
    taken.set(best, skip + 1);
    // Gapped entries are the ones above runEnd; take the (skip+1)-th highest.
    const nonces = [...best.byNonce.keys()].filter((n) => n > best.runEnd).sort((a, b) => b - a);
    return best.byNonce.get(nonces[skip]!);
  }

  private newSlot(fromHex: string, memberId: string, next: number): SenderSlot {
    let member = this.members.get(memberId);
    if (!member) {
      member = { id: memberId, senders: new Set(), readyTxs: 0, readyBytes: 0, gappedTxs: 0, gappedBytes: 0 };
      this.members.set(memberId, member);
    }
    const slot: SenderSlot = {
      fromHex,
      member,
      byNonce: new Map(),
      next,
      runEnd: next,
      readyTxs: 0,
      readyBytes: 0,
      gappedTxs: 0,
      gappedBytes: 0,
    };
    member.senders.add(slot);
    this.bySender.set(fromHex, slot);
    return slot;
  }

  /** Adds `ready` executable and `gapped` gapped entries of `bytes` each to every tally. */
  private count(slot: SenderSlot, bytes: number, ready: number, gapped: number): void {
    const m = slot.member;
    slot.readyTxs += ready;
    slot.readyBytes += ready * bytes;
    m.readyTxs += ready;
    m.readyBytes += ready * bytes;
    slot.gappedTxs += gapped;
    slot.gappedBytes += gapped * bytes;
    m.gappedTxs += gapped;
    m.gappedBytes += gapped * bytes;
    this.gappedTxsHeld += gapped;
    this.gappedBytesHeld += gapped * bytes;
  }

  /** Re-derives a sender's run from its account's next nonce, and its tallies from its entries. */
  private recount(slot: SenderSlot, next: number): void {
    const m = slot.member;
    m.readyTxs -= slot.readyTxs;
    m.readyBytes -= slot.readyBytes;
    m.gappedTxs -= slot.gappedTxs;
    m.gappedBytes -= slot.gappedBytes;
    this.gappedTxsHeld -= slot.gappedTxs;
    this.gappedBytesHeld -= slot.gappedBytes;
    slot.readyTxs = slot.readyBytes = slot.gappedTxs = slot.gappedBytes = 0;
    slot.next = next;
    let end = next;
    while (slot.byNonce.has(end)) end++;
    slot.runEnd = end;
    for (const e of slot.byNonce.values()) {
      if (e.nonce < end) this.count(slot, e.bytes.length, 1, 0);
      else this.count(slot, e.bytes.length, 0, 1);
    }
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
    for (const { byNonce } of this.bySender.values()) {
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
    for (const { byNonce } of this.bySender.values()) {
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
    this.memberQuota = undefined;
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
   * run of consecutive nonces from the sender's next nonce), and returns how many. Linear in
   * the senders held and the gapped entries: the node calls it at most once a second.
   */
  expireGapped(): number {
    const now = (this.opts.now ?? Date.now)();
    let dropped = 0;
    for (const slot of [...this.bySender.values()]) {
      if (slot.gappedTxs === 0) continue;
      for (const e of [...slot.byNonce.values()]) {
        if (e.nonce > slot.runEnd && now - e.addedAtMs >= this.opts.gappedTtlMs) {
          this.removeEntry(e);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Re-checks every sender against the state (after governance may have revoked accounts). */
  pruneAll(): void {
    this.accounts.clear();
    this.memberQuota = undefined;
    for (const fromHex of [...this.bySender.keys()]) this.pruneSender(fromHex);
  }

  private pruneSender(fromHex: string): void {
    const slot = this.bySender.get(fromHex);
    if (!slot) return;
    const first = slot.byNonce.values().next().value;
    if (!first) return;
    const account = this.accountOf(first.tx.tx.from, fromHex);
    for (const e of [...slot.byNonce.values()]) {
      if (!account?.canTransact || e.nonce < account.nextNonce) this.removeEntry(e);
    }
    const left = this.bySender.get(fromHex);
    if (left && account) this.recount(left, account.nextNonce);
  }

  /**
   * Forgets an entry and its tallies (as executable when below its sender's runEnd, else as
   * gapped). Removing an executable entry other than by a commit leaves the run stale: the
   * callers that do (removeCommitted, pruneSender) recount the sender.
   */
  private removeEntry(e: PoolEntry | undefined): void {
    if (!e || this.byHash.get(e.hashHex) !== e) return;
    this.byHash.delete(e.hashHex);
    this.bytesHeld -= e.bytes.length;
    const slot = this.bySender.get(e.fromHex);
    if (!slot) return;
    slot.byNonce.delete(e.nonce);
    if (e.nonce < slot.runEnd) this.count(slot, e.bytes.length, -1, 0);
    else this.count(slot, e.bytes.length, 0, -1);
    if (slot.byNonce.size === 0) {
      this.bySender.delete(e.fromHex);
      const m = slot.member;
      m.senders.delete(slot);
      if (m.senders.size === 0) this.members.delete(m.id);
    }
  }
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
