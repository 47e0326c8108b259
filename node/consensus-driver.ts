/**
 * The consensus driver: the thin I/O shell around the pure replica (consensus/replica.ts).
 *
 * Events (network frames, timer ticks, built and executed blocks, synced blocks) are queued and
 * stepped one at a time; each step's Ready is carried out in the order its type prescribes:
 * fsync the WAL record, commit the decided block (one atomic store batch), broadcast, then the
 * asynchronous requests (execute, build, serve, sync), then re-arm the timer. A new event is
 * stepped only after the previous Ready was persisted.
 */
import { appendFileSync, statSync } from 'node:fs';
import type { ConsensusEvent, Ready } from '../consensus/events.js';
import { type Evidence, encodeEvidence } from '../consensus/evidence.js';
import { encodeMessage } from '../consensus/messages.js';
import type { Replica } from '../consensus/replica.js';
import { ValidatorSet } from '../consensus/validators.js';
import { toHex } from '../crypto/hash.js';
import { buildBlock } from '../ledger/block.js';
import { heightLimitsOf } from '../ledger/params.js';
import type { Block, CommitCertificate as LedgerCert } from '../ledger/types.js';
import { ledgerBlockPort, toConsensusCert, toLedgerCert } from './block-port.js';
import type { Chain } from './chain.js';
import type { Logger } from './log.js';
import type { Mempool } from './mempool.js';
import type { P2PHost } from './p2p/index.js';
import { ProposalSizer } from './proposal-size.js';
import type { VerifyFn } from './verifier.js';
import type { Wal } from './wal.js';

/** Network frames waiting to be stepped; beyond this they are dropped (and counted). */
const QUEUED_MESSAGES_MAX = 20_000;
/**
 * Bytes of network frames waiting to be stepped, in all and per peer. Frames are bounded by the
 * p2p layer (about 5 MiB for consensus), so counting frames alone let a few peers queue
 * gigabytes; the per-peer share keeps one flooding peer from crowding out the others.
 */
const QUEUED_BYTES_MAX = 96 * 1024 * 1024;
const QUEUED_BYTES_PER_PEER_MAX = 24 * 1024 * 1024;
/** The evidence file stops growing here (the records stay in memory and on RPC; one warning). */
const EVIDENCE_FILE_BYTES_MAX = 64 * 1024 * 1024;
/** Evidence records kept in memory for RPC (all are also appended to the evidence file). */
const EVIDENCE_KEPT_MAX = 1_000;

export interface DriverHooks {
  /** Test only: exit right after persisting a record that covers a message of this kind. */
  crashAfterPersist?: string;
  crashAfterPersistHeight?: number;
}

export interface DriverDeps {
  replica: Replica<Block>;
  chain: Chain;
  wal: Wal;
  mempool: Mempool;
  p2p: P2PHost;
  verify: VerifyFn;
  /** This validator's address (absent for an observer). */
  self?: Uint8Array;
  log: Logger;
  evidenceFile: string;
  hooks?: DriverHooks;
  /** Called when the core asks for blocks from `height` on. */
  onSyncRequest: (height: number) => void;
  /** Called before a proposal is built (the node sends the transactions it holds for forwarding). */
  beforeBuild?: () => void;
  /** Called before a proposed block is executed (the node admits the forwarded transactions queued). */
  beforeExecute?: () => void;
  /** Called on a fatal alarm: continuing could fork, so the node must stop. */
  onFatal: (message: string) => void;
}

export interface DriverStats {
  queued: number;
  droppedQueueFull: number;
  droppedQueueBytes: number;
  steps: number;
  commits: number;
  builds: number;
  executions: number;
  invalidProposals: number;
}

export class ConsensusDriver {
  private readonly queue: ConsensusEvent<Block>[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  private readonly queuedBytesByPeer = new Map<string, number>();
  private evidenceFileFull = false;
  private draining = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPending = false;
  /** Sizes this validator's proposals from how long recent heights took. */
  readonly proposalSizer = new ProposalSizer();
  /** The current height as this validator saw it, for the sizer. */
  private heightSeen: { height: number; busySinceMs: number | undefined; round0Txs: number | undefined } = {
    height: -1,
    busySinceMs: undefined,
    round0Txs: undefined,
  };
  readonly evidence: Evidence[] = [];
  readonly stats: DriverStats = {
    queued: 0,
    droppedQueueFull: 0,
    droppedQueueBytes: 0,
    steps: 0,
    commits: 0,
    builds: 0,
    executions: 0,
    invalidProposals: 0,
  };
  private readonly log: Logger;

  constructor(private readonly d: DriverDeps) {
    this.log = d.log.child({ module: 'consensus' });
  }

  /** Starts the height after the latest committed block, restoring the WAL record if any. */
  start(): void {
    const wal = this.d.wal.load();
    this.enqueue(this.startHeightEvent(this.d.mempool.hasReady(), wal));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }

  /** A consensus frame from a peer. */
  onMessage(from: string, bytes: Uint8Array): void {
    if (this.queuedMessages >= QUEUED_MESSAGES_MAX) {
      this.stats.droppedQueueFull++;
      return;
    }
    const peerBytes = this.queuedBytesByPeer.get(from) ?? 0;
    if (
      this.queuedBytes + bytes.length > QUEUED_BYTES_MAX ||
      peerBytes + bytes.length > QUEUED_BYTES_PER_PEER_MAX
    ) {
      this.stats.droppedQueueBytes++;
      return;
    }
    this.queuedMessages++;
    this.queuedBytes += bytes.length;
    this.queuedBytesByPeer.set(from, peerBytes + bytes.length);
    this.enqueue({ type: 'message', nowMs: Date.now(), from, bytes });
  }

  /** A queued frame leaves the queue (stepped or discarded). */
  private dequeued(from: string, bytes: number): void {
    this.queuedMessages--;
    this.queuedBytes -= bytes;
    const left = (this.queuedBytesByPeer.get(from) ?? 0) - bytes;
    if (left > 0) this.queuedBytesByPeer.set(from, left);
    else this.queuedBytesByPeer.delete(from);
  }

  /** A block with its certificate fetched by sync (treated like a DECIDED message). */
  onSyncedBlock(block: Block, cert: LedgerCert): void {
    this.enqueue({ type: 'decided', nowMs: Date.now(), block, cert: toConsensusCert(cert) });
  }

  /** Tells the core whether transactions are waiting (arms the round-0 timer, PROTOCOL §1.3). */
  setPending(pending: boolean): void {
    if (pending === this.lastPending) return;
    this.lastPending = pending;
    if (pending) this.heightSeen.busySinceMs ??= Date.now();
    this.enqueue({ type: 'pendingTxs', nowMs: Date.now(), pending });
  }

  /** `pending`: whether the mempool holds a ready transaction as the height starts. */
  private startHeightEvent(pending: boolean, wal?: Uint8Array): ConsensusEvent<Block> {
    const chain = this.d.chain;
    const now = Date.now();
    this.heightSeen = {
      height: chain.height + 1,
      busySinceMs: pending ? now : undefined,
      round0Txs: undefined,
    };
    return {
      type: 'startHeight',
      nowMs: now,
      height: chain.height + 1,
      validators: ValidatorSet.fromPublicKeys(chain.nextValidators.map((v) => v.publicKey)),
      parentHash: chain.hash,
      parentTimestampMs: chain.header.timestamp,
      // Like the validators: the parameters in force at this height (the state after the parent),
      // so a passed param.set reaches the core's timers and freshness rule at the next height.
      limits: heightLimitsOf(chain.params),
      ...(wal ? { wal } : {}),
    };
  }

  private enqueue(event: ConsensusEvent<Block>, front = false): void {
    if (this.stopped) return;
    if (front) this.queue.unshift(event);
    else this.queue.push(event);
    this.stats.queued = this.queue.length;
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const event = this.queue.shift()!;
        if (event.type === 'message') this.dequeued(event.from, event.bytes.length);
        this.stats.steps++;
        const ready = this.d.replica.step(event);
        await this.apply(ready);
        // Yield to I/O now and then so a flood of frames cannot starve the event loop.
        if (this.stats.steps % 64 === 0) await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      this.log.fatal({ err }, 'consensus driver failed');
      this.d.onFatal(`consensus driver failed: ${(err as Error).message}`);
    } finally {
      this.draining = false;
      this.stats.queued = this.queue.length;
    }
  }

  private async apply(ready: Ready<Block>): Promise<void> {
    const d = this.d;
    // 1. Persist before send.
    if (ready.persist) {
      d.wal.save(ready.persist);
      const hook = d.hooks?.crashAfterPersist;
      if (
        hook &&
        ready.messages.some((m) => m.kind === hook && m.height >= (d.hooks?.crashAfterPersistHeight ?? 0))
      ) {
        this.log.warn({ kind: hook }, 'test hook: crashing after persisting, before sending');
        process.exit(137);
      }
    }
    if (ready.fatal) {
      this.log.fatal({ ...ready.fatal, digest: toHex(ready.fatal.digest) }, 'consensus fatal alarm');
      d.onFatal(ready.fatal.message);
      return;
    }
    // 2. Commit, then start the next height before any other event.
    if (ready.commit) {
      const c = ready.commit;
      const started = Date.now();
      await d.chain.commit(c.block, c.digest, toLedgerCert(c.cert));
      this.stats.commits++;
      this.learnProposalSize(c.height, c.cert.round, c.block.txs.length);
      this.log.info(
        {
          height: c.height,
          round: c.cert.round,
          hash: toHex(c.digest),
          txs: c.block.txs.length,
          signers: c.cert.sigs.length,
          ms: Date.now() - started,
        },
        'committed block',
      );
      // One pass over the pool's senders serves the new height's start and the pending signal.
      const pending = d.mempool.hasReady();
      this.enqueue(this.startHeightEvent(pending), true);
      this.enqueue({ type: 'pendingTxs', nowMs: Date.now(), pending });
      this.lastPending = pending;
    }
    // 3. Broadcast. Every frame the core makes fits the peers' consensus frame limit by
    // construction (node/p2p/protocols.ts); a failure to send is still no reason to stop deciding.
    for (const m of ready.messages) {
      try {
        d.p2p.broadcast('consensus', m.bytes);
      } catch (err) {
        this.log.error({ err, kind: m.kind, height: m.height, bytes: m.bytes.length }, 'could not broadcast');
      }
    }
    // 4. Requests. Each runs later on its own turn and catches its own failures (see guard).
    for (const req of ready.execute)
      setImmediate(() => this.guard('execute', () => this.execute(req.block, req.digest)));
    for (const req of ready.build)
      setImmediate(() => this.guard('build', () => this.build(req.height, req.round, req.minTimestampMs)));
    for (const req of ready.serveDecided) void this.serveDecided(req.to, req.height);
    for (const req of ready.requestSync) this.guard('sync request', () => d.onSyncRequest(req.height));
    for (const ev of ready.evidence) this.recordEvidence(ev);
    for (const o of ready.offences) {
      this.guard('misbehaviour report', () => d.p2p.reportMisbehaviour(o.peer, `consensus-${o.reason}`));
    }
    // 5. Timer.
    if (ready.wakeAtMs !== undefined) {
      if (this.timer) clearTimeout(this.timer);
      const delay = Math.max(0, ready.wakeAtMs - Date.now());
      this.timer = setTimeout(() => this.enqueue({ type: 'tick', nowMs: Date.now() }), delay);
    }
  }

  /**
   * Runs a request or callback outside the step loop, logging what it throws: a failing build,
   * execution or report must never take the process down (only a fatal alarm stops the node).
   * A build that fails leaves its round to time out; an execution that fails is answered invalid.
   */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, `${what} failed`);
    }
  }

  /** Feeds the decided height's duration to the proposal sizer, and says when the limit moves. */
  private learnProposalSize(height: number, round: number, txs: number): void {
    const seen = this.heightSeen;
    if (seen.height !== height) return;
    const params = this.d.chain.params;
    const change = this.proposalSizer.observe(
      {
        round,
        txs,
        elapsedMs: seen.busySinceMs === undefined ? undefined : Date.now() - seen.busySinceMs,
        round0Txs: seen.round0Txs,
      },
      params.blockTxsMax,
      params.roundTimeoutMsBase,
    );
    if (!change) return;
    const log =
      change.reason === 'quick height' ? this.log.debug.bind(this.log) : this.log.info.bind(this.log);
    log(
      { height, round, txs, round0Txs: seen.round0Txs, from: change.from ?? null, to: change.to ?? null },
      `proposal size limit moved: ${change.reason}`,
    );
  }

  /** Remembers the largest round-0 proposal of the current height (the sizer's evidence). */
  private noteProposal(block: Block): void {
    const seen = this.heightSeen;
    if (block.header.height !== seen.height || block.header.view !== 0) return;
    seen.round0Txs = Math.max(seen.round0Txs ?? 0, block.txs.length);
  }

  private execute(block: Block, digest: Uint8Array): void {
    if (this.stopped) return;
    let valid = false;
    try {
      this.noteProposal(block);
      this.d.beforeExecute?.();
      // No clock here: the replica judged a proposal's timestamp when it arrived (checkFresh),
      // and a certified block (DECIDED, synced, or named by a COMMIT quorum) is final whatever
      // this node's clock says. Passing the clock made a node 3 s behind halt on the first block.
      this.d.chain.execute(block);
      valid = true;
    } catch (err) {
      this.stats.invalidProposals++;
      this.log.warn(
        { height: block.header.height, hash: toHex(digest), err: (err as Error).message },
        'proposed block is invalid',
      );
    }
    this.stats.executions++;
    this.enqueue({ type: 'blockExecuted', nowMs: Date.now(), digest, valid });
  }

  private build(height: number, round: number, minTimestampMs: number): void {
    const d = this.d;
    if (this.stopped || !d.self || height !== d.chain.height + 1) return;
    d.beforeBuild?.();
    const params = d.chain.params;
    const txsMax = this.proposalSizer.limit(params.blockTxsMax);
    // At least one transaction's worth: the parameter rule lets blockBytesMax go down to
    // txBytesMax plus a header, and a pool that offers nothing then would leave governance unable
    // to vote a larger block back. buildBlock enforces the exact size.
    const ready = d.mempool.ready(txsMax, Math.max(params.txBytesMax, params.blockBytesMax - 64 * 1024));
    const built = buildBlock(d.chain.state, d.chain.header, {
      // With their hashes and sizes, and known verified: the mempool checked them at admission.
      txs: ready.map((e) => ({ stx: e.tx, meta: { hash: e.hash, size: e.bytes.length } })),
      isVerified: d.mempool.holds,
      proposer: d.self,
      view: round,
      timestamp: Math.max(Date.now(), minTimestampMs),
      verify: d.verify,
    });
    if (built.rejected.length > 0) {
      d.mempool.removeCommitted(built.rejected.map((r) => r.stx));
      this.log.debug(
        { height, rejected: built.rejected.length },
        'left out transactions that can never be included',
      );
    }
    d.chain.remember(built);
    this.noteProposal(built.block);
    this.stats.builds++;
    this.log.debug({ height, round, txs: built.block.txs.length }, 'built a proposal');
    this.enqueue({ type: 'proposalBuilt', nowMs: Date.now(), height, round, block: built.block });
  }

  private async serveDecided(to: string, height: number): Promise<void> {
    try {
      const decided = await this.d.chain.decidedBlock(height);
      if (!decided) return;
      const { block, cert } = decided;
      const bytes = encodeMessage<Block>({
        kind: 'DECIDED',
        block,
        blockBytes: ledgerBlockPort.encode(block),
        cert: toConsensusCert(cert),
      });
      this.d.p2p.send(to, 'consensus', bytes);
    } catch (err) {
      this.log.debug({ err, height, peer: to }, 'could not serve a decided block');
    }
  }

  private recordEvidence(ev: Evidence): void {
    if (this.evidence.length >= EVIDENCE_KEPT_MAX) this.evidence.shift();
    this.evidence.push(ev);
    const record = {
      kind: ev.kind,
      chainId: ev.chainId,
      height: ev.height,
      round: ev.round,
      validator: toHex(ev.validator),
    };
    this.log.warn(record, 'equivocation evidence');
    if (this.evidenceFileFull) return;
    try {
      // JSON lines, each with the canonical bytes of the pair so anyone can re-verify it.
      const line = { ...record, at: new Date().toISOString(), evidence: toHex(encodeEvidence(ev)) };
      const size = statSync(this.d.evidenceFile, { throwIfNoEntry: false })?.size ?? 0;
      if (size + line.evidence.length > EVIDENCE_FILE_BYTES_MAX) {
        this.evidenceFileFull = true;
        this.log.warn(
          { file: this.d.evidenceFile, bytesMax: EVIDENCE_FILE_BYTES_MAX },
          'evidence file is full: later evidence is kept in memory and on RPC only',
        );
        return;
      }
      appendFileSync(this.d.evidenceFile, `${JSON.stringify(line)}\n`);
    } catch (err) {
      this.log.error({ err }, 'could not persist evidence');
    }
  }
}
