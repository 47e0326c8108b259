/**
 * Forwarded-transaction intake (node/intake.ts): admission in time-bounded slices, arrival
 * order, the queue bound, draining before a proposal executes, and stopping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ForwardedTxIntake, type IntakeOptions } from '../../node/intake.js';

/** Each admission advances a fake clock by 1 ms; a tx whose first byte is odd is "ready". */
function setup(over: Partial<IntakeOptions> = {}) {
  let clock = 0;
  const admitted: string[] = [];
  let readyCalls = 0;
  const intake = new ForwardedTxIntake({
    sliceMs: 3,
    queuedTxsMax: 10,
    admit: (peer, tx) => {
      clock += 1;
      admitted.push(`${peer}:${tx[0]}`);
      return tx[0]! % 2 === 1;
    },
    onReady: () => readyCalls++,
    nowMs: () => clock,
    ...over,
  });
  return { intake, admitted, ready: () => readyCalls };
}

const txs = (...firstBytes: number[]) => firstBytes.map((b) => Uint8Array.of(b, 0, 0));

describe('forwarded tx intake', () => {
  test('a slice stops at its budget and the next one resumes where it stopped, in arrival order', () => {
    const { intake, admitted } = setup();
    assert.equal(intake.push('a', txs(2, 4, 6, 8)), true);
    assert.equal(intake.push('b', txs(10, 12)), true);
    assert.equal(intake.stats.queuedTxs, 6);
    assert.equal(intake.runSlice(), true, 'more left after a 3 ms slice');
    assert.deepEqual(admitted, ['a:2', 'a:4', 'a:6']);
    assert.equal(intake.runSlice(), false, 'the rest fits the next slice');
    assert.deepEqual(admitted, ['a:2', 'a:4', 'a:6', 'a:8', 'b:10', 'b:12']);
    assert.equal(intake.stats.queuedTxs, 0);
  });

  test('onReady is called once per slice that admitted a ready tx, never otherwise', () => {
    const { intake, ready } = setup();
    intake.push('a', txs(2, 4, 6));
    intake.runSlice();
    assert.equal(ready(), 0);
    intake.push('a', txs(2, 3, 5));
    intake.runSlice();
    assert.equal(ready(), 1);
  });

  test('a batch that would overflow the queue is refused whole and counted', () => {
    const { intake, admitted } = setup({ queuedTxsMax: 5 });
    assert.equal(intake.push('a', txs(1, 2, 3)), true);
    assert.equal(intake.push('b', txs(4, 5, 6)), false);
    assert.deepEqual(intake.stats, { queuedTxs: 3, droppedBatches: 1, droppedTxs: 3 });
    assert.equal(intake.push('c', txs(7, 8)), true, 'what fits is still taken');
    intake.drain();
    assert.deepEqual(admitted, ['a:1', 'a:2', 'a:3', 'c:7', 'c:8']);
  });

  test('drain admits everything queued at once, whatever the slice budget', () => {
    const { intake, admitted } = setup({ sliceMs: 1 });
    intake.push('a', txs(1, 2, 3));
    intake.push('b', txs(4, 5));
    intake.drain();
    assert.equal(admitted.length, 5);
    assert.equal(intake.stats.queuedTxs, 0);
  });

  test('queued batches are admitted by themselves, a slice per turn of the event loop', async () => {
    const { intake, admitted } = setup();
    intake.push('a', txs(1, 2, 3, 4, 5, 6, 7));
    assert.equal(admitted.length, 0, 'push only queues');
    await nextTurn();
    assert.equal(admitted.length, 3, 'one slice in the first turn');
    for (let i = 0; i < 5 && admitted.length < 7; i++) await nextTurn();
    assert.equal(admitted.length, 7);
  });

  test('stop drops what is queued and refuses more', async () => {
    const { intake, admitted } = setup();
    intake.push('a', txs(1, 2));
    intake.stop();
    assert.equal(intake.push('a', txs(3)), false);
    await nextTurn();
    assert.deepEqual(admitted, []);
    assert.equal(intake.stats.queuedTxs, 0);
  });
});
