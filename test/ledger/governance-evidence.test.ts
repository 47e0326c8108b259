/**
 * Evidence to action: equivocation evidence signed by the consensus code is submitted as an
 * `evidence.submit` transaction, verified by the ledger against V(height) (also for heights
 * before a set change, within the kept history), recorded once, and opens a proposal to remove
 * the validator that the members then decide. The ledger's verifier is held to
 * consensus/evidence.ts on the same inputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeEvidence, encodeEvidence, makeEvidence, verifyEvidence } from '../../consensus/evidence.js';
import {
  type Payload,
  type RoundChangePayload,
  type SignedItem,
  signPayload,
  type VotePayload,
} from '../../consensus/payload.js';
import { ValidatorSet } from '../../consensus/validators.js';
import type { Signer } from '../../crypto/ed25519.js';
import { encode } from '../../crypto/encoding.js';
import { bytesEqual, toHex } from '../../crypto/hash.js';
import { LEDGER_LIMITS } from '../../ledger/checks.js';
import { LedgerError } from '../../ledger/errors.js';
import { checkEvidenceSignatures, evidenceKey, parseEvidence } from '../../ledger/evidence.js';
import { getEvidenceRecord, getProposal, getValidators, validatorEpochs } from '../../ledger/state.js';
import type { Receipt } from '../../ledger/types.js';
import { CHAIN_ID, Chain, fixtureGenesis, key, wallet } from './helpers.js';

const FOUR = ['alpha', 'beta', 'gamma', 'delta'];
const d1 = new Uint8Array(32).fill(1);
const d2 = new Uint8Array(32).fill(2);

/** A 4-member chain where `watcher` is a node identity of alpha (it may submit evidence). */
function chain(): Chain {
  return new Chain(
    fixtureGenesis({
      members: FOUR,
      accounts: [
        { label: 'watcher', member: 'alpha', roles: ['node'], balance: 0n },
        { label: 'payer', member: 'beta', roles: ['transfer'], balance: 10n },
      ],
    }),
  );
}

type Unsigned = Omit<VotePayload, 'author'> | Omit<RoundChangePayload, 'author'>;

function signed(s: Signer, p: Unsigned): SignedItem {
  return signPayload({ ...p, author: s.address } as Payload, (m) => s.sign(m));
}

/** Two PREPAREs of `label`'s validator key for one (height, round) with different digests. */
function doubleVote(
  label: string,
  height: number,
  round = 0,
  kind: 'PREPARE' | 'COMMIT' | 'PROPOSAL' = 'PREPARE',
) {
  const s = key(`${label}-val`);
  const m1 = signed(s, { type: kind, chainId: CHAIN_ID, height, round, digest: d1 });
  const m2 = signed(s, { type: kind, chainId: CHAIN_ID, height, round, digest: d2 });
  return encodeEvidence(makeEvidence(m1, m2));
}

function ok(r: Receipt) {
  assert.equal(r.ok, true, `${r.code}: ${r.message}`);
  return r.result!;
}

describe('the ledger verifier agrees with consensus/evidence.ts', () => {
  const set = fixtureGenesis({ members: FOUR }).validators.map((v) => v.publicKey);
  const vs = ValidatorSet.fromPublicKeys(set);
  const ledgerSet = new Chain(fixtureGenesis({ members: FOUR })).genesis.state;
  const a = key('alpha-val');
  const outsider = key('nobody-val');
  const item = (s: Signer, p: Unsigned) => signed(s, p);
  const rc = (s: Signer, round: number, prepared?: { round: number; digest: Uint8Array }) =>
    item(s, {
      type: 'ROUND-CHANGE',
      chainId: CHAIN_ID,
      height: 3,
      round,
      ...(prepared ? { prepared } : {}),
    } as Unsigned);
  const v = (
    s: Signer,
    type: 'PROPOSAL' | 'PREPARE' | 'COMMIT',
    digest: Uint8Array,
    o: Partial<Payload> = {},
  ) => item(s, { type, chainId: CHAIN_ID, height: 3, round: 1, digest, ...o } as Unsigned);
  /** Raw evidence bytes of two items in the given order (no reordering, unlike makeEvidence). */
  const raw = (x: SignedItem, y: SignedItem) =>
    encode({ m1: [x.signed, x.signature], m2: [y.signed, y.signature] });
  const sorted = (x: SignedItem, y: SignedItem) =>
    Buffer.compare(x.signed, y.signed) < 0 ? raw(x, y) : raw(y, x);
  const forged = (x: SignedItem): SignedItem => ({ ...x, signature: outsider.sign(x.signed) });

  const cases: [string, Uint8Array][] = [
    ['E1 PROPOSAL', sorted(v(a, 'PROPOSAL', d1), v(a, 'PROPOSAL', d2))],
    ['E1 PREPARE', sorted(v(a, 'PREPARE', d1), v(a, 'PREPARE', d2))],
    ['E1 COMMIT', sorted(v(a, 'COMMIT', d1), v(a, 'COMMIT', d2))],
    ['E2 none vs prepared', sorted(rc(a, 2), rc(a, 2, { round: 1, digest: d1 }))],
    ['E2 different digest', sorted(rc(a, 2, { round: 1, digest: d1 }), rc(a, 2, { round: 1, digest: d2 }))],
    ['E2 different round', sorted(rc(a, 3, { round: 1, digest: d1 }), rc(a, 3, { round: 2, digest: d1 }))],
    ['same digest', sorted(v(a, 'PREPARE', d1), v(a, 'PREPARE', d1, { round: 1 }))],
    ['identical', raw(v(a, 'PREPARE', d1), v(a, 'PREPARE', d1))],
    ['same RC claim', sorted(rc(a, 2, { round: 1, digest: d1 }), rc(a, 2, { round: 1, digest: d1 }))],
    ['different rounds', sorted(v(a, 'PREPARE', d1), v(a, 'PREPARE', d2, { round: 2 }))],
    ['different types', sorted(v(a, 'PREPARE', d1), v(a, 'COMMIT', d2))],
    ['different heights', sorted(v(a, 'PREPARE', d1), v(a, 'PREPARE', d2, { height: 4 }))],
    [
      'other chain',
      sorted(v(a, 'PREPARE', d1, { chainId: 'other' }), v(a, 'PREPARE', d2, { chainId: 'other' })),
    ],
    [
      'unordered',
      Buffer.compare(v(a, 'PREPARE', d1).signed, v(a, 'PREPARE', d2).signed) < 0
        ? raw(v(a, 'PREPARE', d2), v(a, 'PREPARE', d1))
        : raw(v(a, 'PREPARE', d1), v(a, 'PREPARE', d2)),
    ],
    ['not a validator', sorted(v(outsider, 'PREPARE', d1), v(outsider, 'PREPARE', d2))],
    ['forged signature', sorted(forged(v(a, 'PREPARE', d1)), v(a, 'PREPARE', d2))],
    ['garbage', new Uint8Array([1, 2, 3])],
    ['extra field', encode({ m1: [v(a, 'PREPARE', d1).signed, new Uint8Array(64)], m2: [], x: 1 })],
  ];

  for (const [name, bytes] of cases) {
    test(`${name}: both accept or both refuse`, () => {
      let consensus = 'ok';
      try {
        const e = decodeEvidence(bytes);
        verifyEvidence(CHAIN_ID, e, vs);
      } catch (err) {
        consensus = (err as { code?: string }).code ?? 'error';
      }
      let ledger = 'ok';
      try {
        const e = parseEvidence(bytes);
        if (e.chainId !== CHAIN_ID) ledger = 'wrong-chain';
        else checkEvidenceSignatures(e, getValidators(ledgerSet));
      } catch (err) {
        assert.ok(err instanceof LedgerError, String(err));
        assert.equal(err.code, 'INVALID_EVIDENCE');
        ledger = String(err.details.reason);
      }
      assert.equal(ledger === 'ok', consensus === 'ok', `ledger: ${ledger}, consensus: ${consensus}`);
      assert.equal(
        ledger === 'ok',
        name.startsWith('E'),
        `genuine evidence is exactly the E1/E2 cases (${ledger})`,
      );
      if (ledger === 'ok') {
        // Both name the equivocation the same way.
        const e = parseEvidence(bytes);
        const c = decodeEvidence(bytes);
        assert.equal(evidenceKey(e), `${c.kind}/${c.height}/${c.round}/${toHex(c.validator).slice(2)}`);
      }
    });
  }
});

describe('evidence.submit', () => {
  test('opens a proposal with no votes; the members remove the validator from the next height', () => {
    const c = chain();
    c.produce([wallet('payer').transfer(key('alpha-admin').address, 1n)]);
    const accused = key('gamma-val').address;
    const b = c.produce([wallet('watcher').submitEvidence(doubleVote('gamma', 1))]);
    const r = ok(b.receipts[0]!);
    assert.equal(r.validator, toHex(accused));
    const id = Number(r.proposalId);
    const p = getProposal(c.state, id)!;
    assert.equal(p.status, 'open');
    assert.deepEqual(p.votes, [], 'evidence casts no vote: the members decide');
    assert.deepEqual(p.action, { type: 'validator.remove', address: accused });
    assert.equal(p.evidence, r.evidence);
    assert.equal(p.memberId, 'alpha');
    const record = getEvidenceRecord(c.state, String(r.evidence))!;
    assert.deepEqual(
      [record.kind, record.height, record.round, record.memberId, record.proposalId, record.submittedHeight],
      ['PREPARE', 1, 0, 'gamma', id, 2],
    );

    // The same equivocation again is refused; another one joins the open proposal.
    const again = c.produce([
      wallet('watcher', 1).submitEvidence(doubleVote('gamma', 1)),
      wallet('watcher', 2).submitEvidence(doubleVote('gamma', 2, 0, 'COMMIT')),
    ]);
    assert.equal(again.receipts[0]!.code, 'EVIDENCE_EXISTS');
    assert.equal(ok(again.receipts[1]!).proposalId, id);

    // While its removal is open, gamma cannot rotate its validator out of reach.
    const dodge = c.produce([
      wallet('gamma-admin').rotateValidator(accused, key('gamma-val-2').publicKey, ['/ip4/127.0.0.1/tcp/1']),
    ]);
    assert.equal(dodge.receipts[0]!.code, 'REMOVAL_PENDING');

    c.produce([wallet('alpha-admin').vote(id, true), wallet('beta-admin').vote(id, true)]);
    assert.equal(getProposal(c.state, id)!.status, 'open');
    const passed = c.produce([wallet('delta-admin').vote(id, true)]);
    assert.equal(ok(passed.receipts[0]!).status, 'executed');
    assert.equal(getValidators(c.state).length, 3);
    assert.ok(!getValidators(c.state).some((v) => bytesEqual(v.address, accused)));
    assert.notDeepEqual(passed.block.header.nextValidatorsHash, passed.block.header.validatorsHash);
  });

  test('judged with V(height): evidence from before a set change still verifies; the left validator gets no proposal', () => {
    const c = chain();
    c.produce([]);
    // delta's validator leaves at height 3 (removal executed in block 2).
    c.produce([
      wallet('alpha-admin').propose({ type: 'validator.remove', address: key('delta-val').address }, 'go'),
    ]);
    c.produce([wallet('beta-admin').vote(1, true), wallet('gamma-admin').vote(1, true)]);
    assert.equal(getProposal(c.state, 1)!.status, 'executed');
    assert.equal(validatorEpochs(c.state).length, 1);
    // Evidence about height 2, when delta was still a validator: recorded, but nothing to remove.
    const b = c.produce([wallet('watcher').submitEvidence(doubleVote('delta', 2))]);
    const r = ok(b.receipts[0]!);
    assert.equal(r.proposalId, undefined);
    assert.equal(getEvidenceRecord(c.state, String(r.evidence))!.memberId, 'delta');
    // About height 4, when it was not: the accused is not in V(4).
    const late = c.produce([wallet('watcher', 1).submitEvidence(doubleVote('delta', 4))]);
    assert.equal(late.receipts[0]!.code, 'INVALID_EVIDENCE');
    assert.match(late.receipts[0]!.message!, /not-validator/);
  });

  test('refusals: who may submit, future heights, other chains, sets no longer kept', () => {
    const c = chain();
    c.produce([]);
    const s = key('beta-val');
    const otherChain = encodeEvidence(
      makeEvidence(
        signed(s, { type: 'PREPARE', chainId: 'other', height: 1, round: 0, digest: d1 }),
        signed(s, { type: 'PREPARE', chainId: 'other', height: 1, round: 0, digest: d2 }),
      ),
    );
    const b = c.produce([
      wallet('payer').submitEvidence(doubleVote('alpha', 1)),
      wallet('watcher').submitEvidence(doubleVote('alpha', 9)),
      wallet('watcher', 1).submitEvidence(new Uint8Array(LEDGER_LIMITS.evidenceBytesMax + 1)),
      wallet('beta-admin').submitEvidence(doubleVote('alpha', 1)),
      wallet('watcher', 2).submitEvidence(otherChain),
    ]);
    assert.equal(b.receipts[0]!.code, 'NOT_PERMITTED', 'a transfer-only account may not');
    assert.equal(b.receipts[1]!.code, 'INVALID_EVIDENCE');
    assert.match(b.receipts[1]!.message!, /future-height/);
    assert.equal(b.receipts[2]!.code, 'FIELD_TOO_LARGE');
    assert.equal(ok(b.receipts[3]!).validator, toHex(key('alpha-val').address), 'an admin may');
    assert.equal(b.receipts[4]!.code, 'INVALID_EVIDENCE');
    assert.match(b.receipts[4]!.message!, /wrong-chain/);

    // More set changes than the history keeps: evidence about height 1 is then too old.
    const d = new Chain(
      fixtureGenesis({
        members: FOUR,
        accounts: [{ label: 'watcher', member: 'alpha', roles: ['node'], balance: 0n }],
      }),
    );
    const alpha = wallet('alpha-admin');
    let current = key('alpha-val').address;
    for (let i = 0; i <= LEDGER_LIMITS.validatorEpochsMax; i++) {
      const next = key(`alpha-val-r${i}`);
      ok(d.produce([alpha.rotateValidator(current, next.publicKey, [])]).receipts[0]!);
      current = next.address;
    }
    assert.equal(validatorEpochs(d.state).length, LEDGER_LIMITS.validatorEpochsMax);
    const old = d.produce([wallet('watcher').submitEvidence(doubleVote('beta', 1))]);
    assert.equal(old.receipts[0]!.code, 'EVIDENCE_TOO_OLD');
    // Within the kept history it verifies (beta's key never changed).
    const kept = d.produce([wallet('watcher', 1).submitEvidence(doubleVote('beta', d.height - 2))]);
    ok(kept.receipts[0]!);
  });
});
