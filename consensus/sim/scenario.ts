/**
 * Scenarios for the simulator. Everything not fixed by the caller is drawn from the seed (swarm
 * testing: each seed gets its own mix and intensity of faults), from the same PRNG that then
 * drives the run, so `--seed S` with the same overrides replays exactly.
 */
import type { DriverRuleBreak } from '../driver.js';
import type { ChainParamLimits } from '../events.js';
import { type ConsensusLimits, resolveLimits } from '../limits.js';
import { faultsTolerated } from '../quorum.js';
import type { BrokenRule } from '../replica.js';
import { Prng } from './prng.js';

export type ByzantineBehavior =
  /** Sends nothing at all. */
  | 'silent'
  /** As proposer, sends one block to some peers and a different valid block to the others. */
  | 'equivocate'
  /** Sends a PREPARE/COMMIT for one digest to some peers and for another to the others. */
  | 'double-vote'
  /** As proposer, proposes blocks that fail FRESH (state root, unknown tx, timestamp, view, proposer). */
  | 'invalid-block'
  /** Re-sends old frames (other heights and rounds) and frames signed for another chain. */
  | 'replay'
  /** Floods signed messages for future heights, within and beyond the buffered window. */
  | 'flood-future'
  /** Round changes with unproven prepared claims, bogus certificates, or absurd rounds. */
  | 'bogus-round-change'
  /** DECIDED messages with forged or undersized certificates. */
  | 'forge-decided'
  /** Random bytes and corrupted frames. */
  | 'garbage'
  /**
   * As proposer, fresh blocks with edge timestamps: parent + 1, its clock + clockSkewMsMax exactly,
   * one past it, the fastest honest clock + clockSkewMsMax, far in the future, equal to the parent.
   */
  | 'timestamp-games'
  /**
   * As proposer, valid blocks padded to blockBytesMax (or to what a PROPOSAL frame can carry), so
   * the DECIDED and ROUND-CHANGE frames honest nodes then send carry the largest block there is.
   */
  | 'oversize-block'
  /**
   * Floods large messages for h+1 and h+2: proposals, round changes and DECIDEDs with padded
   * blocks, signed by itself, and the same under other validators' names with bad signatures.
   */
  | 'flood-bytes';

export const BYZANTINE_BEHAVIORS: readonly ByzantineBehavior[] = [
  'silent',
  'equivocate',
  'double-vote',
  'invalid-block',
  'replay',
  'flood-future',
  'bogus-round-change',
  'forge-decided',
  'garbage',
  'timestamp-games',
  'oversize-block',
  'flood-bytes',
];

/**
 * Behaviours added with the byte and clock attacks (issue 23). Drawn from a second PRNG stream, so
 * that a seed drawing none of them (and no clock change) replays exactly as it did before them.
 */
export const ATTACK_BEHAVIORS: readonly ByzantineBehavior[] = [
  'timestamp-games',
  'oversize-block',
  'flood-bytes',
];

/**
 * A driver bug to run with, to show a checker catches it (tests and the CLI only).
 *   judge-certified-by-clock  the driver executes every block, certified ones included, under the
 *                             clock-skew rule of its local clock (finding 2 of issue 23): a node
 *                             whose clock is behind halts on the first DECIDED it must follow.
 *                             It lives in the simulator's ledger port, where the node had it.
 *   stale-params              the ledger port starts every height without the parameters in
 *                             force there (a node that read them once, at start): the params
 *                             checker catches it on seeds with parameter changes.
 *   send-before-persist       a rule of the production driver itself (consensus/driver.ts).
 */
export type DriverBug = 'judge-certified-by-clock' | 'stale-params' | DriverRuleBreak;

/**
 * A chain-parameter change (a passed param.set): from `height` on, every node starts the height
 * with these limits merged over the previous ones, as the node reads them from its state.
 */
export interface ParamChange {
  height: number;
  limits: Partial<ChainParamLimits>;
}

export interface SetChange {
  /** V(height) is the first set with this change. */
  height: number;
  add?: number;
  remove?: number;
}

export interface NetworkSettings {
  dropRate: number;
  dupRate: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that a message is delayed 5-20 times longer (reordering). */
  spikeRate: number;
  /** Δ after the heal: every message between up nodes arrives within this, none lost. */
  healDelayMaxMs: number;
}

export interface Scenario {
  seed: number;
  /** Initial validator count n = |V(1)|. Nodes 0..validators-1 are V(1). */
  validators: number;
  /** Extra nodes that start as observers (some may be added to the set later). */
  observers: number;
  byzantine: number[];
  behaviors: Record<number, ByzantineBehavior[]>;
  /** Length of the fault phase in ticks (1 tick = 1 virtual millisecond). */
  faultTicks: number;
  net: NetworkSettings;
  /** Expected partitions per 1000 ticks of the fault phase. */
  partitionRate: number;
  partitionDurationMaxMs: number;
  /**
   * Expected commit blackouts per 1000 ticks: windows in which every COMMIT and DECIDED sent to a
   * chosen set of nodes is lost, so one node can decide while the others time out (the setting of
   * IBFT's first safety bug, docs/protocol.md §5.1).
   */
  blackoutRate: number;
  blackoutDurationMaxMs: number;
  /** Expected crashes per honest node per 1000 ticks of the fault phase. */
  crashRate: number;
  downtimeMaxMs: number;
  /**
   * Per node: its clock reads virtual time + offset + drift (ppm) * elapsed. Nodes within
   * ±clockSkewMsMax/2 (drift included, over CLOCK_HORIZON_MS) are "on clock"; the others are
   * off clock (see offClockNodes) and count against f.
   */
  clockOffsetsMs: number[];
  clockDriftPpm: number[];
  /**
   * The frame limit the simulated network enforces (the peers' p2p layer). Unset: the replica's
   * messageBytesMax, as node/p2p/protocols.ts derives it. Tests set it lower to show the frame
   * checker firing (blockBytesMax was the deployed limit before issue 23).
   */
  frameBytesMax?: number;
  driverBug?: DriverBug;
  execDelayMaxMs: number;
  buildDelayMaxMs: number;
  /** Transactions submitted during the fault phase, and right after the heal. */
  txCount: number;
  txAfterHeal: number;
  maxTxsPerBlock: number;
  setChanges: SetChange[];
  /** Chain-parameter changes by height, ascending (none for most seeds). */
  paramChanges: ParamChange[];
  limits: Partial<ConsensusLimits>;
  brokenRule?: BrokenRule;
}

export interface ScenarioOverrides {
  validators?: number;
  byzantine?: number;
  ticks?: number;
  brokenRule?: BrokenRule;
  driverBug?: DriverBug;
  /** Network frame limit (see Scenario.frameBytesMax). */
  frameBytesMax?: number;
  /** Fixes fields after generation (unit tests use this for targeted runs). */
  patch?: Partial<Scenario>;
}

/** Consensus limits of every simulated replica: small, so that bounds and timeouts are exercised. */
export const SIM_LIMITS: Partial<ConsensusLimits> = {
  roundTimeoutMsBase: 400,
  roundTimeoutMsMax: 3_200,
  blockPeriodMs: 50,
  emptyBlockIntervalMs: 2_000,
  clockSkewMsMax: 100,
  futureHeightsMax: 2,
  roundsAheadMax: 4,
  bufferedMessagesPerPeerMax: 48,
  bufferedMessagesTotalMax: 480,
  // A proposal at the frame limit and a round of votes per peer; the total is hit by 3 flooders.
  bufferedBytesPerPeerMax: 256 * 1024,
  bufferedBytesTotalMax: 640 * 1024,
  validatorsMax: 64,
  blockBytesMax: 64 * 1024,
  messageBytesMax: 128 * 1024,
  decidedServeIntervalMs: 200,
  servePeersMax: 64,
  syncRequestIntervalMs: 300,
  verifiedCacheEntriesMax: 4_096,
};

/**
 * Tight frame limits, drawn for some seeds: messageBytesMax at the least that consensus/limits.ts
 * allows for blockBytesMax and validatorsMax, so a padded block in a DECIDED or a ROUND-CHANGE
 * lands close to the frame limit the network enforces.
 */
export const SIM_LIMITS_TIGHT: Partial<ConsensusLimits> = (() => {
  const validatorsMax = 16;
  const blockBytesMax = SIM_LIMITS.blockBytesMax!;
  const messageBytesMax = blockBytesMax + 2 * validatorsMax * (256 + 64) + 1024;
  return {
    ...SIM_LIMITS,
    validatorsMax,
    messageBytesMax,
    bufferedBytesPerPeerMax: messageBytesMax + 64 * 1024,
    bufferedBytesTotalMax: 3 * (messageBytesMax + 64 * 1024),
  };
})();

/** How long a run may last, for judging drift: runs end well before (the liveness bound). */
export const CLOCK_HORIZON_MS = 100_000;

/**
 * Honest nodes whose clock may leave ±clockSkewMsMax/2 of virtual time during a run. Two on-clock
 * nodes are within clockSkewMsMax of each other, so each accepts the other's fresh timestamps.
 */
export function offClockNodes(s: Scenario, clockSkewMsMax: number): number[] {
  const byz = new Set(s.byzantine);
  const out: number[] = [];
  for (let i = 0; i < s.clockOffsetsMs.length; i++) {
    if (byz.has(i)) continue;
    const worst =
      Math.abs(s.clockOffsetsMs[i]!) + (Math.abs(s.clockDriftPpm[i] ?? 0) * CLOCK_HORIZON_MS) / 1e6;
    if (worst > clockSkewMsMax / 2) out.push(i);
  }
  return out;
}

/**
 * Whether every validator set of the schedule has at most f members that are Byzantine or off
 * clock: then its on-clock honest members form a quorum, which is what liveness needs (see
 * Simulation.livenessBoundMs).
 */
export function clockFaultsWithinBound(s: Scenario, clockSkewMsMax: number): boolean {
  const faulty = new Set([...s.byzantine, ...offClockNodes(s, clockSkewMsMax)]);
  return validatorSchedule(s).every((x) => byzantineWithinBound(x.members, faulty));
}

export const VALIDATOR_CHOICES = [4, 5, 7, 10] as const;

/** The sets in force from height 1 on, as sorted node-index lists, one per distinct change height. */
export function validatorSchedule(s: Scenario): { from: number; members: number[] }[] {
  let members = Array.from({ length: s.validators }, (_, i) => i);
  const out = [{ from: 1, members }];
  for (const c of [...s.setChanges].sort((a, b) => a.height - b.height)) {
    const next = new Set(members);
    if (c.add !== undefined) next.add(c.add);
    if (c.remove !== undefined) next.delete(c.remove);
    members = [...next].sort((a, b) => a - b);
    out.push({ from: c.height, members });
  }
  return out;
}

function byzantineWithinBound(members: readonly number[], byzantine: ReadonlySet<number>): boolean {
  if (members.length === 0) return false;
  const b = members.filter((m) => byzantine.has(m)).length;
  return b <= faultsTolerated(members.length);
}

export function generateScenario(seed: number, rng: Prng, o: ScenarioOverrides = {}): Scenario {
  const validators = o.validators ?? rng.pick(VALIDATOR_CHOICES);
  const f = faultsTolerated(validators);
  if (o.byzantine !== undefined && o.byzantine > f) {
    throw new RangeError(`--byzantine ${o.byzantine} exceeds f = ${f} for n = ${validators}`);
  }
  const byzCount = o.byzantine ?? rng.int(f + 1);
  const byzantine = rng
    .shuffle(Array.from({ length: validators }, (_, i) => i))
    .slice(0, byzCount)
    .sort((a, b) => a - b);
  const behaviors: Record<number, ByzantineBehavior[]> = {};
  for (const b of byzantine) {
    if (rng.chance(0.2)) {
      behaviors[b] = ['silent'];
      continue;
    }
    const active = BYZANTINE_BEHAVIORS.filter((x) => x !== 'silent' && rng.chance(0.5));
    behaviors[b] = active.length > 0 ? active : [rng.pick(BYZANTINE_BEHAVIORS.filter((x) => x !== 'silent'))];
  }
  const calm = rng.chance(0.15); // some seeds run with a benign network, to check the happy path too
  const delayMaxMs = calm ? rng.range(5, 30) : rng.range(20, 200);
  const net: NetworkSettings = {
    dropRate: calm ? 0 : rng.pick([0, 0.02, 0.05, 0.1, 0.2, 0.3]),
    dupRate: calm ? 0 : rng.pick([0, 0.02, 0.1, 0.2]),
    delayMinMs: rng.range(1, 5),
    delayMaxMs,
    spikeRate: calm ? 0 : rng.pick([0, 0.01, 0.05]),
    healDelayMaxMs: rng.range(10, 50),
  };
  const observers = rng.pick([0, 0, 1, 2]);
  const total = validators + observers;
  const clockOffsetsMs = Array.from({ length: total }, () => rng.range(-40, 40));
  // Validator-set changes, each keeping n >= 1 and the Byzantine members within f of every set.
  const setChanges: SetChange[] = [];
  const byzSet = new Set(byzantine);
  if (rng.chance(0.4)) {
    let members = Array.from({ length: validators }, (_, i) => i);
    let height = 1;
    const changes = rng.range(1, 3);
    for (let i = 0; i < changes; i++) {
      height += rng.range(2, 8);
      const outside = Array.from({ length: total }, (_, j) => j).filter(
        (j) => !members.includes(j) && !byzSet.has(j),
      );
      const change: SetChange = { height };
      if (outside.length > 0 && rng.chance(0.5)) change.add = rng.pick(outside);
      if (rng.chance(0.6) || change.add === undefined) change.remove = rng.pick(members);
      const next = new Set(members);
      if (change.add !== undefined) next.add(change.add);
      if (change.remove !== undefined) next.delete(change.remove);
      const nextMembers = [...next].sort((a, b) => a - b);
      if (nextMembers.length < 1 || !byzantineWithinBound(nextMembers, byzSet)) continue;
      if (change.add === undefined && change.remove === undefined) continue;
      setChanges.push(change);
      members = nextMembers;
    }
  }
  const scenario: Scenario = {
    seed,
    validators,
    observers,
    byzantine,
    behaviors,
    faultTicks: o.ticks ?? rng.range(3_000, 8_000),
    net,
    partitionRate: calm ? 0 : rng.pick([0, 0.1, 0.3, 0.6]),
    partitionDurationMaxMs: rng.range(300, 4_000),
    blackoutRate: calm ? 0 : rng.pick([0, 0, 0.2, 0.5]),
    blackoutDurationMaxMs: rng.range(500, 3_000),
    crashRate: calm ? 0 : rng.pick([0, 0.05, 0.15, 0.3]),
    downtimeMaxMs: rng.range(100, 3_000),
    clockOffsetsMs,
    execDelayMaxMs: rng.range(1, 30),
    buildDelayMaxMs: rng.range(1, 20),
    txCount: rng.range(5, 40),
    txAfterHeal: rng.range(1, 5),
    maxTxsPerBlock: rng.pick([1, 4, 16]),
    setChanges,
    paramChanges: [],
    limits: SIM_LIMITS,
    brokenRule: o.brokenRule,
    clockDriftPpm: new Array(total).fill(0),
    frameBytesMax: o.frameBytesMax,
    driverBug: o.driverBug,
  };
  drawAttacks(scenario, new Prng((seed ^ 0x5bd1e995) >>> 0));
  // Their own stream too, so the seeds' other draws stay as they were.
  drawParamChanges(scenario, new Prng((seed ^ 0x2545f491) >>> 0));
  return { ...scenario, ...o.patch };
}

/**
 * The byte and clock attacks of issue 23, drawn from their own stream (see ATTACK_BEHAVIORS):
 * new Byzantine behaviours, tight frame limits, clock drift, and clocks seconds off for honest
 * nodes, as many as keep the Byzantine and off-clock members of every set within f.
 */
function drawAttacks(s: Scenario, rng: Prng): void {
  for (const b of s.byzantine) {
    const list = s.behaviors[b]!;
    if (list.includes('silent')) continue;
    for (const x of ATTACK_BEHAVIORS) if (rng.chance(0.3)) list.push(x);
  }
  if (rng.chance(0.3)) s.limits = SIM_LIMITS_TIGHT;
  const skew = s.limits.clockSkewMsMax!;
  if (rng.chance(0.5)) {
    s.clockDriftPpm = s.clockDriftPpm.map(() => rng.range(-100, 100));
    // An on-clock node stays within skew/2 over the horizon, drift included.
    const room = skew / 2 - (100 * CLOCK_HORIZON_MS) / 1e6;
    s.clockOffsetsMs = s.clockOffsetsMs.map((o) => Math.max(-room, Math.min(room, o)));
  }
  if (rng.chance(0.35)) {
    const byz = new Set(s.byzantine);
    const honest = rng
      .shuffle(Array.from({ length: s.clockOffsetsMs.length }, (_, i) => i))
      .filter((i) => !byz.has(i));
    const want = rng.range(1, Math.max(1, honest.length));
    let made = 0;
    for (const i of honest) {
      if (made >= want) break;
      const before = s.clockOffsetsMs[i]!;
      // Just off (a few skews) or seconds off, ahead or behind.
      const size = rng.chance(0.3) ? rng.range(skew, 4 * skew) : rng.range(500, 5_000);
      s.clockOffsetsMs[i] = rng.chance(0.5) ? size : -size;
      if (clockFaultsWithinBound(s, skew)) made++;
      else s.clockOffsetsMs[i] = before;
    }
  }
}

/** One-line description, printed with every result so a failure reads at a glance. */
/**
 * Parameter changes for about a third of the seeds: one or two passed param.set at heights 2-12,
 * moving the round timeouts, the block period and the empty-block interval up or down, and the
 * clock-skew bound up only (lowering it could make more honest nodes off clock than f allows).
 * A merged set that `resolveLimits` refuses is not drawn (the ledger refuses such a proposal).
 */
function drawParamChanges(s: Scenario, rng: Prng): void {
  if (!rng.chance(0.35)) return;
  let current: Partial<ConsensusLimits> = { ...s.limits };
  let height = 1;
  const changes = rng.range(1, 2);
  for (let i = 0; i < changes; i++) {
    height += rng.range(1, 6);
    const base = current.roundTimeoutMsBase!;
    const proposal: Partial<ChainParamLimits> = {};
    if (rng.chance(0.6)) proposal.roundTimeoutMsBase = rng.pick([base / 2, base * 2, base + 100]);
    if (rng.chance(0.4)) proposal.roundTimeoutMsMax = rng.pick([2_400, 3_200, 4_800]);
    if (rng.chance(0.5)) proposal.blockPeriodMs = rng.pick([10, 50, 150]);
    if (rng.chance(0.4)) proposal.emptyBlockIntervalMs = rng.pick([1_000, 2_000, 3_000]);
    if (rng.chance(0.3)) proposal.clockSkewMsMax = current.clockSkewMsMax! + rng.pick([50, 400]);
    const merged = { ...current, ...proposal };
    try {
      resolveLimits(merged);
    } catch {
      continue;
    }
    if (Object.keys(proposal).length === 0) continue;
    s.paramChanges.push({ height, limits: proposal });
    current = merged;
  }
}

/** The limits in force at `height` (the scenario's, then each change up to it). */
export function limitsAt(s: Scenario, height: number): Partial<ConsensusLimits> {
  let l: Partial<ConsensusLimits> = { ...s.limits };
  for (const c of s.paramChanges) if (c.height <= height) l = { ...l, ...c.limits };
  return l;
}

export function describeScenario(s: Scenario): string {
  const byz = s.byzantine.map((b) => `n${b}:${(s.behaviors[b] ?? []).join('+')}`).join(' ') || 'none';
  const changes = s.setChanges.map(
    (c) =>
      `h${c.height}${c.add !== undefined ? `+n${c.add}` : ''}${c.remove !== undefined ? `-n${c.remove}` : ''}`,
  );
  return [
    `n=${s.validators}`,
    `observers=${s.observers}`,
    `byzantine=[${byz}]`,
    `ticks=${s.faultTicks}`,
    `drop=${s.net.dropRate} dup=${s.net.dupRate} delay=${s.net.delayMinMs}-${s.net.delayMaxMs} spike=${s.net.spikeRate}`,
    `partitions=${s.partitionRate}/kt blackouts=${s.blackoutRate}/kt crashes=${s.crashRate}/kt`,
    `txs=${s.txCount}+${s.txAfterHeal} perBlock=${s.maxTxsPerBlock}`,
    clocks(s),
    s.limits.messageBytesMax !== SIM_LIMITS.messageBytesMax
      ? `messageBytesMax=${s.limits.messageBytesMax}`
      : '',
    s.frameBytesMax !== undefined ? `frameBytesMax=${s.frameBytesMax}` : '',
    `setChanges=[${changes.join(' ')}]`,
    s.paramChanges.length > 0
      ? `params=[${s.paramChanges.map((c) => `h${c.height}:${JSON.stringify(c.limits)}`).join(' ')}]`
      : '',
    s.brokenRule ? `BROKEN=${s.brokenRule}` : '',
    s.driverBug ? `DRIVER-BUG=${s.driverBug}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function clocks(s: Scenario): string {
  const off = offClockNodes(s, s.limits.clockSkewMsMax ?? 0);
  const drift = s.clockDriftPpm.some((d) => d !== 0);
  if (off.length === 0 && !drift) return '';
  const parts = off.map((i) => `n${i}${s.clockOffsetsMs[i]! >= 0 ? '+' : ''}${s.clockOffsetsMs[i]}ms`);
  return `offClock=[${parts.join(' ')}]${drift ? ' drift=±100ppm' : ''}`;
}
