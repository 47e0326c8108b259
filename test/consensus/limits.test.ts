import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitsError } from '../../consensus/errors.js';
import { checkLimits, DEFAULT_LIMITS, resolveLimits } from '../../consensus/limits.js';
import { SIM_LIMITS } from '../../consensus/sim/scenario.js';
import { roundTimeoutMs } from '../../consensus/timer.js';

describe('limits (one module, relations asserted)', () => {
  it('the defaults and the simulator limits satisfy every relation', () => {
    checkLimits(DEFAULT_LIMITS);
    resolveLimits(SIM_LIMITS);
  });

  const broken: [string, Partial<typeof DEFAULT_LIMITS>][] = [
    ['blockPeriodMs < roundTimeoutMsBase', { blockPeriodMs: 2_000, roundTimeoutMsBase: 2_000 }],
    ['roundTimeoutMsBase <= roundTimeoutMsMax', { roundTimeoutMsBase: 4_000, roundTimeoutMsMax: 3_000 }],
    ['blockPeriodMs <= emptyBlockIntervalMs', { blockPeriodMs: 500, emptyBlockIntervalMs: 400 }],
    ['per-peer buffer within the total', { bufferedMessagesPerPeerMax: 100, bufferedMessagesTotalMax: 50 }],
    ['per-peer buffer holds one round', { bufferedMessagesPerPeerMax: 3 }],
    ['frame holds the largest proposal', { messageBytesMax: DEFAULT_LIMITS.blockBytesMax }],
    ['verified cache holds a set', { verifiedCacheEntriesMax: 10 }],
    ['integer', { roundTimeoutMsBase: 1.5 }],
    ['positive', { futureHeightsMax: 0 }],
  ];
  for (const [what, override] of broken) {
    it(`refuses limits that break: ${what}`, () => {
      assert.throws(() => resolveLimits(override), LimitsError);
    });
  }

  it('round timeouts are min(base * 2^r, max) (docs/protocol.md §1.3, §9 #20)', () => {
    const l = { roundTimeoutMsBase: 2_000, roundTimeoutMsMax: 32_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 10].map((r) => roundTimeoutMs(l, r)),
      [2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000],
    );
    // Huge rounds (a Byzantine RC for round 10^6 cannot overflow anything).
    assert.equal(roundTimeoutMs(l, 1_000_000), 32_000);
    for (let r = 0; r < 200; r++) {
      const t = roundTimeoutMs(l, r);
      assert.ok(
        Number.isSafeInteger(t) && t >= l.roundTimeoutMsBase && t <= l.roundTimeoutMsMax,
        'expected Number.isSafeInteger(t) && t >= l.roundTimeoutMsBase && t <= l.roundTimeoutMsMax',
      );
      if (r > 0) assert.ok(t >= roundTimeoutMs(l, r - 1), 'non-decreasing');
    }
  });
});
