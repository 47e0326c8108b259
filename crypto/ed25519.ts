/**
 * Ed25519 keys, signatures and addresses.
 *
 * - Signing and key handling: node:crypto (OpenSSL).
 * - Verification on the hot path: libsodium through `sodium-native` when it loads (about twice
 *   OpenSSL's rate here), else node:crypto. `@noble/curves` is the independent pure
 *   implementation that tests cross-check both against (RFC 8032 vectors included).
 *
 * An address is the first 20 bytes of SHA-256 of the 32-byte public key.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from './hash.js';
import { sodiumWith } from './sodium.js';

export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_KEY_LENGTH = 32; // the RFC 8032 seed
export const SIGNATURE_LENGTH = 64;
export const ADDRESS_LENGTH = 20;

export type Address = Uint8Array;

export interface KeyPair {
  /** 32-byte RFC 8032 private key (seed). */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

interface Sodium {
  crypto_sign_verify_detached(sig: Buffer, msg: Buffer, pk: Buffer): boolean;
}
const sodium = sodiumWith<Sodium>('crypto_sign_verify_detached');
/** Which verifier `verify` uses: reported by node status and benchmarks. */
export const verifierName: 'libsodium' | 'node:crypto' = sodium ? 'libsodium' : 'node:crypto';

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

// Where a signature and a public key are copied for libsodium. Handing native code a typed array
// small enough to live inside the JS heap (a 64-byte signature, a 32-byte key, when they were
// copied out of their transaction) makes V8 move it to native memory first, a malloc and a later
// sweep per verification; this buffer was allocated outside the heap once. Safe to share:
// verification is synchronous.
const sodiumArgs = Buffer.from(new ArrayBuffer(SIGNATURE_LENGTH + PUBLIC_KEY_LENGTH));
const sigArg = sodiumArgs.subarray(0, SIGNATURE_LENGTH);
const keyArg = sodiumArgs.subarray(SIGNATURE_LENGTH);

export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== SECRET_KEY_LENGTH) throw new Error('secret key must be 32 bytes');
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secretKey]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function generateKeyPair(): KeyPair {
  const secretKey = new Uint8Array(randomBytes(SECRET_KEY_LENGTH));
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  return { secretKey: secretKey.slice(), publicKey: publicKeyFromSecret(secretKey) };
}

/** A signer keeps the parsed private key so repeated signing skips the DER parse. */
export class Signer {
  readonly publicKey: Uint8Array;
  readonly address: Address;
  private readonly key: ReturnType<typeof createPrivateKey>;
  constructor(secretKey: Uint8Array) {
    if (secretKey.length !== SECRET_KEY_LENGTH) throw new Error('secret key must be 32 bytes');
    this.key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    this.publicKey = publicKeyFromSecret(secretKey);
    this.address = addressOf(this.publicKey);
  }
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.key));
  }
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Signer(secretKey).sign(message);
}

/** Verifies with the fastest verifier present. Malformed keys or signatures give false. */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (sodium) {
    try {
      sigArg.set(signature);
      keyArg.set(publicKey);
      return sodium.crypto_sign_verify_detached(sigArg, asBuffer(message), keyArg);
    } catch {
      return false;
    }
  }
  return verifyNode(signature, message, publicKey);
}

/**
 * The points of small order (the 8-torsion), encoded with the sign bit cleared, plus the two
 * non-canonical encodings y = p and y = p + 1 of such points: libsodium's blacklist.
 */
const SMALL_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0, order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // y = 1, the identity
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p - 1, order 2
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (≡ 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (≡ 1)
].map((h) => Buffer.from(h, 'hex'));

/**
 * True when a 32-byte point encoding names a point of small order (whatever its sign bit).
 * libsodium refuses such public keys and R values; OpenSSL does not, so without this check a
 * crafted signature (for instance R = identity with S = k·a, or a small-order public key with
 * R = identity and S = 0) verifies under one and not the other, and nodes whose verifier
 * differs would disagree on a transaction's validity.
 */
export function hasSmallOrder(point: Uint8Array): boolean {
  if (point.length !== PUBLIC_KEY_LENGTH) return false;
  next: for (const s of SMALL_ORDER_POINTS) {
    for (let i = 0; i < 31; i++) if (point[i] !== s[i]) continue next;
    if ((point[31]! & 0x7f) === s[31]) return true;
  }
  return false;
}

/** True when the y coordinate of a point encoding is below p = 2^255 - 19 (sign bit ignored). */
export function isCanonicalPoint(point: Uint8Array): boolean {
  if (point.length !== PUBLIC_KEY_LENGTH) return false;
  if ((point[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true;
  return point[0]! < 0xed;
}

/**
 * node:crypto (OpenSSL) verification, with libsodium's extra rules (canonical public key, no
 * small-order public key or R) so that it accepts exactly what `verify` accepts with libsodium.
 */
export function verifyNode(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (!isCanonicalPoint(publicKey) || hasSmallOrder(publicKey) || hasSmallOrder(signature.subarray(0, 32))) {
    return false;
  }
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * Pure-JS verification with @noble/curves (RFC 8032, ZIP-215 off: canonical encodings, no
 * small-order public key), plus libsodium's small-order R rule. noble checks the cofactored
 * equation where libsodium and OpenSSL check the cofactorless one, so a deliberately crafted
 * signature whose R carries a torsion component passes here and fails there: a cross-check
 * for tests and tools, never the verifier that decides validity.
 */
export function verifyNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || hasSmallOrder(signature.subarray(0, 32))) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function signNoble(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

export function addressOf(publicKey: Uint8Array): Address {
  return sha256(publicKey).slice(0, ADDRESS_LENGTH);
}
