/**
 * The chain parameters in force at a height reach the replica with that height (issue 23,
 * finding 6): StartHeightEvent.limits carries the chain-parameter part of the limits, and the
 * replica's timers and its freshness rule use it from that height on, without a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StartHeightEvent } from '../../consensus/events.js';
import type { SimBlock } from '../../consensus/sim/block.js';
import { heightLimitsOf } from '../../ledger/params.js';
import { getParams } from '../../ledger/state.js';
import { Chain, fixtureGenesis, wallet } from '../ledger/helpers.js';
import { GENESIS, makeBlock, Net, proposalFrame, TEST_LIMITS } from './harness.js';

/** Replica 0 of four, started at height 1 with `limits` in the event, with pending transactions. */
function started(limits?: StartHeightEvent['limits']): Net {
  const net = new Net({
    n: 4,
    startMs: 10_000,
    pendingTxs: true,
    ...(limits ? { heightLimits: () => limits } : {}),
  });
  net.boot(0);
  return net;
}

/** Offers replica 0 a round-0 proposal for height 1 stamped `aheadMs` past its clock; whether it PREPAREd. */
function preparesAhead(net: Net, aheadMs: number): boolean {
  const p = net.proposerIndex(1, 0);
  assert.notEqual(p, 0, 'replica 0 must not be the proposer of (1, 0)');
  const block: SimBlock = makeBlock({
    height: 1,
    view: 0,
    proposer: net.signers[p]!.address,
    timestampMs: net.now + aheadMs,
  });
  net.inject(0, proposalFrame(net.signers[p]!, block, 0));
  return net.sentOf('PREPARE', { from: 0, height: 1, round: 0 }).length === 1;
}

describe('per-height limits (StartHeightEvent.limits)', () => {
  it('round timers use the roundTimeoutMsBase and roundTimeoutMsMax of the height', () => {
    assert.equal(TEST_LIMITS.roundTimeoutMsBase, 1_000);
    const net = started({ roundTimeoutMsBase: 3_000, roundTimeoutMsMax: 4_000 });
    const r = net.replica(0);
    assert.equal(r.limits.roundTimeoutMsBase, 3_000);
    assert.equal(r.timerDeadlineMs, 10_000 + 3_000, 'round 0 waits the new base');
    net.advance(3_000, [0]);
    assert.equal(r.round, 1);
    assert.equal(r.timerDeadlineMs, 13_000 + 4_000, 'round 1 waits min(2 * base, max)');
  });

  it('the freshness rule uses the clockSkewMsMax of the height, raised or lowered', () => {
    assert.equal(TEST_LIMITS.clockSkewMsMax, 500);
    assert.equal(
      preparesAhead(started({ clockSkewMsMax: 2_000 }), 1_500),
      true,
      'raised: 1.5 s ahead is fresh',
    );
    const lowered = started({ clockSkewMsMax: 100 });
    assert.equal(preparesAhead(lowered, 300), false, 'lowered: 300 ms ahead is refused');
    // Counted as a refused block (its reason is 'bad-timestamp' where the core names it apart).
    const dropped = lowered.replica(0).counters.dropped as Record<string, number>;
    assert.equal((dropped['bad-block'] ?? 0) + (dropped['bad-timestamp'] ?? 0), 1);
    assert.equal(preparesAhead(started(), 300), true, 'the construction limits allow 300 ms');
  });

  it('an inconsistent set is refused whole: the previous limits stay, it is counted, the replica runs on', () => {
    const net = started({ blockPeriodMs: 5_000 }); // not below roundTimeoutMsBase 1000
    const r = net.replica(0);
    assert.equal(r.status, 'running');
    assert.equal(r.counters.limitsRefused, 1);
    assert.equal(r.limits.blockPeriodMs, TEST_LIMITS.blockPeriodMs);
    assert.equal(r.timerDeadlineMs, 10_000 + 1_000);
  });

  it('only the chain-parameter limits come from the event; static ones stay those of construction', () => {
    const net = started({ messageBytesMax: 1, futureHeightsMax: 9 } as unknown as StartHeightEvent['limits']);
    const r = net.replica(0);
    assert.equal(r.limits.messageBytesMax, TEST_LIMITS.messageBytesMax);
    assert.equal(r.limits.futureHeightsMax, TEST_LIMITS.futureHeightsMax);
    assert.equal(r.counters.limitsRefused, 0);
  });
});

describe('a passed param.set reaches the replica at the next height, without a restart', () => {
  it('roundTimeoutMsBase set by governance in block 1 times round 0 of height 2', () => {
    // Ledger: one member, so its proposal passes at once and applies from block 2.
    const chain = new Chain(fixtureGenesis({ members: ['solo'] }));
    const before = heightLimitsOf(getParams(chain.state));
    const b1 = chain.produce([
      wallet('solo-admin').propose({ type: 'param.set', name: 'roundTimeoutMsBase', value: 4_000 }, 'slower'),
    ]);
    assert.equal(b1.receipts[0]!.result?.status, 'executed');
    const after = heightLimitsOf(getParams(chain.state));
    assert.equal(before.roundTimeoutMsBase, 2_000);
    assert.equal(after.roundTimeoutMsBase, 4_000);

    // Replica: the same instance starts height 1 with the old parameters and height 2 with the
    // new ones, as the driver passes them (chain.params after the committed block).
    const net = new Net({ n: 4, startMs: 10_000 });
    const r = net.newReplica(0);
    const start = (height: number, limits: StartHeightEvent['limits']) =>
      r.step({
        type: 'startHeight',
        nowMs: net.now,
        height,
        validators: net.validatorsAt(height),
        parentHash: GENESIS,
        parentTimestampMs: 0,
        limits,
      });
    start(1, before);
    r.step({ type: 'pendingTxs', nowMs: net.now, pending: true });
    assert.equal(r.timerDeadlineMs, 10_000 + 2_000);
    net.now += 500;
    start(2, after);
    assert.equal(r.height, 2);
    assert.equal(r.limits.roundTimeoutMsBase, 4_000);
    assert.equal(r.timerDeadlineMs, 10_500 + 4_000);
  });
});
