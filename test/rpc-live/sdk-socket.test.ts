/**
 * The SDK's WebSocket client against the real RPC server over an in-memory backend (no chain):
 * blocks arrive exactly once and in order across forced drops while blocks are produced fast,
 * and across a server that stops and comes back on the same port after blocks were added.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { SynodSocket, TxTimeoutError } from '../../rpc/client.js';
import { RpcServer } from '../../rpc/server.js';
import { FakeBackend, hashOf } from '../rpc/fake-backend.js';

const silent = pino({ level: 'silent' });
const servers: RpcServer[] = [];
const sockets: SynodSocket[] = [];
after(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

async function serve(
  backend: FakeBackend,
  port = 0,
): Promise<{ server: RpcServer; url: string; port: number }> {
  const server = new RpcServer({ backend, logger: silent, port, limits: { shutdownGraceMs: 0 } });
  servers.push(server);
  const addr = await server.start();
  return { server, url: `${addr.url}/rpc`, port: addr.port };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function contiguous(heights: number[], from: number): void {
  assert.deepEqual(
    heights,
    heights.map((_, i) => from + i),
    'every height exactly once, in order',
  );
}

describe('SynodSocket', () => {
  test('forced drops while blocks come every few ms: every block once, in order', async () => {
    const backend = new FakeBackend(50);
    const { server, url } = await serve(backend);
    const timer = setInterval(() => server.publish('newBlocks', backend.addBlock()), 3);
    try {
      const socket = new SynodSocket(url, { reconnectMinMs: 1, reconnectMaxMs: 20 });
      sockets.push(socket);
      const seen: number[] = [];
      await socket.subscribeBlocks({ fromHeight: 10, onBlock: (h) => seen.push(h.height) });
      for (let i = 0; i < 8; i++) {
        const n = seen.length;
        await until(() => seen.length > n + 3, 5_000, `blocks after drop ${i}`);
        socket.reconnect();
      }
      const n = seen.length;
      await until(() => seen.length > n + 3, 5_000, 'blocks after the last drop');
      contiguous(seen, 10);
    } finally {
      clearInterval(timer);
    }
  });

  test('a server that stops and comes back: the gap is back-filled, nothing is repeated', async () => {
    const backend = new FakeBackend(5);
    const first = await serve(backend);
    const statuses: string[] = [];
    const socket = new SynodSocket(first.url, {
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
      onStatus: (e) => statuses.push(e.type),
    });
    sockets.push(socket);
    const seen: number[] = [];
    // No fromHeight: from the block after the current tip (height 4), i.e. 5 on.
    const sub = await socket.subscribeBlocks({ onBlock: (h) => seen.push(h.height) });
    for (let i = 0; i < 3; i++) first.server.publish('newBlocks', backend.addBlock());
    await until(() => seen.length === 3, 5_000, 'three live blocks');
    await first.server.stop();
    // Blocks committed while the client cannot hear about them.
    for (let i = 0; i < 20; i++) backend.addBlock();
    const second = await serve(backend, first.port);
    for (let i = 0; i < 3; i++) second.server.publish('newBlocks', backend.addBlock());
    await until(() => (sub.lastHeight ?? 0) >= backend.tip, 10_000, 'the tip after the restart');
    contiguous(seen, 5);
    assert.equal(seen.at(-1), backend.tip);
    assert.ok(statuses.includes('reconnecting'));
  });

  test('waitForTx over the socket: found in storage or when published; bounded otherwise', async () => {
    const backend = new FakeBackend(3);
    const { server, url } = await serve(backend);
    const socket = new SynodSocket(url);
    sockets.push(socket);
    const stored = hashOf(1, 7);
    backend.txs.set(stored, { hash: stored, height: 1, index: 0 });
    assert.equal((await socket.waitForTx(stored, 2_000)).height, 1);
    const later = hashOf(2, 7);
    const waiting = socket.waitForTx(later, 5_000);
    await new Promise((r) => setTimeout(r, 20));
    server.publish('tx', { hash: later, height: 2, index: 3 });
    assert.equal((await waiting).index, 3);
    await assert.rejects(socket.waitForTx(hashOf(3, 7), 50), TxTimeoutError);
  });
});
