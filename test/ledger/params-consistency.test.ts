/**
 * Chain parameters have one validity rule (ledger/params.ts paramProblems), and governance cannot
 * brick the chain with a passed param.set (issue 23, finding 6): the rule implies the consensus
 * core's relations and the protocol's block size, keeps the vote threshold reachable, and the
 * ledger refuses a param.set that breaks it when proposed and again when executed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CHAIN_PARAM_LIMIT_NAMES } from '../../consensus/events.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../consensus/limits.js';
import { asMap, decode } from '../../crypto/encoding.js';
import { encodedBlockLength } from '../../ledger/block.js';
import { LEDGER_LIMITS } from '../../ledger/checks.js';
import { encodeHeader } from '../../ledger/codec.js';
import { cannotPass, passes } from '../../ledger/governance.js';
import {
  BLOCK_ENVELOPE_BYTES_MAX,
  type ChainParams,
  DEFAULT_PARAMS,
  HEIGHT_LIMIT_NAMES,
  heightLimitsOf,
  PARAM_BOUNDS,
  PARAM_NAMES,
  PARAMS_STORED_WHEN_CHANGED,
  PROTOCOL_BLOCK_BYTES_MAX,
  paramProblems,
} from '../../ledger/params.js';
import { getParams, getProposal, paramsCodec } from '../../ledger/state.js';
import type { BlockHeader, GovAction } from '../../ledger/types.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../node/p2p/protocols.js';
import { Chain, fixtureGenesis, wallet } from './helpers.js';

const MiB = 1024 * 1024;
const FOUR = ['alpha', 'beta', 'gamma', 'delta'];

function set(name: string, value: number): GovAction {
  return { type: 'param.set', name, value };
}

/** The receipt code of proposing `action` alone on a fresh four-member chain ('ok' if accepted). */
function proposeCode(action: GovAction, params: Partial<ChainParams> = {}): string {
  const chain = new Chain(fixtureGenesis({ members: FOUR, params }));
  const b = chain.produce([wallet('alpha-admin').propose(action, 'change')]);
  return b.receipts[0]!.code ?? 'ok';
}

describe('governance cannot brick the chain: param.set is refused when proposed', () => {
  test('emptyBlockIntervalMs below blockPeriodMs (the devnet reproduction) is INVALID_PARAM', () => {
    assert.equal(DEFAULT_PARAMS.blockPeriodMs, 200);
    assert.equal(proposeCode(set('emptyBlockIntervalMs', 100)), 'INVALID_PARAM');
    // Equal is what consensus accepts (blockPeriodMs <= emptyBlockIntervalMs).
    assert.equal(proposeCode(set('emptyBlockIntervalMs', 200)), 'ok');
  });

  test('govThresholdNumerator == govThresholdDenominator (unreachable) is INVALID_PARAM', () => {
    assert.equal(proposeCode(set('govThresholdNumerator', 3)), 'INVALID_PARAM');
    assert.equal(proposeCode(set('govThresholdDenominator', 2)), 'INVALID_PARAM');
    // 3/4 stays reachable by every member: accepted.
    assert.equal(proposeCode(set('govThresholdDenominator', 4)), 'ok');
  });

  test('blockBytesMax above the protocol block size (8 MiB > 4 MiB) is INVALID_PARAM', () => {
    assert.equal(proposeCode(set('blockBytesMax', 8 * MiB)), 'INVALID_PARAM');
    assert.equal(proposeCode(set('blockBytesMax', 4 * MiB + 1)), 'INVALID_PARAM');
    assert.equal(proposeCode(set('blockBytesMax', 2 * MiB)), 'ok');
  });

  test('a clock skew of zero (consensus needs a positive one) is INVALID_PARAM', () => {
    assert.equal(proposeCode(set('clockSkewMsMax', 0)), 'INVALID_PARAM');
    assert.equal(proposeCode(set('clockSkewMsMax', 500)), 'ok');
  });

  test('the round timeouts keep their order with blockPeriodMs', () => {
    assert.equal(proposeCode(set('roundTimeoutMsBase', 200)), 'INVALID_PARAM');
    assert.equal(proposeCode(set('roundTimeoutMsMax', 1_000)), 'INVALID_PARAM');
    assert.equal(proposeCode(set('blockPeriodMs', 6_000)), 'INVALID_PARAM');
  });
});

describe('governance cannot brick the chain: param.set is re-checked when executed', () => {
  test('two changes each valid alone: the second to pass fails with INVALID_PARAM and changes nothing', () => {
    const chain = new Chain(fixtureGenesis({ members: FOUR }));
    // Alone, each is fine: 200 <= 300, and 400 <= 5000. Together blockPeriodMs 400 > 300.
    chain.produce([
      wallet('alpha-admin').propose(set('emptyBlockIntervalMs', 300), 'shorter empty interval'),
      wallet('beta-admin').propose(set('blockPeriodMs', 400), 'longer block period'),
    ]);
    assert.equal(getProposal(chain.state, 1)!.status, 'open');
    assert.equal(getProposal(chain.state, 2)!.status, 'open');
    // Proposal 1 passes (alpha, beta, gamma: 3 of 4).
    chain.produce([wallet('beta-admin', 1).vote(1, true), wallet('gamma-admin').vote(1, true)]);
    assert.equal(getProposal(chain.state, 1)!.status, 'executed');
    assert.equal(getParams(chain.state).emptyBlockIntervalMs, 300);
    // Proposal 2 reaches the threshold, but against the parameters in force now it breaks the rule.
    const b = chain.produce([wallet('alpha-admin', 1).vote(2, true), wallet('gamma-admin', 1).vote(2, true)]);
    assert.deepEqual(
      b.receipts.map((r) => r.ok),
      [true, true],
    );
    const p2 = getProposal(chain.state, 2)!;
    assert.equal(p2.status, 'failed');
    assert.equal(p2.failure?.code, 'INVALID_PARAM');
    assert.equal(getParams(chain.state).blockPeriodMs, DEFAULT_PARAMS.blockPeriodMs);
    assert.deepEqual(paramProblems(getParams(chain.state)), []);
  });
});

describe('one validity rule: what paramProblems accepts, every part of the node accepts', () => {
  test('the protocol constants restated in ledger/params.ts equal the consensus ones', () => {
    assert.equal(PROTOCOL_BLOCK_BYTES_MAX, DEFAULT_LIMITS.blockBytesMax);
    assert.equal(PARAM_BOUNDS.blockBytesMax[1], PROTOCOL_BLOCK_BYTES_MAX);
    assert.ok(DEFAULT_PARAMS.blockBytesMax <= PROTOCOL_BLOCK_BYTES_MAX);
    assert.deepEqual([...HEIGHT_LIMIT_NAMES].sort(), [...CHAIN_PARAM_LIMIT_NAMES].sort());
    for (const name of HEIGHT_LIMIT_NAMES) assert.ok(name in DEFAULT_LIMITS, name);
  });

  test('what the parameters allow fits the p2p frame limits', () => {
    // A DECIDED or ROUND-CHANGE with the largest block the rule allows fits a consensus frame
    // (checkLimits proves messageBytesMax covers blockBytesMax plus the largest envelope).
    assert.ok(DEFAULT_MAX_FRAME_BYTES.consensus >= DEFAULT_LIMITS.messageBytesMax);
    assert.ok(DEFAULT_LIMITS.messageBytesMax > PROTOCOL_BLOCK_BYTES_MAX);
    // The largest transaction the bounds allow fits a tx frame, with room for its batch framing.
    assert.ok(PARAM_BOUNDS.txBytesMax[1] + 64 * 1024 <= DEFAULT_MAX_FRAME_BYTES.tx);
  });

  test('a block holding one transaction of txBytesMax fits BLOCK_ENVELOPE_BYTES_MAX of overhead', () => {
    // The largest header: a 64-byte chain id, the largest integers, every hash.
    const h32 = new Uint8Array(32);
    const header: BlockHeader = {
      chainId: 'a'.repeat(64),
      height: Number.MAX_SAFE_INTEGER,
      view: Number.MAX_SAFE_INTEGER,
      parentHash: h32,
      timestamp: Number.MAX_SAFE_INTEGER,
      proposer: new Uint8Array(20),
      txRoot: h32,
      receiptsRoot: h32,
      stateRoot: h32,
      validatorsHash: h32,
      nextValidatorsHash: h32,
    };
    const txBytes = PARAM_BOUNDS.txBytesMax[1];
    const overhead = encodedBlockLength(encodeHeader(header).length, 1, txBytes) - txBytes;
    assert.ok(overhead <= BLOCK_ENVELOPE_BYTES_MAX, `${overhead} bytes of envelope`);
  });

  test('the defaults are accepted', () => {
    assert.deepEqual(paramProblems({ ...DEFAULT_PARAMS }), []);
  });

  // Values drawn near the bounds, near the defaults and near the other parameters' values, so the
  // relations are hit from both sides and a good share of the sets is accepted.
  const paramsArb: fc.Arbitrary<ChainParams> = fc
    .record(
      Object.fromEntries(
        PARAM_NAMES.map((name) => {
          const [lo, hi] = PARAM_BOUNDS[name];
          const d = DEFAULT_PARAMS[name];
          return [
            name,
            fc.oneof(
              fc.constant(d),
              fc.integer({ min: lo, max: hi }),
              fc.integer({ min: Math.max(lo, d - 1_000), max: Math.min(hi, d + 1_000) }),
              fc.constantFrom(lo, hi, Math.min(hi, lo + 1)),
            ),
          ];
        }),
      ) as { [K in keyof ChainParams]: fc.Arbitrary<number> },
    )
    .map((p) => p as ChainParams);

  test('property: every accepted set is accepted by consensus resolveLimits, and its threshold is reachable', () => {
    let accepted = 0;
    fc.assert(
      fc.property(paramsArb, (p) => {
        if (paramProblems(p).length > 0) return;
        accepted++;
        assert.doesNotThrow(() => resolveLimits({ ...p }), 'resolveLimits({...params})');
        assert.doesNotThrow(() => resolveLimits(heightLimitsOf(p)), 'resolveLimits(heightLimitsOf)');
        assert.ok(p.blockBytesMax <= PROTOCOL_BLOCK_BYTES_MAX);
        // Every member voting yes passes, whatever the number of members; no member voting no
        // does not reject at once.
        for (const members of [1, 2, 3, 4, 7, LEDGER_LIMITS.membersMax]) {
          assert.ok(passes({ yes: members, no: 0, members }, p), `${members} members all yes`);
          assert.ok(!cannotPass({ yes: 1, no: 0, members }, p), `${members} members, none against`);
        }
      }),
      { numRuns: 2_000 },
    );
    assert.ok(accepted >= 50, `only ${accepted} of 2000 sets were accepted: the generator misses the rule`);
  });

  test('property: a set consensus refuses is refused by the ledger rule (nothing slips between them)', () => {
    fc.assert(
      fc.property(paramsArb, (p) => {
        let refusedByConsensus = false;
        try {
          resolveLimits({ ...p });
        } catch {
          refusedByConsensus = true;
        }
        if (refusedByConsensus) assert.notDeepEqual(paramProblems(p), []);
      }),
      { numRuns: 2_000 },
    );
  });

  test('the later parameters are stored only when changed, so existing state roots stay', () => {
    const stored = asMap(decode(paramsCodec.encode({ ...DEFAULT_PARAMS })), 'params');
    for (const name of PARAMS_STORED_WHEN_CHANGED) assert.equal(stored[name], undefined, name);
    const changed = { ...DEFAULT_PARAMS, memberDataKeysMax: 7 };
    assert.deepEqual(paramsCodec.decode(paramsCodec.encode(changed)), changed);
    assert.deepEqual(paramsCodec.decode(paramsCodec.encode({ ...DEFAULT_PARAMS })), { ...DEFAULT_PARAMS });
  });
});

describe('governance can always still decide', () => {
  test('at the smallest blockBytesMax the rule allows, a block still carries the vote that raises it again', () => {
    const chain = new Chain(fixtureGenesis({ members: ['solo'] }));
    const w = wallet('solo-admin');
    const smallest = DEFAULT_PARAMS.txBytesMax + BLOCK_ENVELOPE_BYTES_MAX;
    assert.equal(proposeCode(set('blockBytesMax', smallest - 1)), 'INVALID_PARAM');
    chain.produce([w.propose(set('blockBytesMax', smallest), 'smallest blocks')]);
    assert.equal(getParams(chain.state).blockBytesMax, smallest);
    const b = chain.produce([w.propose(set('blockBytesMax', 4 * MiB), 'back to 4 MiB')]);
    assert.equal(b.receipts[0]!.result?.status, 'executed');
    assert.equal(getParams(chain.state).blockBytesMax, 4 * MiB);
  });
});
