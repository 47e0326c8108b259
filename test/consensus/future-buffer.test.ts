import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FutureBuffer } from '../../consensus/future-buffer.js';

describe('future-height buffer (§4)', () => {
  it('bounds each peer: its oldest message goes first, other peers keep theirs', () => {
    const b = new FutureBuffer<string>(3, 100);
    b.add('honest', 5, 'h1');
    for (let i = 0; i < 10; i++) assert.equal(b.add('flood', 5, `f${i}`), i < 3 ? 0 : 1);
    assert.equal(b.sizeOf('flood'), 3);
    assert.equal(b.sizeOf('honest'), 1);
    assert.deepEqual(
      b.take(5).map((x) => x.item),
      ['h1', 'f7', 'f8', 'f9'],
    );
    assert.equal(b.size, 0);
  });

  it('bounds the total: on overflow the peer holding the most loses its oldest', () => {
    const b = new FutureBuffer<string>(4, 6);
    for (const p of ['a', 'b']) b.add(p, 2, `${p}0`);
    for (let i = 1; i <= 4; i++) b.add('big', 2, `big${i}`);
    assert.equal(b.size, 6);
    assert.equal(b.add('c', 2, 'c0'), 1);
    assert.equal(b.size, 6);
    assert.deepEqual([b.sizeOf('a'), b.sizeOf('b'), b.sizeOf('c'), b.sizeOf('big')], [1, 1, 1, 3]);
    assert.equal(b.largestPeerSize(), 3);
  });

  it('take(h) returns height h in arrival order, keeps higher heights, drops lower ones', () => {
    const b = new FutureBuffer<string>(10, 100);
    b.add('p', 3, 'x3');
    b.add('q', 2, 'y2');
    b.add('p', 4, 'x4');
    b.add('q', 3, 'y3');
    b.add('p', 2, 'x2');
    assert.deepEqual(
      b.take(3).map((x) => `${x.peer}:${x.item}`),
      ['p:x3', 'q:y3'],
    );
    assert.deepEqual(
      b.take(4).map((x) => x.item),
      ['x4'],
    );
    assert.equal(b.size, 0, 'the height-2 leftovers were dropped as past');
  });
});
