/**
 * The consensus driver: the one interpreter of the replica's Ready (issue 24).
 *
 * Events (network frames, timer ticks, built and executed blocks, synced blocks) are queued and
 * stepped one at a time; each step's Ready is carried out in the order the protocol prescribes
 * (docs/protocol.md §3.3 and §10.1): save the WAL record, commit the decided
 * block (one atomic write), broadcast, then the requests (execute, build, serve, sync, evidence,
 * offences), then re-arm the timer. A new event is stepped only after the previous Ready was
 * persisted and its commit written.
 *
 * The driver does no I/O of its own: it reaches the world through the ports below, which the
 * node binds to libp2p, the file WAL, LevelDB and the system clock (node/consensus-driver.ts) and
 * the simulator binds to its virtual network, disk and clock (consensus/sim/simulator.ts). So
 * every simulated seed runs this code, the code every validator runs. It stays synchronous while
 * its ports are (the simulator's are); a port that returns a promise (a LevelDB commit) suspends
 * the queue until it settles.
 */
import type { CommitCertificate } from './certificate.js';
import type {
  BuildRequest,
  ChainParamLimits,
  Commit,
  ConsensusEvent,
  FatalAlarm,
  OutboundMessage,
  PeerId,
  Ready,
  SyncRequest,
} from './events.js';
import type { Evidence } from './evidence.js';
import { encodeMessage } from './messages.js';
import type { BlockPort } from './port.js';
import type { Replica } from './replica.js';
import type { ValidatorSet } from './validators.js';

/** What a height starts from: read off the ledger after the latest commit. */
export interface HeightStart {
  height: number;
  validators: ValidatorSet;
  parentHash: Uint8Array;
  parentTimestampMs: number;
  /** The chain parameters in force at `height` (absent: the limits stay as they are). */
  limits?: Partial<ChainParamLimits>;
}

/** The ledger as the driver needs it. Throwing from `execute` means the block is invalid. */
export interface LedgerPort<B> {
  /**
   * The height after the latest committed block, with its validator set and parameters.
   * `pending` is what `hasPending` just answered (the pool is looked at once per height).
   */
  nextHeight(pending: boolean): HeightStart;
  /** Whether a transaction is waiting to be proposed (asked at start and after each commit). */
  hasPending(): boolean;
  /** Writes a decided block, its certificate and its state in one atomic batch. */
  commit(c: Commit<B>): void | Promise<void>;
  /** Re-executes a proposal on the state after its parent; throws when it does not reproduce it. */
  execute(block: B, digest: Uint8Array): void;
  /** A proposal for (height, round), or undefined when this node cannot build one now. */
  build(req: BuildRequest): B | undefined;
  /** A committed block with its certificate, to serve a peer that lags. */
  decided(height: number): DecidedBlock<B> | undefined | Promise<DecidedBlock<B> | undefined>;
}

export interface DecidedBlock<B> {
  block: B;
  cert: CommitCertificate;
}

/** The consensus protocol's share of the network. Sending never waits. */
export interface NetworkPort {
  broadcast(m: OutboundMessage): void;
  send(to: PeerId, bytes: Uint8Array): void;
  /** A provable misbehaviour of `peer` (the scorer decides what follows). */
  report(peer: PeerId, reason: string): void;
}

/** The write-ahead log: one record, replaced as a whole; `save` returns once it is durable. */
export interface WalPort {
  load(): Uint8Array | undefined;
  save(record: Uint8Array): void;
}

/** Local time and the means to wait. */
export interface TimePort {
  /** This node's clock, in ms (it may be off and drift: the replica judges with it). */
  nowMs(): number;
  /** Calls `wake` at local time `atMs`, replacing the wake-up set before. */
  wakeAt(atMs: number, wake: () => void): void;
  cancelWake(): void;
  /** Runs `job` later, on a turn of its own; its answer comes back as an event. */
  later(kind: 'execute' | 'build', job: () => void): void;
  /**
   * Lets other work run in a long stretch of steps (production: setImmediate), so a flood of
   * frames cannot starve the rest of the process. Absent: the queue drains in one go.
   */
  pause?(): Promise<void>;
}

/** The points between the stages of a Ready, where a test or the simulator may crash the node. */
export type ProbePoint = 'before-persist' | 'after-persist' | 'after-commit' | 'after-send';

/**
 * A rule of this driver to break on purpose, to show the simulator catches it (tests and the
 * simulator CLI only; a node never sets one).
 *   send-before-persist  broadcast a Ready's messages before saving its WAL record: a node that
 *                        crashes in between has signed what it no longer remembers, and after the
 *                        restart it may sign a conflicting PROPOSAL or vote (docs/protocol.md §3).
 */
export type DriverRuleBreak = 'send-before-persist';

/** Structured logging (pino's Logger fits). */
export interface DriverLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DriverPorts<B> {
  replica: Replica<B>;
  /** The replica's block port, to encode the DECIDED frames this driver serves. */
  blocks: BlockPort<B>;
  ledger: LedgerPort<B>;
  network: NetworkPort;
  wal: WalPort;
  time: TimePort;
  /** Asks peers for blocks from `height` on (a Syncer in the node). */
  sync(req: SyncRequest): void;
  /** Equivocation proof the replica found. */
  evidence(ev: Evidence): void;
  /**
   * The fatal sink. Continuing could fork (a determinism fault, an invalid decided block) or the
   * interpreter itself failed: the owner must stop this node. The driver never exits a process.
   */
  fatal(f: { alarm?: FatalAlarm; error?: unknown; message: string }): void;
  log: DriverLog;
  /** Called at each probe point of every Ready; it may call `stop()` to crash the node there. */
  probe?(point: ProbePoint, ready: Ready<B>): void;
  /** Called after each step (the simulator's checkers read the replica here). */
  stepped?(event: ConsensusEvent<B>, ready: Ready<B>): void;
  /** Queue bounds for network frames (defaults below). */
  queue?: Partial<QueueLimits>;
  /** Steps between pauses when `time.pause` exists. */
  stepsPerPause?: number;
  /** Test only: a rule to break (see DriverRuleBreak). */
  brokenRule?: DriverRuleBreak;
}

export interface QueueLimits {
  /** Network frames waiting to be stepped; beyond this they are dropped (and counted). */
  messagesMax: number;
  /**
   * Bytes of frames waiting, in all and per peer. Frames are bounded by the p2p layer (about
   * 5 MiB for consensus), so counting frames alone let a few peers queue gigabytes; the per-peer
   * share keeps one flooding peer from crowding out the others.
   */
  bytesMax: number;
  bytesPerPeerMax: number;
}

export const DEFAULT_QUEUE_LIMITS: Readonly<QueueLimits> = Object.freeze({
  messagesMax: 20_000,
  bytesMax: 96 * 1024 * 1024,
  bytesPerPeerMax: 24 * 1024 * 1024,
});

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

export class Driver<B> {
  private readonly queue: ConsensusEvent<B>[] = [];
  private readonly limits: QueueLimits;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private readonly queuedBytesByPeer = new Map<string, number>();
  private draining = false;
  private stopped = false;
  private lastPending = false;
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

  constructor(private readonly p: DriverPorts<B>) {
    this.limits = { ...DEFAULT_QUEUE_LIMITS, ...p.queue };
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Starts the height after the latest committed block, restoring the WAL record if any. */
  start(): void {
    const wal = this.p.wal.load();
    const pending = this.p.ledger.hasPending();
    this.enqueue(this.startHeightEvent(pending, wal));
    this.setPending(pending);
  }

  /** Stops stepping at once (a crash in the simulator, shutdown in the node); idempotent. */
  stop(): void {
    this.stopped = true;
    this.p.time.cancelWake();
    this.queue.length = 0;
  }

  /** A consensus frame from a peer. */
  onMessage(from: PeerId, bytes: Uint8Array): void {
    if (this.stopped) return;
    const l = this.limits;
    if (this.queuedMessages >= l.messagesMax) {
      this.stats.droppedQueueFull++;
      return;
    }
    const peerBytes = this.queuedBytesByPeer.get(from) ?? 0;
    if (this.queuedBytes + bytes.length > l.bytesMax || peerBytes + bytes.length > l.bytesPerPeerMax) {
      this.stats.droppedQueueBytes++;
      return;
    }
    this.queuedMessages++;
    this.queuedBytes += bytes.length;
    this.queuedBytesByPeer.set(from, peerBytes + bytes.length);
    this.enqueue({ type: 'message', nowMs: this.p.time.nowMs(), from, bytes });
  }

  /** A block with its certificate fetched by sync (treated like a DECIDED message). */
  onSyncedBlock(block: B, cert: CommitCertificate): void {
    this.enqueue({ type: 'decided', nowMs: this.p.time.nowMs(), block, cert });
  }

  /** Time has passed: steps a tick now (the timer does this itself; an extra tick is harmless). */
  tick(): void {
    this.enqueue({ type: 'tick', nowMs: this.p.time.nowMs() });
  }

  /** Tells the core whether transactions are waiting (arms the round-0 timer, docs/protocol.md §1.3). */
  setPending(pending: boolean): void {
    if (pending === this.lastPending || this.stopped) return;
    this.lastPending = pending;
    this.enqueue({ type: 'pendingTxs', nowMs: this.p.time.nowMs(), pending });
  }

  private startHeightEvent(pending: boolean, wal?: Uint8Array): ConsensusEvent<B> {
    const s = this.p.ledger.nextHeight(pending);
    return {
      type: 'startHeight',
      nowMs: this.p.time.nowMs(),
      height: s.height,
      validators: s.validators,
      parentHash: s.parentHash,
      parentTimestampMs: s.parentTimestampMs,
      ...(s.limits ? { limits: s.limits } : {}),
      ...(wal ? { wal } : {}),
    };
  }

  private enqueue(event: ConsensusEvent<B>, front = false): void {
    if (this.stopped) return;
    if (front) this.queue.unshift(event);
    else this.queue.push(event);
    this.stats.queued = this.queue.length;
    if (!this.draining) this.drain();
  }

  /** A queued frame leaves the queue (stepped or discarded). */
  private dequeued(from: string, bytes: number): void {
    this.queuedMessages--;
    this.queuedBytes -= bytes;
    const left = (this.queuedBytesByPeer.get(from) ?? 0) - bytes;
    if (left > 0) this.queuedBytesByPeer.set(from, left);
    else this.queuedBytesByPeer.delete(from);
  }

  /**
   * Steps queued events until the queue is empty, synchronously, unless a port returns a
   * promise or a pause is due: then it resumes when that settles, still one event at a time.
   */
  private drain(): void {
    this.draining = true;
    const every = this.p.stepsPerPause ?? 64;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const event = this.queue.shift()!;
        if (event.type === 'message') this.dequeued(event.from, event.bytes.length);
        this.stats.steps++;
        const ready = this.p.replica.step(event);
        this.p.stepped?.(event, ready);
        const wait = this.apply(ready);
        if (wait) return this.resumeAfter(wait);
        if (this.p.time.pause && this.stats.steps % every === 0) return this.resumeAfter(this.p.time.pause());
      }
    } catch (err) {
      this.failed(err);
    }
    this.draining = false;
    this.stats.queued = this.queue.length;
  }

  private resumeAfter(wait: Promise<void>): void {
    wait.then(
      () => this.drain(),
      (err: unknown) => {
        this.failed(err);
        this.draining = false;
      },
    );
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.p.fatal({ error: err, message: `consensus driver failed: ${(err as Error)?.message ?? err}` });
  }

  /** Carries out one Ready; a promise when the commit is still being written. */
  private apply(ready: Ready<B>): Promise<void> | undefined {
    const p = this.p;
    const sendFirst = p.brokenRule === 'send-before-persist';
    if (sendFirst) this.broadcast(ready);
    // 1. Persist before anything leaves the node.
    p.probe?.('before-persist', ready);
    if (this.stopped) return undefined;
    if (ready.persist) p.wal.save(ready.persist);
    p.probe?.('after-persist', ready);
    if (this.stopped) return undefined;
    if (ready.fatal) {
      p.fatal({ alarm: ready.fatal, message: ready.fatal.message });
      return undefined;
    }
    // 2. Commit, then start the next height before any other event.
    if (ready.commit) {
      const written = p.ledger.commit(ready.commit);
      if (written) return written.then(() => this.afterCommit(ready));
    }
    this.afterCommit(ready);
    return undefined;
  }

  private afterCommit(ready: Ready<B>): void {
    const p = this.p;
    if (this.stopped) return;
    if (ready.commit) {
      this.stats.commits++;
      p.probe?.('after-commit', ready);
      if (this.stopped) return;
      // One look at the pool serves the new height's start and the pending signal.
      const pending = p.ledger.hasPending();
      this.queue.unshift(this.startHeightEvent(pending), {
        type: 'pendingTxs',
        nowMs: p.time.nowMs(),
        pending,
      });
      this.lastPending = pending;
    }
    // 3. Broadcast.
    if (p.brokenRule !== 'send-before-persist') this.broadcast(ready);
    p.probe?.('after-send', ready);
    if (this.stopped) return;
    // 4. Requests. Execute and build run later on turns of their own, and answer with events.
    for (const req of ready.execute) p.time.later('execute', () => this.execute(req.block, req.digest));
    for (const req of ready.build) p.time.later('build', () => this.guard('build', () => this.build(req)));
    for (const req of ready.serveDecided) this.serveDecided(req.to, req.height);
    for (const req of ready.requestSync) this.guard('sync request', () => p.sync(req));
    for (const ev of ready.evidence) this.guard('evidence', () => p.evidence(ev));
    for (const o of ready.offences) {
      this.guard('misbehaviour report', () => p.network.report(o.peer, `consensus-${o.reason}`));
    }
    // 5. Timer.
    if (ready.wakeAtMs !== undefined) {
      p.time.wakeAt(ready.wakeAtMs, () => this.enqueue({ type: 'tick', nowMs: p.time.nowMs() }));
    }
  }

  /**
   * Every frame the core makes fits the peers' frame limit by construction; a failure to send is
   * still no reason to stop deciding.
   */
  private broadcast(ready: Ready<B>): void {
    for (const m of ready.messages) {
      try {
        this.p.network.broadcast(m);
      } catch (err) {
        this.p.log.error(
          { err, kind: m.kind, height: m.height, bytes: m.bytes.length },
          'could not broadcast',
        );
      }
    }
  }

  /**
   * Runs a request or callback outside the step loop, logging what it throws: a failing build,
   * report or sync request must never take the node down (only the fatal sink stops it). A build
   * that fails leaves its round to time out.
   */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.p.log.error({ err }, `${what} failed`);
    }
  }

  private execute(block: B, digest: Uint8Array): void {
    if (this.stopped) return;
    let valid = false;
    try {
      this.p.ledger.execute(block, digest);
      valid = true;
    } catch (err) {
      this.stats.invalidProposals++;
      this.p.log.warn(
        { height: this.p.blocks.height(block), err: (err as Error)?.message ?? String(err) },
        'proposed block is invalid',
      );
    }
    this.stats.executions++;
    this.enqueue({ type: 'blockExecuted', nowMs: this.p.time.nowMs(), digest, valid });
  }

  private build(req: BuildRequest): void {
    if (this.stopped) return;
    const block = this.p.ledger.build(req);
    if (block === undefined) return;
    this.stats.builds++;
    this.enqueue({
      type: 'proposalBuilt',
      nowMs: this.p.time.nowMs(),
      height: req.height,
      round: req.round,
      block,
    });
  }

  private serveDecided(to: PeerId, height: number): void {
    const send = (d: DecidedBlock<B> | undefined): void => {
      if (!d || this.stopped) return;
      const bytes = encodeMessage<B>({
        kind: 'DECIDED',
        block: d.block,
        blockBytes: this.p.blocks.encode(d.block),
        cert: d.cert,
      });
      this.p.network.send(to, bytes);
    };
    const onError = (err: unknown): void =>
      this.p.log.debug({ err, height, peer: to }, 'could not serve a decided block');
    try {
      const found = this.p.ledger.decided(height);
      if (found instanceof Promise) found.then(send).catch(onError);
      else send(found);
    } catch (err) {
      onError(err);
    }
  }
}
