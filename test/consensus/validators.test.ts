import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidatorSetError } from '../../consensus/errors.js';
import { ValidatorSet } from '../../consensus/validators.js';
import { addressOf } from '../../crypto/ed25519.js';
import { makeSigners } from './harness.js';

describe('validator sets and proposer selection (docs/protocol.md §1.2, §7)', () => {
  const signers = makeSigners(7, 'vs');

  it('orders members by address bytes and computes n, f, q', () => {
    const shuffled = [...signers].reverse();
    const vs = ValidatorSet.fromPublicKeys(shuffled.map((s) => s.publicKey));
    const sorted = [...vs.addresses].map((a) => Buffer.from(a).toString('hex'));
    assert.deepEqual(sorted, [...sorted].sort());
    assert.deepEqual([vs.size, vs.f, vs.quorum], [7, 2, 5]);
    for (const s of signers) {
      assert.ok(vs.has(s.address), 'expected vs.has(s.address)');
      assert.deepEqual(vs.publicKeyOf(s.address), s.publicKey);
      assert.deepEqual(addressOf(vs.publicKeyOf(s.address)!), s.address);
    }
    assert.equal(vs.indexOf(new Uint8Array(20)), -1);
    assert.equal(vs.indexOf(new Uint8Array(5)), -1);
  });

  it('proposer(h, r) = sorted[(h + r) mod n] over many heights and rounds (§9 #3)', () => {
    const vs = ValidatorSet.fromPublicKeys(signers.map((s) => s.publicKey));
    for (let h = 1; h <= 60; h++) {
      for (let r = 0; r <= 30; r++) {
        assert.deepEqual(vs.proposer(h, r), vs.addresses[(h + r) % vs.size]);
      }
    }
    // Any n consecutive rounds of a height name every validator once, so f+1 of them name an honest one.
    const seen = new Set(
      Array.from({ length: vs.size }, (_, r) => Buffer.from(vs.proposer(9, r)).toString('hex')),
    );
    assert.equal(seen.size, vs.size);
    // Large heights and rounds stay exact.
    assert.deepEqual(vs.proposer(2 ** 52, 2 ** 40), vs.addresses[(2 ** 52 + 2 ** 40) % 7]);
  });

  it('after a set change the proposer is computed from the set of that height (§9 #3, #16)', () => {
    const v1 = ValidatorSet.fromPublicKeys(signers.slice(0, 4).map((s) => s.publicKey));
    const v2 = ValidatorSet.fromPublicKeys(signers.slice(1, 6).map((s) => s.publicKey));
    assert.deepEqual([v1.size, v1.f, v1.quorum], [4, 1, 3]);
    assert.deepEqual([v2.size, v2.f, v2.quorum], [5, 1, 4]);
    for (let r = 0; r < 10; r++) {
      assert.deepEqual(v2.proposer(8, r), v2.addresses[(8 + r) % 5]);
      assert.deepEqual(v1.proposer(7, r), v1.addresses[(7 + r) % 4]);
    }
    assert.ok(!v2.equals(v1), 'expected !v2.equals(v1)');
  });

  it('refuses an empty set, duplicate members and malformed keys', () => {
    assert.throws(() => ValidatorSet.fromPublicKeys([]), ValidatorSetError);
    assert.throws(
      () => ValidatorSet.fromPublicKeys([signers[0]!.publicKey, signers[0]!.publicKey]),
      ValidatorSetError,
    );
    assert.throws(() => ValidatorSet.fromPublicKeys([new Uint8Array(31)]), ValidatorSetError);
    assert.throws(
      () =>
        ValidatorSet.fromPublicKeys(
          signers.map((s) => s.publicKey),
          3,
        ),
      ValidatorSetError,
    );
  });
});
