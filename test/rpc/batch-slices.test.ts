/**
 * A batch's calls start in slices of BATCH_SLICE_MS with a turn of the event loop between them,
 * so other callbacks (on a validator: consensus messages) run while a large batch is answered,
 * and the answers are the same as before: every call answered, in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_SLICE_MS, Dispatcher } from '../../rpc/dispatch.js';
import { NO_METRICS } from '../../rpc/metrics.js';
import { LimitsSchema } from '../../rpc/options.js';
import { FakeBackend } from './fake-backend.js';
import { silent } from './helpers.js';

const caller = () => ({
  transport: 'http' as const,
  remoteAddress: '127.0.0.1',
  signal: new AbortController().signal,
});

/** Holds the thread for `ms`, as a signature check holds it (synchronously). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

function submitBatch(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({
    jsonrpc: '2.0',
    id: i,
    method: 'tx_submit',
    params: { tx: `0x${i.toString(16).padStart(4, '0')}` },
  }));
}

describe('batch slices', () => {
  it('lets the event loop run between slices of a batch whose calls hold the thread', async () => {
    const backend = new FakeBackend();
    const perCallMs = BATCH_SLICE_MS / 2;
    let started = 0;
    backend.override.submitTx = async (tx: Uint8Array) => {
      started++;
      busy(perCallMs);
      return { hash: `0x${Buffer.from(tx).toString('hex')}` };
    };
    const d = new Dispatcher({ backend, log: silent, limits: LimitsSchema.parse({}), metrics: NO_METRICS });
    const n = 40; // about 20 slices' worth of work
    const startedAtTurn: number[] = [];
    let turns = 0;
    const watch = () => {
      turns++;
      startedAtTurn.push(started);
      if (started < n && turns < 10_000) setImmediate(watch);
    };
    setImmediate(watch);
    const out = await d.handlePayload(submitBatch(n), caller());

    // Other callbacks ran while the batch was being started, not only after it.
    const midBatch = startedAtTurn.filter((s) => s > 0 && s < n);
    assert.ok(midBatch.length >= 2, `callbacks ran mid-batch at ${JSON.stringify(startedAtTurn)}`);
    // No stretch between two turns started more calls than fit in a slice (plus the one that
    // crossed the budget).
    const perTurn = startedAtTurn.map((s, i) => s - (i === 0 ? 0 : startedAtTurn[i - 1]!));
    const mostPerTurn = Math.max(...perTurn);
    assert.ok(
      mostPerTurn <= Math.ceil(BATCH_SLICE_MS / perCallMs) + 1,
      `at most a slice of calls per turn, saw ${JSON.stringify(perTurn)}`,
    );

    const answers = JSON.parse(out as string) as { id: number; result: { hash: string } }[];
    assert.equal(answers.length, n);
    answers.forEach((a, i) => {
      assert.equal(a.id, i);
      assert.equal(a.result.hash, `0x${i.toString(16).padStart(4, '0')}`);
    });
  });

  it('answers a 2,000-call batch completely and in order', async () => {
    const backend = new FakeBackend();
    const d = new Dispatcher({
      backend,
      log: silent,
      limits: LimitsSchema.parse({ maxBatch: 2_000 }),
      metrics: NO_METRICS,
    });
    const out = await d.handlePayload(submitBatch(2_000), caller());
    const answers = JSON.parse(out as string) as { id: number }[];
    assert.deepEqual(
      answers.map((a) => a.id),
      Array.from({ length: 2_000 }, (_, i) => i),
    );
    assert.equal(backend.calls.length, 2_000);
  });

  it('a batch interrupted between slices answers its later calls with the interruption', async () => {
    const backend = new FakeBackend();
    backend.override.submitTx = async () => {
      busy(BATCH_SLICE_MS);
      return { hash: '0x00' };
    };
    const d = new Dispatcher({ backend, log: silent, limits: LimitsSchema.parse({}), metrics: NO_METRICS });
    // Shutdown begins after the first slice; calls started after it answer SHUTTING_DOWN.
    setImmediate(() => d.beginShutdown());
    const out = await d.handlePayload(submitBatch(6), caller());
    const answers = JSON.parse(out as string) as { id: number; result?: unknown; error?: { code: number } }[];
    assert.equal(answers.length, 6);
    assert.ok(answers[0]!.result !== undefined, 'the first call ran');
    assert.equal(answers[5]!.error?.code, 1012, 'the last call was started after shutdown began');
  });
});
