/**
 * The deterministic simulator (docs/architecture.md, "The deterministic simulator"): n replicas in one
 * process, a virtual clock (1 tick = 1 virtual millisecond), and one seeded PRNG that drives the
 * scenario, the network, crashes, Byzantine nodes and clients. Each node runs the production
 * driver (consensus/driver.ts, the one interpreter of the replica's Ready) bound to simulated
 * ports: a virtual network, a WAL and ledger that survive a crash as far as they were written,
 * a per-node clock with its own offset and drift, and timers on the virtual clock.
 *
 * A run has two phases. In the fault phase (scenario.faultTicks) the network drops, duplicates,
 * delays (so reorders) and partitions, honest nodes crash (at chosen points of the
 * persist/commit/send sequence) and restart from what they persisted, and Byzantine nodes attack.
 * Then the network heals: partitions end, crashed nodes restart, messages between up nodes arrive
 * within Δ and none are lost; Byzantine nodes keep attacking. The run ends once every submitted
 * tx is committed at every honest node, or fails on liveness at heal + the stated bound.
 */
import { Buffer } from 'node:buffer';
import { Signer, verify as verifyEd25519 } from '../../crypto/ed25519.js';
import { asMap, decode } from '../../crypto/encoding.js';
import { sha256, taggedHash, toHex } from '../../crypto/hash.js';
import type { CommitCertificate } from '../certificate.js';
import { Driver, type DriverLog, type ProbePoint } from '../driver.js';
import { CHAIN_PARAM_LIMIT_NAMES, type ChainParamLimits, type Commit, type Ready } from '../events.js';
import { type ConsensusLimits, resolveLimits } from '../limits.js';
import { encodeMessage, type MessageKind } from '../messages.js';
import { decodeSignedItem, type VerifyFn } from '../payload.js';
import { faultsTolerated } from '../quorum.js';
import { Replica } from '../replica.js';
import { roundTimeoutMs } from '../timer.js';
import { ValidatorSet } from '../validators.js';
import { scanWal, walFrame } from '../wal-log.js';
import { Adversary } from './adversary.js';
import { executeSimBlock, nextStateRoot, type SimBlock, simBlockPort } from './block.js';
import { type CheckerName, Checkers, type Violation } from './checkers.js';
import { Prng } from './prng.js';
import { EventQueue } from './queue.js';
import {
  clockFaultsWithinBound,
  describeScenario,
  generateScenario,
  limitsAt,
  type Scenario,
  type ScenarioOverrides,
  validatorSchedule,
} from './scenario.js';

export const SIM_CHAIN_ID = 'synod-sim';
/** Virtual time starts here, so that negative clock offsets still give positive local times. */
const T0 = 1_000;
const GENESIS_HASH = taggedHash('synod/sim/genesis', new Uint8Array(0));
const GENESIS_ROOT = taggedHash('synod/sim/state-genesis', new Uint8Array(0));
/** How often a Byzantine node runs its unsolicited attacks, in ticks. */
const BYZANTINE_PERIOD_MS = [150, 600] as const;

/** `torn-persist`: the crash tears the WAL append itself (a strict prefix of the frame lands). */
type CrashPoint = 'before-persist' | 'torn-persist' | 'after-persist' | 'after-commit' | 'after-send';
/** The simulated WAL file is compacted to its newest frame past this size, as the node's is. */
const SIM_WAL_COMPACT_BYTES = 256 * 1024;

type Packet =
  /** `msgKind` is known for frames an honest driver sends; blackouts select on it. */
  | { kind: 'frame'; bytes: Uint8Array; msgKind?: MessageKind }
  | { kind: 'sync-request'; height: number }
  | { kind: 'sync-response'; frames: Uint8Array[]; headHeight: number };

type SimEvent =
  | { type: 'deliver'; to: number; from: number; packet: Packet }
  | { type: 'wake'; node: number; inc: number }
  /** A driver's deferred job (execute or build) on its own turn. */
  | { type: 'job'; node: number; inc: number; job: () => void }
  | { type: 'submit'; tx: string }
  | { type: 'tx-arrive'; node: number; tx: string }
  | { type: 'crash'; node: number; point: CrashPoint | 'now' }
  | { type: 'restart'; node: number }
  | { type: 'partition'; groups: number[][] }
  | { type: 'unpartition' }
  | { type: 'blackout'; victims: number[] }
  | { type: 'blackout-end' }
  | { type: 'heal' }
  | { type: 'byzantine'; node: number };

interface SimNode {
  index: number;
  name: string;
  signer: Signer;
  byzantine: boolean;
  adversary?: Adversary;
  replica?: Replica<SimBlock>;
  driver?: Driver<SimBlock>;
  up: boolean;
  incarnation: number;
  /**
   * The node's WAL file on its simulated disk: frames of the production codec
   * (consensus/wal-log.ts), fsync'd per append; a crash may tear the last one.
   */
  walFile: Uint8Array;
  /** The durable ledger: blocks[h], certs[h], roots[h] for h >= 1; index 0 is genesis. */
  blocks: SimBlock[];
  hashes: Uint8Array[];
  certs: CommitCertificate[];
  roots: Uint8Array[];
  committedTxs: Set<string>;
  commitTimes: Map<string, number>;
  mempool: Set<string>;
  wakeAt?: number;
  wake?: () => void;
  clockOffsetMs: number;
  clockDriftPpm: number;
  crashPending?: CrashPoint;
  /** Highest height a sync peer reported, and the last height its response covered. */
  syncTarget: number;
  syncUpTo: number;
}

export interface SimOptions extends ScenarioOverrides {
  seed: number;
  trace?: boolean;
  /** Stop at the first violation (the CLI and swarm tests do; the default runs to the end). */
  stopOnViolation?: boolean;
  /** Checkers to switch off (tests only). */
  disabledCheckers?: readonly CheckerName[];
}

export interface SimStats {
  ticks: number;
  steps: number;
  messagesSent: number;
  messagesDelivered: number;
  maxHeight: number;
  minHonestHeight: number;
  commits: number;
  crashes: number;
  partitions: number;
  evidence: number;
  /** Misbehaviour reports the honest drivers made (the node's scorer acts on them). */
  offences: number;
  /** Torn WAL tails cut at a restart (a crash tore the last append). */
  walTornTails: number;
  signatures: number;
  verifications: number;
  livenessBoundMs: number;
  /** Frames the network refused as over frameBytesMax (Byzantine ones; an honest one is a violation). */
  framesRefused: number;
  /** Largest future-buffer bytes seen at an honest replica, in all and for one peer. */
  futureBufferBytesMax: number;
  futureBufferPeerBytesMax: number;
  /** Longest time from max(submit, heal) to commit at the last honest node, over post-heal txs. */
  worstLatencyAfterHealMs: number;
  dropped: Record<string, number>;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  scenario: Scenario;
  description: string;
  violations: Violation[];
  stats: SimStats;
  /** Hash of the whole event sequence: equal for equal (seed, overrides), by determinism. */
  fingerprint: string;
  trace?: string[];
}

/**
 * A verifier that remembers results: each distinct (signature, message, key) is verified once, with
 * real Ed25519. Verification is a pure function of its inputs, so sharing results across the
 * simulated replicas changes no outcome (it is what a node's verify cache does), only the cost.
 */
export function memoVerifier(inner: VerifyFn, counter: { verifications: number }): VerifyFn {
  const memo = new Map<string, boolean>();
  return (sig, msg, pk) => {
    const key = `${Buffer.from(sig).toString('base64')}${Buffer.from(pk).toString('base64')}${Buffer.from(sha256(msg)).toString('base64')}`;
    let ok = memo.get(key);
    if (ok === undefined) {
      counter.verifications++;
      ok = inner(sig, msg, pk);
      memo.set(key, ok);
    }
    return ok;
  };
}

export class Simulation {
  readonly scenario: Scenario;
  readonly limits: Readonly<ConsensusLimits>;
  private readonly rng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly port = simBlockPort();
  private readonly checkers: Checkers;
  private readonly verify: VerifyFn;
  private readonly schedule: { from: number; members: number[] }[];
  private readonly setCache = new Map<number, ValidatorSet>();
  private readonly chainLimitsCache = new Map<number, Partial<ChainParamLimits>>();
  private readonly submitted = new Set<string>();
  private readonly submitTimes = new Map<string, number>();
  private readonly traceLines: string[] | undefined;
  private readonly stopOnViolation: boolean;
  private now = T0;
  private healAt: number;
  private healed = false;
  private partition: number[][] | undefined;
  /** Nodes to which COMMIT and DECIDED frames are currently lost. */
  private blackout: Set<number> | undefined;
  private readonly decidedHeights = new Set<number>();
  private txSeq = 0;
  private endAt: number;
  private fp = 0x811c9dc5;
  private readonly stats: SimStats;
  private readonly crypto = { verifications: 0, signatures: 0 };
  /** The frame limit of the simulated p2p layer (what peers refuse above). */
  readonly frameBytesMax: number;

  constructor(options: SimOptions) {
    this.rng = new Prng(options.seed);
    this.scenario = generateScenario(options.seed, this.rng, options);
    this.limits = resolveLimits(this.scenario.limits);
    this.frameBytesMax = this.scenario.frameBytesMax ?? this.limits.messageBytesMax;
    if (!clockFaultsWithinBound(this.scenario, this.limits.clockSkewMsMax))
      throw new RangeError('Byzantine plus off-clock honest validators exceed f in some validator set');
    this.traceLines = options.trace ? [] : undefined;
    this.stopOnViolation = options.stopOnViolation ?? false;
    this.schedule = validatorSchedule(this.scenario);
    this.verify = memoVerifier((s, m, p) => verifyEd25519(s, m, p), this.crypto);
    const s = this.scenario;
    const total = s.validators + s.observers;
    const byz = new Set(s.byzantine);
    for (let i = 0; i < total; i++) {
      // Keys come from the seed, so each seed also draws its own validator order.
      const secret = sha256(new TextEncoder().encode(`synod-sim-key/${s.seed}/${i}`));
      const signer = new Signer(secret);
      const node: SimNode = {
        index: i,
        name: `n${i}`,
        signer,
        byzantine: byz.has(i),
        up: true,
        incarnation: 0,
        blocks: [],
        hashes: [GENESIS_HASH],
        certs: [],
        roots: [GENESIS_ROOT],
        committedTxs: new Set(),
        commitTimes: new Map(),
        mempool: new Set(),
        walFile: new Uint8Array(0),
        clockOffsetMs: s.clockOffsetsMs[i] ?? 0,
        clockDriftPpm: s.clockDriftPpm?.[i] ?? 0,
        syncTarget: 0,
        syncUpTo: 0,
      };
      this.nodes.push(node);
    }
    this.checkers = new Checkers({
      chainId: SIM_CHAIN_ID,
      verify: this.verify,
      validatorsAt: (h) => this.validatorsAt(h),
      byzantineAddresses: new Set(
        this.nodes.filter((n) => n.byzantine).map((n) => Buffer.from(n.signer.address).toString('hex')),
      ),
      submitted: this.submitted,
      disabled: options.disabledCheckers,
    });
    for (const n of this.nodes) {
      if (!n.byzantine) continue;
      n.adversary = new Adversary(
        {
          chainId: SIM_CHAIN_ID,
          port: this.port,
          limits: this.limits,
          address: n.signer.address,
          sign: (m) => this.sign(n, m),
          peers: () => this.nodes.filter((x) => x !== n).map((x) => x.index),
          addressesAt: (h) => [...this.validatorsAt(h).addresses],
          height: () => n.replica?.height ?? 1,
          round: () => n.replica?.round ?? 0,
          head: () => ({
            hash: n.hashes[n.hashes.length - 1]!,
            timestampMs: n.blocks[n.blocks.length - 1]?.timestampMs ?? 0,
          }),
          localNow: () => this.localNow(n),
          honestNowMax: () =>
            Math.max(...this.nodes.filter((x) => !x.byzantine).map((x) => this.localNow(x))),
          frameBytesMax: this.frameBytesMax,
        },
        s.behaviors[n.index] ?? [],
        this.rng,
      );
    }
    this.healAt = T0 + s.faultTicks;
    // Fixed at the heal, from the lag between honest nodes then (see livenessBoundMs).
    this.endAt = Number.POSITIVE_INFINITY;
    this.stats = {
      ticks: 0,
      steps: 0,
      messagesSent: 0,
      messagesDelivered: 0,
      maxHeight: 0,
      minHonestHeight: 0,
      commits: 0,
      crashes: 0,
      partitions: 0,
      evidence: 0,
      signatures: 0,
      verifications: 0,
      livenessBoundMs: 0,
      framesRefused: 0,
      offences: 0,
      walTornTails: 0,
      futureBufferBytesMax: 0,
      futureBufferPeerBytesMax: 0,
      worstLatencyAfterHealMs: 0,
      dropped: {},
    };
  }

  /**
   * The liveness bound, in ticks after max(heal, submission), given the height lag between honest
   * nodes at the heal. With T = roundTimeoutMsMax, Δ = the post-heal delay bound, E = the longest
   * execution plus build delay, f the largest f of the schedule:
   *   - converge  2(T + 2Δ): within T every honest replica re-sends its round's messages (a new
   *               round or a re-armed timer), and R6 lifts the others to the top round within Δ
   *               (at least f + 1 honest replicas share the top round: see Replica.onTick);
   *   - the height in progress: at most f + 2 rounds of at most T + 6Δ + E each (among f + 1
   *               consecutive rounds one has an honest proposer);
   *   - each later height: rounds 0..f+1 at most, sum of min(base 2^r, T) + 6Δ + E;
   *   - heights: ceil(txs / perBlock) + f + 1 (Byzantine proposers may decide empty-handed);
   *   - clocks: honest nodes off clock (beyond ±skew/2) count against f with the Byzantine ones
   *               (the constructor refuses a scenario where they exceed it), so the on-clock honest
   *               nodes are a quorum and f + 1 consecutive rounds still hold an on-clock honest
   *               proposer; a parent timestamp pushed to a clock's skew edge (timestamp-games)
   *               delays the next fresh proposal by at most 2 * clockSkewMsMax per height;
   *   - laggards: an empty-block interval and a sync interval to notice, then per missing height
   *               its execution, and 2Δ per sync exchange of futureHeightsMax + 1 blocks.
   */
  livenessBoundMs(lag: number): number {
    const s = this.scenario;
    const l = this.slowestLimits();
    const maxN = Math.max(...this.schedule.map((x) => x.members.length));
    const f = faultsTolerated(maxN);
    const delta = s.net.healDelayMaxMs;
    const exec = s.execDelayMaxMs + s.buildDelayMaxMs;
    const t = l.roundTimeoutMsMax;
    const converge = 2 * (t + 2 * delta);
    const current = (f + 2) * (t + 6 * delta + exec);
    let perHeight = 0;
    for (let r = 0; r <= f + 1; r++) perHeight += roundTimeoutMs(l, r) + 6 * delta + exec;
    perHeight += 2 * l.clockSkewMsMax;
    const heights = Math.ceil((s.txCount + s.txAfterHeal) / s.maxTxsPerBlock) + f + 1;
    const catchUp =
      l.emptyBlockIntervalMs +
      l.syncRequestIntervalMs +
      Math.ceil(lag / (l.futureHeightsMax + 1)) * 2 * delta +
      lag * (exec + 1);
    return converge + current + heights * perHeight + catchUp;
  }

  /**
   * The limits a bound must assume when parameters change during the run: each chain parameter
   * at its largest over the heights (timeouts, periods and the skew bound only make rounds longer).
   */
  private slowestLimits(): Readonly<ConsensusLimits> {
    const worst: ConsensusLimits = { ...this.limits };
    for (const c of this.scenario.paramChanges) {
      const at = resolveLimits(limitsAt(this.scenario, c.height));
      for (const k of CHAIN_PARAM_LIMIT_NAMES) worst[k] = Math.max(worst[k], at[k]);
    }
    return worst;
  }

  // ---- Helpers ----------------------------------------------------------------------------------

  private sign(n: SimNode, m: Uint8Array): Uint8Array {
    this.crypto.signatures++;
    return n.signer.sign(m);
  }

  /** A node's clock at virtual time t: offset plus drift (ppm) over the run. */
  private localAt(n: SimNode, t: number): number {
    return t + n.clockOffsetMs + Math.round((n.clockDriftPpm * (t - T0)) / 1e6);
  }

  private localNow(n: SimNode): number {
    return this.localAt(n, this.now);
  }

  /** The first virtual time at which the node's clock reads at least `localMs`. */
  private virtualAt(n: SimNode, localMs: number): number {
    const d = n.clockDriftPpm / 1e6;
    let t = Math.ceil((localMs - n.clockOffsetMs + d * T0) / (1 + d));
    for (let i = 0; i < 4 && this.localAt(n, t) < localMs; i++) t++;
    while (t > 0 && this.localAt(n, t - 1) >= localMs) t--;
    return t;
  }

  private membersAt(height: number): number[] {
    let members = this.schedule[0]!.members;
    for (const s of this.schedule) if (s.from <= height) members = s.members;
    return members;
  }

  validatorsAt(height: number): ValidatorSet {
    let from = 1;
    for (const s of this.schedule) if (s.from <= height) from = s.from;
    let vs = this.setCache.get(from);
    if (!vs) {
      vs = ValidatorSet.fromPublicKeys(this.membersAt(height).map((i) => this.nodes[i]!.signer.publicKey));
      this.setCache.set(from, vs);
    }
    return vs;
  }

  /** The chain-parameter limits in force at `height` (the scenario's parameter changes). */
  private chainLimitsAt(height: number): Partial<ChainParamLimits> {
    // Cached: the params checker asks after every step.
    let out = this.chainLimitsCache.get(height);
    if (out) return out;
    const l = limitsAt(this.scenario, height);
    out = {};
    for (const k of CHAIN_PARAM_LIMIT_NAMES) if (l[k] !== undefined) out[k] = l[k];
    this.chainLimitsCache.set(height, out);
    return out;
  }

  private validatorsHash(height: number): Uint8Array {
    const vs = this.validatorsAt(height);
    return taggedHash('synod/sim/validators', ...vs.addresses);
  }

  private trace(line: string): void {
    this.traceLines?.push(`t=${this.now - T0} ${line}`);
  }

  private mix(...xs: number[]): void {
    let h = this.fp;
    for (const x of xs) {
      h ^= x & 0xffffffff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    this.fp = h;
  }

  private push(delay: number, ev: SimEvent): void {
    this.queue.push(this.now + Math.max(0, Math.round(delay)), ev);
  }

  // ---- Run --------------------------------------------------------------------------------------

  run(): SimResult {
    const s = this.scenario;
    this.trace(`scenario ${describeScenario(s)}`);
    for (const n of this.nodes) this.boot(n);
    // Clients: txs spread over the fault phase, a few more right after the heal.
    for (let i = 0; i < s.txCount; i++)
      this.push(this.rng.int(s.faultTicks), { type: 'submit', tx: this.newTx() });
    for (let i = 0; i < s.txAfterHeal; i++) {
      this.queue.push(this.healAt + this.rng.int(200), { type: 'submit', tx: this.newTx() });
    }
    // Partitions and crashes, as Poisson-ish arrivals over the fault phase.
    const kt = s.faultTicks / 1000;
    const partitions = this.poisson(s.partitionRate * kt);
    for (let i = 0; i < partitions; i++) {
      this.push(this.rng.int(s.faultTicks), { type: 'partition', groups: this.randomPartition() });
    }
    const blackouts = this.poisson(s.blackoutRate * kt);
    for (let i = 0; i < blackouts; i++) {
      // Everyone but one node: that one may decide alone while the rest time out.
      const victims = this.rng.shuffle(this.nodes.map((n) => n.index)).slice(1);
      this.push(this.rng.int(s.faultTicks), { type: 'blackout', victims });
    }
    for (const n of this.nodes) {
      if (n.byzantine) continue;
      const crashes = this.poisson(s.crashRate * kt);
      for (let i = 0; i < crashes; i++) {
        const point = this.rng.pick<CrashPoint | 'now'>([
          'now',
          'before-persist',
          'torn-persist',
          'after-persist',
          'after-commit',
          'after-send',
        ]);
        this.push(this.rng.int(s.faultTicks), { type: 'crash', node: n.index, point });
      }
    }
    for (const n of this.nodes) {
      if (n.adversary && !n.adversary.silent)
        this.push(this.rng.range(...BYZANTINE_PERIOD_MS), { type: 'byzantine', node: n.index });
    }
    this.queue.push(this.healAt, { type: 'heal' });

    for (;;) {
      const next = this.queue.pop();
      if (!next) break;
      if (next.t > this.endAt) break;
      this.now = next.t;
      try {
        this.handle(next.ev);
      } catch (e) {
        // A thrown invariant is a bug in the core (or the driver): report it like any violation.
        this.trace(`EXCEPTION ${(e as Error).stack ?? e}`);
        this.checkers.onException(this.now - T0, 'ev' in next ? next.ev.type : '?', e);
        break;
      }
      if (this.stopOnViolation && !this.checkers.ok) break;
      if (this.healed && this.allCommitted()) break;
    }
    // A run stopped at a violation has not reached its liveness deadline: judge liveness only on full runs.
    if (this.checkers.ok || !this.stopOnViolation) this.finalLiveness();
    return this.result();
  }

  private poisson(mean: number): number {
    // Knuth's method; means here are small.
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    for (;;) {
      p *= this.rng.float();
      if (p <= l || k > 1000) return k;
      k++;
    }
  }

  private randomPartition(): number[][] {
    const idx = this.rng.shuffle(this.nodes.map((n) => n.index));
    if (this.rng.chance(0.5)) {
      const one = idx.pop()!;
      return [[one], idx];
    }
    const cut = 1 + this.rng.int(idx.length - 1);
    return [idx.slice(0, cut), idx.slice(cut)];
  }

  private newTx(): string {
    return `tx${this.txSeq++}`;
  }

  private handle(ev: SimEvent): void {
    this.mix(this.now, ev.type.length, 'node' in ev ? ev.node : 'to' in ev ? ev.to : -1);
    switch (ev.type) {
      case 'deliver':
        return this.onDeliver(ev.to, ev.from, ev.packet);
      case 'wake': {
        const n = this.nodes[ev.node]!;
        if (!n.up || ev.inc !== n.incarnation || n.wakeAt !== this.now) return;
        n.wakeAt = undefined;
        return n.wake?.();
      }
      case 'job': {
        const n = this.nodes[ev.node]!;
        if (!n.up || ev.inc !== n.incarnation) return;
        return ev.job();
      }
      case 'submit': {
        this.submitted.add(ev.tx);
        this.submitTimes.set(ev.tx, this.now);
        this.trace(`client submits ${ev.tx}`);
        // Tx gossip is modelled as reliable (the mempool's own re-forwarding); faults target consensus.
        for (const n of this.nodes)
          this.push(this.rng.range(1, 60), { type: 'tx-arrive', node: n.index, tx: ev.tx });
        return;
      }
      case 'tx-arrive': {
        const n = this.nodes[ev.node]!;
        if (!n.committedTxs.has(ev.tx)) n.mempool.add(ev.tx);
        return n.driver?.setPending(n.mempool.size > 0);
      }
      case 'crash':
        return this.onCrashEvent(this.nodes[ev.node]!, ev.point);
      case 'restart':
        return this.restart(this.nodes[ev.node]!);
      case 'partition': {
        if (this.healed) return;
        this.partition = ev.groups;
        this.stats.partitions++;
        this.trace(`partition ${ev.groups.map((g) => `{${g.map((i) => `n${i}`).join(',')}}`).join(' | ')}`);
        this.push(this.rng.range(100, this.scenario.partitionDurationMaxMs), { type: 'unpartition' });
        return;
      }
      case 'unpartition':
        if (this.partition) this.trace('partition ends');
        this.partition = undefined;
        return;
      case 'blackout': {
        if (this.healed || this.blackout) return;
        this.blackout = new Set(ev.victims);
        this.trace(`blackout: COMMIT and DECIDED to ${ev.victims.map((i) => `n${i}`).join(',')} are lost`);
        this.push(this.rng.range(300, this.scenario.blackoutDurationMaxMs), { type: 'blackout-end' });
        return;
      }
      case 'blackout-end':
        if (this.blackout) this.trace('blackout ends');
        this.blackout = undefined;
        return;
      case 'heal':
        return this.heal();
      case 'byzantine': {
        const n = this.nodes[ev.node]!;
        if (n.up && n.replica)
          for (const p of n.adversary!.periodic())
            this.sendPacket(n, p.to, { kind: 'frame', bytes: p.bytes });
        this.push(this.rng.range(...BYZANTINE_PERIOD_MS), ev);
        return;
      }
    }
  }

  private heal(): void {
    const heights = this.nodes.filter((n) => !n.byzantine).map((n) => n.blocks.length);
    this.stats.livenessBoundMs = this.livenessBoundMs(Math.max(...heights) - Math.min(...heights));
    this.endAt = this.healAt + this.stats.livenessBoundMs;
    this.healed = true;
    this.partition = undefined;
    this.blackout = undefined;
    this.trace('HEAL: partitions end, crashed nodes restart, no more loss, delays <= Δ');
    for (const n of this.nodes) if (!n.up) this.restart(n);
    for (const n of this.nodes) n.crashPending = undefined;
  }

  private allCommitted(): boolean {
    const total = this.submitted.size;
    if (this.txSeq !== total) return false; // post-heal submissions still to come
    for (const n of this.nodes) if (!n.byzantine && n.committedTxs.size < total) return false;
    return true;
  }

  private finalLiveness(): void {
    const honest = this.nodes.filter((n) => !n.byzantine);
    const missing: string[] = [];
    for (const n of honest) {
      const lacking = [...this.submitted].filter((tx) => !n.committedTxs.has(tx));
      if (lacking.length > 0)
        missing.push(
          `${n.name} (height ${n.blocks.length}) lacks ${lacking.length} tx(s), e.g. ${lacking[0]}`,
        );
    }
    if (this.txSeq !== this.submitted.size)
      missing.push(`only ${this.submitted.size}/${this.txSeq} txs were submitted`);
    if (missing.length > 0) {
      this.checkers.onLiveness(
        this.now - T0,
        '*',
        `not all txs committed by heal + ${this.endAt - this.healAt} ticks: ${missing.join('; ')}`,
      );
    }
    let worst = 0;
    for (const tx of this.submitted) {
      const from = Math.max(this.submitTimes.get(tx)!, this.healAt);
      for (const n of honest) {
        const at = n.commitTimes.get(tx);
        if (at !== undefined && at >= this.healAt) worst = Math.max(worst, at - from);
      }
    }
    this.stats.worstLatencyAfterHealMs = worst;
    if (worst > this.endAt - this.healAt) {
      this.checkers.onLiveness(
        this.now - T0,
        '*',
        `a tx took ${worst} ticks after the heal, bound ${this.endAt - this.healAt}`,
      );
    }
  }

  private result(): SimResult {
    const honestHeights = this.nodes.filter((n) => !n.byzantine).map((n) => n.blocks.length);
    this.stats.ticks = this.now - T0;
    this.stats.maxHeight = Math.max(...this.nodes.map((n) => n.blocks.length));
    this.stats.minHonestHeight = honestHeights.length > 0 ? Math.min(...honestHeights) : 0;
    this.stats.signatures = this.crypto.signatures;
    this.stats.verifications = this.crypto.verifications;
    for (const n of this.nodes) {
      const c = n.replica?.counters;
      if (!c) continue;
      for (const [k, v] of Object.entries(c.dropped))
        if (v > 0) this.stats.dropped[k] = (this.stats.dropped[k] ?? 0) + v;
    }
    return {
      seed: this.scenario.seed,
      ok: this.checkers.ok,
      scenario: this.scenario,
      description: describeScenario(this.scenario),
      violations: this.checkers.violations,
      stats: this.stats,
      fingerprint: this.fp.toString(16).padStart(8, '0'),
      trace: this.traceLines,
    };
  }

  // ---- Nodes: boot, crash, restart --------------------------------------------------------------

  private newReplica(n: SimNode): Replica<SimBlock> {
    return new Replica<SimBlock>({
      chainId: SIM_CHAIN_ID,
      port: this.port,
      signer: { address: n.signer.address, sign: (m) => this.sign(n, m) },
      limits: this.scenario.limits,
      verify: this.verify,
      brokenRule: n.byzantine ? undefined : this.scenario.brokenRule,
    });
  }

  /** The production driver, bound to this node's simulated network, disk, ledger and clock. */
  private newDriver(n: SimNode, replica: Replica<SimBlock>): Driver<SimBlock> {
    const honest = !n.byzantine;
    const log: DriverLog = {
      debug: () => {},
      info: () => {},
      warn: (obj, msg) => this.trace(`${n.name} ${msg} ${JSON.stringify(obj)}`),
      // The driver logs an error only where a port threw: in the simulator that is a bug.
      error: (obj, msg) => {
        this.trace(`${n.name} ERROR ${msg}`);
        if (honest) this.checkers.onException(this.now - T0, n.name, (obj as { err?: unknown }).err ?? msg);
      },
    };
    return new Driver<SimBlock>({
      replica,
      blocks: this.port,
      ledger: {
        nextHeight: () => {
          const height = n.blocks.length + 1;
          return {
            height,
            validators: this.validatorsAt(height),
            parentHash: n.hashes[height - 1]!,
            parentTimestampMs: n.blocks[height - 2]?.timestampMs ?? 0,
            // As the node reads them from its state: the parameters in force at this height.
            ...(this.scenario.paramChanges.length > 0 &&
            (n.byzantine || this.scenario.driverBug !== 'stale-params')
              ? { limits: this.chainLimitsAt(height) }
              : {}),
          };
        },
        hasPending: () => n.mempool.size > 0,
        commit: (c) => this.commit(n, c),
        execute: (block, digest) => {
          const failure = this.execute(n, block);
          if (failure === undefined) return;
          this.trace(
            `${n.name} executes h=${block.height} ${toHex(digest).slice(0, 10)}: INVALID (${failure})`,
          );
          throw new Error(failure);
        },
        build: (req) => (req.height === n.blocks.length + 1 ? this.build(n, req) : undefined),
        decided: (height) => {
          const block = n.blocks[height - 1];
          return block ? { block, cert: n.certs[height - 1]! } : undefined;
        },
      },
      network: {
        broadcast: (m) => this.broadcast(n, m),
        send: (to, bytes) => {
          const peer = this.nodes.find((x) => x.name === to);
          if (peer && !n.adversary?.silent)
            this.sendPacket(n, [peer.index], { kind: 'frame', bytes, msgKind: 'DECIDED' });
        },
        report: () => {
          this.stats.offences++;
        },
      },
      wal: {
        load: () => this.openWal(n),
        save: (record) => this.appendWal(n, record),
      },
      time: {
        nowMs: () => this.localNow(n),
        wakeAt: (atMs, wake) => {
          n.wake = wake;
          const at = Math.max(this.now, this.virtualAt(n, atMs));
          if (n.wakeAt === at) return;
          n.wakeAt = at;
          this.queue.push(at, { type: 'wake', node: n.index, inc: n.incarnation });
        },
        cancelWake: () => {
          n.wakeAt = undefined;
        },
        later: (kind, job) => {
          const delayMax = kind === 'execute' ? this.scenario.execDelayMaxMs : this.scenario.buildDelayMaxMs;
          this.push(this.rng.range(1, delayMax), { type: 'job', node: n.index, inc: n.incarnation, job });
        },
      },
      sync: (req) => this.requestSync(n, req.height),
      evidence: (ev) => {
        this.stats.evidence++;
        this.trace(
          `${n.name} EVIDENCE ${ev.kind} h=${ev.height} r=${ev.round} against ${this.nameOf(ev.validator)}`,
        );
        if (honest) this.checkers.onEvidence(this.now - T0, n.name, ev);
      },
      fatal: (f) => {
        if (f.alarm) {
          this.trace(`${n.name} FATAL ${f.alarm.code}: ${f.alarm.message}`);
          if (honest) this.checkers.onFatal(this.now - T0, n.name, f.alarm);
          return;
        }
        // The interpreter failed (a port or the core threw): a bug, whoever's node it is.
        this.trace(`${n.name} EXCEPTION ${(f.error as Error)?.stack ?? f.error}`);
        this.checkers.onException(this.now - T0, n.name, f.error);
      },
      log,
      probe: (point, ready) => this.probe(n, point, ready),
      ...(honest && this.scenario.driverBug === 'send-before-persist'
        ? { brokenRule: this.scenario.driverBug }
        : {}),
      stepped: () => this.afterStep(n, replica),
    });
  }

  /**
   * Opens the WAL file as node/wal.ts does: the newest intact record; a torn tail is cut (the
   * file is rewritten with that record). Damage that is not a torn tail can only be a bug here,
   * since the simulated disk tears nothing but the last append.
   */
  private openWal(n: SimNode): Uint8Array | undefined {
    const scan = scanWal(n.walFile);
    if (scan.corrupt) {
      this.checkers.onException(this.now - T0, n.name, new Error(`WAL damaged: ${scan.corrupt.reason}`));
      return undefined;
    }
    if (scan.validBytes !== n.walFile.length) {
      this.stats.walTornTails++;
      this.trace(`${n.name} WAL: torn tail of ${n.walFile.length - scan.validBytes} bytes cut`);
      n.walFile = scan.last ? walFrame(scan.last) : new Uint8Array(0);
    }
    return scan.last;
  }

  /** One fsync'd append; with a `torn-persist` crash pending, only part of it lands. */
  private appendWal(n: SimNode, record: Uint8Array): void {
    const frame = walFrame(record);
    if (n.crashPending === 'torn-persist') {
      const kept = this.rng.range(0, frame.length - 1);
      n.walFile = Buffer.concat([n.walFile, frame.subarray(0, kept)]);
      this.crash(n, `tearing its WAL append (${kept} of ${frame.length} bytes landed)`);
      return;
    }
    n.walFile =
      n.walFile.length + frame.length > SIM_WAL_COMPACT_BYTES ? frame : Buffer.concat([n.walFile, frame]);
  }

  /** Boots or restarts a node: a new replica and driver over what its disk kept. */
  private boot(n: SimNode): void {
    const replica = this.newReplica(n);
    n.replica = replica;
    n.driver = this.newDriver(n, replica);
    n.driver.start();
  }

  private onCrashEvent(n: SimNode, point: CrashPoint | 'now'): void {
    if (!n.up || this.healed) return;
    if (point === 'now') return this.crash(n, 'between events');
    // Crash inside the next interesting Ready, at the chosen point; or soon anyway.
    n.crashPending = point;
    this.push(500, { type: 'crash', node: n.index, point: 'now' });
  }

  private crash(n: SimNode, where: string): void {
    n.up = false;
    n.driver?.stop();
    n.driver = undefined;
    n.replica = undefined;
    n.incarnation++;
    n.wakeAt = undefined;
    n.wake = undefined;
    n.crashPending = undefined;
    this.stats.crashes++;
    this.trace(`${n.name} CRASH ${where}`);
    const back = this.now + this.rng.range(50, this.scenario.downtimeMaxMs);
    if (back < this.healAt) this.queue.push(back, { type: 'restart', node: n.index });
  }

  private restart(n: SimNode): void {
    if (n.up) return;
    n.up = true;
    this.trace(`${n.name} RESTART at height ${n.blocks.length + 1} from its WAL (${n.walFile.length} bytes)`);
    this.boot(n);
  }

  /**
   * The crash points of a Ready that persists or commits (a crash elsewhere is 'between
   * events'): before the WAL write, after it, after the commit, after sending. A point that does
   * not occur in this Ready (after-commit without a commit) falls through to after sending.
   */
  private probe(n: SimNode, point: ProbePoint, ready: Ready<SimBlock>): void {
    const at = n.crashPending;
    if (!at || (ready.persist === undefined && ready.commit === undefined)) return;
    if (point === 'before-persist' && at === 'before-persist') this.crash(n, 'before persisting');
    else if (point === 'after-persist' && at === 'after-persist')
      this.crash(n, 'after persisting, before sending');
    else if (point === 'after-commit' && at === 'after-commit')
      this.crash(n, 'after committing, before sending');
    else if (point === 'after-send') this.crash(n, 'after sending');
  }

  /** The checkers' look at an honest replica after each step. */
  private afterStep(n: SimNode, replica: Replica<SimBlock>): void {
    this.stats.steps++;
    if (!n.up || n.replica !== replica || n.byzantine) return;
    this.checkers.onStep(this.now - T0, n.name, replica.height, replica.round, replica.status);
    if (this.scenario.paramChanges.length > 0 && replica.status === 'running') {
      const expected = this.chainLimitsAt(replica.height) as Record<string, number>;
      this.checkers.onParams(
        this.now - T0,
        n.name,
        replica.height,
        expected,
        replica.limits as unknown as Record<string, number>,
      );
    }
    this.checkers.onBuffer(
      this.now - T0,
      n.name,
      replica.futureBufferLargestPeer(),
      replica.futureBufferSize,
      this.limits.bufferedMessagesPerPeerMax,
      this.limits.bufferedMessagesTotalMax,
    );
    const bytes = replica.futureBufferBytes;
    const peerBytes = replica.futureBufferLargestPeerBytes();
    this.stats.futureBufferBytesMax = Math.max(this.stats.futureBufferBytesMax, bytes);
    this.stats.futureBufferPeerBytesMax = Math.max(this.stats.futureBufferPeerBytesMax, peerBytes);
    this.checkers.onBufferBytes(
      this.now - T0,
      n.name,
      peerBytes,
      bytes,
      this.limits.bufferedBytesPerPeerMax,
      this.limits.bufferedBytesTotalMax,
    );
  }

  private nameOf(address: Uint8Array): string {
    const n = this.nodes.find(
      (x) => Buffer.compare(Buffer.from(x.signer.address), Buffer.from(address)) === 0,
    );
    return n?.name ?? '?';
  }

  private commit(n: SimNode, c: Commit<SimBlock>): void {
    const h = c.height;
    if (h !== n.blocks.length + 1)
      throw new Error(`${n.name}: commit of height ${h} on a ledger at ${n.blocks.length}`);
    if (!n.byzantine) {
      this.checkers.onCommit(this.now - T0, n.name, c, {
        headHash: n.hashes[h - 1]!,
        committedTxs: n.committedTxs,
      });
    }
    n.blocks.push(c.block);
    n.hashes.push(c.digest);
    n.certs.push(c.cert);
    n.roots.push(c.block.stateRoot);
    for (const tx of c.block.txs) {
      n.committedTxs.add(tx);
      n.mempool.delete(tx);
      n.commitTimes.set(tx, this.now);
    }
    this.stats.commits++;
    const first = !this.decidedHeights.has(h);
    this.decidedHeights.add(h);
    if (first && this.blackout && !this.blackout.has(n.index) && !this.healed) {
      // The node decided while the others saw no COMMIT: cut it off before its DECIDED can spread,
      // so the others must settle the height among themselves (IBFT bug 1's schedule).
      this.blackout = undefined;
      this.partition = [[n.index], this.nodes.filter((x) => x !== n).map((x) => x.index)];
      this.stats.partitions++;
      this.trace(`blackout ends; ${n.name} decided alone and is cut off`);
      this.push(this.rng.range(300, this.scenario.blackoutDurationMaxMs), { type: 'unpartition' });
    }
    this.trace(
      `${n.name} COMMIT h=${h} view=${c.block.view} certRound=${c.cert.round} signers=${c.cert.sigs.length} txs=${c.block.txs.length} ${toHex(c.digest).slice(0, 10)}`,
    );
    // Sync goes on while a peer said it is ahead and the last response is used up.
    if (n.syncTarget > n.blocks.length && n.blocks.length >= n.syncUpTo)
      this.requestSync(n, n.blocks.length + 1);
  }

  private execute(n: SimNode, b: SimBlock): string | undefined {
    const h = b.height;
    if (h !== n.blocks.length + 1) return 'state-root';
    // The bug of issue 23 finding 2: the driver judged every block, certified ones included, by
    // its own clock. A certified block is final; only the core judges proposals by the clock.
    if (
      this.scenario.driverBug === 'judge-certified-by-clock' &&
      !n.byzantine &&
      b.timestampMs > this.localNow(n) + this.limits.clockSkewMsMax
    )
      return 'clock-skew';
    return executeSimBlock(b, {
      parentRoot: n.roots[h - 1]!,
      submitted: this.submitted,
      committed: n.committedTxs,
      nextValidatorsHash: this.validatorsHash(h + 1),
    });
  }

  private build(n: SimNode, req: { height: number; round: number; minTimestampMs: number }): SimBlock {
    const txs = [...n.mempool]
      .filter((tx) => this.submitted.has(tx))
      .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
      .slice(0, this.scenario.maxTxsPerBlock);
    return {
      height: req.height,
      view: req.round,
      parentHash: n.hashes[req.height - 1]!,
      timestampMs: Math.max(this.localNow(n), req.minTimestampMs),
      proposer: n.signer.address,
      txs,
      stateRoot: nextStateRoot(n.roots[req.height - 1]!, txs),
      nextValidatorsHash: this.validatorsHash(req.height + 1),
    };
  }

  private decidedFrame(n: SimNode, height: number): Uint8Array | undefined {
    const block = n.blocks[height - 1];
    if (!block) return undefined;
    return encodeMessage<SimBlock>({
      kind: 'DECIDED',
      block,
      blockBytes: this.port.encode(block),
      cert: n.certs[height - 1]!,
    });
  }

  // ---- Sync: fetch blocks with certificates, height by height, until caught up (§4) --------------

  private requestSync(n: SimNode, height: number): void {
    if (n.adversary?.silent) return;
    const peers = this.rng.shuffle(this.nodes.filter((x) => x !== n).map((x) => x.index)).slice(0, 2);
    this.trace(`${n.name} sync request from h=${height} to ${peers.map((p) => `n${p}`).join(',')}`);
    this.sendPacket(n, peers, { kind: 'sync-request', height });
  }

  private onSyncRequest(n: SimNode, from: SimNode, height: number): void {
    if (n.adversary?.silent) return;
    const frames: Uint8Array[] = [];
    for (let h = height; h <= Math.min(n.blocks.length, height + this.limits.futureHeightsMax); h++) {
      frames.push(this.decidedFrame(n, h)!);
    }
    if (frames.length > 0)
      this.sendPacket(n, [from.index], { kind: 'sync-response', frames, headHeight: n.blocks.length });
  }

  // ---- Network ----------------------------------------------------------------------------------

  private broadcast(n: SimNode, m: { kind: MessageKind; bytes: Uint8Array }): void {
    if (!n.byzantine) this.recordHonestSend(n, m.bytes);
    if (n.adversary) {
      for (const p of n.adversary.outbound([m.bytes]))
        this.sendPacket(n, p.to, { kind: 'frame', bytes: p.bytes });
      return;
    }
    const all = this.nodes.filter((x) => x !== n).map((x) => x.index);
    this.sendPacket(n, all, { kind: 'frame', bytes: m.bytes, msgKind: m.kind });
  }

  private recordHonestSend(n: SimNode, frame: Uint8Array): void {
    // Only the signed item matters here; decoding the whole frame (block included) would double the cost.
    const m = asMap(decode(frame), 'frame');
    if (m.kind === 'DECIDED') {
      if (this.traceLines)
        this.trace(`${n.name} sends DECIDED h=${this.port.decode(m.block as Uint8Array).height}`);
      return;
    }
    const item = decodeSignedItem(m.item, 'item');
    const p = item.payload;
    if (this.traceLines) {
      const what =
        p.type !== 'ROUND-CHANGE'
          ? toHex(p.digest).slice(0, 10)
          : p.prepared
            ? `prepared=(r${p.prepared.round},${toHex(p.prepared.digest).slice(0, 10)})`
            : 'unprepared';
      this.trace(`${n.name} sends ${p.type} h=${p.height} r=${p.round} ${what}`);
    }
    this.checkers.onSigned(this.now - T0, n.name, p.author, p.height, p.round, p.type, toHex(item.signed));
  }

  private connected(a: number, b: number): boolean {
    if (!this.partition) return true;
    return this.partition.some((g) => g.includes(a) && g.includes(b));
  }

  /**
   * The network's frame limit: a frame over frameBytesMax never arrives (the peers' p2p layer
   * refuses it). An honest node must never have to send one (docs/architecture.md, "what a node sends fits
   * what its peers accept"): the frame-limit checker reports it.
   */
  private oversize(from: SimNode, packet: Packet): boolean {
    const frames =
      packet.kind === 'frame' ? [packet.bytes] : packet.kind === 'sync-response' ? packet.frames : [];
    const big = frames.find((f) => f.length > this.frameBytesMax);
    if (!big) return false;
    this.stats.framesRefused++;
    if (!from.byzantine) {
      const kind = packet.kind === 'frame' ? (packet.msgKind ?? '?') : packet.kind;
      this.trace(
        `${from.name} sends a ${kind} frame of ${big.length} bytes > ${this.frameBytesMax}: refused`,
      );
      this.checkers.onFrameLimit(this.now - T0, from.name, kind, big.length, this.frameBytesMax);
    }
    return true;
  }

  private sendPacket(from: SimNode, to: readonly number[], packet: Packet): void {
    const net = this.scenario.net;
    if (this.oversize(from, packet)) return;
    for (const t of to) {
      if (t === from.index) continue;
      this.stats.messagesSent++;
      if (!this.healed) {
        if (!this.connected(from.index, t)) continue;
        if (this.blackout?.has(t) && this.blackedOut(packet)) continue;
        if (this.rng.chance(net.dropRate)) continue;
      }
      const copies = this.rng.chance(net.dupRate) ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        let delay: number;
        if (this.healed) {
          delay = this.rng.range(1, net.healDelayMaxMs);
        } else {
          delay = this.rng.range(net.delayMinMs, net.delayMaxMs);
          if (this.rng.chance(net.spikeRate)) delay *= this.rng.range(5, 20);
        }
        this.push(delay, { type: 'deliver', to: t, from: from.index, packet });
      }
    }
  }

  private blackedOut(packet: Packet): boolean {
    if (packet.kind === 'sync-response') return true;
    return packet.kind === 'frame' && (packet.msgKind === 'COMMIT' || packet.msgKind === 'DECIDED');
  }

  private onDeliver(to: number, from: number, packet: Packet): void {
    const n = this.nodes[to]!;
    if (!n.up || !n.replica) return;
    this.stats.messagesDelivered++;
    const sender = this.nodes[from]!;
    switch (packet.kind) {
      case 'frame':
        n.adversary?.observe(packet.bytes);
        return n.driver?.onMessage(sender.name, packet.bytes);
      case 'sync-request':
        return this.onSyncRequest(n, sender, packet.height);
      case 'sync-response': {
        n.syncTarget = Math.max(n.syncTarget, packet.headHeight);
        n.syncUpTo = Math.max(n.syncUpTo, n.blocks.length + packet.frames.length);
        for (const f of packet.frames) {
          if (!n.up) return;
          n.driver?.onMessage(sender.name, f);
        }
        return;
      }
    }
  }
}

/** Runs one seed. */
export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}
