/**
 * A hand-driven network of replicas for unit tests and scenario transcripts. Nothing is delivered
 * unless a test says so, so each test reads as the sequence of events it checks. Blocks are the
 * simulator's SimBlock; signatures are real Ed25519.
 */

import { type CommitCertificate, certificateFromCommits } from '../../consensus/certificate.js';
import { Driver } from '../../consensus/driver.js';
import type { ChainParamLimits, Commit, ConsensusEvent, Ready } from '../../consensus/events.js';
import type { Evidence } from '../../consensus/evidence.js';
import type { ConsensusLimits } from '../../consensus/limits.js';
import { decodeMessage, encodeMessage, type Message, type MessageKind } from '../../consensus/messages.js';
import {
  type PreparedRef,
  type RoundChangePayload,
  type SignedItem,
  signPayload,
  type VotePayload,
} from '../../consensus/payload.js';
import { type BrokenRule, emptyReady, Replica } from '../../consensus/replica.js';
import { encodeSimBlock, nextStateRoot, type SimBlock, simBlockPort } from '../../consensus/sim/block.js';
import { ValidatorSet } from '../../consensus/validators.js';
import { Signer } from '../../crypto/ed25519.js';
import { sha256, taggedHash, toHex } from '../../crypto/hash.js';

export const CHAIN = 'synod-test';
export const port = simBlockPort();
export const GENESIS = taggedHash('test/genesis', new Uint8Array(0));
export const ZERO32 = new Uint8Array(32);

/** Limits of the test replicas: round r times out after min(1000 * 2^r, 8000). */
export const TEST_LIMITS: Partial<ConsensusLimits> = {
  roundTimeoutMsBase: 1_000,
  roundTimeoutMsMax: 8_000,
  blockPeriodMs: 100,
  emptyBlockIntervalMs: 5_000,
  clockSkewMsMax: 500,
  futureHeightsMax: 2,
  roundsAheadMax: 4,
  bufferedMessagesPerPeerMax: 8,
  bufferedMessagesTotalMax: 64,
  validatorsMax: 64,
  blockBytesMax: 64 * 1024,
  messageBytesMax: 128 * 1024,
  decidedServeIntervalMs: 500,
  servePeersMax: 64,
  syncRequestIntervalMs: 1_000,
  verifiedCacheEntriesMax: 1_024,
};

/** Deterministic signers sorted by address, so signers[i] is validator i of the sorted set. */
export function makeSigners(n: number, tag = 'v'): Signer[] {
  const out = Array.from(
    { length: n },
    (_, i) => new Signer(sha256(new TextEncoder().encode(`test-key/${tag}/${i}`))),
  );
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.address), Buffer.from(b.address)));
}

export function setOf(signers: readonly Signer[]): ValidatorSet {
  return ValidatorSet.fromPublicKeys(signers.map((s) => s.publicKey));
}

export function makeBlock(p: {
  height: number;
  view: number;
  proposer: Uint8Array;
  parentHash?: Uint8Array;
  timestampMs?: number;
  txs?: string[];
}): SimBlock {
  const txs = p.txs ?? [];
  return {
    height: p.height,
    view: p.view,
    parentHash: p.parentHash ?? GENESIS,
    timestampMs: p.timestampMs ?? 1_000 + p.height,
    proposer: p.proposer,
    txs,
    stateRoot: nextStateRoot(ZERO32, txs),
    nextValidatorsHash: ZERO32,
  };
}

export function vote(
  signer: Signer,
  type: 'PROPOSAL' | 'PREPARE' | 'COMMIT',
  height: number,
  round: number,
  digest: Uint8Array,
  chainId = CHAIN,
): SignedItem<VotePayload> {
  return signPayload<VotePayload>({ type, chainId, height, round, author: signer.address, digest }, (m) =>
    signer.sign(m),
  );
}

export function rcItem(
  signer: Signer,
  height: number,
  round: number,
  prepared?: PreparedRef,
): SignedItem<RoundChangePayload> {
  const payload: RoundChangePayload = {
    type: 'ROUND-CHANGE',
    chainId: CHAIN,
    height,
    round,
    author: signer.address,
  };
  if (prepared) payload.prepared = prepared;
  return signPayload(payload, (m) => signer.sign(m));
}

export function prepareFrame(signer: Signer, height: number, round: number, digest: Uint8Array): Uint8Array {
  return encodeMessage({ kind: 'PREPARE', item: vote(signer, 'PREPARE', height, round, digest) });
}

export function commitFrame(signer: Signer, height: number, round: number, digest: Uint8Array): Uint8Array {
  return encodeMessage({ kind: 'COMMIT', item: vote(signer, 'COMMIT', height, round, digest) });
}

/** PREPAREs of `signers` for (h, r, digest), sorted by author as a certificate must be. */
export function prepareCert(
  signers: readonly Signer[],
  height: number,
  round: number,
  digest: Uint8Array,
): SignedItem<VotePayload>[] {
  return signers
    .map((s) => vote(s, 'PREPARE', height, round, digest))
    .sort((a, b) => Buffer.compare(Buffer.from(a.payload.author), Buffer.from(b.payload.author)));
}

export function rcFrame(
  signer: Signer,
  height: number,
  round: number,
  prepared?: { round: number; block: SimBlock; cert: SignedItem<VotePayload>[] },
): Uint8Array {
  const item = rcItem(
    signer,
    height,
    round,
    prepared ? { round: prepared.round, digest: port.hash(prepared.block) } : undefined,
  );
  return encodeMessage<SimBlock>({
    kind: 'ROUND-CHANGE',
    item,
    preparedBlock: prepared ? { block: prepared.block, bytes: encodeSimBlock(prepared.block) } : undefined,
    prepareCert: prepared?.cert,
  });
}

export function proposalFrame(
  signer: Signer,
  block: SimBlock,
  round: number,
  roundChanges: SignedItem<RoundChangePayload>[] = [],
  prepares: SignedItem<VotePayload>[] = [],
): Uint8Array {
  return encodeMessage<SimBlock>({
    kind: 'PROPOSAL',
    item: vote(signer, 'PROPOSAL', block.height, round, port.hash(block)),
    block,
    blockBytes: encodeSimBlock(block),
    roundChanges,
    prepares,
  });
}

export function decidedFrame(block: SimBlock, cert: CommitCertificate): Uint8Array {
  return encodeMessage<SimBlock>({ kind: 'DECIDED', block, blockBytes: encodeSimBlock(block), cert });
}

export function certificate(
  signers: readonly Signer[],
  height: number,
  round: number,
  digest: Uint8Array,
): CommitCertificate {
  return certificateFromCommits(
    round,
    signers.map((s) => vote(s, 'COMMIT', height, round, digest)),
  );
}

export interface Sent {
  from: number;
  kind: MessageKind;
  height: number;
  round: number;
  bytes: Uint8Array;
  msg: Message<SimBlock>;
}

interface NodeLog {
  readies: Ready<SimBlock>[];
  commits: Commit<SimBlock>[];
  evidence: Evidence[];
  wal?: Uint8Array;
  ledger: SimBlock[];
}

export interface NetOptions {
  n: number;
  /** Extra signers that are not in V(1) (observers). */
  observers?: number;
  brokenRule?: BrokenRule;
  limits?: Partial<ConsensusLimits>;
  /** Validator set per height; default: the first n signers at every height. */
  validatorsAt?: (height: number, signers: readonly Signer[]) => ValidatorSet;
  startMs?: number;
  /** Whether replicas start with pending transactions (arms round-0 timers). */
  pendingTxs?: boolean;
  /** The chain-parameter limits each height starts with (what a param.set would bring). */
  heightLimits?: (height: number) => Partial<ChainParamLimits>;
}

const EMPTY_READY: Ready<SimBlock> = Object.freeze(emptyReady<SimBlock>());

/**
 * Replicas with a manual network, each run by the production driver (consensus/driver.ts) over
 * synchronous ports. Every frame a replica sends is appended to `sent` (a log) and to `pending`
 * (undelivered); tests deliver with `deliver`. Execution and building are the driver's deferred
 * jobs, run right after the call that caused them; blocks whose digest is in `invalid` execute as
 * invalid.
 */
export class Net {
  readonly signers: Signer[];
  readonly replicas: (Replica<SimBlock> | undefined)[] = [];
  readonly drivers: (Driver<SimBlock> | undefined)[] = [];
  readonly logs: NodeLog[] = [];
  readonly sent: Sent[] = [];
  pending: { to: number; sent: Sent }[] = [];
  readonly invalid = new Set<string>();
  /** Override what gets built: (node, height, round) -> block. */
  builder?: (node: number, height: number, round: number) => SimBlock;
  now: number;
  readonly n: number;
  private readonly opts: NetOptions;
  /** Each node's deferred jobs (execute, build), run after the call that queued them. */
  private readonly jobs: (() => void)[][] = [];
  /** The Readies of the current call, per node (the first is what `step` returns). */
  private readonly stepped: Ready<SimBlock>[][] = [];

  constructor(opts: NetOptions) {
    this.opts = opts;
    this.n = opts.n;
    this.signers = makeSigners(opts.n + (opts.observers ?? 0));
    this.now = opts.startMs ?? 10_000;
    for (let i = 0; i < this.signers.length; i++) {
      this.logs.push({ readies: [], commits: [], evidence: [], ledger: [] });
      this.jobs.push([]);
      this.stepped.push([]);
    }
  }

  validatorsAt(height: number): ValidatorSet {
    return this.opts.validatorsAt?.(height, this.signers) ?? setOf(this.signers.slice(0, this.n));
  }

  newReplica(i: number): Replica<SimBlock> {
    const s = this.signers[i]!;
    return new Replica<SimBlock>({
      chainId: CHAIN,
      port,
      signer: { address: s.address, sign: (m) => s.sign(m) },
      limits: { ...TEST_LIMITS, ...this.opts.limits },
      brokenRule: this.opts.brokenRule,
    });
  }

  private newDriver(i: number, replica: Replica<SimBlock>, withWal: boolean): Driver<SimBlock> {
    const log = this.logs[i]!;
    const parentOf = (height: number) => (height === 1 ? GENESIS : port.hash(log.ledger[height - 2]!));
    const fail = (obj: object, msg: string) => {
      throw new Error(`replica ${i}: ${msg} ${String((obj as { err?: unknown }).err ?? '')}`);
    };
    return new Driver<SimBlock>({
      replica,
      blocks: port,
      ledger: {
        nextHeight: () => {
          const height = log.ledger.length + 1;
          const limits = this.opts.heightLimits?.(height);
          return {
            height,
            validators: this.validatorsAt(height),
            parentHash: parentOf(height),
            parentTimestampMs: height === 1 ? 0 : log.ledger[height - 2]!.timestampMs,
            ...(limits ? { limits } : {}),
          };
        },
        hasPending: () => this.opts.pendingTxs ?? false,
        commit: (c) => {
          log.commits.push(c);
          log.ledger.push(c.block);
        },
        execute: (_block, digest) => {
          if (this.invalid.has(toHex(digest))) throw new Error('marked invalid by the test');
        },
        build: (b) =>
          this.builder?.(i, b.height, b.round) ?? this.defaultBlock(i, b.height, b.round, b.minTimestampMs),
        decided: (height) => {
          const c = log.commits.find((x) => x.height === height);
          return c ? { block: c.block, cert: c.cert } : undefined;
        },
      },
      network: {
        broadcast: (m) => {
          const sent: Sent = {
            from: i,
            kind: m.kind,
            height: m.height,
            round: m.round,
            bytes: m.bytes,
            msg: decodeMessage(m.bytes, port),
          };
          this.sent.push(sent);
          for (let to = 0; to < this.signers.length; to++) if (to !== i) this.pending.push({ to, sent });
        },
        send: () => {},
        report: () => {},
      },
      wal: {
        load: () => (withWal ? log.wal : undefined),
        save: (record) => {
          log.wal = record;
        },
      },
      time: {
        nowMs: () => this.now,
        // `advance` ticks every live replica, so wake-ups need no bookkeeping here.
        wakeAt: () => {},
        cancelWake: () => {},
        later: (_kind, job) => {
          this.jobs[i]!.push(job);
        },
      },
      sync: () => {},
      evidence: (ev) => {
        log.evidence.push(ev);
      },
      fatal: (f) => {
        if (f.error) throw f.error;
      },
      // A port that throws here is a broken test: say so loudly.
      log: { debug() {}, info() {}, warn() {}, error: fail },
      stepped: (_event, ready) => {
        log.readies.push(ready);
        this.stepped[i]!.push(ready);
      },
    });
  }

  /** Boots every replica at height 1 (or node i from its persisted WAL with `restart`). */
  start(): this {
    for (let i = 0; i < this.signers.length; i++) this.boot(i);
    return this;
  }

  boot(i: number, withWal = false): void {
    const replica = this.newReplica(i);
    this.replicas[i] = replica;
    const driver = this.newDriver(i, replica, withWal);
    this.drivers[i] = driver;
    this.call(i, () => driver.start());
  }

  /** Drops replica i's in-memory state; its WAL and ledger survive. */
  crash(i: number): void {
    this.drivers[i]?.stop();
    this.drivers[i] = undefined;
    this.replicas[i] = undefined;
    this.jobs[i] = [];
    this.pending = this.pending.filter((p) => p.to !== i);
  }

  replica(i: number): Replica<SimBlock> {
    const r = this.replicas[i];
    if (!r) throw new Error(`replica ${i} is down`);
    return r;
  }

  private driver(i: number): Driver<SimBlock> {
    const d = this.drivers[i];
    if (!d) throw new Error(`replica ${i} is down`);
    return d;
  }

  /** Runs `fn` on node i's driver, then its deferred jobs; returns the first Ready stepped. */
  private call(i: number, fn: () => void): Ready<SimBlock> {
    const readies = this.stepped[i]!;
    readies.length = 0;
    fn();
    for (let k = 0; k < 10_000 && this.jobs[i]!.length > 0; k++) this.jobs[i]!.shift()!();
    const first = readies[0] ?? EMPTY_READY;
    readies.length = 0;
    return first;
  }

  /**
   * Hands node i an event through its driver (frames, synced blocks, the pending flag, ticks);
   * returns the Ready of that event's step (an empty one when the driver had nothing to step).
   */
  step(i: number, ev: ConsensusEvent<SimBlock>): Ready<SimBlock> {
    const d = this.driver(i);
    switch (ev.type) {
      case 'message':
        return this.call(i, () => d.onMessage(ev.from, ev.bytes));
      case 'decided':
        return this.call(i, () => d.onSyncedBlock(ev.block, ev.cert));
      case 'pendingTxs':
        return this.call(i, () => d.setPending(ev.pending));
      case 'tick':
        return this.call(i, () => d.tick());
      default:
        throw new Error(`the harness feeds ${ev.type} through the driver's own requests; use boot()`);
    }
  }

  defaultBlock(i: number, height: number, round: number, minTimestampMs = 0): SimBlock {
    const log = this.logs[i]!;
    return makeBlock({
      height,
      view: round,
      proposer: this.signers[i]!.address,
      parentHash: height === 1 ? GENESIS : port.hash(log.ledger[height - 2]!),
      timestampMs: Math.max(this.now, minTimestampMs),
      txs: [`tx-${height}-${round}-${i}`],
    });
  }

  /** Delivers frame bytes to replica `to` as if from `from`. */
  inject(to: number, bytes: Uint8Array, from = 'test'): Ready<SimBlock> {
    return this.step(to, { type: 'message', nowMs: this.now, from, bytes });
  }

  /**
   * Delivers pending frames matching `pred` (all by default), in send order, including frames sent
   * in reaction, until none match. Returns how many were delivered. Frames to a down replica are lost.
   */
  deliver(pred: (p: { to: number; sent: Sent }) => boolean = () => true, maxRounds = 10_000): number {
    let count = 0;
    for (let k = 0; k < maxRounds; k++) {
      const idx = this.pending.findIndex(pred);
      if (idx < 0) return count;
      const [p] = this.pending.splice(idx, 1);
      if (!this.replicas[p!.to]) continue;
      this.inject(p!.to, p!.sent.bytes, `n${p!.sent.from}`);
      count++;
    }
    throw new Error('deliver did not settle');
  }

  /** Discards pending frames matching `pred`. */
  drop(pred: (p: { to: number; sent: Sent }) => boolean): number {
    const before = this.pending.length;
    this.pending = this.pending.filter((p) => !pred(p));
    return before - this.pending.length;
  }

  /** Advances the clock and ticks every live replica (or those in `only`). */
  advance(ms: number, only?: number[]): void {
    this.now += ms;
    for (let i = 0; i < this.signers.length; i++) {
      if (this.replicas[i] && (!only || only.includes(i))) this.step(i, { type: 'tick', nowMs: this.now });
    }
  }

  /** Sent messages of one kind, optionally from one node and height/round. */
  sentOf(kind: MessageKind, filter: { from?: number; height?: number; round?: number } = {}): Sent[] {
    return this.sent.filter(
      (s) =>
        s.kind === kind &&
        (filter.from === undefined || s.from === filter.from) &&
        (filter.height === undefined || s.height === filter.height) &&
        (filter.round === undefined || s.round === filter.round),
    );
  }

  /** Index of the proposer of (h, r) among signers. */
  proposerIndex(height: number, round: number): number {
    const p = this.validatorsAt(height).proposer(height, round);
    return this.signers.findIndex((s) => Buffer.compare(Buffer.from(s.address), Buffer.from(p)) === 0);
  }

  committedDigest(i: number, height: number): string | undefined {
    const c = this.logs[i]!.commits.find((x) => x.height === height);
    return c ? toHex(c.digest) : undefined;
  }
}

export function kindIs(kind: MessageKind) {
  return (p: { sent: Sent }) => p.sent.kind === kind;
}

export function hexOf(b: Uint8Array): string {
  return toHex(b);
}

/**
 * Feeds replica i the RCs of q-1 other validators for its current round, so that its next timeout
 * may leave the round (a replica alone in a round r >= 1 re-arms instead: see Replica.onTick).
 */
export function support(net: Net, i: number, height = 1): void {
  const r = net.replica(i);
  const q = net.validatorsAt(height).quorum;
  const others = net.signers
    .map((_, k) => k)
    .filter((k) => k !== i && k < net.n)
    .slice(0, q - 1);
  for (const k of others) net.inject(i, rcFrame(net.signers[k]!, height, r.round), `n${k}`);
}
