import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import {
  ADDRESS_LENGTH,
  addressOf,
  generateKeyPair,
  hasSmallOrder,
  isCanonicalPoint,
  keyPairFromSecret,
  publicKeyFromSecret,
  Signer,
  sign,
  signNoble,
  verifierName,
  verify,
  verifyNoble,
  verifyNode,
} from '../../crypto/ed25519.js';

interface Rfc8032Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
const file = JSON.parse(
  readFileSync(new URL('../vectors/rfc8032-ed25519.json', import.meta.url), 'utf8'),
) as {
  vectors: Rfc8032Vector[];
};
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHexPlain = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const vectors = file.vectors.map((v) => ({
  name: v.name,
  secretKey: hex(v.secretKey),
  publicKey: hex(v.publicKey),
  message: hex(v.message),
  signature: hex(v.signature),
}));

const verifiers = { verify, verifyNode, verifyNoble } as const;

/** libsodium loaded directly, so its verdict can be compared even when `verify` does not use it. */
type SodiumVerify = (sig: Buffer, msg: Buffer, pk: Buffer) => boolean;
const sodiumVerify: SodiumVerify | undefined = (() => {
  try {
    const s = createRequire(import.meta.url)('sodium-native') as {
      crypto_sign_verify_detached: SodiumVerify;
    };
    return (sig, msg, pk) => s.crypto_sign_verify_detached(sig, msg, pk);
  } catch {
    return undefined;
  }
})();
function sodium(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    return sodiumVerify!(Buffer.from(sig), Buffer.from(msg), Buffer.from(pk));
  } catch {
    return false;
  }
}

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('Ed25519 RFC 8032 section 7.1 vectors', () => {
  it('has the five vectors, and TEST SHA(abc) signs SHA-512("abc")', () => {
    assert.deepEqual(
      vectors.map((v) => v.name),
      ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
    );
    assert.equal(vectors[3]!.message.length, 1023);
    assert.deepEqual(vectors[4]!.message, sha512(new TextEncoder().encode('abc')));
  });

  for (const v of vectors) {
    it(`${v.name}: public key, signature by Signer, sign and signNoble`, () => {
      assert.equal(toHexPlain(publicKeyFromSecret(v.secretKey)), toHexPlain(v.publicKey));
      const signer = new Signer(v.secretKey);
      assert.deepEqual(signer.publicKey, v.publicKey);
      assert.deepEqual(signer.address, addressOf(v.publicKey));
      assert.equal(toHexPlain(signer.sign(v.message)), toHexPlain(v.signature));
      assert.equal(toHexPlain(sign(v.message, v.secretKey)), toHexPlain(v.signature));
      assert.equal(toHexPlain(signNoble(v.message, v.secretKey)), toHexPlain(v.signature));
    });

    it(`${v.name}: all three verifiers accept`, () => {
      for (const [name, f] of Object.entries(verifiers)) {
        assert.equal(f(v.signature, v.message, v.publicKey), true, name);
      }
      if (sodiumVerify) assert.equal(sodium(v.signature, v.message, v.publicKey), true);
    });

    it(`${v.name}: tampered message, signature or key is rejected by all three`, () => {
      const badMessages = [
        v.message.length === 0 ? Uint8Array.of(0) : flipBit(v.message, 0),
        v.message.length === 0 ? Uint8Array.of(0x80) : flipBit(v.message, v.message.length * 8 - 1),
        cat(v.message, Uint8Array.of(0)),
      ];
      // One bit in every byte of the signature and of the key (the bit varies with the byte).
      const badSignatures = Array.from({ length: 64 }, (_, i) => flipBit(v.signature, i * 8 + (i % 8)));
      const badKeys = Array.from({ length: 32 }, (_, i) => flipBit(v.publicKey, i * 8 + ((i * 3) % 8)));
      for (const [name, f] of Object.entries(verifiers)) {
        for (const m of badMessages) assert.equal(f(v.signature, m, v.publicKey), false, `${name}: message`);
        badSignatures.forEach((s, i) => {
          assert.equal(f(s, v.message, v.publicKey), false, `${name}: signature byte ${i}`);
        });
        badKeys.forEach((k, i) => {
          assert.equal(f(v.signature, v.message, k), false, `${name}: key byte ${i}`);
        });
        // Another vector's key.
        const other = vectors.find((w) => w !== v)!;
        assert.equal(f(v.signature, v.message, other.publicKey), false, `${name}: other key`);
      }
    });
  }

  it('wrong lengths give false, never an exception', () => {
    const v = vectors[1]!;
    for (const [name, f] of Object.entries(verifiers)) {
      assert.equal(f(v.signature.subarray(0, 63), v.message, v.publicKey), false, name);
      assert.equal(f(cat(v.signature, Uint8Array.of(0)), v.message, v.publicKey), false, name);
      assert.equal(f(v.signature, v.message, v.publicKey.subarray(0, 31)), false, name);
      assert.equal(f(v.signature, v.message, new Uint8Array(0)), false, name);
      assert.equal(f(new Uint8Array(64), v.message, v.publicKey), false, name);
    }
  });
});

describe('Ed25519 keys and addresses', () => {
  it('an address is the first 20 bytes of SHA-256 of the public key', () => {
    const { publicKey } = generateKeyPair();
    const a = addressOf(publicKey);
    assert.equal(a.length, ADDRESS_LENGTH);
    assert.deepEqual(a, nobleSha256(publicKey).slice(0, 20));
  });

  it('generated keys sign and verify; keyPairFromSecret copies the secret', () => {
    const kp = generateKeyPair();
    const msg = new TextEncoder().encode('synod');
    const sig = sign(msg, kp.secretKey);
    assert.equal(verify(sig, msg, kp.publicKey), true);
    const again = keyPairFromSecret(kp.secretKey);
    assert.deepEqual(again.publicKey, kp.publicKey);
    again.secretKey[0]! ^= 1;
    assert.notDeepEqual(again.secretKey, kp.secretKey);
  });

  it('refuses secret keys that are not 32 bytes', () => {
    assert.throws(() => new Signer(new Uint8Array(31)));
    assert.throws(() => publicKeyFromSecret(new Uint8Array(64)));
  });

  it('verify uses libsodium when sodium-native loads', () => {
    const expected = sodiumVerify && process.env.SYNOD_NO_SODIUM !== '1' ? 'libsodium' : 'node:crypto';
    assert.equal(verifierName, expected);
  });
});

describe('Ed25519 verifier agreement', () => {
  it('the three verifiers agree on valid and corrupted signatures (property)', () => {
    const corruption = fc.oneof(
      fc.constant({ kind: 'none' as const, at: 0 }),
      fc.record({ kind: fc.constant('sig' as const), at: fc.nat(511) }),
      fc.record({ kind: fc.constant('key' as const), at: fc.nat(255) }),
      fc.record({ kind: fc.constant('msg' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('random' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        corruption,
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (seed, message, c, randomSig) => {
          const signer = new Signer(seed);
          let sig: Uint8Array = signer.sign(message);
          let pk: Uint8Array = signer.publicKey;
          let msg: Uint8Array = message;
          if (c.kind === 'sig') sig = flipBit(sig, c.at);
          else if (c.kind === 'key') pk = flipBit(pk, c.at);
          else if (c.kind === 'msg')
            msg = msg.length === 0 ? Uint8Array.of(c.at & 0xff) : flipBit(msg, c.at % (msg.length * 8));
          else if (c.kind === 'random') sig = randomSig;
          const expected = c.kind === 'none';
          assert.equal(verify(sig, msg, pk), expected, 'verify');
          assert.equal(verifyNode(sig, msg, pk), expected, 'verifyNode');
          assert.equal(verifyNoble(sig, msg, pk), expected, 'verifyNoble');
        },
      ),
      { numRuns: 250 },
    );
  });

  it('verify takes signatures and keys as standalone arrays, views and Buffers, and leaves them unchanged', () => {
    const signer = new Signer(new Uint8Array(32).fill(3));
    const message = new TextEncoder().encode(
      'a message longer than sixty-four bytes, so that it is not small',
    );
    const sig = signer.sign(message);
    const pk = signer.publicKey;
    const carrier = new Uint8Array(10 + 64 + 32 + 10);
    carrier.set(sig, 10);
    carrier.set(pk, 74);
    const forms: [Uint8Array, Uint8Array][] = [
      [sig.slice(), pk.slice()],
      [carrier.subarray(10, 74), carrier.subarray(74, 106)],
      [Buffer.from(sig), Buffer.from(pk)],
    ];
    for (const [s, k] of forms) {
      const before = [Buffer.from(s), Buffer.from(k)];
      assert.equal(verify(s, message, k), true);
      assert.equal(verify(flipBit(new Uint8Array(s), 3), message, k), false);
      // A failure in between leaves nothing behind for the next call.
      assert.equal(verify(s, message, k), true);
      assert.deepEqual(Buffer.from(s), before[0]);
      assert.deepEqual(Buffer.from(k), before[1]);
    }
    assert.equal(verify(sig.subarray(0, 63), message, pk), false);
    assert.equal(verify(sig, message, pk.subarray(0, 31)), false);
  });

  // Signatures a key holder (or anyone, for small-order keys) can craft to split verifiers.
  // libsodium and node:crypto decide validity on different nodes, so they must agree on every
  // one. noble checks the cofactored equation; the cases marked `cofactored` are where that
  // legitimately differs, so noble is not compared there.
  const Point = ed25519.Point;
  const L = Point.Fn.ORDER;
  const leToBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
  const bigToLe = (n: bigint) =>
    new Uint8Array(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse());
  const seed = new Uint8Array(32).fill(7);
  const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(seed);
  const msg = new TextEncoder().encode('crafted');
  const challenge = (R: Uint8Array, pk: Uint8Array) => leToBig(sha512(cat(R, pk, msg))) % L;
  const identity = Point.ZERO.toBytes();
  const T8 = Point.fromHex(ED25519_TORSION_SUBGROUP[1]!); // a point of order 8

  interface Case {
    name: string;
    sig: Uint8Array;
    pk: Uint8Array;
    valid: boolean;
    cofactored?: boolean;
  }
  const cases: Case[] = [];
  cases.push({ name: 'honest signature', sig: signNoble(msg, seed), pk: A, valid: true });
  cases.push({
    name: 'R = identity, S = k·a',
    sig: cat(identity, bigToLe((challenge(identity, A) * a) % L)),
    pk: A,
    valid: false,
  });
  for (const t of ED25519_TORSION_SUBGROUP) {
    const T = hex(t);
    cases.push({
      name: `R small-order ${t.slice(0, 8)}, S = k·a`,
      sig: cat(T, bigToLe((challenge(T, A) * a) % L)),
      pk: A,
      valid: false,
    });
    for (const signBit of [0, 0x80]) {
      const pk = T.slice();
      pk[31]! ^= signBit;
      cases.push({
        name: `small-order key ${t.slice(0, 8)}^${signBit}, R = identity, S = 0`,
        sig: cat(identity, new Uint8Array(32)),
        pk,
        valid: false,
      });
    }
  }
  const honest = signNoble(msg, seed);
  cases.push({
    name: 'S + L (malleated)',
    sig: cat(honest.subarray(0, 32), bigToLe(leToBig(honest.subarray(32)) + L)),
    pk: A,
    valid: false,
  });
  const r = 12345n;
  const mixedR = Point.BASE.multiply(r).add(T8).toBytes();
  cases.push({
    name: 'R = rB + T (torsion in R)',
    sig: cat(mixedR, bigToLe((r + challenge(mixedR, A) * a) % L)),
    pk: A,
    valid: false,
    cofactored: true,
  });
  // A key with a torsion component: valid cofactorless only when k·T vanishes (k ≡ 0 mod 8).
  const mixedA = Point.fromBytes(A).add(T8).toBytes();
  for (let rr = 1n, found = 0; found < 2; rr++) {
    const R = Point.BASE.multiply(rr).toBytes();
    const k = challenge(R, mixedA);
    const zero = k % 8n === 0n;
    if ((found === 0 && zero) || (found === 1 && !zero)) {
      cases.push({
        name: `torsion in key, k ${zero ? '≡' : '≢'} 0 mod 8`,
        sig: cat(R, bigToLe((rr + k * a) % L)),
        pk: mixedA,
        valid: zero,
        cofactored: !zero,
      });
      found++;
    }
  }

  for (const c of cases) {
    it(`crafted: ${c.name}`, () => {
      assert.equal(verifyNode(c.sig, msg, c.pk), c.valid, 'verifyNode');
      assert.equal(verify(c.sig, msg, c.pk), c.valid, 'verify');
      if (sodiumVerify) assert.equal(sodium(c.sig, msg, c.pk), c.valid, 'libsodium');
      if (!c.cofactored) assert.equal(verifyNoble(c.sig, msg, c.pk), c.valid, 'verifyNoble');
    });
  }

  it('hasSmallOrder matches the torsion subgroup, any sign bit, and y = p, p + 1', () => {
    for (const t of ED25519_TORSION_SUBGROUP) {
      const b = hex(t);
      assert.equal(hasSmallOrder(b), true, t);
      b[31]! ^= 0x80;
      assert.equal(hasSmallOrder(b), true, `${t} sign flipped`);
    }
    const p = 2n ** 255n - 19n;
    assert.equal(hasSmallOrder(bigToLe(p)), true);
    assert.equal(hasSmallOrder(bigToLe(p + 1n)), true);
    assert.equal(hasSmallOrder(A), false);
    assert.equal(hasSmallOrder(Point.BASE.toBytes()), false);
    for (let i = 0; i < 50; i++) {
      const pk = generateKeyPair().publicKey;
      assert.equal(hasSmallOrder(pk), Point.fromBytes(pk).isSmallOrder());
    }
  });

  it('isCanonicalPoint refuses y >= p and accepts y < p', () => {
    const p = 2n ** 255n - 19n;
    for (const y of [0n, 1n, p - 1n]) assert.equal(isCanonicalPoint(bigToLe(y)), true, `y = ${y}`);
    for (const y of [p, p + 1n, p + 3n, 2n ** 255n - 1n])
      assert.equal(isCanonicalPoint(bigToLe(y)), false, `y = ${y}`);
    const withSign = bigToLe(p + 3n);
    withSign[31]! |= 0x80;
    assert.equal(isCanonicalPoint(withSign), false);
  });
});
