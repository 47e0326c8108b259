/**
 * A decoded transaction's signing bytes are cut from the bytes it was decoded from (a prefix
 * and a span) rather than encoded again: they must equal the encoding of {domain, tx} exactly,
 * or every forwarded transaction would fail (or, worse, pass) verification wrongly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateKeyPair, Signer, verify } from '../../crypto/ed25519.js';
import { encode } from '../../crypto/encoding.js';
import { sha256 } from '../../crypto/hash.js';
import {
  decodeSignedTx,
  encodeSignedTx,
  signedTxSigningBytes,
  TX_SIGNING_DOMAIN,
  txHash,
  txSigningBytes,
  txToValue,
} from '../../ledger/codec.js';
import { dataPutTx, signTx, transferTx, voteTx } from '../../ledger/tx-builder.js';

const signer = new Signer(generateKeyPair().secretKey);

describe('signing bytes of a decoded transaction', () => {
  it('equal the encoding of {domain, tx} for varied transactions', () => {
    const head = fc.record({
      chainId: fc.string({ minLength: 1, maxLength: 40 }),
      nonce: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    });
    const tx = fc.oneof(
      fc
        .tuple(
          head,
          fc.uint8Array({ minLength: 20, maxLength: 20 }),
          fc.bigInt({ min: 0n, max: 1n << 200n }),
          fc.string(),
        )
        .map(([h, to, amount, memo]) => transferTx({ ...h, from: signer.address }, to, amount, memo)),
      fc
        .tuple(head, fc.string({ minLength: 1, maxLength: 60 }), fc.uint8Array({ maxLength: 300 }))
        .map(([h, key, value]) => dataPutTx({ ...h, from: signer.address }, key, value)),
      fc
        .tuple(head, fc.nat(), fc.boolean())
        .map(([h, id, approve]) => voteTx({ ...h, from: signer.address }, id, approve)),
    );
    fc.assert(
      fc.property(tx, (t) => {
        const bytes = encodeSignedTx(signTx(t, signer));
        const decoded = decodeSignedTx(bytes);
        const expected = encode({ domain: TX_SIGNING_DOMAIN, tx: txToValue(decoded.tx) });
        assert.deepEqual(signedTxSigningBytes(decoded), expected, 'cut from the decoded bytes');
        assert.deepEqual(txSigningBytes(decoded.tx), expected, 'encoded again');
        assert.equal(verify(decoded.signature, signedTxSigningBytes(decoded), decoded.publicKey), true);
      }),
      { numRuns: 300 },
    );
  });

  it('the hash a caller passes to decodeSignedTx is the one txHash returns: SHA-256 of the bytes', () => {
    const bytes = encodeSignedTx(
      signTx(transferTx({ chainId: 'c', nonce: 3, from: signer.address }, new Uint8Array(20), 5n), signer),
    );
    const hash = sha256(bytes);
    const decoded = decodeSignedTx(bytes, hash);
    assert.equal(txHash(decoded), hash, 'remembered, not recomputed');
    assert.deepEqual(txHash(decodeSignedTx(bytes)), hash, 'and equal to what hashing gives');
  });
});
