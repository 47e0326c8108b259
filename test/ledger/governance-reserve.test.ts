/**
 * A key named by an open proposal is reserved for it (issue 23, finding 10): the admin key of a
 * member.add and the consensus key of a validator.add cannot be taken meanwhile by
 * identity.register, identity.rotate, validator.rotate or a second proposal. Before, one member
 * could veto a pending add alone by claiming its key first: the add then failed for good with
 * ACCOUNT_EXISTS / VALIDATOR_EXISTS. The reservation ends when the proposal closes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesEqual } from '../../crypto/hash.js';
import { getAccount, getProposal, getValidators } from '../../ledger/state.js';
import type { GovAction, Receipt } from '../../ledger/types.js';
import { Chain, fixtureGenesis, key, wallet } from './helpers.js';

const FOUR = ['alpha', 'beta', 'gamma', 'delta'];

function ok(r: Receipt) {
  assert.equal(r.ok, true, `${r.code}: ${r.message}`);
  return r.result!;
}

/** Four members (3 yes votes pass, 2 no votes reject); beta has a client account. */
function chain(proposalTtlBlocks = 1_000): Chain {
  return new Chain(
    fixtureGenesis({
      members: FOUR,
      accounts: [{ label: 'beta-client', member: 'beta', roles: ['transfer'], balance: 5n }],
      params: { proposalTtlBlocks },
    }),
  );
}

function nonce(c: Chain, label: string): number {
  return getAccount(c.state, key(label).address)!.nonce;
}

const w = (c: Chain, label: string) => wallet(label, nonce(c, label));

/** alpha proposes `action`; returns the proposal id. */
function propose(c: Chain, action: GovAction): number {
  return Number(ok(c.produce([w(c, 'alpha-admin').propose(action, 'add')]).receipts[0]!).proposalId);
}

/** gamma and delta vote yes (with alpha's, 3 of 4): returns the proposal's status. */
function voteThrough(c: Chain, id: number): string {
  c.produce([w(c, 'gamma-admin').vote(id, true), w(c, 'delta-admin').vote(id, true)]);
  return getProposal(c.state, id)!.status;
}

const addMember = (label: string, memberId = 'epsilon'): GovAction => ({
  type: 'member.add',
  memberId,
  name: `Member ${memberId}`,
  admin: key(label).publicKey,
});

const addValidator = (label: string): GovAction => ({
  type: 'validator.add',
  publicKey: key(label).publicKey,
  memberId: 'alpha',
  p2p: ['/ip4/127.0.0.1/tcp/26710'],
});

describe('a key named by an open member.add is reserved', () => {
  test('identity.register of the new admin key is refused, and the add then passes', () => {
    const c = chain();
    const id = propose(c, addMember('eps-admin'));
    const veto = c.produce([w(c, 'beta-admin').register(key('eps-admin').publicKey, ['transfer'])]);
    assert.equal(veto.receipts[0]!.code, 'KEY_RESERVED', veto.receipts[0]!.message);
    assert.match(veto.receipts[0]!.message!, new RegExp(`proposal ${id}`));
    assert.equal(voteThrough(c, id), 'executed', getProposal(c.state, id)!.failure?.code);
    const admin = getAccount(c.state, key('eps-admin').address)!;
    assert.deepEqual([admin.memberId, admin.roles], ['epsilon', ['admin']]);
  });

  test('identity.rotate to the new admin key is refused, and the add then passes', () => {
    const c = chain();
    const id = propose(c, addMember('eps-admin'));
    const veto = c.produce([w(c, 'beta-client').rotateKey(key('eps-admin').publicKey)]);
    assert.equal(veto.receipts[0]!.code, 'KEY_RESERVED', veto.receipts[0]!.message);
    assert.equal(getAccount(c.state, key('beta-client').address)!.status, 'active', 'nothing moved');
    assert.equal(voteThrough(c, id), 'executed', getProposal(c.state, id)!.failure?.code);
    assert.equal(getAccount(c.state, key('eps-admin').address)!.memberId, 'epsilon');
  });

  test('a second proposal naming the same key is refused when proposed', () => {
    const c = chain();
    propose(c, addMember('eps-admin'));
    const second = c.produce([w(c, 'beta-admin').propose(addMember('eps-admin', 'zeta'), 'mine')]);
    assert.equal(second.receipts[0]!.code, 'KEY_RESERVED', second.receipts[0]!.message);
  });

  test('the key is an account key only: a validator key or a node identity may be the same key', () => {
    const c = chain();
    propose(c, addMember('eps-admin'));
    const b = c.produce([
      w(c, 'beta-admin').rotateValidator(key('beta-val').address, key('eps-admin').publicKey, []),
    ]);
    ok(b.receipts[0]!);
  });
});

describe('a key named by an open validator.add is reserved', () => {
  test('validator.rotate to the new validator key is refused, and the add then passes', () => {
    const c = chain();
    const id = propose(c, addValidator('alpha-val-2'));
    const veto = c.produce([
      w(c, 'beta-admin').rotateValidator(key('beta-val').address, key('alpha-val-2').publicKey, []),
    ]);
    assert.equal(veto.receipts[0]!.code, 'KEY_RESERVED', veto.receipts[0]!.message);
    assert.equal(voteThrough(c, id), 'executed', getProposal(c.state, id)!.failure?.code);
    const added = getValidators(c.state).find((v) => bytesEqual(v.address, key('alpha-val-2').address))!;
    assert.equal(added.memberId, 'alpha');
    assert.ok(getValidators(c.state).some((v) => bytesEqual(v.address, key('beta-val').address)));
  });

  test('a second validator.add of the same key is refused when proposed', () => {
    const c = chain();
    propose(c, addValidator('alpha-val-2'));
    const second = c.produce([
      w(c, 'beta-admin').propose({ ...addValidator('alpha-val-2'), memberId: 'beta' } as GovAction, 'mine'),
    ]);
    assert.equal(second.receipts[0]!.code, 'KEY_RESERVED', second.receipts[0]!.message);
  });

  test('the node identity of the new validator (same key, account namespace) may be registered', () => {
    const c = chain();
    const id = propose(c, addValidator('alpha-val-2'));
    ok(c.produce([w(c, 'alpha-admin').register(key('alpha-val-2').publicKey, ['node'])]).receipts[0]!);
    assert.equal(voteThrough(c, id), 'executed');
  });
});

describe('the reservation ends when the proposal closes', () => {
  test('expired: the key may then be registered', () => {
    const c = chain(3);
    const id = propose(c, addMember('eps-admin'));
    c.produce([]);
    const still = c.produce([w(c, 'beta-admin').register(key('eps-admin').publicKey, [])]);
    assert.equal(still.receipts[0]!.code, 'KEY_RESERVED');
    assert.equal(getProposal(c.state, id)!.status, 'open');
    // Created at height 1 with a TTL of 3: it expires at the start of block 4.
    const after = c.produce([w(c, 'beta-admin').register(key('eps-admin').publicKey, [])]);
    assert.equal(getProposal(c.state, id)!.status, 'expired');
    ok(after.receipts[0]!);
  });

  test('rejected: the key may then be taken', () => {
    const c = chain();
    const id = propose(c, addValidator('alpha-val-2'));
    c.produce([w(c, 'beta-admin').vote(id, false), w(c, 'gamma-admin').vote(id, false)]);
    assert.equal(getProposal(c.state, id)!.status, 'rejected');
    ok(
      c.produce([
        w(c, 'beta-admin').rotateValidator(key('beta-val').address, key('alpha-val-2').publicKey, []),
      ]).receipts[0]!,
    );
  });

  test('failed: the key may then be registered; executed: the key has its account', () => {
    const c = chain();
    // Two adds of one member id with different keys: the first passes, the second then fails.
    const first = propose(c, addMember('eps-admin'));
    const second = propose(c, addMember('eps-admin-b'));
    assert.equal(voteThrough(c, first), 'executed');
    // epsilon is a fifth member now: the second needs a fourth yes.
    voteThrough(c, second);
    c.produce([w(c, 'beta-admin').vote(second, true)]);
    assert.equal(getProposal(c.state, second)!.status, 'failed');
    assert.equal(getProposal(c.state, second)!.failure?.code, 'MEMBER_EXISTS');
    const b = c.produce([
      w(c, 'beta-admin').register(key('eps-admin-b').publicKey, []),
      wallet('beta-admin', nonce(c, 'beta-admin') + 1).register(key('eps-admin').publicKey, []),
    ]);
    ok(b.receipts[0]!);
    assert.equal(b.receipts[1]!.code, 'ACCOUNT_EXISTS');
  });
});
