/**
 * The ChaCha20-Poly1305 that Noise seals and opens every transport message with, through
 * libsodium for short messages.
 *
 * Why: the Noise package's default seals a message under 1,200 bytes with an AssemblyScript
 * (WebAssembly) cipher and a longer one with a new `node:crypto` cipher object per message.
 * Under load every consensus message, forwarded batch and block between validators goes
 * through it; in a profile of a validator at 1,500 tx/s sealing and opening were 2.2% of the
 * main thread's samples. libsodium's one-call AEAD (`sodium-native`, already loaded for
 * signature checks) measured here, per message: 60 B 2.6 → 0.9 µs, 300 B 4.6 → 1.2 µs,
 * 1,100 B 14.8 → 2.3 µs, 4,000 B 14.5 → 6.4 µs; from about 10 KB on OpenSSL's vectorised
 * code is as fast or faster, so longer messages keep the default. Same algorithm
 * (RFC 8439, IETF nonce), same bytes on the wire: a peer running the default interoperates.
 *
 * Without `sodium-native` (or with SYNOD_NO_SODIUM=1) this is the package default unchanged.
 */
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { sodiumWith } from '../../crypto/sodium.js';

/** Messages shorter than this go through libsodium; longer ones through the default. */
export const SODIUM_AEAD_MAX_BYTES = 8192;
const TAG_BYTES = 16;

interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
}

/** Noise's crypto with libsodium's AEAD for short messages, given the AEAD functions. */
export function noiseCryptoWith(sodium: SodiumAead): ICryptoInterface {
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
      if (plaintext.byteLength >= SODIUM_AEAD_MAX_BYTES) {
        return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k);
      }
      // A list of chunks is joined (a copy) only when it has more than one.
      const m = plaintext instanceof Uint8Array ? plaintext : plaintext.subarray();
      const c = Buffer.allocUnsafe(m.byteLength + TAG_BYTES);
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, null, nonce, k);
      return c;
    },
    chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
      if (ciphertext.byteLength >= SODIUM_AEAD_MAX_BYTES) {
        return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst);
      }
      if (ciphertext.byteLength < TAG_BYTES) throw new Error('Invalid chacha20poly1305 decryption');
      const c = ciphertext instanceof Uint8Array ? ciphertext : ciphertext.subarray();
      const length = c.byteLength - TAG_BYTES;
      // The stream hands `dst` over the ciphertext's own bytes (it reuses the received buffer);
      // libsodium checks the tag over the ciphertext before it writes any plaintext, and allows
      // the plaintext to start where the ciphertext starts.
      const m = dst !== undefined && dst.byteLength === length ? dst : Buffer.allocUnsafe(length);
      // Throws when the tag does not match: the stream then fails and the connection closes.
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c, ad, nonce, k);
      return m;
    },
  };
}

const sodium = sodiumWith<SodiumAead>(
  'crypto_aead_chacha20poly1305_ietf_encrypt',
  'crypto_aead_chacha20poly1305_ietf_decrypt',
);

/** What `noise({ crypto })` gets: libsodium's AEAD for short messages when it loads. */
export const noiseCrypto: ICryptoInterface = sodium ? noiseCryptoWith(sodium) : defaultCrypto;
/** Which AEAD short Noise messages use (for the start-up log). */
export const noiseAeadName: 'libsodium' | 'default' = sodium ? 'libsodium' : 'default';
