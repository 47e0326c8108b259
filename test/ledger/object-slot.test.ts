import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectSlot } from '../../ledger/object-slot.js';

describe('objectSlot', () => {
  it('remembers a value per object and leaves the object looking as it did', () => {
    const slot = objectSlot<number>();
    const a = { x: 1 };
    const b = { x: 1 };
    slot.set(a, 10);
    assert.equal(slot.get(a), 10);
    assert.equal(slot.get(b), undefined);
    assert.deepStrictEqual(a, b);
    assert.deepEqual(Object.keys(a), ['x']);
    assert.equal(JSON.stringify(a), '{"x":1}');
    assert.equal(slot.get({ ...a }), undefined, 'a spread copy does not carry it');
    slot.set(a, 11);
    assert.equal(slot.get(a), 11, 'set again replaces');
  });

  it('keeps slots apart', () => {
    const one = objectSlot<string>();
    const two = objectSlot<string>();
    const o = {};
    one.set(o, 'one');
    assert.equal(two.get(o), undefined);
    two.set(o, 'two');
    assert.equal(one.get(o), 'one');
    assert.equal(two.get(o), 'two');
  });

  it('works for frozen and non-extensible objects too', () => {
    const slot = objectSlot<number>();
    const frozen = Object.freeze({ y: 2 });
    const sealed = Object.preventExtensions({ z: 3 });
    slot.set(frozen, 1);
    slot.set(sealed, 2);
    assert.equal(slot.get(frozen), 1);
    assert.equal(slot.get(sealed), 2);
    slot.set(frozen, 3);
    assert.equal(slot.get(frozen), 3);
    assert.ok(Object.isFrozen(frozen));
  });
});
