/** WebSocket transport: calls, subscriptions, back-fill joined to live, lag, heartbeats. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FakeBackend, hashOf } from './fake-backend.js';
import { type Started, startServer, until, WsClient } from './helpers.js';

const started: Started[] = [];
const clients: WsClient[] = [];
async function server(opts: Parameters<typeof startServer>[0] = {}, backend?: FakeBackend): Promise<Started> {
  const s = await startServer(opts, backend);
  started.push(s);
  return s;
}
async function client(url: string, options = {}): Promise<WsClient> {
  const c = await WsClient.connect(url, options);
  clients.push(c);
  return c;
}
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(started.map((s) => s.server.stop()));
});

/** Appends and publishes one block every `ms` (stored first, as the node does), until stopped. */
function producer(s: Started, ms: number, publishIf: (height: number) => boolean = () => true): () => void {
  const timer = setInterval(() => {
    const h = s.backend.addBlock();
    if (publishIf(h.height)) s.server.publish('newBlocks', h);
  }, ms);
  return () => clearInterval(timer);
}

function heightsOf(c: WsClient, sub: string): number[] {
  return c.notifications(sub).map((n) => n.params.result.height);
}

function assertContiguous(heights: number[], from: number): void {
  const want = Array.from({ length: heights.length }, (_, i) => from + i);
  assert.deepEqual(heights, want, 'every height exactly once, in order');
}

describe('WebSocket calls', () => {
  it('serves the same methods, batches, errors and notifications as HTTP', async () => {
    const s = await server();
    const c = await client(s.wsUrl);
    const info = await c.call('chain_getInfo');
    assert.equal(info.result.chainId, 'synod-test');

    c.send([
      { jsonrpc: '2.0', method: 'chain_getBlock', params: { height: 1 }, id: 'b1' },
      { jsonrpc: '2.0', method: 'node_getStatus' },
      { jsonrpc: '2.0', method: 'nope', id: 'b2' },
    ]);
    const batch = await c.waitFor((m) => Array.isArray(m), 2_000, 'batch answer');
    assert.equal(batch.length, 2);
    assert.equal(batch.find((m: { id: string }) => m.id === 'b1').result.header.height, 1);
    assert.equal(batch.find((m: { id: string }) => m.id === 'b2').error.code, -32601);

    c.send('{not json');
    const parse = await c.waitFor((m) => m.error?.code === -32700, 2_000, 'parse error');
    assert.equal(parse.id, null);

    const before = c.messages.length;
    c.send({ jsonrpc: '2.0', method: 'chain_getInfo' }); // notification: no answer
    await c.call('node_getStatus');
    assert.equal(c.messages.length, before + 1);

    const bad = await c.call('subscribe', { topic: 'bogus' });
    assert.equal(bad.error.code, -32602);
    assert.equal(bad.error.data.issues[0].field, 'topic');
  });
});

describe('newBlocks subscriptions', () => {
  it('back-fills from fromHeight then goes live with no gap or duplicate while blocks keep arriving', async () => {
    const backend = new FakeBackend(150);
    const s = await server({}, backend);
    // Slow reads so the producer keeps committing during the back-fill.
    s.backend.headerDelayMs = 3;
    const stop = producer(s, 2);
    try {
      const c = await client(s.wsUrl);
      const res = await c.call('subscribe', { topic: 'newBlocks', fromHeight: 10 });
      const sub = res.result as string;
      assert.match(sub, /^0x[0-9a-f]{16}$/);
      // More subscribers joining at other points of history, on other connections.
      const others: [WsClient, string, number][] = [];
      for (const from of [0, 149, 160]) {
        const o = await client(s.wsUrl);
        others.push([o, (await o.call('subscribe', { topic: 'newBlocks', fromHeight: from })).result, from]);
      }
      const target = s.backend.tip + 150;
      const reached = (x: WsClient, id: string) => (heightsOf(x, id).at(-1) ?? -1) >= target;
      await until(
        () => reached(c, sub) && others.every(([o, id]) => reached(o, id)),
        15_000,
        `height ${target} on every subscriber`,
      );
      stop();
      const heights = heightsOf(c, sub);
      assertContiguous(heights, 10);
      for (const [o, id, from] of others) assertContiguous(heightsOf(o, id), from);
      // The subscribe answer reached the client before any notification.
      const answerAt = c.messages.findIndex((m) => m.id === res.id);
      const firstNote = c.messages.findIndex((m) => m.method === 'subscription');
      assert.ok(answerAt < firstNote);
      // Storage served the history, the live stream the rest (a few reads, not one per block).
      const reads = s.backend.calls.filter((x) => x.method === 'getBlockHeaders').length;
      assert.ok(reads >= 4 && reads < 60, `${reads} storage reads`);
    } finally {
      stop();
    }
  });

  it('fills gaps from storage when a publish is missed', async () => {
    const s = await server({}, new FakeBackend(20));
    const stop = producer(s, 2, (h) => h % 3 !== 0);
    try {
      const c = await client(s.wsUrl);
      const sub = (await c.call('subscribe', { topic: 'newBlocks', fromHeight: 0 })).result;
      await until(() => (heightsOf(c, sub).at(-1) ?? -1) >= 120, 15_000, 'height 120');
      stop();
      assertContiguous(heightsOf(c, sub), 0);
    } finally {
      stop();
    }
  });

  it('waits for a fromHeight beyond the tip, then starts exactly there', async () => {
    const s = await server({}, new FakeBackend(5));
    const c = await client(s.wsUrl);
    const sub = (await c.call('subscribe', { topic: 'newBlocks', fromHeight: 8 })).result;
    for (let i = 0; i < 6; i++) s.server.publish('newBlocks', s.backend.addBlock());
    await until(() => heightsOf(c, sub).length >= 3, 5_000, 'three blocks');
    assert.deepEqual(heightsOf(c, sub), [8, 9, 10]);
  });

  it('without fromHeight delivers live blocks only', async () => {
    const s = await server({}, new FakeBackend(5));
    const c = await client(s.wsUrl);
    const sub = (await c.call('subscribe', { topic: 'newBlocks' })).result;
    s.server.publish('newBlocks', s.backend.addBlock());
    s.server.publish('newBlocks', s.backend.addBlock());
    s.server.publish('newBlocks', s.backend.blocks[6] as never); // duplicate: dropped
    await until(() => heightsOf(c, sub).length >= 2, 5_000, 'two blocks');
    assert.deepEqual(heightsOf(c, sub), [5, 6]);
    const n = c.notifications(sub)[0];
    assert.deepEqual(n, {
      jsonrpc: '2.0',
      method: 'subscription',
      params: { subscription: sub, result: s.backend.blocks[5] },
    });
  });

  it('stops delivering after unsubscribe', async () => {
    const s = await server({}, new FakeBackend(3));
    const c = await client(s.wsUrl);
    const sub = (await c.call('subscribe', { topic: 'newBlocks' })).result;
    assert.equal((await c.call('unsubscribe', { subscription: sub })).result, true);
    assert.equal((await c.call('unsubscribe', { subscription: sub })).result, false);
    s.server.publish('newBlocks', s.backend.addBlock());
    await c.call('node_getStatus'); // a round trip after the publish
    assert.equal(c.notifications(sub).length, 0);
    assert.equal(s.server.stats().subscriptions, 0);
  });

  it('sends `lagged` (not a silent drop) to a client that stops reading, with where to resume', async () => {
    const s = await server(
      { limits: { wsSubscriptionBuffer: 8, wsHighWaterBytes: 16 * 1024 } },
      new FakeBackend(1),
    );
    const c = await client(s.wsUrl);
    const sub = (await c.call('subscribe', { topic: 'newBlocks' })).result;
    c.ws.pause(); // the client stops reading; the kernel buffers fill, then the server's queue
    const pad = 'p'.repeat(4096);
    for (let round = 0; round < 400 && s.server.stats().subscriptions > 0; round++) {
      for (let i = 0; i < 20; i++) s.server.publish('newBlocks', s.backend.addBlock({ pad }));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(s.server.stats().subscriptions, 0, 'the subscription was closed as lagged');
    c.ws.resume();
    const lagged = await c.waitFor((m) => m.method === 'lagged', 15_000, 'lagged notice');
    const heights = heightsOf(c, sub);
    assert.ok(heights.length > 0);
    assertContiguous(heights, 1);
    assert.equal(lagged.params.subscription, sub);
    assert.equal(lagged.params.nextHeight, (heights.at(-1) as number) + 1);
    assert.ok(lagged.params.dropped > 8);
    // Nothing after the lagged notice for that subscription.
    const lagAt = c.messages.indexOf(lagged);
    assert.ok(c.messages.slice(lagAt + 1).every((m) => m.params?.subscription !== sub));
    // Resubscribing from nextHeight continues without a gap (back-filled from storage).
    const again = (await c.call('subscribe', { topic: 'newBlocks', fromHeight: lagged.params.nextHeight }))
      .result;
    await until(() => heightsOf(c, again).length >= 5, 10_000, 'resumed blocks');
    assert.equal(heightsOf(c, again)[0], lagged.params.nextHeight);
  });
});

describe('tx and governance subscriptions', () => {
  it('notifies once when the tx commits, then completes', async () => {
    const s = await server();
    const c = await client(s.wsUrl);
    const hash = hashOf(42, 5);
    const sub = (await c.call('subscribe', { topic: 'tx', hash: hash.toUpperCase().replace('0X', '0x') }))
      .result;
    s.server.publish('tx', { hash: hashOf(43, 5), height: 9, index: 0 }); // another tx
    const rec = { hash, height: 9, index: 1, receipt: { status: 'ok' } };
    s.server.publish('tx', rec);
    s.server.publish('tx', rec);
    const n = await c.waitFor((m) => m.params?.subscription === sub, 2_000, 'tx notification');
    assert.deepEqual(n.params.result, rec);
    await c.call('node_getStatus');
    assert.equal(c.notifications(sub).length, 1);
    assert.equal((await c.call('unsubscribe', { subscription: sub })).result, false);
  });

  it('notifies at once for a tx committed before the subscription', async () => {
    const s = await server();
    const hash = hashOf(7, 5);
    const rec = { hash, height: 3, index: 0, receipt: { status: 'ok' } };
    s.backend.txs.set(hash, rec);
    const c = await client(s.wsUrl);
    const sub = (await c.call('subscribe', { topic: 'tx', hash })).result;
    const n = await c.waitFor((m) => m.params?.subscription === sub, 2_000, 'tx notification');
    assert.deepEqual(n.params.result, rec);
  });

  it('forwards governance events', async () => {
    const s = await server();
    const c = await client(s.wsUrl);
    const sub = (await c.call('subscribe', { topic: 'governance' })).result;
    s.server.publish('governance', { kind: 'proposalCreated', id: 1 });
    const n = await c.waitFor((m) => m.params?.subscription === sub, 2_000, 'governance event');
    assert.deepEqual(n.params.result, { kind: 'proposalCreated', id: 1 });
  });
});

describe('heartbeats and shutdown', () => {
  it('terminates a connection that does not answer pings, keeps one that does', async () => {
    const s = await server({ limits: { heartbeatMs: 100 } });
    const deaf = await client(s.wsUrl, { autoPong: false });
    const live = await client(s.wsUrl);
    await until(() => deaf.closed !== undefined, 3_000, 'the deaf client to be cut');
    assert.equal(deaf.closed?.code, 1006); // terminated, no close handshake
    assert.equal(live.closed, undefined);
    assert.equal((await live.call('chain_getInfo')).result.chainId, 'synod-test');
    await until(() => s.server.stats().wsSessions === 1, 2_000, 'session count');
  });

  it('closes WebSocket clients with 1001 on stop and frees their subscriptions', async () => {
    const s = await startServer();
    const c = await client(s.wsUrl);
    await c.call('subscribe', { topic: 'newBlocks' });
    assert.equal(s.server.stats().subscriptions, 1);
    await s.server.stop();
    await until(() => c.closed !== undefined, 3_000, 'close');
    assert.equal(c.closed?.code, 1001);
    assert.equal(s.server.stats().subscriptions, 0);
  });

  it('lets calls in progress finish on stop, answering new ones SHUTTING_DOWN', async () => {
    const s = await startServer();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    s.backend.override.getStatus = async () => {
      await gate;
      return { role: 'validator' };
    };
    const c = await client(s.wsUrl);
    c.send({ jsonrpc: '2.0', method: 'node_getStatus', id: 'slow' });
    await until(() => s.server.stats().inFlight === 1, 2_000, 'slow call in flight');
    const stopped = s.server.stop();
    const late = await c.call('chain_getInfo');
    assert.equal(late.error.code, 1012);
    release();
    const slow = await c.waitFor((m) => m.id === 'slow', 2_000, 'slow answer');
    assert.equal(slow.result.role, 'validator');
    await stopped;
    await until(() => c.closed !== undefined, 3_000, 'close');
    assert.equal(c.closed?.code, 1001);
  });

  it('cuts calls that outlast the shutdown grace', async () => {
    const s = await startServer({ limits: { shutdownGraceMs: 100 } });
    s.backend.override.getStatus = () => new Promise(() => {});
    const c = await client(s.wsUrl);
    c.send({ jsonrpc: '2.0', method: 'node_getStatus', id: 'stuck' });
    await until(() => s.server.stats().inFlight === 1, 2_000, 'stuck call in flight');
    const t0 = Date.now();
    await s.server.stop();
    assert.ok(Date.now() - t0 < 2_000, 'stop() is bounded by the grace');
    assert.equal(s.server.stats().inFlight, 0);
  });

  it('refuses upgrades on other paths', async () => {
    const s = await server();
    await assert.rejects(WsClient.connect(`${s.url.replace('http', 'ws')}/other`), /404/);
  });
});
