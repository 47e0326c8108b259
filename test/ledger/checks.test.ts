/**
 * Every stateless and admission rejection gives its typed code, and rule failures give the
 * documented failure receipts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../crypto/encoding.js';
import { checkNonce, checkTx, checkTxBytes, checkTxState } from '../../ledger/checks.js';
import { encodeSignedTx, signedTxToValue } from '../../ledger/codec.js';
import {
  ADMISSION_CODES,
  isReceiptCode,
  LEDGER_ERROR_CODES,
  LedgerError,
  RECEIPT_CODES,
  STATELESS_CODES,
} from '../../ledger/errors.js';
import { applyBlock, simulateTx } from '../../ledger/execute.js';
import { DEFAULT_PARAMS } from '../../ledger/params.js';
import { getAccount, getData } from '../../ledger/state.js';
import { dataPutTx, signTx, transferTx } from '../../ledger/tx-builder.js';
import type { SignedTransaction } from '../../ledger/types.js';
import { CHAIN_ID, Chain, fixtureGenesis, key, wallet } from './helpers.js';

const opts = { chainId: CHAIN_ID, txBytesMax: DEFAULT_PARAMS.txBytesMax };

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LedgerError) return e.code;
    throw e;
  }
  assert.fail('expected a LedgerError');
}

function goodTx(): SignedTransaction {
  return wallet('alpha-admin').transfer(key('beta-admin').address, 5n);
}

describe('error codes', () => {
  test('codes are unique and each belongs to one class', () => {
    assert.equal(new Set(LEDGER_ERROR_CODES).size, LEDGER_ERROR_CODES.length);
    for (const c of STATELESS_CODES) assert.equal(isReceiptCode(c), false);
    for (const c of ADMISSION_CODES) assert.equal(isReceiptCode(c), false);
    for (const c of RECEIPT_CODES) assert.equal(isReceiptCode(c), true);
  });
});

describe('stateless checks', () => {
  test('a good transaction passes from bytes and from its decoded form, with one hash', () => {
    const stx = goodTx();
    const bytes = encodeSignedTx(stx);
    const a = checkTxBytes(bytes, opts);
    const b = checkTx(stx, opts);
    assert.deepEqual(a.hash, b.hash);
    assert.equal(a.size, bytes.length);
  });

  test('garbage and non-canonical bytes are MALFORMED', () => {
    const bytes = encodeSignedTx(goodTx());
    assert.equal(
      code(() => checkTxBytes(new Uint8Array([0xff, 1, 2]), opts)),
      'MALFORMED',
    );
    assert.equal(
      code(() => checkTxBytes(Uint8Array.from([...bytes, 0]), opts)),
      'MALFORMED',
    );
    assert.equal(
      code(() => checkTxBytes(bytes.subarray(0, bytes.length - 1), opts)),
      'MALFORMED',
    );
    // A field missing from the body, still canonically encoded.
    const v = signedTxToValue(goodTx());
    const tx = v.tx as Record<string, unknown>;
    const body = { ...(tx.body as Record<string, unknown>) };
    delete body.amount;
    assert.equal(
      code(() => checkTxBytes(encode({ ...v, tx: { ...tx, body } } as never), opts)),
      'MALFORMED',
    );
    // A non-minimal integer: the nonce 0 written as 0x80 0x00.
    const hex = Buffer.from(bytes).toString('hex');
    const nonceField = Buffer.from('nonce').toString('hex');
    const at = hex.indexOf(nonceField) + nonceField.length;
    assert.equal(hex.slice(at, at + 4), '0300');
    const widened = Buffer.from(`${hex.slice(0, at)}038000${hex.slice(at + 4)}`, 'hex');
    assert.equal(
      code(() => checkTxBytes(widened, opts)),
      'MALFORMED',
    );
  });

  test('an unknown kind is UNKNOWN_KIND, from bytes and in memory', () => {
    const v = signedTxToValue(goodTx());
    const bytes = encode({ ...v, tx: { ...(v.tx as object), kind: 'asset.mint' } } as never);
    assert.equal(
      code(() => checkTxBytes(bytes, opts)),
      'UNKNOWN_KIND',
    );
    const stx = goodTx();
    const odd = { ...stx, tx: { ...stx.tx, kind: 'asset.mint' } } as unknown as SignedTransaction;
    assert.equal(
      code(() => checkTx(odd, opts)),
      'UNKNOWN_KIND',
    );
  });

  test('oversize transaction is TOO_LARGE', () => {
    const stx = wallet('alpha-admin').dataPut('k', new Uint8Array(2000));
    assert.equal(
      code(() => checkTxBytes(encodeSignedTx(stx), { ...opts, txBytesMax: 1000 })),
      'TOO_LARGE',
    );
    assert.equal(
      code(() => checkTx(stx, { ...opts, txBytesMax: 1000 })),
      'TOO_LARGE',
    );
  });

  test('wrong chain id is WRONG_CHAIN_ID', () => {
    const stx = goodTx();
    assert.equal(
      code(() => checkTx(stx, { ...opts, chainId: 'other' })),
      'WRONG_CHAIN_ID',
    );
  });

  test('a signature by another key over the same from is ADDRESS_MISMATCH', () => {
    const tx = transferTx(
      { chainId: CHAIN_ID, from: key('alpha-admin').address, nonce: 0 },
      key('x').address,
      1n,
    );
    const stx = signTx(tx, key('mallory'));
    assert.equal(
      code(() => checkTx(stx, opts)),
      'ADDRESS_MISMATCH',
    );
  });

  test('a flipped signature bit, or a changed field, is BAD_SIGNATURE', () => {
    const stx = goodTx();
    const sig = stx.signature.slice();
    sig[10]! ^= 1;
    assert.equal(
      code(() => checkTx({ ...stx, signature: sig }, opts)),
      'BAD_SIGNATURE',
    );
    const changed = { ...stx, tx: { ...stx.tx, nonce: 1 } } as SignedTransaction;
    assert.equal(
      code(() => checkTx(changed, opts)),
      'BAD_SIGNATURE',
    );
    // The pluggable verifier decides.
    assert.equal(
      code(() => checkTx(stx, { ...opts, verify: () => false })),
      'BAD_SIGNATURE',
    );
  });
});

describe('admission (block-invalid) checks', () => {
  const chain = new Chain(
    fixtureGenesis({
      accounts: [
        { label: 'client', member: 'alpha', roles: ['transfer'], balance: 100n },
        { label: 'reader', member: 'alpha', roles: [], balance: 100n },
      ],
    }),
  );
  const height = 1;

  test('replayed nonce is BAD_NONCE with expected and got', () => {
    const first = wallet('client').transfer(key('alpha-admin').address, 1n);
    const c2 = new Chain(chain.doc);
    c2.produce([first]);
    try {
      simulateTx(c2.state, first, 2);
      assert.fail('accepted a replay');
    } catch (e) {
      assert.ok(e instanceof LedgerError);
      assert.equal(e.code, 'BAD_NONCE');
      assert.deepEqual(e.details, { expected: 1, got: 0 });
    }
  });

  test('skipped nonce is BAD_NONCE in a block, NONCE_TOO_FAR past a mempool window', () => {
    const ahead = wallet('client', 2).transfer(key('alpha-admin').address, 1n);
    assert.equal(
      code(() => simulateTx(chain.state, ahead, height)),
      'BAD_NONCE',
    );
    assert.doesNotThrow(() => checkTxState(chain.state, ahead, { nonceWindow: 2 }));
    assert.equal(
      code(() => checkTxState(chain.state, ahead, { nonceWindow: 1 })),
      'NONCE_TOO_FAR',
    );
    const account = getAccount(chain.state, key('client').address)!;
    assert.equal(
      code(() => checkNonce(account, 1)),
      'BAD_NONCE',
    );
  });

  test('a key with no account is UNKNOWN_ACCOUNT', () => {
    const stx = wallet('stranger').transfer(key('alpha-admin').address, 1n);
    assert.equal(
      code(() => simulateTx(chain.state, stx, height)),
      'UNKNOWN_ACCOUNT',
    );
  });

  test('a revoked account is ACCOUNT_REVOKED, and an admin of another member may not revoke', () => {
    const c = new Chain(chain.doc);
    const b = c.produce([
      wallet('beta-admin').revoke(key('client').address),
      wallet('alpha-admin').revoke(key('client').address),
    ]);
    assert.equal(b.receipts[0]!.code, 'NOT_PERMITTED');
    assert.equal(b.receipts[1]!.ok, true);
    const stx = wallet('client').transfer(key('alpha-admin').address, 1n);
    assert.equal(
      code(() => simulateTx(c.state, stx, c.height + 1)),
      'ACCOUNT_REVOKED',
    );
  });

  test('applyBlock names the failing transaction index', () => {
    const good = wallet('client').transfer(key('alpha-admin').address, 1n);
    const bad = wallet('stranger').transfer(key('alpha-admin').address, 1n);
    const block = { header: { ...chain.header, height: 1 }, txs: [good, bad] };
    try {
      applyBlock(chain.state, block);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof LedgerError);
      assert.equal(e.code, 'UNKNOWN_ACCOUNT');
      assert.equal(e.details.txIndex, 1);
    }
  });

  test('the same transaction twice in a block is DUPLICATE_TX', () => {
    const good = wallet('client').transfer(key('alpha-admin').address, 1n);
    const block = { header: { ...chain.header, height: 1 }, txs: [good, good] };
    assert.equal(
      code(() => applyBlock(chain.state, block)),
      'DUPLICATE_TX',
    );
  });
});

describe('rule failures are receipts that consume the nonce', () => {
  const doc = fixtureGenesis({
    accounts: [
      { label: 'client', member: 'alpha', roles: ['transfer'], balance: 100n },
      { label: 'reader', member: 'alpha', roles: [], balance: 100n },
    ],
    params: { dataKeyBytesMax: 8, dataValueBytesMax: 16 },
  });

  const cases: [string, () => SignedTransaction, string][] = [
    ['no right for data.put', () => wallet('client').dataPut('k', new Uint8Array(1)), 'NOT_PERMITTED'],
    ['no role at all', () => wallet('reader').transfer(key('client').address, 1n), 'NOT_PERMITTED'],
    [
      'balance too low',
      () => wallet('client').transfer(key('alpha-admin').address, 101n),
      'INSUFFICIENT_BALANCE',
    ],
    ['zero amount', () => wallet('client').transfer(key('alpha-admin').address, 0n), 'INVALID_AMOUNT'],
    ['unknown recipient', () => wallet('client').transfer(key('nobody').address, 1n), 'UNKNOWN_RECIPIENT'],
    [
      'memo too long',
      () => wallet('client').transfer(key('alpha-admin').address, 1n, 'm'.repeat(257)),
      'FIELD_TOO_LARGE',
    ],
    [
      'data key too long',
      () => wallet('alpha-admin').dataPut('123456789', new Uint8Array(1)),
      'FIELD_TOO_LARGE',
    ],
    ['data value too long', () => wallet('alpha-admin').dataPut('k', new Uint8Array(17)), 'FIELD_TOO_LARGE'],
    ['empty data key', () => wallet('alpha-admin').dataPut('', new Uint8Array(1)), 'INVALID_FIELD'],
    ['unknown role', () => wallet('alpha-admin').register(key('new').publicKey, ['root']), 'INVALID_FIELD'],
    [
      'register an existing key',
      () => wallet('alpha-admin').register(key('client').publicKey, []),
      'ACCOUNT_EXISTS',
    ],
    ['register by a non-admin', () => wallet('client').register(key('new').publicKey, []), 'NOT_PERMITTED'],
    ['revoke an unknown key', () => wallet('alpha-admin').revoke(key('nobody').address), 'UNKNOWN_TARGET'],
    ['revoke oneself', () => wallet('alpha-admin').revoke(key('alpha-admin').address), 'NOT_PERMITTED'],
  ];
  for (const [name, make, expected] of cases) {
    test(`${name}: ${expected}`, () => {
      const chain = new Chain(doc);
      const stx = make();
      const before = getAccount(chain.state, stx.tx.from)!;
      const b = chain.produce([stx]);
      assert.equal(b.receipts[0]!.ok, false);
      assert.equal(b.receipts[0]!.code, expected);
      assert.ok(b.receipts[0]!.message);
      const after = getAccount(chain.state, stx.tx.from)!;
      assert.equal(after.nonce, before.nonce + 1);
      assert.deepEqual({ ...after, nonce: before.nonce }, before);
      // Only the sender's account changed.
      assert.equal(b.diff.length, 1);
    });
  }

  test('a successful data.put writes, an empty value deletes', () => {
    const chain = new Chain(doc);
    const w = wallet('alpha-admin');
    chain.produce([w.dataPut('k', Uint8Array.of(1, 2))]);
    assert.deepEqual(getData(chain.state, key('alpha-admin').address, 'k'), Uint8Array.of(1, 2));
    chain.produce([w.dataPut('k', new Uint8Array(0))]);
    assert.equal(getData(chain.state, key('alpha-admin').address, 'k'), undefined);
  });

  test('builders give exactly the documented shapes', () => {
    const tx = dataPutTx({ chainId: CHAIN_ID, from: key('a').address, nonce: 3 }, 'k', Uint8Array.of(1));
    assert.deepEqual(tx, {
      chainId: CHAIN_ID,
      from: key('a').address,
      nonce: 3,
      kind: 'data.put',
      body: { key: 'k', value: Uint8Array.of(1) },
    });
  });
});
