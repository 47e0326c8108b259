import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EvidenceError } from '../../consensus/errors.js';
import {
  decodeEvidence,
  encodeEvidence,
  evidenceKey,
  makeEvidence,
  payloadsConflict,
  verifyEvidence,
} from '../../consensus/evidence.js';
import { encodePayload, type VotePayload } from '../../consensus/payload.js';
import { CHAIN, makeSigners, rcItem, setOf, vote } from './harness.js';

const signers = makeSigners(5, 'ev');
const [a, b] = signers as [(typeof signers)[0], (typeof signers)[0]];
const vs = setOf(signers.slice(0, 4));
const d1 = new Uint8Array(32).fill(1);
const d2 = new Uint8Array(32).fill(2);

function evCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    return e.code;
  }
  return 'ok';
}

describe('equivocation evidence (docs/protocol.md §6)', () => {
  for (const type of ['PROPOSAL', 'PREPARE', 'COMMIT'] as const) {
    it(`E1: two ${type}s of one validator for one (h, r) with different digests`, () => {
      const m1 = vote(a, type, 5, 2, d1);
      const m2 = vote(a, type, 5, 2, d2);
      const ev = makeEvidence(m1, m2);
      assert.deepEqual([ev.kind, ev.height, ev.round], [type, 5, 2]);
      assert.deepEqual(ev.validator, a.address);
      verifyEvidence(CHAIN, ev, vs);
      // The same pair in either order gives the same record, so duplicates collapse.
      assert.deepEqual(encodeEvidence(makeEvidence(m2, m1)), encodeEvidence(ev));
      assert.equal(evidenceKey(makeEvidence(m2, m1)), evidenceKey(ev));
      const back = decodeEvidence(encodeEvidence(ev));
      verifyEvidence(CHAIN, back, vs);
      assert.deepEqual(encodeEvidence(back), encodeEvidence(ev));
    });
  }

  it('E2: two ROUND-CHANGEs for one (h, r) reporting different prepared values (or one none)', () => {
    const pairs = [
      [rcItem(a, 5, 3), rcItem(a, 5, 3, { round: 1, digest: d1 })],
      [rcItem(a, 5, 3, { round: 1, digest: d1 }), rcItem(a, 5, 3, { round: 1, digest: d2 })],
      [rcItem(a, 5, 3, { round: 1, digest: d1 }), rcItem(a, 5, 3, { round: 2, digest: d1 })],
    ] as const;
    for (const [x, y] of pairs) {
      const ev = makeEvidence(x, y);
      assert.equal(ev.kind, 'ROUND-CHANGE');
      verifyEvidence(CHAIN, ev, vs);
    }
  });

  it('not evidence: identical replays, other rounds, heights, types or validators', () => {
    const m = vote(a, 'PREPARE', 5, 2, d1);
    const not = [
      [m, vote(a, 'PREPARE', 5, 2, d1)],
      [m, vote(a, 'PREPARE', 5, 3, d2)],
      [m, vote(a, 'PREPARE', 6, 2, d2)],
      [m, vote(a, 'COMMIT', 5, 2, d2)],
      [m, vote(b, 'PREPARE', 5, 2, d2)],
      [rcItem(a, 5, 3, { round: 1, digest: d1 }), rcItem(a, 5, 3, { round: 1, digest: d1 })],
    ] as const;
    for (const [x, y] of not) {
      assert.equal(payloadsConflict(x.payload, y.payload), false);
      assert.equal(
        evCode(() => makeEvidence(x, y)),
        'not-conflicting',
      );
    }
  });

  it('verification refuses forged signatures, non-members, other chains and unordered pairs', () => {
    const ev = makeEvidence(vote(a, 'COMMIT', 5, 2, d1), vote(a, 'COMMIT', 5, 2, d2));
    const forged = { ...ev, m2: { ...ev.m2, signature: vote(b, 'COMMIT', 5, 2, d2).signature } };
    assert.equal(
      evCode(() => verifyEvidence(CHAIN, forged, vs)),
      'bad-signature',
    );
    const outsider = makeEvidence(
      vote(signers[4]!, 'COMMIT', 5, 2, d1),
      vote(signers[4]!, 'COMMIT', 5, 2, d2),
    );
    assert.equal(
      evCode(() => verifyEvidence(CHAIN, outsider, vs)),
      'not-validator',
    );
    assert.equal(
      evCode(() => verifyEvidence('other', ev, vs)),
      'different-keys',
    );
    assert.equal(
      evCode(() => verifyEvidence(CHAIN, { ...ev, m1: ev.m2, m2: ev.m1 }, vs)),
      'unordered',
    );
    assert.equal(
      evCode(() => verifyEvidence(CHAIN, { ...ev, round: 9 }, vs)),
      'malformed',
    );
    // Signed bytes that disagree with the decoded payload they travel with.
    const retyped = {
      ...ev.m2,
      signed: encodePayload({ ...(ev.m2.payload as VotePayload), type: 'PREPARE' }),
    };
    assert.equal(
      evCode(() => verifyEvidence(CHAIN, { ...ev, m2: retyped }, vs)),
      'malformed',
    );
    assert.equal(
      evCode(() => decodeEvidence(new Uint8Array([1, 2, 3]))),
      'malformed',
    );
  });
});
