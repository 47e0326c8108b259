import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { digest, digestInto, sha256Bytes } from '../../crypto/sha256-words.js';

function jsSha256(msg: Uint8Array, len = msg.length): Uint8Array {
  return sha256Bytes(msg, len);
}

describe('SHA-256 on words (crypto/sha256-words.ts)', () => {
  it('matches node:crypto at every length from 0 to 300 bytes (all padding cases)', () => {
    const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= 300; n++) {
      const expected = createHash('sha256').update(data.subarray(0, n)).digest();
      assert.deepEqual(Buffer.from(jsSha256(data.subarray(0, n))), expected, `length ${n}`);
    }
  });

  it('hashes only msg[0..len) and writes the digest at the offset given (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(64), fc.nat(40), (msg, extra, at) => {
        const padded = new Uint8Array(msg.length + extra).fill(0xaa);
        padded.set(msg);
        digest(padded, msg.length);
        const out = new Uint8Array(at + 32 + 8).fill(0x55);
        digestInto(out, at);
        assert.deepEqual(out.subarray(at, at + 32), nobleSha256(msg));
        assert.ok(
          out.subarray(0, at).every((b) => b === 0x55),
          'bytes before the digest untouched',
        );
        assert.ok(
          out.subarray(at + 32).every((b) => b === 0x55),
          'bytes after the digest untouched',
        );
      }),
      { numRuns: 200 },
    );
  });
});
