/** Every limit answers with an error (or a clean close), never a hang. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { call, http, rpc, type Started, startServer, until, WsClient, within } from './helpers.js';

const started: Started[] = [];
async function server(limits: Record<string, number>): Promise<Started> {
  const s = await startServer({ limits });
  started.push(s);
  return s;
}
const sockets: Socket[] = [];
function rawSocket(port: number): Promise<Socket> {
  return within(
    new Promise<Socket>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => resolve(sock));
      sock.on('error', reject);
      sockets.push(sock);
    }),
    2_000,
    'TCP connect',
  );
}
/** Everything the server sends on `sock` until it closes it. */
function readUntilClose(sock: Socket, ms: number): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      let text = '';
      sock.on('data', (d) => {
        text += d.toString();
      });
      sock.on('close', () => resolve(text));
    }),
    ms,
    'server to close the socket',
  );
}

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(started.map((s) => s.server.stop()));
});

describe('body size limit', () => {
  it('answers 413 with TOO_LARGE for a declared over-size body', async () => {
    const s = await server({ maxBodyBytes: 1024 });
    const r = await rpc(s.port, JSON.stringify({ pad: 'x'.repeat(2048) }));
    assert.equal(r.status, 413);
    assert.equal(r.json.id, null);
    assert.equal(r.json.error.code, 1007);
    assert.deepEqual(r.json.error.data, { limit: 'bodyBytes', max: 1024, actual: 2048 + 10 });
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const s = await server({ maxBodyBytes: 1024 });
    const r = await within(
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: s.port, method: 'POST', path: '/rpc', agent: false },
          (res) => {
            let body = '';
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 8; i++) req.write('x'.repeat(512));
        req.end();
      }),
      5_000,
      'chunked 413',
    );
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).error.code, 1007);
  });

  it('survives a multi-megabyte body against the default 1 MiB limit', async () => {
    const s = await server({});
    const r = await rpc(s.port, 'x'.repeat(3 * 1024 * 1024));
    assert.equal(r.status, 413);
    assert.equal(r.json.error.data.max, 1024 * 1024);
    const ok = await rpc(s.port, call('chain_getInfo'));
    assert.equal(ok.status, 200);
  });

  it('accepts a body of exactly the limit', async () => {
    const s = await server({ maxBodyBytes: 1024 });
    const json = JSON.stringify(call('chain_getInfo'));
    const r = await rpc(s.port, json + ' '.repeat(1024 - json.length));
    assert.equal(r.status, 200);
    assert.equal(r.json.result.chainId, 'synod-test');
  });
});

describe('batch length limit', () => {
  it('refuses a batch over maxBatch with TOO_LARGE, id null', async () => {
    const s = await server({ maxBatch: 5 });
    const batch = Array.from({ length: 6 }, (_, i) => call('chain_getInfo', undefined, i));
    const r = await rpc(s.port, batch);
    assert.equal(r.status, 200);
    assert.equal(r.json.id, null);
    assert.equal(r.json.error.code, 1007);
    assert.deepEqual(r.json.error.data, { limit: 'batch', max: 5, actual: 6 });
    const ok = await rpc(s.port, batch.slice(0, 5));
    assert.equal(ok.json.length, 5);
  });
});

describe('handler deadline', () => {
  it('answers TIMEOUT at the deadline', async () => {
    const s = await server({ handlerTimeoutMs: 150 });
    s.backend.override.getStatus = () => new Promise(() => {}); // hangs forever
    const t0 = Date.now();
    const r = await rpc(s.port, call('node_getStatus', undefined, 'slow'));
    const elapsed = Date.now() - t0;
    assert.equal(r.json.id, 'slow');
    assert.equal(r.json.error.code, 1009);
    assert.deepEqual(r.json.error.data, { method: 'node_getStatus', timeoutMs: 150 });
    assert.ok(elapsed >= 140 && elapsed < 2_000, `elapsed ${elapsed}`);
  });

  it('aborts the handler signal when the client goes away', async () => {
    const s = await server({});
    let seen: AbortSignal | undefined;
    s.backend.override.submitTxAndWait = (async (_tx: Uint8Array, _ms: number, signal: AbortSignal) => {
      seen = signal;
      return new Promise(() => {}); // waits "forever"; only the signal ends it
    }) as never;
    const req = request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/rpc', agent: false });
    req.on('error', () => {});
    req.end(JSON.stringify(call('tx_submitAndWait', { tx: '0x00', timeoutMs: 60_000 })));
    await until(() => seen !== undefined, 2_000, 'submitTxAndWait to be called');
    assert.equal(seen?.aborted, false);
    req.destroy();
    await until(() => seen?.aborted === true, 2_000, 'the signal to abort');
    await until(() => s.server.stats().inFlight === 0, 2_000, 'the call to end');
  });

  it('lets a route declare a longer deadline than the default (tx_submitAndWait)', async () => {
    const s = await server({ handlerTimeoutMs: 100 });
    s.backend.override.submitTxAndWait = (async (_tx: Uint8Array, ms: number) => {
      await new Promise((r) => setTimeout(r, 300));
      return { waited: ms };
    }) as never;
    const r = await rpc(s.port, call('tx_submitAndWait', { tx: '0xab', timeoutMs: 1_000 }));
    assert.deepEqual(r.json.result, { waited: 1_000 });
  });
});

describe('handler deadline shared by the calls of a batch', () => {
  it('times out the hanging calls of a batch and answers the others', async () => {
    const s = await server({ handlerTimeoutMs: 150 });
    let n = 0;
    // Every other call hangs; the deadline is one timer for the method's calls in this body.
    s.backend.override.getStatus = () => (n++ % 2 === 0 ? new Promise(() => {}) : Promise.resolve({ ok: n }));
    const batch = Array.from({ length: 6 }, (_, i) => call('node_getStatus', undefined, i));
    const t0 = Date.now();
    const r = await rpc(s.port, batch);
    const elapsed = Date.now() - t0;
    assert.equal(r.json.length, 6);
    const byId = new Map(r.json.map((x: { id: number }) => [x.id, x]));
    for (let i = 0; i < 6; i++) {
      const answer = byId.get(i) as { error?: { code: number; data: unknown }; result?: unknown };
      if (i % 2 === 0) {
        assert.equal(answer.error?.code, 1009, `call ${i} hangs: TIMEOUT`);
        assert.deepEqual(answer.error?.data, { method: 'node_getStatus', timeoutMs: 150 });
      } else {
        assert.ok(answer.result, `call ${i} answers`);
      }
    }
    assert.ok(elapsed >= 140 && elapsed < 2_000, `elapsed ${elapsed}`);
    await until(() => s.server.stats().inFlight === 0, 2_000, 'no call left running');
    // The next body gets a fresh deadline, not the expired one.
    s.backend.override.getStatus = () => Promise.resolve({ again: true });
    const again = await rpc(s.port, [
      call('node_getStatus', undefined, 'x'),
      call('node_getStatus', undefined, 'y'),
    ]);
    assert.deepEqual(
      again.json.map((x: { result: unknown }) => x.result),
      [{ again: true }, { again: true }],
    );
  });

  it('aborts every call of the batch when the client goes away', async () => {
    const s = await server({ handlerTimeoutMs: 60_000 });
    const signals: AbortSignal[] = [];
    const hang = (signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<never>(() => {});
    };
    s.backend.override.submitTxAndWait = (async (_tx: Uint8Array, _ms: number, signal: AbortSignal) =>
      hang(signal)) as never;
    const req = request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/rpc', agent: false });
    req.on('error', () => {});
    req.end(
      JSON.stringify([
        call('tx_submitAndWait', { tx: '0x00', timeoutMs: 60_000 }, 1),
        call('tx_submitAndWait', { tx: '0x01', timeoutMs: 60_000 }, 2),
      ]),
    );
    await until(() => signals.length === 2, 2_000, 'both calls to start');
    assert.notEqual(signals[0], signals[1], 'a limit that depends on the params is not shared');
    req.destroy();
    await until(() => signals.every((x) => x.aborted), 2_000, 'every signal to abort');
    await until(() => s.server.stats().inFlight === 0, 2_000, 'the calls to end');
  });
});

describe('connection limits', () => {
  it('refuses connections beyond maxConnectionsPerIp with 429 and a JSON-RPC error', async () => {
    const s = await server({ maxConnectionsPerIp: 2, maxConnections: 10 });
    const a = await rawSocket(s.port);
    await rawSocket(s.port);
    await until(() => s.server.stats().connections === 2, 2_000, 'two connections');
    const r = await rpc(s.port, call('chain_getInfo'));
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, 1011);
    assert.deepEqual(r.json.error.data, { limit: 'connectionsPerIp', max: 2 });
    // A WebSocket upgrade is refused the same way.
    await assert.rejects(WsClient.connect(s.wsUrl), /429/);
    a.destroy();
    await until(() => s.server.stats().connections === 1, 2_000, 'one connection to close');
    const ok = await rpc(s.port, call('chain_getInfo'));
    assert.equal(ok.status, 200);
  });

  it('refuses connections beyond maxConnections with 503', async () => {
    const s = await server({ maxConnectionsPerIp: 2, maxConnections: 2 });
    await rawSocket(s.port);
    await rawSocket(s.port);
    await until(() => s.server.stats().connections === 2, 2_000, 'two connections');
    const r = await rpc(s.port, call('chain_getInfo'));
    assert.equal(r.status, 503);
    assert.deepEqual(r.json.error.data, { limit: 'connections', max: 2 });
  });

  it('cuts a refused connection that sends nothing', async () => {
    const s = await server({ maxConnectionsPerIp: 1, maxConnections: 10 });
    await rawSocket(s.port);
    await until(() => s.server.stats().connections === 1, 2_000, 'one connection');
    const idle = await rawSocket(s.port);
    await readUntilClose(idle, 5_000);
  });
});

describe('HTTP timeouts and header size', () => {
  it('answers 408 and closes when headers do not arrive in time', async () => {
    const s = await server({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const sock = await rawSocket(s.port);
    sock.write('POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const text = await readUntilClose(sock, 5_000);
    assert.match(text, /^HTTP\/1\.1 408/);
  });

  it('answers 408 and closes when the body does not arrive in time', async () => {
    const s = await server({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const sock = await rawSocket(s.port);
    sock.write('POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"jsonrpc"');
    const text = await readUntilClose(sock, 5_000);
    assert.match(text, /^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection', async () => {
    const s = await server({ keepAliveTimeoutMs: 200 });
    const sock = await rawSocket(s.port);
    sock.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    const text = await readUntilClose(sock, 5_000);
    assert.match(text, /^HTTP\/1\.1 200/);
  });

  it('answers 431 for over-size headers', async () => {
    const s = await server({ maxHeaderBytes: 1024 });
    const r = await http(s.port, { body: '{}', headers: { 'x-pad': 'y'.repeat(4096) } });
    assert.equal(r.status, 431);
  });
});

describe('WebSocket limits', () => {
  it('closes with 1009 on an over-size message', async () => {
    const s = await server({ wsMaxMessageBytes: 1024 });
    const c = await WsClient.connect(s.wsUrl);
    c.send(JSON.stringify({ pad: 'x'.repeat(2048) }));
    await until(() => c.closed !== undefined, 5_000, 'close');
    assert.equal(c.closed?.code, 1009);
  });

  it('answers RATE_LIMITED beyond wsMaxInFlight unanswered calls', async () => {
    const s = await server({ wsMaxInFlight: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    s.backend.override.getStatus = async () => {
      await gate;
      return { role: 'observer' };
    };
    const c = await WsClient.connect(s.wsUrl);
    c.send(call('node_getStatus', undefined, 1));
    c.send(call('node_getStatus', undefined, 2));
    await until(() => s.server.stats().inFlight === 2, 2_000, 'two calls in flight');
    c.send(call('node_getStatus', undefined, 3));
    const third = await c.waitFor((m) => m.id === 3, 2_000, 'third answer');
    assert.equal(third.error.code, 1011);
    assert.equal(third.error.data.limit, 'inFlightPerConnection');
    release();
    const first = await c.waitFor((m) => m.id === 1, 2_000, 'first answer');
    assert.equal(first.result.role, 'observer');
    await c.close();
  });

  it('answers RATE_LIMITED beyond wsMaxSubscriptions', async () => {
    const s = await server({ wsMaxSubscriptions: 2 });
    const c = await WsClient.connect(s.wsUrl);
    assert.equal(typeof (await c.call('subscribe', { topic: 'governance' })).result, 'string');
    assert.equal(typeof (await c.call('subscribe', { topic: 'newBlocks' })).result, 'string');
    const third = await c.call('subscribe', { topic: 'governance' });
    assert.equal(third.error.code, 1011);
    assert.equal(third.error.data.limit, 'subscriptionsPerConnection');
    await c.close();
  });
});
