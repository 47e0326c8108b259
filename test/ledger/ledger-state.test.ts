/**
 * The ledger state layer: the account codec's fast path against its reference, the overlay's
 * layering, and the typed reads.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Account,
  accountCodec,
  accountCodecReference,
  getAccount,
  keyBytes,
  keys,
  listProposals,
  proveKey,
  StateOverlay,
  StateTree,
  stateRoot,
  stringCodec,
} from '../../ledger/state.js';
import { verifyStateProof } from '../../ledger/state-tree.js';
import { Chain, key, wallet } from './helpers.js';

function outcome<T>(f: () => T): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: (e as Error).name };
  }
}

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const account: fc.Arbitrary<Account> = fc.record({
  address: fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ maxLength: 24 })),
  publicKey: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 })),
  memberId: text,
  roles: fc.array(text, { maxLength: 4 }),
  status: fc.constantFrom('active', 'revoked') as fc.Arbitrary<Account['status']>,
  balance: fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })),
  nonce: fc.oneof(fc.nat(300), fc.maxSafeNat()),
});

describe('account codec', () => {
  test('the fast path encodes exactly the reference bytes and decodes to the same record (property)', () => {
    fc.assert(
      fc.property(account, (a) => {
        const fast = outcome(() => accountCodec.encode(a));
        const ref = outcome(() => accountCodecReference.encode(a));
        assert.deepEqual(fast, ref);
        if (!ref.ok) return;
        assert.deepEqual(
          outcome(() => accountCodec.decode(ref.value)),
          outcome(() => accountCodecReference.decode(ref.value)),
        );
      }),
      { numRuns: 1000 },
    );
  });

  test('damaged bytes are decoded, or refused, exactly as the reference does (property)', () => {
    const valid = fc.record({
      address: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      memberId: fc.constantFrom('alpha', 'b-2'),
      roles: fc.subarray(['admin', 'transfer', 'data']),
      status: fc.constantFrom('active', 'revoked') as fc.Arbitrary<Account['status']>,
      balance: fc.bigInt({ min: 0n, max: 1n << 70n }),
      nonce: fc.nat(100_000),
    });
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(3), (a, at, byte, mode) => {
        const bytes = accountCodecReference.encode(a);
        const i = at % bytes.length;
        let damaged: Uint8Array;
        if (mode === 0) damaged = Uint8Array.from(bytes, (b, j) => (j === i ? byte : b));
        else if (mode === 1) damaged = bytes.subarray(0, i);
        else if (mode === 2) damaged = Uint8Array.from([...bytes, byte]);
        else damaged = Uint8Array.from([...bytes.subarray(0, i), byte, ...bytes.subarray(i)]);
        assert.deepEqual(
          outcome(() => accountCodec.decode(damaged)),
          outcome(() => accountCodecReference.decode(damaged)),
        );
      }),
      { numRuns: 2000 },
    );
  });
});

/** The bytes with the uint after field `name` replaced by `uint` (raw LEB128 bytes). */
function withUint(bytes: Uint8Array, name: string, uint: number[]): Uint8Array {
  const field = Buffer.from([name.length, ...Buffer.from(name)]);
  const at = Buffer.from(bytes).indexOf(field) + field.length;
  assert.equal(bytes[at], 0x03);
  let end = at + 1;
  while (bytes[end]! & 0x80) end++;
  return Uint8Array.from([...bytes.subarray(0, at + 1), ...uint, ...bytes.subarray(end + 1)]);
}

describe('account codec edge cases', () => {
  const a: Account = {
    address: new Uint8Array(20).fill(1),
    publicKey: new Uint8Array(32).fill(2),
    memberId: 'alpha',
    roles: ['admin'],
    status: 'active',
    balance: 5n,
    nonce: 5,
  };
  const bytes = accountCodecReference.encode(a);

  test('non-minimal integers and balances of 2^256 or more are refused by both', () => {
    for (const damaged of [
      withUint(bytes, 'nonce', [0x85, 0x00]),
      withUint(bytes, 'balance', [0x85, 0x80, 0x00]),
      // 2^256: 36 bytes of 0x80 and a final 0x10 (bit 256 is bit 4 of the 37th group).
      withUint(bytes, 'balance', [...Array(36).fill(0x80), 0x10]),
    ]) {
      assert.equal(outcome(() => accountCodecReference.decode(damaged)).ok, false);
      assert.equal(outcome(() => accountCodec.decode(damaged)).ok, false);
    }
    // The largest balance and a wide nonce still decode, identically.
    for (const ok of [
      withUint(bytes, 'balance', [...Array(36).fill(0xff), 0x0f]),
      withUint(bytes, 'nonce', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]) {
      const ref = accountCodecReference.decode(ok);
      assert.deepEqual(accountCodec.decode(ok), ref);
    }
    assert.equal(
      accountCodec.decode(withUint(bytes, 'balance', [...Array(36).fill(0xff), 0x0f])).balance,
      (1n << 256n) - 1n,
    );
  });
});

describe('overlay', () => {
  test('a transaction layer is invisible below until committed, and dropping it discards it', () => {
    const tree = StateTree.empty().set(keyBytes('meta/chainId'), stringCodecBytes('c'));
    const block = StateOverlay.over({ tree });
    const layer = block.child();
    layer.write('x/1', 'one', stringCodec);
    assert.equal(layer.read('x/1', stringCodec), 'one');
    assert.equal(block.read('x/1', stringCodec), undefined);
    layer.commit();
    assert.equal(block.read('x/1', stringCodec), 'one');
    const dropped = block.child();
    dropped.write('x/2', 'two', stringCodec);
    dropped.write('x/1', null, stringCodec);
    assert.equal(dropped.read('x/1', stringCodec), undefined);
    assert.equal(block.read('x/1', stringCodec), 'one');
    const { state, diff } = block.finish();
    assert.deepEqual(
      diff.map(([k]) => new TextDecoder().decode(k)),
      ['x/1'],
    );
    assert.equal(state.tree.size, 2);
    // The tree the overlay started from is unchanged.
    assert.equal(tree.size, 1);
  });

  test('typed reads, proofs and proposal listing on a real chain', () => {
    const chain = new Chain();
    const w = wallet('alpha-admin');
    chain.produce([
      w.propose({ type: 'param.set', name: 'blockPeriodMs', value: 300 }, 'a'),
      w.propose({ type: 'param.set', name: 'blockPeriodMs', value: 400 }, 'b'),
      w.propose({ type: 'param.set', name: 'blockPeriodMs', value: 500 }, 'c'),
    ]);
    assert.deepEqual(
      listProposals(chain.state).map((p) => p.id),
      [3, 2, 1],
    );
    assert.deepEqual(
      listProposals(chain.state, { before: 3, limit: 1 }).map((p) => p.id),
      [2],
    );
    assert.deepEqual(listProposals(chain.state, { status: 'executed' }), []);
    const address = key('alpha-admin').address;
    const value = chain.state.tree.get(keyBytes(keys.account(address)))!;
    assert.deepEqual(accountCodec.decode(value), getAccount(chain.state, address));
    const proof = proveKey(chain.state, keys.account(address));
    assert.equal(
      verifyStateProof(stateRoot(chain.state), keyBytes(keys.account(address)), value, proof),
      true,
    );
    const absent = keys.account(key('nobody').address);
    assert.equal(
      verifyStateProof(stateRoot(chain.state), keyBytes(absent), null, proveKey(chain.state, absent)),
      true,
    );
  });
});

function stringCodecBytes(s: string): Uint8Array {
  return stringCodec.encode(s);
}

describe('state keys', () => {
  test('keyBytes is the UTF-8 encoding, for ASCII keys and any other string (property)', () => {
    const utf8 = new TextEncoder();
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 40 })),
        (k) => {
          assert.deepEqual(keyBytes(k), utf8.encode(k));
        },
      ),
    );
    assert.deepEqual(keyBytes('data/ab/ключ'), utf8.encode('data/ab/ключ'));
    assert.deepEqual(keyBytes(''), new Uint8Array(0));
  });
});
