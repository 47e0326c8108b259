import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { defaultCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto';
import fc from 'fast-check';
import { Uint8ArrayList } from 'uint8arraylist';
import { noiseAeadName, noiseCrypto, SODIUM_AEAD_MAX_BYTES } from '../../node/p2p/noise-crypto.js';

const bytes = (b: Uint8Array | Uint8ArrayList): Uint8Array =>
  Uint8Array.from(b instanceof Uint8Array ? b : b.subarray());
const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
const nonce = new Uint8Array(12).map((_, i) => 200 - i);

describe('noise AEAD through libsodium', () => {
  test('libsodium is the AEAD here (sodium-native is a dependency)', () => {
    if (process.env.SYNOD_NO_SODIUM === '1') return;
    createRequire(import.meta.url)('sodium-native');
    assert.equal(noiseAeadName, 'libsodium');
  });

  test('seals exactly as the package default and the pure-JS implementation, and opens their output', () => {
    fc.assert(
      fc.property(
        // Both sides of the threshold, and the empty message.
        fc.oneof(
          fc.integer({ min: 0, max: 2_000 }),
          fc.integer({ min: SODIUM_AEAD_MAX_BYTES - 64, max: 12_000 }),
        ),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.integer({ min: 0, max: 255 }),
        (length, ad, fill) => {
          const m = new Uint8Array(length).map((_, i) => (i * 31 + fill) & 0xff);
          const ours = bytes(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, key));
          assert.deepEqual(ours, bytes(defaultCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, key)));
          assert.deepEqual(ours, bytes(pureJsCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, key)));
          assert.deepEqual(bytes(noiseCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, key)), m);
          assert.deepEqual(bytes(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, key)), m);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a message in several chunks seals as the same bytes in one piece', () => {
    const parts = [new Uint8Array(100).fill(1), new Uint8Array(37).fill(2), new Uint8Array(500).fill(3)];
    const list = new Uint8ArrayList(...parts);
    const whole = list.subarray();
    const ad = new Uint8Array([9, 9]);
    assert.deepEqual(
      bytes(noiseCrypto.chaCha20Poly1305Encrypt(list, nonce, ad, key)),
      bytes(defaultCrypto.chaCha20Poly1305Encrypt(whole, nonce, ad, key)),
    );
    const sealed = bytes(noiseCrypto.chaCha20Poly1305Encrypt(whole, nonce, ad, key));
    const sealedList = new Uint8ArrayList(sealed.subarray(0, 10), sealed.subarray(10));
    assert.deepEqual(bytes(noiseCrypto.chaCha20Poly1305Decrypt(sealedList, nonce, ad, key)), whole);
  });

  test('opens in place over the received buffer, as the Noise stream asks', () => {
    const m = new Uint8Array(700).map((_, i) => i & 0xff);
    const received = Buffer.from(
      bytes(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, new Uint8Array(0), key)),
    );
    const dst = received.subarray(0, received.byteLength - 16);
    const out = noiseCrypto.chaCha20Poly1305Decrypt(received, nonce, new Uint8Array(0), key, dst);
    assert.equal(out, dst);
    assert.deepEqual(bytes(out), m);
  });

  test('refuses a tampered message, a wrong key, nonce or associated data, and a short one', () => {
    const ad = new Uint8Array([1, 2, 3]);
    for (const length of [0, 50, 3_000, SODIUM_AEAD_MAX_BYTES + 10]) {
      const m = new Uint8Array(length).fill(5);
      const sealed = bytes(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, key));
      const flipped = sealed.slice();
      flipped[Math.floor(flipped.length / 2)]! ^= 1;
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(flipped, nonce, ad, key));
      const otherKey = key.slice();
      otherKey[0]! ^= 1;
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, otherKey));
      const otherNonce = nonce.slice();
      otherNonce[11]! ^= 1;
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, otherNonce, ad, key));
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, new Uint8Array([1, 2]), key));
    }
    assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(new Uint8Array(15), nonce, ad, key));
  });
});
