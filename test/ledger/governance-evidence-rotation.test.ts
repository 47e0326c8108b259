/**
 * Evidence follows a validator across key rotations (issue 23, finding 10): a validator that
 * equivocates and then rotates its consensus key (before anyone submits the evidence) is still
 * the one the evidence accuses, and the removal proposal names its current key. Before, the
 * evidence verified against the old set but found the old address gone from the current set and
 * opened no proposal: the equivocator escaped by rotating.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeEvidence, makeEvidence } from '../../consensus/evidence.js';
import { signPayload, type VotePayload } from '../../consensus/payload.js';
import { bytesEqual, toHex } from '../../crypto/hash.js';
import { getAccount, getEvidenceRecord, getProposal, getValidators } from '../../ledger/state.js';
import type { Receipt } from '../../ledger/types.js';
import { CHAIN_ID, Chain, fixtureGenesis, key, wallet } from './helpers.js';

const FOUR = ['alpha', 'beta', 'gamma', 'delta'];

function chain(): Chain {
  return new Chain(
    fixtureGenesis({
      members: FOUR,
      accounts: [{ label: 'watcher', member: 'alpha', roles: ['node'], balance: 0n }],
    }),
  );
}

function ok(r: Receipt) {
  assert.equal(r.ok, true, `${r.code}: ${r.message}`);
  return r.result!;
}

const w = (c: Chain, label: string) => wallet(label, getAccount(c.state, key(label).address)!.nonce);

/** Two PREPAREs signed with `keyLabel` for one (height, round) with different digests. */
function doubleVote(keyLabel: string, height: number, round = 0): Uint8Array {
  const s = key(keyLabel);
  const item = (fill: number) =>
    signPayload(
      {
        type: 'PREPARE',
        chainId: CHAIN_ID,
        height,
        round,
        author: s.address,
        digest: new Uint8Array(32).fill(fill),
      } as VotePayload,
      (m) => s.sign(m),
    );
  return encodeEvidence(makeEvidence(item(1), item(2)));
}

const rotate = (c: Chain, from: string, to: string) =>
  w(c, 'gamma-admin').rotateValidator(key(from).address, key(to).publicKey, ['/ip4/127.0.0.1/tcp/1']);

const inSet = (c: Chain, label: string) =>
  getValidators(c.state).some((v) => bytesEqual(v.address, key(label).address));

/** beta, delta and alpha vote yes on `id` (3 of 4): the removal passes. */
function voteThrough(c: Chain, id: number): void {
  c.produce([w(c, 'alpha-admin').vote(id, true), w(c, 'beta-admin').vote(id, true)]);
  const b = c.produce([w(c, 'delta-admin').vote(id, true)]);
  assert.equal(ok(b.receipts[0]!).status, 'executed', getProposal(c.state, id)!.failure?.code);
}

describe('evidence follows the validator across key rotations', () => {
  test('equivocate, rotate, then evidence: the removal names the new key and removes the validator', () => {
    const c = chain();
    c.produce([]);
    // gamma's validator equivocated at height 1 and rotates at once, before any evidence.
    ok(c.produce([rotate(c, 'gamma-val', 'gamma-val-2')]).receipts[0]!);
    assert.ok(inSet(c, 'gamma-val-2') && !inSet(c, 'gamma-val'));

    const b = c.produce([w(c, 'watcher').submitEvidence(doubleVote('gamma-val', 1))]);
    const r = ok(b.receipts[0]!);
    assert.equal(r.validator, toHex(key('gamma-val').address), 'the key that signed');
    assert.equal(r.currentAddress, toHex(key('gamma-val-2').address), 'where that validator is now');
    assert.notEqual(r.proposalId, undefined, 'a removal is opened');
    const id = Number(r.proposalId);
    const p = getProposal(c.state, id)!;
    assert.deepEqual(p.action, { type: 'validator.remove', address: key('gamma-val-2').address });
    assert.equal(getEvidenceRecord(c.state, String(r.evidence))!.proposalId, id);

    // Pinned: it cannot rotate again while the removal is open.
    const dodge = c.produce([rotate(c, 'gamma-val-2', 'gamma-val-3')]);
    assert.equal(dodge.receipts[0]!.code, 'REMOVAL_PENDING');

    voteThrough(c, id);
    assert.ok(!inSet(c, 'gamma-val-2'));
    assert.equal(getValidators(c.state).length, 3);
  });

  test('several rotations, one of them in the same block as the evidence, before it', () => {
    const c = chain();
    c.produce([]);
    ok(c.produce([rotate(c, 'gamma-val', 'gamma-val-2')]).receipts[0]!);
    // Two more in one block: the lineage is followed however many keys it went through.
    const two = c.produce([
      rotate(c, 'gamma-val-2', 'gamma-val-3'),
      wallet('gamma-admin', getAccount(c.state, key('gamma-admin').address)!.nonce + 1).rotateValidator(
        key('gamma-val-3').address,
        key('gamma-val-4').publicKey,
        [],
      ),
    ]);
    ok(two.receipts[1]!);
    const b = c.produce([
      rotate(c, 'gamma-val-4', 'gamma-val-5'),
      w(c, 'watcher').submitEvidence(doubleVote('gamma-val', 1)),
      wallet('watcher', 1).submitEvidence(doubleVote('gamma-val-2', 3)),
    ]);
    ok(b.receipts[0]!);
    const id = Number(ok(b.receipts[1]!).proposalId);
    assert.deepEqual(getProposal(c.state, id)!.action, {
      type: 'validator.remove',
      address: key('gamma-val-5').address,
    });
    assert.equal(ok(b.receipts[2]!).proposalId, id, 'a second equivocation joins the open removal');
    voteThrough(c, id);
    assert.ok(!inSet(c, 'gamma-val-5'));
  });

  test('a validator removed after rotating gets no proposal; others are unaffected', () => {
    const c = chain();
    c.produce([]);
    ok(c.produce([rotate(c, 'gamma-val', 'gamma-val-2')]).receipts[0]!);
    const id = Number(
      ok(
        c.produce([
          w(c, 'beta-admin').propose(
            { type: 'validator.remove', address: key('gamma-val-2').address },
            'out',
          ),
        ]).receipts[0]!,
      ).proposalId,
    );
    c.produce([w(c, 'alpha-admin').vote(id, true), w(c, 'delta-admin').vote(id, true)]);
    assert.ok(!inSet(c, 'gamma-val-2'));
    const b = c.produce([
      w(c, 'watcher').submitEvidence(doubleVote('gamma-val', 1)),
      wallet('watcher', 1).submitEvidence(doubleVote('beta-val', 1)),
    ]);
    assert.equal(ok(b.receipts[0]!).proposalId, undefined);
    const other = Number(ok(b.receipts[1]!).proposalId);
    assert.deepEqual(getProposal(c.state, other)!.action, {
      type: 'validator.remove',
      address: key('beta-val').address,
    });
  });
});
