/**
 * Governance scenarios: thresholds, rejection, expiry, one vote per member, who may vote,
 * member removal, validator-set changes taking effect at the next height, parameter changes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressOf } from '../../crypto/ed25519.js';
import { bytesEqual } from '../../crypto/hash.js';
import { validatorsHash } from '../../ledger/codec.js';
import { LedgerError } from '../../ledger/errors.js';
import { simulateTx } from '../../ledger/execute.js';
import {
  getAccount,
  getMember,
  getParams,
  getProposal,
  getValidators,
  listMembers,
  listProposals,
  openProposalIds,
} from '../../ledger/state.js';
import type { GovAction, Receipt } from '../../ledger/types.js';
import { Chain, fixtureGenesis, key, wallet } from './helpers.js';

const FOUR = ['alpha', 'beta', 'gamma', 'delta'];

function addMember(id: string): GovAction {
  return { type: 'member.add', memberId: id, name: `Member ${id}`, admin: key(`${id}-admin`).publicKey };
}

function rejectionCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LedgerError) return e.code;
    throw e;
  }
  assert.fail('expected a LedgerError');
}

function result(r: Receipt) {
  assert.equal(r.ok, true, `${r.code}: ${r.message}`);
  return r.result!;
}

describe('thresholds', () => {
  test('member.add passes with the threshold (3 of 4 > 2/3) and is executed in that block', () => {
    const chain = new Chain(fixtureGenesis({ members: FOUR }));
    const b1 = chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit epsilon')]);
    assert.deepEqual(result(b1.receipts[0]!), { proposalId: 1, status: 'open' });
    const b2 = chain.produce([wallet('beta-admin').vote(1, true)]);
    assert.deepEqual(result(b2.receipts[0]!), { proposalId: 1, status: 'open' });
    assert.equal(getMember(chain.state, 'epsilon'), undefined);
    const b3 = chain.produce([wallet('gamma-admin').vote(1, true)]);
    assert.deepEqual(result(b3.receipts[0]!), { proposalId: 1, status: 'executed' });
    assert.deepEqual(getMember(chain.state, 'epsilon'), {
      id: 'epsilon',
      name: 'Member epsilon',
      status: 'active',
    });
    const admin = getAccount(chain.state, key('epsilon-admin').address)!;
    assert.equal(admin.memberId, 'epsilon');
    assert.deepEqual(admin.roles, ['admin']);
    const p = getProposal(chain.state, 1)!;
    assert.equal(p.status, 'executed');
    assert.equal(p.closedHeight, 3);
    assert.deepEqual(openProposalIds(chain.state), []);
    // The new member's admin can act at once, and the vote is closed to late voters.
    const b4 = chain.produce([
      wallet('epsilon-admin').register(key('epsilon-client').publicKey, ['transfer']),
      wallet('delta-admin').vote(1, true),
    ]);
    assert.equal(b4.receipts[0]!.ok, true);
    assert.equal(b4.receipts[1]!.code, 'PROPOSAL_CLOSED');
    assert.equal(listMembers(chain.state).length, 5);
  });

  test('below the threshold nothing happens; enough no-votes reject', () => {
    const chain = new Chain(fixtureGenesis({ members: FOUR }));
    chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit epsilon')]);
    const b = chain.produce([wallet('beta-admin').vote(1, true), wallet('gamma-admin').vote(1, false)]);
    // 2 yes of 4: 6 > 8 fails; 1 no: (4 - 1) * 3 = 9 > 8, still possible.
    assert.deepEqual(result(b.receipts[1]!), { proposalId: 1, status: 'open' });
    assert.equal(getMember(chain.state, 'epsilon'), undefined);
    const b2 = chain.produce([wallet('delta-admin').vote(1, false)]);
    // 2 no: (4 - 2) * 3 = 6 <= 8, cannot pass any more.
    assert.deepEqual(result(b2.receipts[0]!), { proposalId: 1, status: 'rejected' });
    assert.equal(getMember(chain.state, 'epsilon'), undefined);
    assert.equal(getAccount(chain.state, key('epsilon-admin').address), undefined);
    assert.deepEqual(
      listProposals(chain.state, { status: 'rejected' }).map((p) => p.id),
      [1],
    );
  });

  test('a single member decides alone: the proposal executes in the proposing tx', () => {
    const chain = new Chain(fixtureGenesis({ members: ['solo'] }));
    const b = chain.produce([wallet('solo-admin').propose(addMember('second'), 'grow')]);
    assert.deepEqual(result(b.receipts[0]!), { proposalId: 1, status: 'executed' });
    assert.equal(getMember(chain.state, 'second')?.status, 'active');
  });

  test('expiry: open for votes through createdHeight + ttl - 1, expired at the next block start', () => {
    const chain = new Chain(fixtureGenesis({ members: FOUR, params: { proposalTtlBlocks: 3 } }));
    chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit')]); // height 1
    assert.equal(getProposal(chain.state, 1)!.expiresHeight, 4);
    chain.produce([]); // 2
    const b3 = chain.produce([wallet('beta-admin').vote(1, true)]); // 3: still open
    assert.deepEqual(result(b3.receipts[0]!), { proposalId: 1, status: 'open' });
    const b4 = chain.produce([wallet('gamma-admin').vote(1, true)]); // 4: expired first
    assert.equal(b4.receipts[0]!.code, 'PROPOSAL_CLOSED');
    const p = getProposal(chain.state, 1)!;
    assert.equal(p.status, 'expired');
    assert.equal(p.closedHeight, 4);
    assert.equal(getMember(chain.state, 'epsilon'), undefined);
    assert.deepEqual(openProposalIds(chain.state), []);
  });

  test('an empty block expires proposals too (and so changes the state root)', () => {
    const chain = new Chain(fixtureGenesis({ members: FOUR, params: { proposalTtlBlocks: 1 } }));
    chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit')]);
    const before = chain.header.stateRoot;
    const b = chain.produce([]);
    assert.ok(!bytesEqual(b.stateRoot, before));
    assert.equal(getProposal(chain.state, 1)!.status, 'expired');
  });
});

describe('who votes, and how often', () => {
  const doc = fixtureGenesis({
    members: FOUR,
    accounts: [
      { label: 'beta-admin2', member: 'beta', roles: ['admin'], balance: 0n },
      { label: 'beta-client', member: 'beta', roles: ['transfer', 'data'], balance: 0n },
    ],
  });

  test('one vote per member: again, by another admin of it, or by the proposer member', () => {
    const chain = new Chain(doc);
    chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit')]);
    const b = chain.produce([
      wallet('beta-admin').vote(1, true),
      wallet('beta-admin', 1).vote(1, false),
      wallet('beta-admin2').vote(1, true),
      wallet('alpha-admin', 1).vote(1, true),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code ?? 'ok'),
      ['ok', 'ALREADY_VOTED', 'ALREADY_VOTED', 'ALREADY_VOTED'],
    );
    assert.deepEqual(getProposal(chain.state, 1)!.votes, [
      { memberId: 'alpha', approve: true },
      { memberId: 'beta', approve: true },
    ]);
  });

  test('a non-admin account may neither vote nor propose (NOT_PERMITTED)', () => {
    const chain = new Chain(doc);
    chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit')]);
    const b = chain.produce([
      wallet('beta-client').vote(1, true),
      wallet('beta-client', 1).propose(addMember('zeta'), 'x'),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code),
      ['NOT_PERMITTED', 'NOT_PERMITTED'],
    );
    assert.equal(getProposal(chain.state, 1)!.votes.length, 1);
  });

  test('a key that is no member account cannot vote: the tx is refused, not included', () => {
    const chain = new Chain(doc);
    chain.produce([wallet('alpha-admin').propose(addMember('epsilon'), 'admit')]);
    const stx = wallet('outsider').vote(1, true);
    assert.equal(
      rejectionCode(() => simulateTx(chain.state, stx, chain.height + 1)),
      'UNKNOWN_ACCOUNT',
    );
    const b = chain.produce([stx], { allowSkips: true });
    assert.equal(b.block.txs.length, 0);
    assert.equal(b.rejected[0]!.error.code, 'UNKNOWN_ACCOUNT');
  });

  test('votes on unknown proposals fail UNKNOWN_PROPOSAL', () => {
    const chain = new Chain(doc);
    const b = chain.produce([wallet('beta-admin').vote(7, true)]);
    assert.equal(b.receipts[0]!.code, 'UNKNOWN_PROPOSAL');
  });
});

describe('member removal', () => {
  test("a removed member's accounts are refused, its validators leave at the next height, its votes stop counting", () => {
    const doc = fixtureGenesis({
      members: FOUR,
      accounts: [{ label: 'delta-client', member: 'delta', roles: ['transfer'], balance: 100n }],
    });
    const chain = new Chain(doc);
    // A second proposal, open while delta is removed, with delta's yes vote on it.
    chain.produce([
      wallet('alpha-admin').propose({ type: 'member.remove', memberId: 'delta' }, 'remove delta'),
      wallet('alpha-admin', 1).propose(addMember('epsilon'), 'admit'),
    ]);
    chain.produce([wallet('delta-admin').vote(2, true), wallet('beta-admin').vote(1, true)]);
    const before = getValidators(chain.state);
    assert.equal(before.length, 4);
    const b = chain.produce([wallet('gamma-admin').vote(1, true)]);
    assert.deepEqual(result(b.receipts[0]!), { proposalId: 1, status: 'executed' });
    assert.equal(getMember(chain.state, 'delta')!.status, 'removed');
    const after = getValidators(chain.state);
    assert.deepEqual(after.map((v) => v.memberId).sort(), ['alpha', 'beta', 'gamma']);
    // This block was certified by the old set; the next one by the new.
    assert.deepEqual(b.block.header.validatorsHash, validatorsHash(before));
    assert.deepEqual(b.block.header.nextValidatorsHash, validatorsHash(after));

    for (const stx of [
      wallet('delta-client').transfer(key('alpha-admin').address, 1n),
      wallet('delta-admin', 1).vote(2, true),
    ]) {
      assert.equal(
        rejectionCode(() => simulateTx(chain.state, stx, chain.height + 1)),
        'MEMBER_REMOVED',
      );
    }
    // Proposal 2 has alpha and delta yes; delta no longer counts, so beta's yes makes 2 of 3,
    // which is not above 2/3; gamma's makes 3 of 3.
    const b2 = chain.produce([wallet('beta-admin', 1).vote(2, true)]);
    assert.deepEqual(result(b2.receipts[0]!), { proposalId: 2, status: 'open' });
    const b3 = chain.produce([wallet('gamma-admin', 1).vote(2, true)]);
    assert.deepEqual(result(b3.receipts[0]!), { proposalId: 2, status: 'executed' });
    assert.deepEqual(b3.block.header.validatorsHash, validatorsHash(after));
  });

  test('removing the member that owns every validator, or the last member, is refused', () => {
    const chain = new Chain(fixtureGenesis({ members: ['alpha', 'beta'], noValidator: ['beta'] }));
    const b = chain.produce([
      wallet('beta-admin').propose({ type: 'member.remove', memberId: 'alpha' }, 'x'),
      wallet('beta-admin', 1).propose({ type: 'member.remove', memberId: 'nobody' }, 'x'),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code),
      ['WOULD_EMPTY_VALIDATORS', 'UNKNOWN_MEMBER'],
    );
    const solo = new Chain(fixtureGenesis({ members: ['solo'] }));
    const b2 = solo.produce([wallet('solo-admin').propose({ type: 'member.remove', memberId: 'solo' }, 'x')]);
    assert.equal(b2.receipts[0]!.code, 'INVALID_ACTION');
  });
});

describe('validator set changes', () => {
  test('validator.add: header h carries nextValidatorsHash of V(h+1), which header h+1 carries as validatorsHash', () => {
    const chain = new Chain(fixtureGenesis({ members: ['alpha'] }));
    const v0 = getValidators(chain.state);
    const newKey = key('alpha-val2');
    const action: GovAction = {
      type: 'validator.add',
      publicKey: newKey.publicKey,
      memberId: 'alpha',
      p2p: ['/ip4/127.0.0.1/tcp/26710'],
    };
    const b1 = chain.produce([wallet('alpha-admin').propose(action, 'second validator')]);
    assert.deepEqual(result(b1.receipts[0]!), { proposalId: 1, status: 'executed' });
    const v2 = getValidators(chain.state);
    assert.equal(v2.length, 2);
    assert.ok(v2.some((v) => bytesEqual(v.address, addressOf(newKey.publicKey))));
    assert.deepEqual(b1.block.header.validatorsHash, validatorsHash(v0));
    assert.deepEqual(b1.block.header.nextValidatorsHash, validatorsHash(v2));
    assert.notDeepEqual(b1.block.header.nextValidatorsHash, b1.block.header.validatorsHash);
    const b2 = chain.produce([]);
    assert.deepEqual(b2.block.header.validatorsHash, validatorsHash(v2));
    assert.deepEqual(b2.block.header.nextValidatorsHash, validatorsHash(v2));
    // Adding it again is refused when proposed.
    const b3 = chain.produce([wallet('alpha-admin', 1).propose(action, 'again')]);
    assert.equal(b3.receipts[0]!.code, 'VALIDATOR_EXISTS');
  });

  test('validator.remove of the only validator is refused, and fails at execution if it became the last', () => {
    const single = new Chain(fixtureGenesis({ members: ['alpha', 'beta'], noValidator: ['beta'] }));
    const only = getValidators(single.state)[0]!.address;
    const b = single.produce([
      wallet('alpha-admin').propose({ type: 'validator.remove', address: only }, 'x'),
    ]);
    assert.equal(b.receipts[0]!.code, 'WOULD_EMPTY_VALIDATORS');

    // Two validators, two open removals; the second to pass would empty the set.
    const chain = new Chain(fixtureGenesis({ members: ['alpha', 'beta', 'gamma'], noValidator: ['gamma'] }));
    const [va, vb] = getValidators(chain.state).map((v) => v.address);
    chain.produce([
      wallet('alpha-admin').propose({ type: 'validator.remove', address: va! }, 'drop a'),
      wallet('alpha-admin', 1).propose({ type: 'validator.remove', address: vb! }, 'drop b'),
      wallet('beta-admin').vote(1, true),
      wallet('beta-admin', 1).vote(2, true),
    ]);
    const done = chain.produce([wallet('gamma-admin').vote(1, true), wallet('gamma-admin', 1).vote(2, true)]);
    assert.deepEqual(result(done.receipts[0]!), { proposalId: 1, status: 'executed' });
    assert.deepEqual(result(done.receipts[1]!), { proposalId: 2, status: 'failed' });
    const p2 = getProposal(chain.state, 2)!;
    assert.equal(p2.failure?.code, 'WOULD_EMPTY_VALIDATORS');
    assert.deepEqual(
      getValidators(chain.state).map((v) => v.address),
      [vb],
    );
    // The vote that triggered the failed execution still counts and consumed its nonce.
    assert.equal(p2.votes.length, 3);
    assert.equal(getAccount(chain.state, key('gamma-admin').address)!.nonce, 2);
  });

  test('validator.add for an unknown member or with bad p2p addresses is refused', () => {
    const chain = new Chain(fixtureGenesis({ members: ['alpha'] }));
    const w = wallet('alpha-admin');
    const pk = key('v').publicKey;
    const b = chain.produce([
      w.propose({ type: 'validator.add', publicKey: pk, memberId: 'nobody', p2p: [] }, 'x'),
      w.propose({ type: 'validator.add', publicKey: pk, memberId: 'alpha', p2p: ['not-a-multiaddr'] }, 'x'),
      w.propose(
        { type: 'validator.add', publicKey: pk, memberId: 'alpha', p2p: Array(17).fill('/ip4/1.2.3.4') },
        'x',
      ),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code),
      ['UNKNOWN_MEMBER', 'INVALID_FIELD', 'FIELD_TOO_LARGE'],
    );
  });
});

describe('parameters and proposal limits', () => {
  test('param.set changes the parameter from the next block; invalid values are refused', () => {
    const chain = new Chain(fixtureGenesis({ members: ['solo'] }));
    const w = wallet('solo-admin');
    const b = chain.produce([
      w.propose({ type: 'param.set', name: 'dataValueBytesMax', value: 4 }, 'small values'),
      // Still the old limit within this block.
      w.dataPut('k', new Uint8Array(8)),
      w.propose({ type: 'param.set', name: 'noSuchParam', value: 1 }, 'x'),
      w.propose({ type: 'param.set', name: 'govThresholdNumerator', value: 1 }, 'below one half'),
      w.propose({ type: 'param.set', name: 'blockTxsMax', value: 0 }, 'out of bounds'),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code ?? 'ok'),
      ['ok', 'ok', 'INVALID_PARAM', 'INVALID_PARAM', 'INVALID_PARAM'],
    );
    assert.equal(getParams(chain.state).dataValueBytesMax, 4);
    const b2 = chain.produce([w.dataPut('k', new Uint8Array(8))]);
    assert.equal(b2.receipts[0]!.code, 'FIELD_TOO_LARGE');
  });

  test('proposal fields and the open-proposal bound are checked', () => {
    const chain = new Chain(fixtureGenesis({ members: FOUR }));
    const w = wallet('alpha-admin');
    const b = chain.produce([
      w.propose(addMember('epsilon'), 't'.repeat(257)),
      w.propose(addMember('epsilon'), ''),
      w.propose(addMember('Bad_Id'), 'x'),
      w.propose(addMember('beta'), 'x'),
      w.propose(
        { type: 'member.add', memberId: 'zeta', name: 'Zeta', admin: key('beta-admin').publicKey },
        'x',
      ),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code),
      ['FIELD_TOO_LARGE', 'INVALID_FIELD', 'INVALID_FIELD', 'MEMBER_EXISTS', 'ACCOUNT_EXISTS'],
    );
    // Fill the open-proposal bound (256), then one more is refused.
    const many = Array.from({ length: 257 }, (_, i) => w.propose(addMember(`m${i}`), `p${i}`));
    const b2 = chain.produce(many);
    assert.equal(b2.receipts.filter((r) => r.ok).length, 256);
    assert.equal(b2.receipts[256]!.code, 'TOO_MANY_PROPOSALS');
    assert.equal(openProposalIds(chain.state).length, 256);
  });
});
