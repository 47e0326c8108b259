/**
 * The newBlocks back-fill/live join as a property: for any history length, starting height,
 * schedule of blocks (published or silently skipped) and storage latency, a subscriber gets
 * every height from its start exactly once, in order. Runs on the hub with a fake socket, so
 * thousands of interleavings take a second.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BlockHeaderJson } from '../../rpc/backend.js';
import { NO_METRICS } from '../../rpc/metrics.js';
import { Outbox, type SocketLike, SubscriptionHub } from '../../rpc/subscriptions.js';
import { FakeBackend } from './fake-backend.js';
import { silent } from './helpers.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

class FakeSocket implements SocketLike {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  send(data: string, cb?: (err?: Error) => void): void {
    this.sent.push(data);
    if (cb) setImmediate(cb);
  }
  heights(sub: string): number[] {
    return this.sent
      .map((t) => JSON.parse(t))
      .filter((m) => m.method === 'subscription' && m.params.subscription === sub)
      .map((m) => m.params.result.height);
  }
}

const BIG = 1 << 30;

describe('newBlocks back-fill joined to live (property)', () => {
  it('delivers every height from fromHeight exactly once, in order, for any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(250),
        fc.nat(300),
        fc.array(fc.constantFrom('publish', 'publish', 'publish', 'skip', 'turn', 'turn'), {
          maxLength: 150,
        }),
        fc.array(fc.nat(4), { minLength: 1, maxLength: 10 }),
        async (initial, fromHeight, schedule, readTurns) => {
          const backend = new FakeBackend(initial);
          let reads = 0;
          backend.override.getBlockHeaders = (async (from: number, to: number) => {
            const n = readTurns[reads++ % readTurns.length] as number;
            for (let i = 0; i < n; i++) await turn();
            return backend.blocks.slice(from, to + 1);
          }) as never;
          const hub = new SubscriptionHub(backend, silent, NO_METRICS);
          const socket = new FakeSocket();
          const limits = { wsSubscriptionBuffer: BIG, wsHighWaterBytes: BIG, wsMaxBufferedBytes: BIG };
          const outbox = new Outbox(socket, limits, NO_METRICS, () => assert.fail('overflow'));
          const sub = hub.create({ topic: 'newBlocks', fromHeight }, outbox, () => {});
          sub.release();
          const publish = (h: BlockHeaderJson) => hub.publish('newBlocks', h);
          for (const step of schedule) {
            if (step === 'publish') publish(backend.addBlock());
            else if (step === 'skip') backend.addBlock();
            else await turn();
          }
          // One last published block: a subscriber only learns of silently skipped blocks
          // from a later publish, as a real one would from the next commit.
          publish(backend.addBlock());
          const want = Math.max(0, backend.tip - fromHeight + 1);
          // Bounded by time, not by event-loop turns: when a block was stored but not published
          // and storage was read before it landed, the back-fill retries on a 10 ms timer, and
          // 500 quick turns can pass before that timer fires.
          const deadline = Date.now() + 5_000;
          while (socket.heights(sub.id).length < want && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1));
          }
          const got = socket.heights(sub.id);
          assert.deepEqual(
            got,
            Array.from({ length: want }, (_, i) => fromHeight + i),
          );
          sub.end('unsubscribed');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails loudly (subscriptionError) when a published block never reaches storage', async () => {
    const backend = new FakeBackend(3);
    const hub = new SubscriptionHub(backend, silent, NO_METRICS);
    const socket = new FakeSocket();
    const outbox = new Outbox(
      socket,
      { wsSubscriptionBuffer: 100, wsHighWaterBytes: BIG, wsMaxBufferedBytes: BIG },
      NO_METRICS,
      () => {},
    );
    const sub = hub.create({ topic: 'newBlocks', fromHeight: 0 }, outbox, () => {});
    sub.release();
    // Publishes height 5 while storage ends at 2: heights 3 and 4 are nowhere.
    hub.publish('newBlocks', { height: 5, hash: '0x05' });
    for (let i = 0; i < 400 && !socket.sent.some((t) => t.includes('subscriptionError')); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const err = socket.sent.map((t) => JSON.parse(t)).find((m) => m.method === 'subscriptionError');
    assert.ok(err, 'a subscriptionError notice');
    assert.equal(err.params.subscription, sub.id);
    assert.equal(err.params.error.code, 1014);
    assert.deepEqual(socket.heights(sub.id), [0, 1, 2]);
    assert.equal(hub.size, 0);
  });

  it('ignores malformed published payloads without throwing', () => {
    const backend = new FakeBackend(1);
    const hub = new SubscriptionHub(backend, silent, NO_METRICS);
    const socket = new FakeSocket();
    const outbox = new Outbox(
      socket,
      { wsSubscriptionBuffer: 10, wsHighWaterBytes: BIG, wsMaxBufferedBytes: BIG },
      NO_METRICS,
      () => {},
    );
    hub.create({ topic: 'newBlocks' }, outbox, () => {}).release();
    hub.publish('newBlocks', { height: -1 } as never);
    hub.publish('newBlocks', null as never);
    hub.publish('tx', null as never);
    hub.publish('governance', { big: 1n } as never);
    hub.publish('bogus' as never, {} as never);
    assert.equal(socket.sent.length, 0);
  });
});
