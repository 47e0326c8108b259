import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EncodingError } from '../../crypto/encoding.js';
import { Refusal } from '../../crypto/refusal.js';
import { LedgerError } from '../../ledger/errors.js';
import { MempoolError } from '../../node/mempool.js';
import { RpcError } from '../../rpc/errors.js';

/** Stack lines below the "Name: message" line: a refusal has none. */
const frames = (e: Error) =>
  (e.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim().startsWith('at '));

describe('Refusal: one stack-less base for answers to bad input', () => {
  it('every refusal class extends it and carries no stack frames; bugs keep theirs', () => {
    const refusals: Error[] = [
      new EncodingError('bad tag', 3),
      new LedgerError('BAD_NONCE', 'nonce 5, expected 4'),
      new MempoolError('MEMPOOL_FULL', 'full'),
      new RpcError(-32602, 'Invalid params'),
    ];
    for (const e of refusals) {
      assert.ok(e instanceof Refusal && e instanceof Error, e.name);
      assert.deepEqual(frames(e), [], e.name);
      assert.match(e.message, /./);
    }
    assert.ok(frames(new Error('a bug')).length > 0);
  });

  it('restores Error.stackTraceLimit', () => {
    const before = Error.stackTraceLimit;
    new Refusal('x');
    assert.equal(Error.stackTraceLimit, before);
  });
});
