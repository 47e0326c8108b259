import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import {
  bytesEqual,
  compareBytes,
  fromHex,
  HASH_LENGTH,
  HexError,
  hexOf,
  latin1Of,
  sha256,
  taggedHash,
  toHex,
} from '../../crypto/hash.js';

const utf8 = new TextEncoder();
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe('sha256', () => {
  it('known answers (FIPS 180-2: empty, "abc", 448-bit message)', () => {
    assert.equal(toHex(sha256()), '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(
      toHex(sha256(utf8.encode('abc'))),
      '0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(
      toHex(sha256(utf8.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
      '0x248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches @noble/hashes on random inputs, split into any number of parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (parts) => {
        const h = sha256(...parts);
        assert.equal(h.length, HASH_LENGTH);
        assert.deepEqual(h, nobleSha256(concat(...parts)));
      }),
      { numRuns: 300 },
    );
  });

  it('returns a fresh 32-byte array that owns its buffer', () => {
    const a = sha256(Uint8Array.of(1));
    const b = sha256(Uint8Array.of(1));
    assert.equal(a.buffer.byteLength, HASH_LENGTH);
    a[0]! ^= 0xff;
    assert.notDeepEqual(a, b);
  });

  it('hashes a view of a larger buffer, not the whole buffer', () => {
    const big = new Uint8Array(100).map((_, i) => i);
    assert.deepEqual(sha256(big.subarray(10, 20)), nobleSha256(big.slice(10, 20)));
  });
});

describe('taggedHash', () => {
  it('is SHA-256(len(tag) || tag || parts) and matches @noble/hashes', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 3 }),
        (tag, parts) => {
          const t = utf8.encode(tag);
          assert.deepEqual(
            taggedHash(tag, ...parts),
            nobleSha256(concat(Uint8Array.of(t.length), t, ...parts)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('separates domains: the same bytes under different tags differ, tag/data boundary is fixed', () => {
    const data = utf8.encode('payload');
    assert.notDeepEqual(taggedHash('synod/tx', data), taggedHash('synod/header', data));
    // "ab" + "c" vs "a" + "bc": the length prefix keeps them apart.
    assert.notDeepEqual(taggedHash('ab', utf8.encode('c')), taggedHash('a', utf8.encode('bc')));
  });

  it('accepts a 255-byte tag and refuses a 256-byte one (the length is one byte)', () => {
    assert.equal(taggedHash('x'.repeat(255)).length, 32);
    assert.throws(() => taggedHash('x'.repeat(256)), RangeError);
  });
});

describe('hex helpers', () => {
  it('round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const h = toHex(b);
        assert.match(h, /^0x([0-9a-f]{2})*$/);
        assert.deepEqual(fromHex(h), b);
        assert.deepEqual(fromHex(h.toUpperCase().replace('0X', '0x')), b);
        assert.deepEqual(fromHex(h, b.length), b);
      }),
    );
  });

  it('toHex encodes only the view', () => {
    const big = Uint8Array.of(1, 2, 3, 4);
    assert.equal(toHex(big.subarray(1, 3)), '0x0203');
  });

  it('hexOf and latin1Of agree with Buffer#toString, for views too', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(5), (b, cut) => {
        const v = b.subarray(Math.min(cut, b.length));
        assert.equal(hexOf(v), Buffer.from(v).toString('hex'));
        assert.equal(latin1Of(v), Buffer.from(v).toString('latin1'));
      }),
    );
  });

  it('toHex agrees with Buffer#toString for small and large arrays, views and Buffers (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), fc.nat(8), (b, cutStart, cutEnd) => {
        const expected = `0x${Buffer.from(b).toString('hex')}`;
        assert.equal(toHex(b), expected);
        assert.equal(toHex(Buffer.from(b)), expected);
        assert.equal(toHex(b.slice()), expected);
        const end = Math.max(0, b.length - cutEnd);
        const start = Math.min(cutStart, end);
        assert.equal(
          toHex(b.subarray(start, end)),
          `0x${Buffer.from(b.subarray(start, end)).toString('hex')}`,
        );
      }),
    );
  });

  it('refuses odd length, missing 0x, non-hex characters, non-strings and wrong length', () => {
    for (const bad of ['0x1', '0xabc', '00', 'ab', '', 'x12', '0X12', '0x0g', '0x 1', ' 0x12', '0x12\n']) {
      assert.throws(() => fromHex(bad), HexError, JSON.stringify(bad));
    }
    assert.throws(() => fromHex(123 as unknown as string), HexError);
    assert.throws(() => fromHex('0x0102', 3), /expected 3 bytes, got 2/);
    assert.throws(() => fromHex('0x0102', 1), HexError);
    assert.deepEqual(fromHex('0x'), new Uint8Array(0));
    assert.deepEqual(fromHex('0x', 0), new Uint8Array(0));
  });

  it('HexError names the field and has a stable name', () => {
    try {
      fromHex('nope', undefined, 'publicKey');
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof HexError);
      assert.equal(e.name, 'HexError');
      assert.match(e.message, /^publicKey:/);
    }
  });
});

describe('byte comparison', () => {
  it('bytesEqual and compareBytes agree with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        assert.equal(bytesEqual(a, b), Buffer.from(a).equals(Buffer.from(b)));
        assert.equal(Math.sign(compareBytes(a, b)), Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.equal(compareBytes(a, a), 0);
      }),
      { numRuns: 500 },
    );
  });
});
