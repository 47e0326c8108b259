import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CommitCertificate,
  decodeCommitCertificate,
  encodeCommitCertificate,
  isValidCommitCertificate,
  verifyCommitCertificate,
} from '../../consensus/certificate.js';
import { CertificateError } from '../../consensus/errors.js';
import { CHAIN, certificate, makeBlock, makeSigners, port, setOf, vote } from './harness.js';

const all = makeSigners(6, 'cert');
const v4 = setOf(all.slice(0, 4)); // V(h): n=4, q=3
const h = 7;
const block = makeBlock({ height: h, view: 0, proposer: all[0]!.address });
const d = port.hash(block);

function codeOf(cert: CommitCertificate, vs = v4, chainId = CHAIN, height = h, digest = d): string {
  try {
    verifyCommitCertificate(chainId, height, digest, cert, vs);
  } catch (e) {
    assert.ok(e instanceof CertificateError, 'expected e instanceof CertificateError');
    return e.code;
  }
  return 'ok';
}

describe('commit certificates (docs/protocol.md §2.2, V-DECIDED, §9 #15)', () => {
  it('a quorum of COMMIT signatures sorted by author verifies, for any round; encoding round-trips', () => {
    for (const round of [0, 3]) {
      const cert = certificate(all.slice(0, 3), h, round, d);
      assert.equal(codeOf(cert), 'ok');
      assert.deepEqual(decodeCommitCertificate(encodeCommitCertificate(cert)), cert);
    }
    assert.equal(codeOf(certificate(all.slice(0, 4), h, 1, d)), 'ok');
  });

  it('rejects a signer outside V(h), e.g. one removed at h or added only at h+1', () => {
    const withOutsider = certificate([all[0]!, all[1]!, all[4]!], h, 0, d);
    assert.equal(codeOf(withOutsider), 'not-validator');
    // The same certificate is fine for a set that has the outsider (the set of another height).
    assert.equal(codeOf(withOutsider, setOf([all[0]!, all[1]!, all[4]!, all[5]!])), 'ok');
  });

  it('rejects fewer than q distinct signers', () => {
    assert.equal(codeOf(certificate(all.slice(0, 2), h, 0, d)), 'too-few-signers');
    assert.equal(codeOf({ round: 0, sigs: [] }), 'too-few-signers');
  });

  it('rejects the same signer twice and unsorted signers', () => {
    const cert = certificate(all.slice(0, 3), h, 0, d);
    assert.equal(
      codeOf({ round: 0, sigs: [cert.sigs[0]!, cert.sigs[0]!, cert.sigs[1]!, cert.sigs[2]!] }),
      'unsorted-signers',
    );
    assert.equal(
      codeOf({ round: 0, sigs: [cert.sigs[1]!, cert.sigs[0]!, cert.sigs[2]!] }),
      'unsorted-signers',
    );
  });

  it('rejects mixed rounds, another digest, height or chain, and signatures of another type (domain)', () => {
    const r0 = certificate(all.slice(0, 3), h, 0, d);
    const r1 = certificate(all.slice(0, 3), h, 1, d);
    assert.equal(codeOf({ round: 0, sigs: [r0.sigs[0]!, r1.sigs[1]!, r0.sigs[2]!] }), 'bad-signature');
    assert.equal(codeOf(r0, v4, CHAIN, h, new Uint8Array(32)), 'bad-signature');
    assert.equal(codeOf(r0, v4, CHAIN, h + 1), 'bad-signature');
    assert.equal(codeOf(r0, v4, 'another-chain'), 'bad-signature');
    // PREPARE signatures over the same (h, r, d) must not pass as commit seals.
    const prepares = all
      .slice(0, 3)
      .map((s) => ({ author: s.address, signature: vote(s, 'PREPARE', h, 0, d).signature }));
    assert.equal(codeOf({ round: 0, sigs: prepares }), 'bad-signature');
  });

  it('rejects malformed certificates', () => {
    const cert = certificate(all.slice(0, 3), h, 0, d);
    assert.equal(codeOf({ round: -1, sigs: cert.sigs }), 'malformed');
    assert.equal(
      codeOf({ round: 0, sigs: [{ author: new Uint8Array(19), signature: cert.sigs[0]!.signature }] }),
      'malformed',
    );
    assert.throws(() => decodeCommitCertificate(new Uint8Array([7, 0])), CertificateError);
    assert.equal(isValidCommitCertificate(CHAIN, h, d, { round: 0, sigs: [] }, v4), false);
    assert.equal(isValidCommitCertificate(CHAIN, h, d, cert, v4), true);
  });
});
