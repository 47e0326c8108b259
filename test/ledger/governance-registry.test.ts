/**
 * The registry that drives a network's membership: node identities (role "node"), account key
 * rotation, validator key rotation, and the validator-set history kept for evidence.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesEqual, toHex } from '../../crypto/hash.js';
import { validatorsHash } from '../../ledger/codec.js';
import { genesisState } from '../../ledger/genesis-state.js';
import {
  activeNodeAccounts,
  getAccount,
  getValidators,
  keys,
  movedTo,
  nodeAccountAddresses,
  validatorEpochs,
  validatorsSince,
} from '../../ledger/state.js';
import type { GovAction, Receipt } from '../../ledger/types.js';
import { validatorsAt } from '../../ledger/validator-history.js';
import { Chain, fixtureGenesis, key, wallet } from './helpers.js';

const FOUR = ['alpha', 'beta', 'gamma', 'delta'];

function ok(r: Receipt) {
  assert.equal(r.ok, true, `${r.code}: ${r.message}`);
  return r.result!;
}

const nodeKeys = (c: Chain) => activeNodeAccounts(c.state).map((a) => toHex(a.publicKey));

/** Proposes `action` as alpha and votes it through with beta and gamma (3 of 4). */
function pass(c: Chain, action: GovAction): number {
  const id = Number(
    ok(c.produce([wallet('alpha-admin', nonce(c, 'alpha-admin')).propose(action, 't')]).receipts[0]!)
      .proposalId,
  );
  const b = c.produce([
    wallet('beta-admin', nonce(c, 'beta-admin')).vote(id, true),
    wallet('gamma-admin', nonce(c, 'gamma-admin')).vote(id, true),
  ]);
  assert.equal(ok(b.receipts[1]!).status, 'executed');
  return id;
}

function nonce(c: Chain, label: string): number {
  return getAccount(c.state, key(label).address)!.nonce;
}

describe('node identities (role "node")', () => {
  test('registered by a member admin, listed while account and member are active', () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    assert.deepEqual(nodeAccountAddresses(c.state), []);
    assert.equal(c.state.tree.get(new TextEncoder().encode(keys.nodes)), undefined, 'no index until used');
    const b = c.produce([
      wallet('delta-admin').register(key('delta-node').publicKey, ['node']),
      wallet('beta-admin').register(key('beta-client').publicKey, ['transfer']),
    ]);
    ok(b.receipts[0]!);
    assert.deepEqual(nodeKeys(c), [toHex(key('delta-node').publicKey)]);
    // Revoked: no longer a peer.
    c.produce([wallet('delta-admin', 1).revoke(key('delta-node').address)]);
    assert.deepEqual(nodeKeys(c), []);
    assert.deepEqual(nodeAccountAddresses(c.state), []);
    // A node of a member that is then removed stops being a peer with its member.
    c.produce([wallet('gamma-admin').register(key('gamma-node').publicKey, ['node', 'transfer'])]);
    assert.deepEqual(nodeKeys(c), [toHex(key('gamma-node').publicKey)]);
    pass(c, { type: 'member.remove', memberId: 'gamma' });
    assert.deepEqual(nodeKeys(c), []);
  });

  test('genesis accounts with the role are listed; a genesis without any has no index key', () => {
    const withNode = genesisState(
      fixtureGenesis({
        members: FOUR,
        accounts: [{ label: 'n0', member: 'alpha', roles: ['node'], balance: 0n }],
      }),
    );
    assert.deepEqual(
      activeNodeAccounts(withNode.state).map((a) => a.memberId),
      ['alpha'],
    );
    const without = genesisState(fixtureGenesis({ members: FOUR }));
    assert.equal(without.state.tree.get(new TextEncoder().encode(keys.nodes)), undefined);
  });

  test('a node identity may submit evidence but not transfer or govern', () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    c.produce([wallet('alpha-admin').register(key('alpha-node').publicKey, ['node'])]);
    const b = c.produce([
      wallet('alpha-node').transfer(key('beta-admin').address, 1n),
      wallet('alpha-node', 1).propose({ type: 'member.remove', memberId: 'beta' }, 'no'),
    ]);
    assert.equal(b.receipts[0]!.code, 'NOT_PERMITTED');
    assert.equal(b.receipts[1]!.code, 'NOT_PERMITTED');
  });
});

describe('identity.rotate', () => {
  test('the account moves to the new key with its member, roles and balance; the old key is refused', () => {
    const c = new Chain(
      fixtureGenesis({
        members: FOUR,
        accounts: [{ label: 'client', member: 'beta', roles: ['transfer', 'data'], balance: 500n }],
      }),
    );
    const old = key('client');
    const fresh = key('client-2');
    c.produce([wallet('client').dataPut('k', new Uint8Array([1]))]);
    const b = c.produce([wallet('client', 1).rotateKey(fresh.publicKey)]);
    assert.equal(ok(b.receipts[0]!).address, toHex(fresh.address));
    const moved = getAccount(c.state, fresh.address)!;
    assert.deepEqual(
      [moved.memberId, moved.roles, moved.balance, moved.nonce, moved.status],
      ['beta', ['transfer', 'data'], 500n, 0, 'active'],
    );
    const left = getAccount(c.state, old.address)!;
    assert.deepEqual([left.status, left.balance, left.nonce], ['revoked', 0n, 2]);
    assert.deepEqual(movedTo(c.state, old.address), fresh.address);
    // The new key transacts from nonce 0; the old one can no longer get into a block.
    ok(c.produce([wallet('client-2').transfer(key('alpha-admin').address, 5n)]).receipts[0]!);
    const refused = c.produce([wallet('client', 2).transfer(key('alpha-admin').address, 5n)], {
      allowSkips: true,
    });
    assert.equal(refused.block.txs.length, 0);
    assert.equal(refused.rejected[0]!.error.code, 'ACCOUNT_REVOKED');
    assert.equal(getAccount(c.state, fresh.address)!.balance, 495n);
  });

  test('refusals: the same key, a key that already has an account', () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    const b = c.produce([
      wallet('alpha-admin').rotateKey(key('alpha-admin').publicKey),
      wallet('alpha-admin', 1).rotateKey(key('beta-admin').publicKey),
    ]);
    assert.equal(b.receipts[0]!.code, 'INVALID_FIELD');
    assert.equal(b.receipts[1]!.code, 'ACCOUNT_EXISTS');
  });

  test('an admin rotating keeps its member one vote; a node identity rotating stays a peer under its new key', () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    c.produce([
      wallet('alpha-admin').propose({ type: 'param.set', name: 'blockTxsMax', value: 100 }, 'smaller blocks'),
      wallet('beta-admin').register(key('beta-node').publicKey, ['node']),
    ]);
    c.produce([
      wallet('beta-admin', 1).vote(1, false),
      wallet('beta-node').rotateKey(key('beta-node-2').publicKey),
    ]);
    const b = c.produce([wallet('beta-admin', 2).rotateKey(key('beta-admin-2').publicKey)]);
    ok(b.receipts[0]!);
    const again = c.produce([wallet('beta-admin-2').vote(1, true)]);
    assert.equal(again.receipts[0]!.code, 'ALREADY_VOTED', 'the vote belongs to the member, not the key');
    assert.deepEqual(nodeKeys(c), [toHex(key('beta-node-2').publicKey)]);
    // The new admin key administers the member.
    ok(c.produce([wallet('beta-admin-2', 1).register(key('beta-x').publicKey, ['data'])]).receipts[0]!);
  });
});

describe('validator.rotate', () => {
  test("the member's admin gives its validator a new key, in force from the next height", () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    const old = key('beta-val');
    const fresh = key('beta-val-2');
    const b = c.produce([
      wallet('beta-admin').rotateValidator(old.address, fresh.publicKey, ['/ip4/10.0.0.2/tcp/7000']),
    ]);
    assert.equal(ok(b.receipts[0]!).address, toHex(fresh.address));
    const h = b.block.header;
    // Block h was certified by the old set; its header announces the new one for h + 1.
    assert.ok(bytesEqual(h.validatorsHash, validatorsHash(getValidators(c.genesis.state))));
    assert.ok(bytesEqual(h.nextValidatorsHash, validatorsHash(getValidators(c.state))));
    const next = getValidators(c.state);
    assert.equal(next.length, 4);
    const entry = next.find((v) => bytesEqual(v.address, fresh.address))!;
    assert.deepEqual([entry.memberId, entry.p2p], ['beta', ['/ip4/10.0.0.2/tcp/7000']]);
    assert.ok(!next.some((v) => bytesEqual(v.address, old.address)));
    // The next block is certified by the new set (its validatorsHash says so).
    const b2 = c.produce([]);
    assert.ok(bytesEqual(b2.block.header.validatorsHash, h.nextValidatorsHash));
  });

  test('refusals: another member, a non-admin, unknown validator, a key already in the set, bad addresses', () => {
    const c = new Chain(
      fixtureGenesis({
        members: FOUR,
        accounts: [{ label: 'beta-ops', member: 'beta', roles: ['transfer'], balance: 1n }],
      }),
    );
    const b = c.produce([
      wallet('alpha-admin').rotateValidator(key('beta-val').address, key('x').publicKey, []),
      wallet('beta-ops').rotateValidator(key('beta-val').address, key('x').publicKey, []),
      wallet('beta-admin').rotateValidator(key('nobody').address, key('x').publicKey, []),
      wallet('beta-admin', 1).rotateValidator(key('beta-val').address, key('gamma-val').publicKey, []),
      wallet('beta-admin', 2).rotateValidator(key('beta-val').address, key('x').publicKey, [
        'not-a-multiaddr',
      ]),
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code),
      ['NOT_PERMITTED', 'NOT_PERMITTED', 'UNKNOWN_VALIDATOR', 'VALIDATOR_EXISTS', 'INVALID_FIELD'],
    );
    assert.ok(
      bytesEqual(b.block.header.nextValidatorsHash, b.block.header.validatorsHash),
      'nothing changed',
    );
  });
});

describe('validator-set history', () => {
  test('each change keeps the previous set with the heights it certified; blocks without changes write nothing', () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    const genesisSet = getValidators(c.state);
    c.produce([]);
    assert.equal(validatorsSince(c.state), 1);
    assert.deepEqual(validatorEpochs(c.state), []);
    // A set change in block 3 (the vote that passes it).
    pass(c, { type: 'validator.remove', address: key('delta-val').address });
    const changedAt = c.height;
    assert.equal(changedAt, 3);
    assert.equal(validatorsSince(c.state), changedAt + 1);
    assert.deepEqual(
      validatorEpochs(c.state).map((e) => [e.from, e.to, e.validators.length]),
      [[1, changedAt, 4]],
    );
    // A rotation two blocks later.
    c.produce([]);
    c.produce([
      wallet('alpha-admin', 1).rotateValidator(key('alpha-val').address, key('alpha-val-2').publicKey, []),
    ]);
    const rotatedAt = c.height;
    assert.deepEqual(
      validatorEpochs(c.state).map((e) => [e.from, e.to, e.validators.length]),
      [
        [1, changedAt, 4],
        [changedAt + 1, rotatedAt, 3],
      ],
    );
    const state = c.state;
    const h = c.height + 1;
    const at = (x: number) => validatorsAt(state, h, x)?.map((v) => toHex(v.address));
    assert.deepEqual(
      at(1),
      genesisSet.map((v) => toHex(v.address)),
    );
    assert.deepEqual(at(changedAt), at(1));
    assert.equal(at(changedAt + 1)!.length, 3);
    assert.ok(at(rotatedAt)!.includes(toHex(key('alpha-val').address)));
    assert.ok(at(rotatedAt + 1)!.includes(toHex(key('alpha-val-2').address)));
    assert.deepEqual(at(h), at(rotatedAt + 1));
    assert.equal(at(0), undefined);
    assert.equal(at(h + 1), undefined, 'not a height this block can know');
  });

  test('a change made and undone in one block is no change', () => {
    const c = new Chain(fixtureGenesis({ members: FOUR }));
    const b = c.produce([
      wallet('alpha-admin').rotateValidator(key('alpha-val').address, key('alpha-val-2').publicKey, []),
      wallet('alpha-admin', 1).rotateValidator(key('alpha-val-2').address, key('alpha-val').publicKey, [
        '/ip4/127.0.0.1/tcp/26700',
      ]),
    ]);
    ok(b.receipts[1]!);
    assert.ok(bytesEqual(b.block.header.nextValidatorsHash, b.block.header.validatorsHash));
    assert.deepEqual(validatorEpochs(c.state), []);
    assert.equal(validatorsSince(c.state), 1);
  });
});
