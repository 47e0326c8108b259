/**
 * The replica: one PBFT/QBFT instance per height as a pure, synchronous, deterministic state
 * machine (docs/protocol.md §3). `step(event)` consumes one event and returns a `Ready` (events.ts) that
 * says what to persist, commit, send and request, in that order. No I/O, clock or randomness here.
 *
 * Rules are named as in docs/protocol.md §3.2. After every event they run in the order
 * R3, R7, R6, R5, R1, R2 (then the round-0 proposal of R0) until none fires; R4 runs only on a tick.
 */
import { verify as defaultVerify } from '../crypto/ed25519.js';
import { bytesEqual, compareBytes, hexOf } from '../crypto/hash.js';
import { type CommitCertificate, certificateFromCommits, verifyCommitCertificate } from './certificate.js';
import { ConsensusInvariantError, invariant, MessageError, WalError } from './errors.js';
import {
  type BuildRequest,
  CHAIN_PARAM_LIMIT_NAMES,
  type ConsensusEvent,
  DROP_REASONS,
  type DropReason,
  type PeerId,
  type Ready,
  type ReplicaCounters,
  type StartHeightEvent,
  type SyncRequest,
} from './events.js';
import { evidenceKey, makeEvidence } from './evidence.js';
import { FutureBuffer } from './future-buffer.js';
import { type ConsensusLimits, resolveLimits } from './limits.js';
import {
  type DecidedMessage,
  decodeEnvelope,
  decodeMessage,
  type Envelope,
  encodeMessage,
  type Message,
  type MessageKind,
  openEnvelope,
  type ProposalMessage,
  type RoundChangeMessage,
  type SignedMessage,
} from './messages.js';
import {
  type RoundChangePayload,
  type SignedItem,
  type SignedType,
  type SignFn,
  signPayload,
  type VerifyFn,
  type VotePayload,
} from './payload.js';
import type { BlockPort } from './port.js';
import { quorumSize } from './quorum.js';
import { roundTimeoutMs } from './timer.js';
import { addressKey, type ValidatorSet } from './validators.js';
import { decodeWalRecord, encodeWalRecord, type WalRecord } from './wal.js';

/**
 * Deliberately unsafe rule variants. They exist only so the simulator can prove that its checkers
 * detect a broken protocol; never set one outside tests.
 *   'quorum-f-plus-1': count f+1 votes as a quorum (the IBFT-1.0-style undersized quorum).
 *   'round-change-forgets-prepared': ROUND-CHANGE never reports the prepared value (IBFT bug 1).
 */
export type BrokenRule = 'quorum-f-plus-1' | 'round-change-forgets-prepared';

export interface ReplicaOptions<B> {
  chainId: string;
  port: BlockPort<B>;
  /** The consensus key. Absent for an observer, which follows decisions and never signs. */
  signer?: { readonly address: Uint8Array; sign: SignFn };
  limits?: Partial<ConsensusLimits>;
  /** Signature verification; defaults to crypto/ed25519 `verify`. Must be a pure function of its inputs. */
  verify?: VerifyFn;
  /** Tests only: see BrokenRule. */
  brokenRule?: BrokenRule;
}

export type ReplicaStatus = 'new' | 'running' | 'awaiting-next-height' | 'halted';

type ExecState = 'none' | 'pending' | 'valid' | 'invalid';

interface BlockEntry<B> {
  block: B;
  bytes: Uint8Array;
  digest: Uint8Array;
  exec: ExecState;
}

interface StoredProposal<B> {
  msg: ProposalMessage<B>;
  /** True for a re-proposal (V-PROPOSAL 4b): its failing execution is a determinism fault (§2.3.6). */
  reproposal: boolean;
}

interface Prepared<B> {
  round: number;
  entry: BlockEntry<B>;
  cert: SignedItem<VotePayload>[];
}

/** Everything about the height being decided; replaced whole at R0. */
interface HeightState<B> {
  height: number;
  vs: ValidatorSet;
  parentHash: Uint8Array;
  parentTimestampMs: number;
  round: number;
  /** Deadline of timer(round); undefined while round 0 is idle (§1.3) or for an observer. */
  timerDeadlineMs?: number;
  accepted?: { round: number; entry: BlockEntry<B> };
  prepared?: Prepared<B>;
  /** Frames signed in `round`, by type (I1). Earlier rounds are never signed again (I2). */
  sent: Map<SignedType, Uint8Array>;
  proposals: Map<number, StoredProposal<B>>;
  prepares: Map<number, Map<string, SignedItem<VotePayload>>>;
  commits: Map<number, Map<string, SignedItem<VotePayload>>>;
  roundChanges: Map<number, Map<string, RoundChangeMessage<B>>>;
  /** Distinct verified payloads per (type, round, author): at most 2, the second only as evidence. */
  seen: Map<string, SignedItem[]>;
  /** Evidence records made at this height per (type, author): see recordEquivocation. */
  evidenceRecorded: Map<string, number>;
  blocks: Map<string, BlockEntry<B>>;
  /** A DECIDED for this height whose certificate verified (R7), waiting for its block's execution. */
  decided?: { entry: BlockEntry<B>; cert: CommitCertificate };
  built: Map<number, BlockEntry<B>>;
  buildRequested: Set<number>;
  unknownBlocksRequested: Set<string>;
  /** Members of V(h) seen (signature checked) sending messages above h: the sync trigger of §4. */
  aheadAuthors: Set<string>;
  /** signature hex -> signed bytes, for items already verified at this height. */
  verified: Map<string, Uint8Array>;
  /** Set when commits or block states change, so R3 rescans only then. */
  decideDirty: boolean;
}

/** Upper bound on rule firings per event: each firing advances the round, signs a new key or decides. */
const RULE_LOOP_MAX = 10_000;

/** A Ready that asks for nothing (the driver and the test harness start from it too). */
export function emptyReady<B>(): Ready<B> {
  return {
    messages: [],
    execute: [],
    build: [],
    serveDecided: [],
    requestSync: [],
    evidence: [],
    offences: [],
  };
}

/**
 * Drops that prove the sending peer misbehaves: no honest node sends such a frame. A stale,
 * future, duplicate or early-timestamped message is not here (honest nodes lag, repeat and have
 * clocks that differ); nor is a bad signature at a future height (the set may change there).
 */
const OFFENCES: ReadonlySet<DropReason> = new Set<DropReason>([
  // A second, different message of one (type, round, author): honest nodes send their own
  // messages only, once each, so the peer that sends it is the equivocator (or speaks for it).
  'conflicting',
  'too-large',
  'malformed',
  'bad-block-encoding',
  'bad-signature',
  'not-proposer',
  'bad-proposal',
  'bad-block',
  'bad-round-change',
  'bad-decided',
  'equivocation-excess',
]);

/** Per validator and height, equivocation evidence of each message type is recorded at most once. */
const EVIDENCE_PER_AUTHOR_TYPE_MAX = 1;

function newCounters(): ReplicaCounters {
  const dropped = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) dropped[r] = 0;
  return {
    received: 0,
    dropped,
    signaturesVerified: 0,
    verifyCacheHits: 0,
    sent: { PROPOSAL: 0, PREPARE: 0, COMMIT: 0, 'ROUND-CHANGE': 0, DECIDED: 0 },
    decided: 0,
    roundTimeouts: 0,
    roundTimeoutsDeferred: 0,
    roundSkips: 0,
    roundJumps: 0,
    evidence: 0,
    buffered: 0,
    executeRequests: 0,
    buildRequests: 0,
    syncRequests: 0,
    decidedServed: 0,
    limitsRefused: 0,
  };
}

interface Buffered<B> {
  msg: Message<B>;
}

/** Bytes a message holds in memory, near enough to bound buffers: its blocks and signed items. */
function messageBytes<B>(m: Message<B>): number {
  const ITEM = 160;
  switch (m.kind) {
    case 'PROPOSAL':
      return m.blockBytes.length + (1 + m.roundChanges.length + m.prepares.length) * ITEM;
    case 'PREPARE':
    case 'COMMIT':
      return ITEM;
    case 'ROUND-CHANGE':
      return (m.preparedBlock?.bytes.length ?? 0) + (1 + (m.prepareCert?.length ?? 0)) * ITEM;
    case 'DECIDED':
      return m.blockBytes.length + m.cert.sigs.length * ITEM;
  }
}

export class Replica<B> {
  readonly chainId: string;
  /**
   * The limits in force: those of construction, with the chain-parameter part
   * (CHAIN_PARAM_LIMIT_NAMES) replaced by each startHeight that carries one (onStartHeight).
   */
  limits: Readonly<ConsensusLimits>;
  readonly counters: ReplicaCounters = newCounters();
  private readonly port: BlockPort<B>;
  private readonly signer: { readonly address: Uint8Array; sign: SignFn } | undefined;
  private readonly selfKey: string | undefined;
  private readonly verifyFn: VerifyFn;
  private readonly brokenRule: BrokenRule | undefined;
  private readonly future: FutureBuffer<Buffered<B>>;
  /** peer -> last time a DECIDED was served to it (rate limit of §4), oldest first. */
  private readonly served = new Map<PeerId, number>();

  private statusValue: ReplicaStatus = 'new';
  private hs: HeightState<B> | undefined;
  private nowMs = 0;
  private pendingTxs = false;
  private lastSyncRequestMs = Number.NEGATIVE_INFINITY;
  private out: Ready<B> = emptyReady();
  private dirty = false;
  /** The peer whose frame is being handled, while its handling runs: provable drops are its offences. */
  private frameFrom: PeerId | undefined;
  /** DECIDED certificates already verified by onFrame, with the height state and digest they were verified for. */
  private readonly certsVerified = new WeakMap<CommitCertificate, { hs: HeightState<B>; digest: string }>();

  constructor(options: ReplicaOptions<B>) {
    this.chainId = options.chainId;
    this.port = options.port;
    this.signer = options.signer;
    this.selfKey = options.signer ? addressKey(options.signer.address) : undefined;
    this.limits = resolveLimits(options.limits);
    this.verifyFn = options.verify ?? defaultVerify;
    this.brokenRule = options.brokenRule;
    this.future = new FutureBuffer(
      this.limits.bufferedMessagesPerPeerMax,
      this.limits.bufferedMessagesTotalMax,
      {
        perPeerBytesMax: this.limits.bufferedBytesPerPeerMax,
        totalBytesMax: this.limits.bufferedBytesTotalMax,
      },
    );
  }

  // ---- Read-only views for the driver, metrics and tests --------------------------------------

  get status(): ReplicaStatus {
    return this.statusValue;
  }
  /** The height being decided (or just decided, while awaiting the next startHeight). */
  get height(): number {
    return this.hs?.height ?? 0;
  }
  get round(): number {
    return this.hs?.round ?? 0;
  }
  get validators(): ValidatorSet | undefined {
    return this.hs?.vs;
  }
  /** Whether this replica signs at the current height (it has a key and is in V(h)). */
  get isMember(): boolean {
    return this.selfKey !== undefined && (this.hs?.vs.hasKey(this.selfKey) ?? false);
  }
  get preparedRound(): number | undefined {
    return this.hs?.prepared?.round;
  }
  get preparedDigest(): Uint8Array | undefined {
    return this.hs?.prepared?.entry.digest;
  }
  get timerDeadlineMs(): number | undefined {
    return this.hs?.timerDeadlineMs;
  }
  get futureBufferSize(): number {
    return this.future.size;
  }
  futureBufferSizeOf(peer: PeerId): number {
    return this.future.sizeOf(peer);
  }
  futureBufferLargestPeer(): number {
    return this.future.largestPeerSize();
  }
  /** Bytes held in the future-height buffer (bounded by limits.bufferedBytesTotalMax). */
  get futureBufferBytes(): number {
    return this.future.bytes;
  }
  futureBufferLargestPeerBytes(): number {
    return this.future.largestPeerBytes();
  }

  // ---- The one entry point ---------------------------------------------------------------------

  /** Consumes one event; returns what to do, in the order documented on `Ready`. */
  step(event: ConsensusEvent<B>): Ready<B> {
    invariant(Number.isFinite(event.nowMs), 'event.nowMs must be a finite number');
    this.out = emptyReady();
    this.dirty = false;
    // A clock that steps back must not un-expire a timer: time only moves forward inside the core.
    this.nowMs = Math.max(this.nowMs, event.nowMs);
    if (this.statusValue === 'halted') {
      if (event.type === 'message') this.drop('halted');
      return this.finish();
    }
    switch (event.type) {
      case 'startHeight':
        this.onStartHeight(event);
        break;
      case 'message':
        this.onFrame(event.from, event.bytes);
        break;
      case 'tick':
        this.onTick();
        break;
      case 'proposalBuilt':
        this.onProposalBuilt(event.height, event.round, event.block);
        break;
      case 'blockExecuted':
        this.onBlockExecuted(event.digest, event.valid);
        break;
      case 'pendingTxs':
        this.pendingTxs = event.pending;
        break;
      case 'decided':
        if (this.statusValue === 'new') break;
        this.onDecided('sync', {
          kind: 'DECIDED',
          block: event.block,
          blockBytes: this.port.encode(event.block),
          cert: event.cert,
        });
        break;
    }
    if (this.statusValue === 'running') this.runRules();
    return this.finish();
  }

  private finish(): Ready<B> {
    const hs = this.hs;
    if (hs && this.statusValue === 'running' && this.isMember) this.armIdleTimer(hs);
    // Only a member signs, so only a member has anything to protect with a record.
    if (this.dirty && hs && this.isMember) this.out.persist = encodeWalRecord(this.walRecord(hs));
    this.out.wakeAtMs = this.nextWakeMs();
    const out = this.out;
    this.out = emptyReady();
    return out;
  }

  // ---- R0: start a height ----------------------------------------------------------------------

  private onStartHeight(ev: StartHeightEvent): void {
    // The height's chain parameters first: the timers armed and the rules run below use them.
    if (ev.limits) this.applyHeightLimits(ev.limits);
    invariant(Number.isSafeInteger(ev.height) && ev.height >= 1, 'startHeight: height must be >= 1');
    if (this.hs) {
      invariant(ev.height > this.hs.height, `startHeight ${ev.height} after height ${this.hs.height}`);
      invariant(ev.wal === undefined, 'a WAL record is restored only at boot');
    }
    invariant(ev.validators.size >= 1, 'V(h) must not be empty (§7)');
    invariant(ev.validators.size <= this.limits.validatorsMax, 'V(h) exceeds validatorsMax');
    const hs: HeightState<B> = {
      height: ev.height,
      vs: ev.validators,
      parentHash: ev.parentHash,
      parentTimestampMs: ev.parentTimestampMs,
      round: 0,
      sent: new Map(),
      proposals: new Map(),
      prepares: new Map(),
      commits: new Map(),
      roundChanges: new Map(),
      seen: new Map(),
      evidenceRecorded: new Map(),
      blocks: new Map(),
      built: new Map(),
      buildRequested: new Set(),
      unknownBlocksRequested: new Set(),
      aheadAuthors: new Set(),
      verified: new Map(),
      decideDirty: true,
    };
    this.hs = hs;
    this.statusValue = 'running';
    if (ev.wal) {
      const rec = decodeWalRecord(ev.wal);
      if (rec.chainId !== this.chainId) throw new WalError('wrong-chain', `record of chain ${rec.chainId}`);
      if (rec.height > ev.height) {
        throw new WalError('ahead-of-ledger', `record for height ${rec.height}, ledger expects ${ev.height}`);
      }
      // An older record is obsolete: the ledger already holds its block (§3.3).
      if (rec.height === ev.height) this.restore(hs, rec);
    }
    if (hs.round > 0 && this.isMember)
      hs.timerDeadlineMs = this.nowMs + roundTimeoutMs(this.limits, hs.round);
    for (const { peer, item } of this.future.take(ev.height)) this.handleMessage(peer, item.msg, false);
  }

  /**
   * Takes the chain-parameter limits of a new height (StartHeightEvent.limits) over the current
   * ones; every other limit keeps its value from construction. A set resolveLimits refuses (the
   * ledger's parameter rule makes that impossible) must not halt an honest replica, which would
   * stall the chain: the previous limits stay, and the refusal is counted.
   */
  private applyHeightLimits(given: NonNullable<StartHeightEvent['limits']>): void {
    const next: Partial<ConsensusLimits> = { ...this.limits };
    for (const name of CHAIN_PARAM_LIMIT_NAMES) {
      const v = given[name];
      if (v !== undefined) next[name] = v;
    }
    try {
      this.limits = resolveLimits(next);
    } catch {
      this.counters.limitsRefused++;
    }
  }

  /** Resumes at the persisted (height, round) with `prepared`, `accepted` and `sent` (§3.3, "Restart"). */
  private restore(hs: HeightState<B>, rec: WalRecord): void {
    hs.round = rec.round;
    const entryOf = (bytes: Uint8Array, digest: Uint8Array, what: string): BlockEntry<B> => {
      let block: B;
      try {
        block = this.port.decode(bytes);
      } catch (e) {
        throw new WalError('malformed', `${what}: ${(e as Error).message}`);
      }
      if (!bytesEqual(this.port.hash(block), digest))
        throw new WalError('malformed', `${what}: digest mismatch`);
      return this.addBlock(block, bytes, digest);
    };
    if (rec.prepared) {
      hs.prepared = {
        round: rec.prepared.round,
        entry: entryOf(rec.prepared.block, rec.prepared.digest, 'prepared.block'),
        cert: rec.prepared.cert,
      };
    }
    if (rec.accepted)
      hs.accepted = {
        round: rec.accepted.round,
        entry: entryOf(rec.accepted.block, rec.accepted.digest, 'accepted.block'),
      };
    for (const frame of rec.sent) {
      let msg: Message<B>;
      try {
        msg = decodeMessage(frame, this.port, this.limits);
      } catch (e) {
        throw new WalError('malformed', `sent frame: ${(e as MessageError).message}`);
      }
      if (msg.kind === 'DECIDED') throw new WalError('malformed', 'a DECIDED in sent');
      const p = msg.item.payload;
      if (
        p.height !== hs.height ||
        p.round !== hs.round ||
        !this.signer ||
        !bytesEqual(p.author, this.signer.address)
      ) {
        throw new WalError('malformed', 'sent frame of another height, round or author');
      }
      if (hs.sent.has(p.type)) throw new WalError('malformed', `two sent frames of type ${p.type}`);
      hs.sent.set(p.type, frame);
      // Our own messages count toward our quorums (§1.1), and are re-sent in case the crash came
      // between the fsync and the send: the same bytes, never a new signature.
      this.storeOwn(msg);
      this.out.messages.push({ kind: p.type, height: p.height, round: p.round, bytes: frame });
    }
  }

  private walRecord(hs: HeightState<B>): WalRecord {
    const rec: WalRecord = {
      chainId: this.chainId,
      height: hs.height,
      round: hs.round,
      sent: [...hs.sent.values()],
    };
    if (hs.accepted) {
      rec.accepted = {
        round: hs.accepted.round,
        digest: hs.accepted.entry.digest,
        block: hs.accepted.entry.bytes,
      };
    }
    if (hs.prepared) {
      rec.prepared = {
        round: hs.prepared.round,
        digest: hs.prepared.entry.digest,
        block: hs.prepared.entry.bytes,
        cert: hs.prepared.cert,
      };
    }
    return rec;
  }

  // ---- Time ------------------------------------------------------------------------------------

  /**
   * R4: timer(h, round) fired.
   *
   * (Synod implementation, beyond docs/protocol.md §3.2) A replica leaves a round r >= 1 by timeout only
   * once q validators have shown they reached round r or above; until then it re-arms timer(r) and
   * re-sends the frames it signed in r (the same bytes). Why: with timeouts capped at
   * roundTimeoutMsMax, every round lasts the same, so a replica that got one round ahead of the
   * others (fewer than f+1 of them ahead, so R6 moves nobody) would time out of each round just
   * before the others enter it, forever: simulator seed 58 (n = 4, one silent Byzantine) showed it.
   * Uncapped doubling closes such gaps by itself; with the cap this guard does. It cannot stall:
   * the lowest honest replica always sees all n - f >= q honest validators at or above its round,
   * so it advances, and the others wait for it. Safety does not depend on timers.
   */
  private onTick(): void {
    const hs = this.hs;
    if (!hs || this.statusValue !== 'running' || !this.isMember) return;
    if (hs.timerDeadlineMs === undefined || this.nowMs < hs.timerDeadlineMs) return;
    if (hs.round >= 1 && !this.roundReachedByQuorum(hs, hs.round)) {
      this.counters.roundTimeoutsDeferred++;
      hs.timerDeadlineMs = this.nowMs + roundTimeoutMs(this.limits, hs.round);
      for (const [type, bytes] of hs.sent)
        this.out.messages.push({ kind: type, height: hs.height, round: hs.round, bytes });
      return;
    }
    this.counters.roundTimeouts++;
    this.enterRound(hs, hs.round + 1);
    this.sendRoundChange(hs);
  }

  /**
   * Whether q distinct validators have shown they reached round >= r at this height: they signed an
   * RC, PREPARE, COMMIT or PROPOSAL for such a round, or signed an RC in the justification of a
   * valid proposal for such a round (honest validators sign only in their current round).
   */
  private roundReachedByQuorum(hs: HeightState<B>, r: number): boolean {
    const authors = new Set<string>();
    for (const byRound of [hs.roundChanges, hs.prepares, hs.commits] as Map<number, Map<string, unknown>>[]) {
      for (const [round, m] of byRound) if (round >= r) for (const a of m.keys()) authors.add(a);
    }
    for (const [round, sp] of hs.proposals) {
      if (round < r) continue;
      authors.add(addressKey(sp.msg.item.payload.author));
      for (const rc of sp.msg.roundChanges) authors.add(addressKey(rc.payload.author));
    }
    return authors.size >= this.quorum(hs);
  }

  /** §1.3 idle chain: round 0 is timed only once there is work, or the empty-block interval passed. */
  private armIdleTimer(hs: HeightState<B>): void {
    if (hs.round !== 0 || hs.timerDeadlineMs !== undefined) return;
    if (this.pendingTxs || this.nowMs >= hs.parentTimestampMs + this.limits.emptyBlockIntervalMs) {
      hs.timerDeadlineMs = this.nowMs + roundTimeoutMs(this.limits, 0);
    }
  }

  private nextWakeMs(): number | undefined {
    const hs = this.hs;
    if (!hs || this.statusValue !== 'running' || !this.isMember) return undefined;
    let wake = hs.timerDeadlineMs ?? Number.POSITIVE_INFINITY;
    if (hs.round === 0) {
      const emptyDue = hs.parentTimestampMs + this.limits.emptyBlockIntervalMs;
      if (hs.timerDeadlineMs === undefined && emptyDue > this.nowMs) wake = Math.min(wake, emptyDue);
      if (this.isProposer(hs, 0) && !hs.sent.has('PROPOSAL') && !hs.buildRequested.has(0)) {
        const due = this.pendingTxs ? hs.parentTimestampMs + this.limits.blockPeriodMs : emptyDue;
        if (due > this.nowMs) wake = Math.min(wake, due);
      }
    }
    return Number.isFinite(wake) ? wake : undefined;
  }

  private enterRound(hs: HeightState<B>, round: number): void {
    invariant(round > hs.round, `round may only grow (${hs.round} -> ${round})`);
    hs.round = round;
    hs.accepted = undefined;
    hs.sent.clear();
    this.dirty = true;
    hs.timerDeadlineMs = this.isMember ? this.nowMs + roundTimeoutMs(this.limits, round) : undefined;
    // PROPOSALs and RCs below the current round are useless (§4); PREPAREs and COMMITs are kept,
    // since a COMMIT quorum of any round decides (R3).
    for (const r of hs.proposals.keys()) if (r < round) hs.proposals.delete(r);
    for (const r of hs.roundChanges.keys()) if (r < round) hs.roundChanges.delete(r);
    for (const r of hs.built.keys()) if (r < round) hs.built.delete(r);
  }

  // ---- Incoming messages -------------------------------------------------------------------------

  /**
   * A frame from the network, in two stages: bytes before work, authentication before buffering.
   * The envelope (signed items, certificate; blocks left as bytes) is decoded and authenticated
   * first: its author must be in V(h) and its signature valid (a DECIDED's certificate, read
   * against the block's header alone), and only then is a block of up to blockBytesMax decoded or
   * anything buffered. Past-height frames are answered without decoding their blocks. A near-future
   * height is authenticated against V(h): its own set is not known yet, and is V(h) unless block h
   * changes it (a validator that joins there is heard once this replica reaches that height).
   */
  private onFrame(from: PeerId, bytes: Uint8Array): void {
    this.counters.received++;
    if (this.statusValue === 'new') return this.drop('not-started');
    this.frameFrom = from;
    try {
      let env: Envelope;
      try {
        env = decodeEnvelope(bytes, this.limits);
      } catch (e) {
        if (!(e instanceof MessageError)) throw e;
        return this.drop(e.code === 'too-large' ? 'too-large' : 'malformed');
      }
      const admitted = env.kind === 'DECIDED' ? this.admitDecided(env) : this.admitSigned(from, env);
      if (!admitted) return;
      let msg: Message<B>;
      try {
        msg = openEnvelope(env, this.port);
      } catch (e) {
        if (!(e instanceof MessageError)) throw e;
        return this.drop('bad-block-encoding');
      }
      this.handleMessage(from, msg, false);
    } finally {
      this.frameFrom = undefined;
    }
  }

  /** Stage one for a signed message: whether to decode its blocks and handle it. */
  private admitSigned(from: PeerId, env: Exclude<Envelope, { kind: 'DECIDED' }>): boolean {
    const hs = this.hs!;
    const p = env.item.payload;
    if (p.chainId !== this.chainId) return this.refuse('wrong-chain');
    if (this.selfKey !== undefined && addressKey(p.author) === this.selfKey) return this.refuse('own-echo');
    const decidedHere = this.statusValue === 'awaiting-next-height';
    if (p.height < hs.height || (decidedHere && p.height === hs.height)) {
      this.onPastHeight(from, p.height);
      return false;
    }
    if (p.height > hs.height + this.limits.futureHeightsMax) {
      // Still a sync hint (as onFutureHeight makes it), from a member whose signature verifies.
      if (this.statusValue === 'running' && hs.vs.has(p.author) && this.verifyItem(hs, env.item))
        this.noteAhead(hs, p.author);
      return this.refuse('future-too-far');
    }
    const current = p.height === hs.height;
    if (!hs.vs.has(p.author)) return this.refuse(current ? 'not-validator' : 'future-unauthenticated');
    if (current) {
      if (p.type === 'PROPOSAL' && !bytesEqual(p.author, hs.vs.proposer(hs.height, p.round)))
        return this.refuse('not-proposer');
      const stored = this.storedOf(hs, p.type, p.round, addressKey(p.author));
      if (stored && bytesEqual(stored.signed, env.item.signed)) return this.refuse('duplicate');
    }
    if (!this.verifyItem(hs, env.item)) {
      if (current) return this.refuse('bad-signature');
      // At a future height the set, or the author's key, may change: not provable here.
      return this.refuse('future-unauthenticated');
    }
    return true;
  }

  /** Stage one for a DECIDED: its height and certificate, checked before its block is decoded. */
  private admitDecided(env: Extract<Envelope, { kind: 'DECIDED' }>): boolean {
    const hs = this.hs!;
    const height = this.port.peekHeight?.(env.blockBytes);
    const digest = height === undefined ? undefined : this.port.peekDigest?.(env.blockBytes);
    if (height === undefined || digest === undefined) return true; // the port cannot peek: decode it all
    const left = this.statusValue === 'awaiting-next-height' ? hs.height : hs.height - 1;
    if (height <= left) return this.refuse('past-height');
    if (height > hs.height + this.limits.futureHeightsMax) {
      // Too far to buffer, and V(height) is not known here: only a hint, which a sync checks
      // block by block (requests are paced by syncRequestIntervalMs, so a liar gains nothing).
      if (this.statusValue === 'running') this.maybeRequestSync(hs, 'decided-ahead');
      return this.refuse('future-too-far');
    }
    // The certificate of a near-future height is checked against V(h), as signed messages are.
    try {
      verifyCommitCertificate(this.chainId, height, digest, env.cert, hs.vs, {
        verify: (sig, m, pk) => {
          this.counters.signaturesVerified++;
          return this.verifyFn(sig, m, pk);
        },
        quorum: this.quorum(hs),
      });
    } catch {
      if (height === hs.height) return this.refuse('bad-decided');
      // Above h the set may change at a height not executed yet: not provable, and not
      // buffered, but still a hint that others are ahead (the sync verifies what it fetches).
      if (this.statusValue === 'running') this.maybeRequestSync(hs, 'decided-ahead');
      return this.refuse('future-unauthenticated');
    }
    if (height === hs.height) this.certsVerified.set(env.cert, { hs, digest: hexOf(digest) });
    return true;
  }

  /** Drops (see drop) and answers "not admitted". */
  private refuse(reason: DropReason): false {
    this.drop(reason);
    return false;
  }

  /** Counts a drop; while a peer's frame is handled, a provable one is also that peer's offence. */
  private drop(reason: DropReason): void {
    this.counters.dropped[reason]++;
    if (this.frameFrom !== undefined && this.frameFrom !== 'sync' && OFFENCES.has(reason))
      this.out.offences.push({ peer: this.frameFrom, reason });
  }

  private handleMessage(from: PeerId, msg: Message<B>, own: boolean): void {
    if (msg.kind === 'DECIDED') return this.onDecided(from, msg);
    const hs = this.hs!;
    const p = msg.item.payload;
    if (p.chainId !== this.chainId) return this.drop('wrong-chain');
    // Our own messages enter only through storeOwn. One coming back from the network is a replay
    // (a duplicate at best); one we did not sign here means our key signs elsewhere too, and
    // adopting it could make our next signature conflict with it. Either way it is not used.
    if (!own && this.selfKey !== undefined && addressKey(p.author) === this.selfKey)
      return this.drop('own-echo');
    const decidedHere = this.statusValue === 'awaiting-next-height';
    if (p.height < hs.height || (decidedHere && p.height === hs.height))
      return this.onPastHeight(from, p.height);
    if (p.height > hs.height) return this.onFutureHeight(from, p.height, msg);
    if (!hs.vs.has(p.author)) return this.drop('not-validator');
    this.onCurrentHeight(hs, msg, own);
  }

  /** §4 past heights: drop, and answer the sender (rate-limited) with the DECIDED it is missing. */
  private onPastHeight(from: PeerId, height: number): void {
    this.drop('past-height');
    if (from === 'sync') return;
    const last = this.served.get(from);
    if (last !== undefined && this.nowMs - last < this.limits.decidedServeIntervalMs) return;
    this.served.delete(from);
    this.served.set(from, this.nowMs);
    if (this.served.size > this.limits.servePeersMax) this.served.delete(this.served.keys().next().value!);
    this.counters.decidedServed++;
    this.out.serveDecided.push({ to: from, height });
  }

  /** §4 future heights: buffer unverified (bounded per peer), and use them as sync hints. */
  private onFutureHeight(from: PeerId, height: number, msg: Message<B>): void {
    const hs = this.hs!;
    if (msg.kind !== 'DECIDED' && msg.item.payload.chainId !== this.chainId) return this.drop('wrong-chain');
    if (height > hs.height + this.limits.futureHeightsMax) {
      this.drop('future-too-far');
    } else {
      const evicted = this.future.add(from, height, { msg }, messageBytes(msg));
      this.counters.buffered++;
      this.counters.dropped['future-evicted'] += evicted;
    }
    if (this.statusValue !== 'running') return;
    if (msg.kind === 'DECIDED') return this.maybeRequestSync(hs, 'decided-ahead');
    const author = msg.item.payload.author;
    if (!hs.vs.has(author) || !this.verifyItem(hs, msg.item)) return;
    this.noteAhead(hs, author);
  }

  /** Messages above h signed by f+1 distinct members of V(h): at least one honest one is ahead. */
  private noteAhead(hs: HeightState<B>, author: Uint8Array): void {
    const key = addressKey(author);
    if (hs.aheadAuthors.has(key)) return;
    hs.aheadAuthors.add(key);
    if (hs.aheadAuthors.size >= hs.vs.f + 1) this.maybeRequestSync(hs, 'validators-ahead');
  }

  private maybeRequestSync(hs: HeightState<B>, reason: SyncRequest['reason']): void {
    if (this.nowMs - this.lastSyncRequestMs < this.limits.syncRequestIntervalMs) return;
    this.lastSyncRequestMs = this.nowMs;
    this.counters.syncRequests++;
    this.out.requestSync.push({ height: hs.height, reason });
  }

  private verifyItem(hs: HeightState<B>, item: SignedItem): boolean {
    const sigKey = hexOf(item.signature);
    const cached = hs.verified.get(sigKey);
    if (cached !== undefined && bytesEqual(cached, item.signed)) {
      this.counters.verifyCacheHits++;
      return true;
    }
    const pk = hs.vs.publicKeyOf(item.payload.author);
    if (!pk) return false;
    this.counters.signaturesVerified++;
    if (!this.verifyFn(item.signature, item.signed, pk)) return false;
    if (hs.verified.size >= this.limits.verifiedCacheEntriesMax) hs.verified.clear();
    hs.verified.set(sigKey, item.signed);
    return true;
  }

  private quorum(hs: HeightState<B>): number {
    if (this.brokenRule === 'quorum-f-plus-1') return hs.vs.f + 1;
    return quorumSize(hs.vs.size);
  }

  private isProposer(hs: HeightState<B>, round: number): boolean {
    return this.signer !== undefined && bytesEqual(hs.vs.proposer(hs.height, round), this.signer.address);
  }

  private highestRoundChangeOf(hs: HeightState<B>, authorKey: string): number {
    let best = -1;
    for (const [r, m] of hs.roundChanges) if (r > best && m.has(authorKey)) best = r;
    return best;
  }

  private storedOf(
    hs: HeightState<B>,
    type: SignedType,
    round: number,
    authorKey: string,
  ): SignedItem | undefined {
    switch (type) {
      case 'PROPOSAL': {
        const sp = hs.proposals.get(round);
        return sp && addressKey(sp.msg.item.payload.author) === authorKey ? sp.msg.item : undefined;
      }
      case 'PREPARE':
        return hs.prepares.get(round)?.get(authorKey);
      case 'COMMIT':
        return hs.commits.get(round)?.get(authorKey);
      case 'ROUND-CHANGE':
        return hs.roundChanges.get(round)?.get(authorKey)?.item;
    }
  }

  /** §4 current height: window checks, duplicates, signature, evidence (§6), then the V-* predicate. */
  private onCurrentHeight(hs: HeightState<B>, msg: SignedMessage<B>, own: boolean): void {
    const p = msg.item.payload;
    const authorKey = addressKey(p.author);
    const window = hs.round + this.limits.roundsAheadMax;
    if ((p.type === 'PROPOSAL' || p.type === 'ROUND-CHANGE') && p.round < hs.round)
      return this.drop('old-round');
    if (p.type === 'PROPOSAL' && !bytesEqual(p.author, hs.vs.proposer(hs.height, p.round)))
      return this.drop('not-proposer');
    if ((p.type === 'PREPARE' || p.type === 'COMMIT') && p.round > window) return this.drop('round-too-far');
    if (
      p.type === 'ROUND-CHANGE' &&
      p.round > window &&
      this.highestRoundChangeOf(hs, authorKey) >= p.round
    ) {
      return this.drop('round-too-far');
    }
    const stored = this.storedOf(hs, p.type, p.round, authorKey);
    if (stored && bytesEqual(stored.signed, msg.item.signed)) return this.drop('duplicate');
    const seenKey = `${p.type}/${p.round}/${authorKey}`;
    const seen = hs.seen.get(seenKey);
    const seenBefore = seen?.some((s) => bytesEqual(s.signed, msg.item.signed)) ?? false;
    if (seen && seen.length >= 2 && !seenBefore) return this.drop('equivocation-excess');
    if (!own && !this.verifyItem(hs, msg.item)) return this.drop('bad-signature');
    // Beyond the round window only each author's highest ROUND-CHANGE is kept, and its `seen`
    // entry with it (storeRoundChange): one there that fails V-RC must leave no trace, or an
    // author signing ever-higher rounds would grow `seen` without bound.
    if (msg.kind === 'ROUND-CHANGE' && p.round > window && !stored) {
      const bad = this.checkRoundChange(hs, msg);
      if (bad) return this.drop(bad);
    }
    if (!seen) {
      hs.seen.set(seenKey, [msg.item]);
    } else if (!seenBefore) {
      seen.push(msg.item);
      this.recordEquivocation(hs, seen[0]!, msg.item, authorKey);
    }
    // The first valid message per key is kept; a conflicting second one served only as evidence.
    if (stored) return this.drop('conflicting');
    switch (msg.kind) {
      case 'PREPARE':
        return this.storeVote(hs.prepares, msg.item, authorKey);
      case 'COMMIT':
        hs.decideDirty = true;
        return this.storeVote(hs.commits, msg.item, authorKey);
      case 'ROUND-CHANGE': {
        const bad = this.checkRoundChange(hs, msg);
        if (bad) return this.drop(bad);
        return this.storeRoundChange(hs, msg, authorKey);
      }
      case 'PROPOSAL': {
        const res = this.checkProposal(hs, msg);
        if (typeof res === 'string') return this.drop(res);
        return this.storeProposal(hs, msg, res.reproposal);
      }
    }
  }

  /**
   * Evidence of two conflicting signed messages. One record per (author, message type) and height
   * proves the fault; more would let an equivocator write without bound (a pair per round).
   */
  private recordEquivocation(
    hs: HeightState<B>,
    first: SignedItem,
    second: SignedItem,
    authorKey: string,
  ): void {
    const p = second.payload;
    const key = `${p.type}/${authorKey}`;
    const recorded = hs.evidenceRecorded.get(key) ?? 0;
    if (recorded >= EVIDENCE_PER_AUTHOR_TYPE_MAX) return;
    hs.evidenceRecorded.set(key, recorded + 1);
    const ev = makeEvidence(first, second);
    invariant(
      evidenceKey(ev) ===
        evidenceKey({ kind: p.type, height: p.height, round: p.round, validator: p.author }),
      'evidence key',
    );
    this.counters.evidence++;
    this.out.evidence.push(ev);
  }

  private storeVote(
    byRound: Map<number, Map<string, SignedItem<VotePayload>>>,
    item: SignedItem<VotePayload>,
    authorKey: string,
  ): void {
    let m = byRound.get(item.payload.round);
    if (!m) {
      m = new Map();
      byRound.set(item.payload.round, m);
    }
    m.set(authorKey, item);
  }

  private storeRoundChange(hs: HeightState<B>, msg: RoundChangeMessage<B>, authorKey: string): void {
    const round = msg.item.payload.round;
    let m = hs.roundChanges.get(round);
    if (!m) {
      m = new Map();
      hs.roundChanges.set(round, m);
    }
    m.set(authorKey, msg);
    const window = hs.round + this.limits.roundsAheadMax;
    if (round > window) {
      // Beyond the window only each author's highest RC is kept (R6 needs it, §4).
      for (const [r, other] of hs.roundChanges) {
        if (r > window && r !== round && other.delete(authorKey)) {
          hs.seen.delete(`ROUND-CHANGE/${r}/${authorKey}`);
          if (other.size === 0) hs.roundChanges.delete(r);
        }
      }
    }
    if (msg.preparedBlock && msg.item.payload.prepared) {
      this.addBlock(msg.preparedBlock.block, msg.preparedBlock.bytes, msg.item.payload.prepared.digest);
    }
  }

  private storeProposal(hs: HeightState<B>, msg: ProposalMessage<B>, reproposal: boolean): void {
    hs.proposals.set(msg.item.payload.round, { msg, reproposal });
    const entry = this.addBlock(msg.block, msg.blockBytes, msg.item.payload.digest);
    if (entry.exec === 'none') this.requestExecute(hs, entry);
  }

  /**
   * Own messages skip signature verification but otherwise take the same path as any other, so
   * they count toward our quorums (§1.1). Refusing one of our own is a bug in this file.
   */
  private storeOwn(msg: SignedMessage<B>): void {
    const hs = this.hs!;
    const before = { ...this.counters.dropped };
    this.onCurrentHeight(hs, msg, true);
    const p = msg.item.payload;
    const stored = this.storedOf(hs, p.type, p.round, addressKey(p.author));
    if (stored === undefined || !bytesEqual(stored.signed, msg.item.signed)) {
      const why = DROP_REASONS.filter((r) => this.counters.dropped[r] !== before[r]);
      throw new ConsensusInvariantError(
        `own ${p.type} (h=${p.height}, r=${p.round}) was not accepted: ${why.join(',')}`,
      );
    }
  }

  private addBlock(block: B, bytes: Uint8Array, digest: Uint8Array): BlockEntry<B> {
    const hs = this.hs!;
    const key = hexOf(digest);
    let e = hs.blocks.get(key);
    if (!e) {
      e = { block, bytes, digest, exec: 'none' };
      hs.blocks.set(key, e);
      hs.decideDirty = true;
    }
    return e;
  }

  private requestExecute(hs: HeightState<B>, entry: BlockEntry<B>): void {
    if (entry.exec !== 'none') return;
    entry.exec = 'pending';
    this.counters.executeRequests++;
    this.out.execute.push({ height: hs.height, digest: entry.digest, block: entry.block });
  }

  // ---- Validity predicates (docs/protocol.md §2.3) --------------------------------------------------------

  /**
   * A set of PREPAREs for exactly (h, round, digest): distinct members (strictly ascending by
   * address), at least q of them, at most n, every signature valid.
   */
  private checkPrepareSet(
    hs: HeightState<B>,
    items: readonly SignedItem<VotePayload>[],
    round: number,
    digest: Uint8Array,
  ): boolean {
    if (items.length < this.quorum(hs) || items.length > hs.vs.size) return false;
    for (let i = 0; i < items.length; i++) {
      const p = items[i]!.payload;
      if (p.type !== 'PREPARE' || p.chainId !== this.chainId || p.height !== hs.height || p.round !== round)
        return false;
      if (!bytesEqual(p.digest, digest) || !hs.vs.has(p.author)) return false;
      if (i > 0 && compareBytes(items[i - 1]!.payload.author, p.author) >= 0) return false;
    }
    return items.every((it) => this.verifyItem(hs, it));
  }

  /** V-RC 1-4, with check 4 on receipt (Synod, §2.3). Returns a drop reason or undefined. */
  private checkRoundChange(hs: HeightState<B>, msg: RoundChangeMessage<B>): DropReason | undefined {
    const p = msg.item.payload;
    if (p.round < 1) return 'bad-round-change';
    if (!p.prepared) return msg.preparedBlock || msg.prepareCert ? 'bad-round-change' : undefined;
    if (p.prepared.round >= p.round || !msg.preparedBlock || !msg.prepareCert) return 'bad-round-change';
    const b = msg.preparedBlock.block;
    if (!bytesEqual(this.port.hash(b), p.prepared.digest) || this.port.height(b) !== hs.height)
      return 'bad-round-change';
    if (!this.checkPrepareSet(hs, msg.prepareCert, p.prepared.round, p.prepared.digest))
      return 'bad-round-change';
    return undefined;
  }

  /**
   * The parts of FRESH(r) the core can check itself (§2.3.5); re-execution is the driver's. The
   * clock is judged here and only here: a timestamp ahead of this replica's clock by more than
   * the skew makes it refuse the proposal ('bad-timestamp', not an offence: clocks differ), while
   * the block itself, if a quorum certifies it, is executed whatever this clock says.
   */
  private checkFresh(
    hs: HeightState<B>,
    block: B,
    round: number,
    author: Uint8Array,
  ): 'bad-block' | 'bad-timestamp' | undefined {
    const ts = this.port.timestampMs(block);
    if (
      this.port.view(block) !== round ||
      !bytesEqual(this.port.proposer(block), author) ||
      !(ts > hs.parentTimestampMs)
    )
      return 'bad-block';
    return ts <= this.nowMs + this.limits.clockSkewMsMax ? undefined : 'bad-timestamp';
  }

  /** V-PROPOSAL 1-4 (author = proposer was checked before the signature). */
  private checkProposal(hs: HeightState<B>, msg: ProposalMessage<B>): DropReason | { reproposal: boolean } {
    const p = msg.item.payload;
    const b = msg.block;
    if (!bytesEqual(this.port.hash(b), p.digest)) return 'bad-block';
    if (this.port.height(b) !== hs.height || !bytesEqual(this.port.parentHash(b), hs.parentHash))
      return 'bad-block';
    if (p.round === 0) {
      if (msg.roundChanges.length !== 0 || msg.prepares.length !== 0) return 'bad-proposal';
      return this.checkFresh(hs, b, 0, p.author) ?? { reproposal: false };
    }
    const rcs = msg.roundChanges;
    if (rcs.length < this.quorum(hs) || rcs.length > hs.vs.size) return 'bad-proposal';
    const authors = new Set<string>();
    let highest: RoundChangePayload['prepared'];
    for (const rc of rcs) {
      const q = rc.payload;
      if (q.chainId !== this.chainId || q.height !== hs.height || q.round !== p.round) return 'bad-proposal';
      if (q.prepared && q.prepared.round >= p.round) return 'bad-proposal';
      const k = addressKey(q.author);
      if (authors.has(k) || !hs.vs.hasKey(k)) return 'bad-proposal';
      authors.add(k);
      if (q.prepared && (!highest || q.prepared.round > highest.round)) highest = q.prepared;
    }
    if (!rcs.every((rc) => this.verifyItem(hs, rc))) return 'bad-proposal';
    if (!highest) {
      // 4a: nobody in the justification prepared anything: a fresh block for this round.
      if (msg.prepares.length !== 0) return 'bad-proposal';
      return this.checkFresh(hs, b, p.round, p.author) ?? { reproposal: false };
    }
    // 4b: re-propose the value of the highest prepared round, with its PREPARE quorum.
    const pr = highest.round;
    const named = rcs.some(
      (rc) => rc.payload.prepared?.round === pr && bytesEqual(rc.payload.prepared.digest, p.digest),
    );
    if (!named) return 'bad-proposal';
    if (!this.checkPrepareSet(hs, msg.prepares, pr, p.digest)) return 'bad-proposal';
    return { reproposal: true };
  }

  /** V-DECIDED, then R7 once the block is executed. */
  private onDecided(from: PeerId, msg: DecidedMessage<B>): void {
    const hs = this.hs!;
    const height = this.port.height(msg.block);
    const decidedHere = this.statusValue === 'awaiting-next-height';
    if (height < hs.height || (decidedHere && height === hs.height)) {
      // Nothing to serve: the sender is ahead of or level with us.
      return this.drop('past-height');
    }
    if (height > hs.height) {
      if (from !== 'sync') return this.onFutureHeight(from, height, msg);
      // Synced blocks may run ahead of our commits: keep them for R0 (a sync is already under way).
      if (height > hs.height + this.limits.futureHeightsMax) return this.drop('future-too-far');
      this.counters.dropped['future-evicted'] += this.future.add(from, height, { msg }, messageBytes(msg));
      this.counters.buffered++;
      return;
    }
    if (hs.decided) return this.drop('duplicate');
    const digest = this.port.hash(msg.block);
    if (!bytesEqual(this.port.parentHash(msg.block), hs.parentHash)) {
      // A certified block on another parent is a fork, not this peer's offence: count it apart.
      this.counters.dropped['bad-decided']++;
      return;
    }
    const checked = this.certsVerified.get(msg.cert);
    if (checked?.hs === hs && checked.digest === hexOf(digest)) {
      hs.decided = { entry: this.addBlock(msg.block, msg.blockBytes, digest), cert: msg.cert };
      return;
    }
    try {
      verifyCommitCertificate(this.chainId, hs.height, digest, msg.cert, hs.vs, {
        verify: (sig, m, pk) => {
          this.counters.signaturesVerified++;
          return this.verifyFn(sig, m, pk);
        },
        quorum: this.quorum(hs),
      });
    } catch {
      return this.drop('bad-decided');
    }
    hs.decided = { entry: this.addBlock(msg.block, msg.blockBytes, digest), cert: msg.cert };
  }

  // ---- Driver answers ------------------------------------------------------------------------------

  private onProposalBuilt(height: number, round: number, block: B): void {
    const hs = this.hs;
    if (!hs || this.statusValue !== 'running' || height !== hs.height || round < hs.round || !this.isMember) {
      return this.drop('stale-event');
    }
    const p = this.port;
    invariant(p.height(block) === height, 'built block: wrong height');
    invariant(bytesEqual(p.parentHash(block), hs.parentHash), 'built block: wrong parent');
    invariant(p.view(block) === round, 'built block: B.view must be the round it is built for');
    invariant(
      bytesEqual(p.proposer(block), this.signer!.address),
      'built block: B.proposer must be this replica',
    );
    invariant(p.timestampMs(block) > hs.parentTimestampMs, 'built block: timestamp must exceed the parent');
    // A clock behind the others' (NTP drift) can make the earliest timestamp this block may
    // carry, the parent's + 1, later than this replica's own FRESH rule allows. Honest peers on
    // their clocks may accept it, but this replica would refuse its own proposal: it does not
    // propose in this round (the round changes to another proposer), and keeps following.
    if (p.timestampMs(block) > this.nowMs + this.limits.clockSkewMsMax) return this.drop('bad-timestamp');
    // The driver built it by executing it on the parent state: it is known valid.
    const entry = this.addBlock(block, p.encode(block), p.hash(block));
    if (entry.exec !== 'invalid') entry.exec = 'valid';
    hs.built.set(round, entry);
  }

  private onBlockExecuted(digest: Uint8Array, valid: boolean): void {
    const hs = this.hs;
    const entry = hs?.blocks.get(hexOf(digest));
    if (!hs || !entry || entry.exec !== 'pending') return this.drop('stale-event');
    entry.exec = valid ? 'valid' : 'invalid';
    hs.decideDirty = true;
    if (!valid) this.drop('invalid-block');
  }

  // ---- Upon-rules -------------------------------------------------------------------------------

  private runRules(): void {
    for (let i = 0; i < RULE_LOOP_MAX; i++) {
      const hs = this.hs!;
      if (this.statusValue !== 'running') return;
      if (
        this.ruleDecide(hs) ||
        this.ruleDecided(hs) ||
        this.ruleRoundSkip(hs) ||
        this.ruleProposeRound(hs) ||
        this.ruleAcceptProposal(hs) ||
        this.rulePrepared(hs) ||
        this.ruleProposeRoundZero(hs)
      ) {
        continue;
      }
      return;
    }
    throw new ConsensusInvariantError('upon-rules did not settle');
  }

  /** R3: a COMMIT quorum for (h, r, d), any round, and block d held and valid: decide. */
  private ruleDecide(hs: HeightState<B>): boolean {
    if (!hs.decideDirty) return false;
    hs.decideDirty = false;
    const q = this.quorum(hs);
    const rounds = [...hs.commits.keys()].sort((a, b) => a - b);
    for (const r of rounds) {
      const byDigest = new Map<string, SignedItem<VotePayload>[]>();
      for (const item of hs.commits.get(r)!.values()) {
        const k = hexOf(item.payload.digest);
        const list = byDigest.get(k);
        if (list) list.push(item);
        else byDigest.set(k, [item]);
      }
      for (const [k, items] of byDigest) {
        if (items.length < q) continue;
        const entry = hs.blocks.get(k);
        if (!entry) {
          if (!hs.unknownBlocksRequested.has(k)) {
            hs.unknownBlocksRequested.add(k);
            this.counters.syncRequests++;
            this.out.requestSync.push({
              height: hs.height,
              reason: 'unknown-block',
              digest: items[0]!.payload.digest,
            });
          }
          continue;
        }
        if (entry.exec === 'none') this.requestExecute(hs, entry);
        if (entry.exec === 'invalid') {
          this.halt(
            hs,
            'determinism-fault',
            entry.digest,
            `a COMMIT quorum of round ${r} names a block that failed execution here`,
          );
          return true;
        }
        if (entry.exec !== 'valid') {
          // Rescan once the execution result arrives (onBlockExecuted marks dirty).
          continue;
        }
        this.decide(hs, entry, certificateFromCommits(r, items), true);
        return true;
      }
    }
    return false;
  }

  /** R7: a valid DECIDED for h, once its block executed: commit without sending anything. */
  private ruleDecided(hs: HeightState<B>): boolean {
    const d = hs.decided;
    if (!d) return false;
    if (d.entry.exec === 'none') this.requestExecute(hs, d.entry);
    if (d.entry.exec === 'invalid') {
      this.halt(
        hs,
        'invalid-decided-block',
        d.entry.digest,
        'a block with a valid commit certificate failed execution',
      );
      return true;
    }
    if (d.entry.exec !== 'valid') return false;
    this.decide(hs, d.entry, d.cert, false);
    return true;
  }

  private decide(hs: HeightState<B>, entry: BlockEntry<B>, cert: CommitCertificate, announce: boolean): void {
    this.out.commit = {
      height: hs.height,
      block: entry.block,
      blockBytes: entry.bytes,
      digest: entry.digest,
      cert,
    };
    if (announce && this.isMember) {
      const bytes = encodeMessage<B>({ kind: 'DECIDED', block: entry.block, blockBytes: entry.bytes, cert });
      this.counters.sent.DECIDED++;
      this.out.messages.push({ kind: 'DECIDED', height: hs.height, round: cert.round, bytes });
    }
    this.counters.decided++;
    hs.timerDeadlineMs = undefined;
    this.statusValue = 'awaiting-next-height';
  }

  private halt(
    hs: HeightState<B>,
    code: 'determinism-fault' | 'invalid-decided-block',
    digest: Uint8Array,
    message: string,
  ): void {
    this.out.fatal = { code, height: hs.height, digest, message };
    this.statusValue = 'halted';
  }

  /**
   * R6: RCs for rounds above ours from f+1 distinct validators: move to the (f+1)-th largest of
   * their highest rounds. f Byzantine validators alone can never trigger it.
   */
  private ruleRoundSkip(hs: HeightState<B>): boolean {
    const highest = new Map<string, number>();
    for (const [r, m] of hs.roundChanges) {
      if (r <= hs.round) continue;
      for (const a of m.keys()) if ((highest.get(a) ?? -1) < r) highest.set(a, r);
    }
    const f = hs.vs.f;
    if (highest.size < f + 1) return false;
    const rounds = [...highest.values()].sort((a, b) => b - a);
    const target = rounds[f]!;
    this.counters.roundSkips++;
    this.enterRound(hs, target);
    if (this.isMember) this.sendRoundChange(hs);
    return true;
  }

  /** R5: proposer of a round r >= ours with a quorum of RC(h, r): propose, justified by them. */
  private ruleProposeRound(hs: HeightState<B>): boolean {
    if (!this.isMember) return false;
    const q = this.quorum(hs);
    let best = -1;
    for (const [r, m] of hs.roundChanges) {
      if (r < hs.round || r < 1 || m.size < q || r <= best || !this.isProposer(hs, r)) continue;
      if (r === hs.round && hs.sent.has('PROPOSAL')) continue;
      best = r;
    }
    if (best < 0) return false;
    // J: the RC with the highest preparedRound (ties: lowest address) plus q-1 others, by address.
    const rcs = [...hs.roundChanges.get(best)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, m]) => m);
    let top: RoundChangeMessage<B> | undefined;
    for (const rc of rcs) {
      const pr = rc.item.payload.prepared;
      if (pr && (!top || pr.round > top.item.payload.prepared!.round)) top = rc;
    }
    const justification = top ? [top, ...rcs.filter((rc) => rc !== top).slice(0, q - 1)] : rcs.slice(0, q);
    justification.sort((a, b) => compareBytes(a.item.payload.author, b.item.payload.author));
    let entry: BlockEntry<B>;
    let prepares: SignedItem<VotePayload>[];
    if (top) {
      const pr = top.item.payload.prepared!;
      entry = this.addBlock(top.preparedBlock!.block, top.preparedBlock!.bytes, pr.digest);
      prepares = top.prepareCert!;
    } else {
      const built = hs.built.get(best);
      if (!built) {
        this.requestBuild(hs, best);
        return false;
      }
      entry = built;
      prepares = [];
    }
    if (best > hs.round) {
      this.counters.roundJumps++;
      this.enterRound(hs, best);
    }
    this.propose(
      hs,
      entry,
      justification.map((rc) => rc.item),
      prepares,
    );
    return true;
  }

  /** R0 (second half): the round-0 proposer proposes once a block for (h, 0) is built. */
  private ruleProposeRoundZero(hs: HeightState<B>): boolean {
    if (!this.isMember || hs.round !== 0 || !this.isProposer(hs, 0) || hs.sent.has('PROPOSAL')) return false;
    const built = hs.built.get(0);
    if (built) {
      this.propose(hs, built, [], []);
      return true;
    }
    const sinceParentMs = this.nowMs - hs.parentTimestampMs;
    const due =
      sinceParentMs >= this.limits.blockPeriodMs &&
      (this.pendingTxs || sinceParentMs >= this.limits.emptyBlockIntervalMs);
    if (due) this.requestBuild(hs, 0);
    return false;
  }

  private requestBuild(hs: HeightState<B>, round: number): void {
    if (hs.buildRequested.has(round)) return;
    hs.buildRequested.add(round);
    this.counters.buildRequests++;
    const req: BuildRequest = { height: hs.height, round, minTimestampMs: hs.parentTimestampMs + 1 };
    this.out.build.push(req);
  }

  /** R1: a valid proposal for a round >= ours, block executed and valid, not yet PREPAREd: PREPARE. */
  private ruleAcceptProposal(hs: HeightState<B>): boolean {
    if (!this.isMember) return false;
    const rounds = [...hs.proposals.keys()].filter((r) => r >= hs.round).sort((a, b) => b - a);
    for (const r of rounds) {
      if (r === hs.round && hs.sent.has('PREPARE')) continue;
      const sp = hs.proposals.get(r)!;
      const entry = hs.blocks.get(hexOf(sp.msg.item.payload.digest))!;
      if (entry.exec === 'none') this.requestExecute(hs, entry);
      if (entry.exec === 'invalid') {
        if (sp.reproposal) {
          // f+1 honest replicas accepted what we reject: a determinism fault, not a bad proposal (§2.3.6).
          this.halt(
            hs,
            'determinism-fault',
            entry.digest,
            `re-proposed block of round ${r} failed execution`,
          );
          return true;
        }
        hs.proposals.delete(r);
        continue;
      }
      if (entry.exec !== 'valid') continue;
      if (r > hs.round) {
        this.counters.roundJumps++;
        this.enterRound(hs, r);
      }
      hs.accepted = { round: r, entry };
      this.dirty = true;
      this.sendVote(hs, 'PREPARE', entry.digest);
      return true;
    }
    return false;
  }

  /** R2: our accepted proposal has a PREPARE quorum in this round: prepared := it, then COMMIT. */
  private rulePrepared(hs: HeightState<B>): boolean {
    const acc = hs.accepted;
    if (!this.isMember || !acc || acc.round !== hs.round || hs.sent.has('COMMIT')) return false;
    const votes = hs.prepares.get(hs.round);
    if (!votes) return false;
    const matching = [...votes.values()].filter((v) => bytesEqual(v.payload.digest, acc.entry.digest));
    if (matching.length < this.quorum(hs)) return false;
    matching.sort((a, b) => compareBytes(a.payload.author, b.payload.author));
    hs.prepared = { round: hs.round, entry: acc.entry, cert: matching };
    this.dirty = true;
    this.sendVote(hs, 'COMMIT', acc.entry.digest);
    return true;
  }

  // ---- Signing and sending (I1 is asserted here, the last line of defence) ----------------------

  private sign<P extends VotePayload | RoundChangePayload>(payload: P): SignedItem<P> {
    return signPayload(payload, (m) => this.signer!.sign(m));
  }

  private recordSent(hs: HeightState<B>, type: SignedType, kind: MessageKind, bytes: Uint8Array): void {
    invariant(!hs.sent.has(type), `I1: a second ${type} for (${hs.height}, ${hs.round})`);
    hs.sent.set(type, bytes);
    this.dirty = true;
    this.counters.sent[kind]++;
    this.out.messages.push({ kind, height: hs.height, round: hs.round, bytes });
  }

  private sendVote(hs: HeightState<B>, type: 'PREPARE' | 'COMMIT', digest: Uint8Array): void {
    const item = this.sign<VotePayload>({
      type,
      chainId: this.chainId,
      height: hs.height,
      round: hs.round,
      author: this.signer!.address,
      digest,
    });
    const msg = { kind: type, item } as const;
    this.recordSent(hs, type, type, encodeMessage<B>(msg));
    this.storeOwn(msg);
  }

  /** I3/I4: RC(h, round) reports the persisted `prepared`, with its block and certificate. */
  private sendRoundChange(hs: HeightState<B>): void {
    const prepared = this.brokenRule === 'round-change-forgets-prepared' ? undefined : hs.prepared;
    const payload: RoundChangePayload = {
      type: 'ROUND-CHANGE',
      chainId: this.chainId,
      height: hs.height,
      round: hs.round,
      author: this.signer!.address,
    };
    if (prepared) payload.prepared = { round: prepared.round, digest: prepared.entry.digest };
    const msg: RoundChangeMessage<B> = { kind: 'ROUND-CHANGE', item: this.sign(payload) };
    if (prepared) {
      msg.preparedBlock = { block: prepared.entry.block, bytes: prepared.entry.bytes };
      msg.prepareCert = prepared.cert;
    }
    this.recordSent(hs, 'ROUND-CHANGE', 'ROUND-CHANGE', encodeMessage(msg));
    this.storeOwn(msg);
  }

  private propose(
    hs: HeightState<B>,
    entry: BlockEntry<B>,
    roundChanges: SignedItem<RoundChangePayload>[],
    prepares: SignedItem<VotePayload>[],
  ): void {
    const item = this.sign<VotePayload>({
      type: 'PROPOSAL',
      chainId: this.chainId,
      height: hs.height,
      round: hs.round,
      author: this.signer!.address,
      digest: entry.digest,
    });
    const msg: ProposalMessage<B> = {
      kind: 'PROPOSAL',
      item,
      block: entry.block,
      blockBytes: entry.bytes,
      roundChanges,
      prepares,
    };
    this.recordSent(hs, 'PROPOSAL', 'PROPOSAL', encodeMessage(msg));
    // The proposer PREPAREs its own proposal through R1 like everyone else (a PROPOSAL is no PREPARE).
    this.storeOwn(msg);
  }
}
