import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { transientBytes } from '../../crypto/transient-bytes.js';

describe('transientBytes', () => {
  it('gives zeroed arrays of the size asked that never share memory (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 200 }), (sizes) => {
        const got = sizes.map((n) => transientBytes(n));
        got.forEach((b, i) => {
          assert.equal(b.length, sizes[i]);
          assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
          assert.ok(
            b.every((x) => x === 0),
            'zeroed',
          );
          b.fill(i & 0xff || 1);
        });
        // Writing every array with its own mark left every other array's marks intact.
        got.forEach((b, i) => {
          assert.ok(
            b.every((x) => x === (i & 0xff || 1)),
            `array ${i} overwritten`,
          );
        });
      }),
      { numRuns: 100 },
    );
  });

  it('views into a shared slab start on eight-byte boundaries', () => {
    for (let i = 0; i < 100; i++) {
      const b = transientBytes(65 + (i % 50));
      assert.equal(b.byteOffset % 8, 0);
    }
  });
});
