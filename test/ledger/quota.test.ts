/**
 * Per-member storage quota of data.put (issue 23, finding 9): a member's data keys and bytes are
 * bounded by the chain parameters memberDataKeysMax / memberDataBytesMax, counted in the state
 * (`usage/<member>`), so every node agrees and a restart keeps the count.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateBlock } from '../../ledger/block.js';
import { DEFAULT_PARAMS } from '../../ledger/params.js';
import { getData, getDataUsage } from '../../ledger/state.js';
import type { Receipt } from '../../ledger/types.js';
import { Chain, fixtureGenesis, key, wallet } from './helpers.js';

const bytes = (n: number) => new Uint8Array(n).fill(7);
const codes = (rs: Receipt[]) => rs.map((r) => r.code ?? 'ok');

function chainWith(params: Record<string, number>): Chain {
  return new Chain(
    fixtureGenesis({
      members: ['alpha', 'beta'],
      params,
      accounts: [
        { label: 'alpha-data', member: 'alpha', roles: ['data'], balance: 0n },
        { label: 'alpha-data2', member: 'alpha', roles: ['data'], balance: 0n },
        { label: 'beta-data', member: 'beta', roles: ['data'], balance: 0n },
      ],
    }),
  );
}

describe('data.put quota per member', () => {
  test('puts up to memberDataKeysMax succeed, the next fails with QUOTA_EXCEEDED; overwrite and delete stay possible', () => {
    const chain = chainWith({ memberDataKeysMax: 3 });
    const a = wallet('alpha-data');
    const a2 = wallet('alpha-data2');
    const b1 = chain.produce([
      a.dataPut('k0', bytes(4)),
      a.dataPut('k1', bytes(4)),
      a2.dataPut('k2', bytes(4)),
    ]);
    assert.deepEqual(codes(b1.receipts), ['ok', 'ok', 'ok']);
    assert.deepEqual(getDataUsage(chain.state, 'alpha'), { keys: 3, bytes: 3 * (2 + 4) });
    // The quota is the member's, whichever of its accounts writes; the failing put is included.
    const b2 = chain.produce([
      a.dataPut('k3', bytes(4)),
      a2.dataPut('k3', bytes(4)),
      wallet('beta-data').dataPut('k0', bytes(4)),
      a.dataPut('k0', bytes(9)),
    ]);
    assert.deepEqual(codes(b2.receipts), ['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', 'ok', 'ok']);
    assert.equal(getData(chain.state, key('alpha-data').address, 'k3'), undefined);
    assert.equal(getData(chain.state, key('alpha-data').address, 'k0')?.length, 9);
    assert.equal(chain.account('alpha-data')!.nonce, 4, 'a refused put consumes its nonce');
    assert.deepEqual(getDataUsage(chain.state, 'alpha'), { keys: 3, bytes: 2 * (2 + 4) + (2 + 9) });
    assert.deepEqual(getDataUsage(chain.state, 'beta'), { keys: 1, bytes: 2 + 4 });
    // Deleting a key (an empty value) frees its share; then a new key fits again.
    const b3 = chain.produce([
      a.dataPut('k1', bytes(0)),
      a.dataPut('k3', bytes(4)),
      a.dataPut('k4', bytes(4)),
    ]);
    assert.deepEqual(codes(b3.receipts), ['ok', 'ok', 'QUOTA_EXCEEDED']);
    assert.deepEqual(getDataUsage(chain.state, 'alpha'), { keys: 3, bytes: 2 * (2 + 4) + (2 + 9) });
  });

  test('memberDataBytesMax counts key and value bytes; an overwrite may shrink but not grow past it', () => {
    const chain = chainWith({ dataKeyBytesMax: 16, dataValueBytesMax: 1000, memberDataBytesMax: 2500 });
    const a = wallet('alpha-data');
    const b1 = chain.produce([
      a.dataPut('a', bytes(1000)), // 1001
      a.dataPut('b', bytes(1000)), // 2002
      a.dataPut('c', bytes(1000)), // 3003 > 2500
      a.dataPut('c', bytes(497)), // 2500: exactly the quota
      a.dataPut('a', bytes(1001)), // value above dataValueBytesMax: the field rule first
    ]);
    assert.deepEqual(codes(b1.receipts), ['ok', 'ok', 'QUOTA_EXCEEDED', 'ok', 'FIELD_TOO_LARGE']);
    assert.deepEqual(getDataUsage(chain.state, 'alpha'), { keys: 3, bytes: 2500 });
    const b2 = chain.produce([
      a.dataPut('b', bytes(1)), // shrinks: 1501
      a.dataPut('b', bytes(1000)), // back to 2500
      a.dataPut('b', bytes(1000)), // same size: no growth
      a.dataPut('a', bytes(1000)), // unchanged size
      a.dataPut('d', bytes(0)), // deleting an absent key changes nothing
      a.dataPut('e', bytes(1)), // 2502 > 2500
    ]);
    assert.deepEqual(codes(b2.receipts), ['ok', 'ok', 'ok', 'ok', 'ok', 'QUOTA_EXCEEDED']);
    assert.deepEqual(getDataUsage(chain.state, 'alpha'), { keys: 3, bytes: 2500 });
  });

  test('the usage count is state: re-validating the blocks reproduces every root', () => {
    const chain = chainWith({ memberDataKeysMax: 2 });
    const a = wallet('alpha-data');
    chain.produce([a.dataPut('x', bytes(1)), a.dataPut('y', bytes(1))]);
    chain.produce([a.dataPut('z', bytes(1))]);
    // Chain.produce validated each block on its parent state; a fresh replay must agree too.
    const replay = chainWith({ memberDataKeysMax: 2 });
    let state = replay.state;
    let header = replay.header;
    for (const built of chain.blocks) {
      const v = validateBlock(state, header, built.block);
      assert.deepEqual(v.stateRoot, built.stateRoot);
      assert.deepEqual(codes(v.receipts), codes(built.receipts));
      state = v.state;
      header = built.block.header;
    }
    assert.deepEqual(getDataUsage(state, 'alpha'), { keys: 2, bytes: 4 });
  });

  test('the default quota is generous: a chain with default parameters stores many keys per member', () => {
    assert.ok(DEFAULT_PARAMS.memberDataKeysMax >= 100_000);
    assert.ok(DEFAULT_PARAMS.memberDataBytesMax >= 64 * 1024 * 1024);
    const chain = chainWith({});
    const a = wallet('alpha-data');
    const b = chain.produce(Array.from({ length: 50 }, (_, i) => a.dataPut(`key-${i}`, bytes(64))));
    assert.ok(b.receipts.every((r) => r.ok));
  });
});
