/**
 * Execution: supply conservation over random transfer sequences (failing ones included),
 * nonce consumption, atomicity, immutability of the parent state, the receipt fast path.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encode } from '../../crypto/encoding.js';
import { bytesEqual } from '../../crypto/hash.js';
import { encodeReceipt, receiptToValue } from '../../ledger/codec.js';
import { isReceiptCode } from '../../ledger/errors.js';
import { BlockExecutor, receiptLeaf } from '../../ledger/execute.js';
import { getAccount, stateRoot } from '../../ledger/state.js';
import type { Receipt, SignedTransaction } from '../../ledger/types.js';
import { Chain, fixtureGenesis, key, wallet } from './helpers.js';

const LABELS = ['u0', 'u1', 'u2', 'u3'];
const doc = fixtureGenesis({
  members: ['alpha', 'beta'],
  accounts: [
    { label: 'u0', member: 'alpha', roles: ['transfer'], balance: 1_000n },
    { label: 'u1', member: 'alpha', roles: ['transfer'], balance: 10n },
    { label: 'u2', member: 'beta', roles: ['transfer'], balance: 0n },
    // No transfer right: every transfer it sends fails NOT_PERMITTED.
    { label: 'u3', member: 'beta', roles: ['data'], balance: 500n },
  ],
  adminBalance: 0n,
});
const everyone = [...LABELS, 'alpha-admin', 'beta-admin'];

function supply(chain: Chain): bigint {
  let sum = 0n;
  for (const l of everyone) sum += chain.account(l)!.balance;
  return sum;
}

describe('transfers', () => {
  test('supply is conserved and nonces advance by one per included tx (property)', () => {
    const initial = supply(new Chain(doc));
    assert.equal(initial, 1_510n);
    const op = fc.record({
      from: fc.integer({ min: 0, max: LABELS.length - 1 }),
      // index LABELS.length means an address with no account
      to: fc.integer({ min: 0, max: LABELS.length }),
      amount: fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.bigInt({ min: 0n, max: 2_000n })),
    });
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 4 }), (blocks) => {
        const chain = new Chain(doc);
        const wallets = LABELS.map((l) => wallet(l));
        const sent = new Map<string, number>();
        for (const ops of blocks) {
          const txs: SignedTransaction[] = ops.map((o) => {
            const to = o.to === LABELS.length ? key('nobody').address : key(LABELS[o.to]!).address;
            sent.set(LABELS[o.from]!, (sent.get(LABELS[o.from]!) ?? 0) + 1);
            return wallets[o.from]!.transfer(to, o.amount);
          });
          const b = chain.produce(txs);
          for (const r of b.receipts) {
            if (!r.ok) assert.ok(isReceiptCode(r.code!), r.code);
          }
          assert.equal(supply(chain), initial);
          for (const l of everyone) assert.ok(chain.account(l)!.balance >= 0n);
        }
        for (const l of LABELS) assert.equal(chain.account(l)!.nonce, sent.get(l) ?? 0);
      }),
      { numRuns: 40, seed: 20_260_101 },
    );
  });

  test('each failure reason leaves balances untouched', () => {
    const chain = new Chain(doc);
    const b = chain.produce([
      wallet('u1').transfer(key('u0').address, 11n), // INSUFFICIENT_BALANCE
      wallet('u3').transfer(key('u0').address, 1n), // NOT_PERMITTED
      wallet('u0').transfer(key('nobody').address, 1n), // UNKNOWN_RECIPIENT
      wallet('u0', 1).transfer(key('u1').address, 0n), // INVALID_AMOUNT
      wallet('u0', 2).transfer(key('u0').address, 7n), // to oneself: ok, no change
    ]);
    assert.deepEqual(
      b.receipts.map((r) => r.code ?? 'ok'),
      ['INSUFFICIENT_BALANCE', 'NOT_PERMITTED', 'UNKNOWN_RECIPIENT', 'INVALID_AMOUNT', 'ok'],
    );
    assert.equal(chain.account('u0')!.balance, 1_000n);
    assert.equal(chain.account('u1')!.balance, 10n);
    assert.equal(chain.account('u0')!.nonce, 3);
  });

  test('a transfer moves exactly the amount and the receipt is ok', () => {
    const chain = new Chain(doc);
    const b = chain.produce([wallet('u0').transfer(key('u2').address, 250n, 'rent')]);
    assert.equal(b.receipts[0]!.ok, true);
    assert.equal(chain.account('u0')!.balance, 750n);
    assert.equal(chain.account('u2')!.balance, 250n);
  });

  test('a transfer to a revoked account fails RECIPIENT_INACTIVE', () => {
    const chain = new Chain(doc);
    chain.produce([wallet('beta-admin').revoke(key('u2').address)]);
    const b = chain.produce([wallet('u0').transfer(key('u2').address, 1n)]);
    assert.equal(b.receipts[0]!.code, 'RECIPIENT_INACTIVE');
  });
});

describe('blocks and state values', () => {
  test('executing on a state leaves that state intact', () => {
    const chain = new Chain(doc);
    const before = stateRoot(chain.state);
    const ex = new BlockExecutor(chain.state, 1);
    ex.add(ex.check(wallet('u0').transfer(key('u1').address, 5n)));
    const r = ex.finish();
    assert.ok(!bytesEqual(r.stateRoot, before));
    assert.deepEqual(stateRoot(chain.state), before);
    assert.equal(getAccount(chain.state, key('u0').address)!.balance, 1_000n);
    assert.equal(getAccount(r.state, key('u0').address)!.balance, 995n);
  });

  test('the diff lists exactly the changed keys, sorted, and rebuilds the new state', () => {
    const chain = new Chain(doc);
    const parent = chain.state;
    const b = chain.produce([
      wallet('u0').transfer(key('u1').address, 5n),
      wallet('u3').dataPut('x', Uint8Array.of(9)),
    ]);
    const keys = b.diff.map(([k]) => new TextDecoder().decode(k));
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(keys.length, 5); // u0, u1, u3 accounts, u3's data key and its member's usage
    assert.ok(keys.some((k) => k.startsWith('data/') && k.endsWith('/x')));
    assert.ok(keys.some((k) => k.startsWith('usage/')));
    assert.deepEqual(parent.tree.setMany(b.diff).root(), b.stateRoot);
  });

  test('a rejected transaction leaves a BlockExecutor as it was', () => {
    const chain = new Chain(doc);
    const ex = new BlockExecutor(chain.state, 1);
    assert.throws(() => ex.add(ex.check(wallet('stranger').transfer(key('u0').address, 1n))));
    assert.equal(ex.txHashes.length, 0);
    const r = ex.finish();
    assert.deepEqual(r.stateRoot, stateRoot(chain.state));
    assert.equal(r.diff.length, 0);
  });

  test('encodeReceipt (template for ok receipts) and receiptLeaf are the generic encoding (property)', () => {
    const receipt: fc.Arbitrary<Receipt> = fc.record(
      {
        txHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        ok: fc.boolean(),
        code: fc.string(),
        message: fc.string(),
        result: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.nat())),
      },
      { requiredKeys: ['txHash', 'ok'] },
    );
    fc.assert(
      fc.property(receipt, (r) => {
        const generic = encode(receiptToValue(r));
        assert.deepEqual(encodeReceipt(r), generic);
        assert.deepEqual(receiptLeaf(r), generic);
      }),
      { numRuns: 300 },
    );
    const ok = { txHash: new Uint8Array(32).fill(7), ok: true };
    assert.deepEqual(encodeReceipt(ok), encode(receiptToValue(ok)));
    assert.deepEqual(receiptLeaf(ok), encode(receiptToValue(ok)));
  });
});
