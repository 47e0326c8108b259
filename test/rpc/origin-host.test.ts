/**
 * DNS rebinding and cross-origin use of a node bound to 127.0.0.1 (issue 23, finding 10): a
 * request whose Host is not a loopback name is refused with 403 before it is read, and a
 * WebSocket upgrade or request from a browser page of another origin is refused too. Clients
 * that send no Origin (the SDK, wscat, curl) are served as before.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { OriginHostRule } from '../../rpc/origin-host.js';
import { call, http, type Started, silent, startServer, within } from './helpers.js';

const started: Started[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.server.stop()));
});

async function server(opts: Parameters<typeof startServer>[0] = {}): Promise<Started> {
  const s = await startServer({ logger: silent, ...opts });
  started.push(s);
  return s;
}

/** Opens a WebSocket; resolves with 'open' or the HTTP status of the refusal. */
function upgrade(
  url: string,
  headers: Record<string, string> = {},
  origin?: string,
): Promise<'open' | number> {
  return within(
    new Promise<'open' | number>((resolve, reject) => {
      const ws = new WebSocket(url, { headers, ...(origin === undefined ? {} : { origin }) });
      ws.once('open', () => {
        ws.close();
        resolve('open');
      });
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    }),
    5_000,
    `upgrade ${url}`,
  );
}

const getInfo = JSON.stringify(call('chain_getInfo'));

describe('the Host rule of a server bound to 127.0.0.1', () => {
  test('Host: evil.example is refused with 403 and a JSON-RPC error; the handler is never called', async () => {
    const s = await server();
    for (const host of ['evil.example', `evil.example:${s.port}`, `127.0.0.1.evil.example:${s.port}`]) {
      const a = await http(s.port, { body: getInfo, headers: { host } });
      assert.equal(a.status, 403, host);
      assert.equal(a.json.jsonrpc, '2.0');
      assert.equal(a.json.id, null);
      assert.equal(typeof a.json.error.code, 'number');
    }
    assert.equal(s.backend.calls.length, 0);
  });

  test('a non-RPC path with a foreign Host gets a plain-text 403', async () => {
    const s = await server();
    const a = await http(s.port, { method: 'GET', path: '/health', headers: { host: 'evil.example' } });
    assert.equal(a.status, 403);
    assert.match(String(a.headers['content-type']), /^text\/plain/);
  });

  test('loopback Host values with any port are served', async () => {
    const s = await server();
    for (const host of [
      `127.0.0.1:${s.port}`,
      '127.0.0.1',
      `localhost:${s.port}`,
      'LOCALHOST',
      `[::1]:${s.port}`,
    ]) {
      const b = await http(s.port, { body: getInfo, headers: { host } });
      assert.equal(b.status, 200, host);
      assert.ok(b.json.result, host);
    }
  });

  test("allowedHosts ['*'] disables the check", async () => {
    const s = await server({ allowedHosts: ['*'] });
    const a = await http(s.port, { body: getInfo, headers: { host: 'evil.example' } });
    assert.equal(a.status, 200);
    assert.equal(await upgrade(s.wsUrl, { host: 'evil.example' }), 'open');
  });

  test('allowedHosts names more hosts, with any port or one port', async () => {
    const s = await server({ allowedHosts: ['node.example', 'other.example:1234'] });
    assert.equal(
      (await http(s.port, { body: getInfo, headers: { host: `node.example:${s.port}` } })).status,
      200,
    );
    assert.equal((await http(s.port, { body: getInfo, headers: { host: 'Node.Example' } })).status, 200);
    assert.equal(
      (await http(s.port, { body: getInfo, headers: { host: 'other.example:1234' } })).status,
      200,
    );
    assert.equal((await http(s.port, { body: getInfo, headers: { host: 'other.example:1' } })).status, 403);
    assert.equal((await http(s.port, { body: getInfo, headers: { host: 'evil.example' } })).status, 403);
    assert.equal(
      (await http(s.port, { body: getInfo, headers: { host: `localhost:${s.port}` } })).status,
      200,
    );
  });

  test('a WebSocket upgrade with a foreign Host is refused with 403', async () => {
    const s = await server();
    assert.equal(await upgrade(s.wsUrl, { host: `evil.example:${s.port}` }), 403);
  });
});

describe('the Origin rule', () => {
  test('a WebSocket upgrade with Origin http://evil.example is refused with 403', async () => {
    const s = await server();
    assert.equal(await upgrade(s.wsUrl, {}, 'http://evil.example'), 403);
    assert.equal(await upgrade(s.wsUrl, {}, `http://evil.example:${s.port}`), 403);
    assert.equal(await upgrade(s.wsUrl, {}, 'null'), 403);
  });

  test('a WebSocket upgrade with no Origin (the SDK, wscat) is accepted', async () => {
    const s = await server();
    assert.equal(await upgrade(s.wsUrl), 'open');
  });

  test("a WebSocket upgrade from the node's own origin is accepted", async () => {
    const s = await server();
    assert.equal(await upgrade(s.wsUrl, {}, `http://127.0.0.1:${s.port}`), 'open');
    assert.equal(
      await upgrade(
        s.wsUrl.replace('127.0.0.1', 'localhost'),
        { host: `localhost:${s.port}` },
        `http://localhost:${s.port}`,
      ),
      'open',
    );
  });

  test('a POST from a page of another origin is refused before the handler; the own origin is served', async () => {
    const s = await server();
    const foreign = await http(s.port, {
      body: getInfo,
      headers: { origin: 'http://evil.example', 'content-type': 'text/plain' },
    });
    assert.equal(foreign.status, 403);
    assert.equal(s.backend.calls.length, 0);
    const own = await http(s.port, { body: getInfo, headers: { origin: `http://127.0.0.1:${s.port}` } });
    assert.equal(own.status, 200);
    assert.equal(own.headers['access-control-allow-origin'], undefined, 'same origin needs no CORS header');
  });

  test('allowedOrigins admits a listed origin, with CORS headers and a preflight answer', async () => {
    const s = await server({ allowedOrigins: ['https://wallet.example'] });
    assert.equal(await upgrade(s.wsUrl, {}, 'https://wallet.example'), 'open');
    assert.equal(await upgrade(s.wsUrl, {}, 'https://evil.example'), 403);
    const post = await http(s.port, { body: getInfo, headers: { origin: 'https://wallet.example' } });
    assert.equal(post.status, 200);
    assert.equal(post.headers['access-control-allow-origin'], 'https://wallet.example');
    assert.match(String(post.headers.vary), /origin/i);
    const pre = await http(s.port, {
      method: 'OPTIONS',
      headers: { origin: 'https://wallet.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://wallet.example');
    assert.match(String(pre.headers['access-control-allow-headers']), /content-type/i);
  });

  test("allowedOrigins ['*'] admits any origin", async () => {
    const s = await server({ allowedOrigins: ['*'] });
    assert.equal(await upgrade(s.wsUrl, {}, 'http://evil.example'), 'open');
  });
});

describe('OriginHostRule', () => {
  test('bound to a non-loopback address, the default serves any Host but still checks Origin', () => {
    const rule = new OriginHostRule({ bindHost: '0.0.0.0' });
    assert.ok(rule.hostAllowed('node1.internal:26600'));
    assert.ok(rule.checkOrigin('http://node1.internal:26600', 'node1.internal:26600').ok);
    assert.ok(!rule.checkOrigin('http://evil.example', 'node1.internal:26600').ok);
  });

  test('bound to ::1 or localhost, only loopback names are served by default', () => {
    for (const bindHost of ['::1', '[::1]', 'localhost', '127.0.0.2']) {
      const rule = new OriginHostRule({ bindHost });
      assert.ok(rule.hostAllowed('[::1]:26600'), bindHost);
      assert.ok(rule.hostAllowed('127.3.4.5'), bindHost);
      assert.ok(rule.hostAllowed('app.localhost:1'), bindHost);
      assert.ok(!rule.hostAllowed('localhost.evil.example'), bindHost);
      assert.ok(!rule.hostAllowed('127.0.0.1.nip.io'), bindHost);
      assert.ok(!rule.hostAllowed('[::2]'), bindHost);
      assert.ok(!rule.hostAllowed('a:b:c'), bindHost);
    }
  });

  test('the own origin must match scheme-default ports and the exact host name', () => {
    const rule = new OriginHostRule({ bindHost: '127.0.0.1' });
    assert.ok(rule.checkOrigin('http://localhost', 'localhost').ok);
    assert.ok(rule.checkOrigin('http://localhost', 'localhost:80').ok);
    assert.ok(!rule.checkOrigin('http://localhost:3000', 'localhost:26600').ok);
    assert.ok(!rule.checkOrigin('http://127.0.0.1:26600', 'localhost:26600').ok);
    assert.ok(rule.checkOrigin('http://[::1]:26600', '[::1]:26600').ok);
    assert.ok(!rule.checkOrigin('file://', '127.0.0.1:26600').ok);
  });

  test('bad entries are refused at construction, naming the entry', () => {
    assert.throws(
      () => new OriginHostRule({ bindHost: '127.0.0.1', allowedHosts: ['http://x'] }),
      /allowedHosts: 'http:\/\/x'/,
    );
    assert.throws(
      () => new OriginHostRule({ bindHost: '127.0.0.1', allowedOrigins: ['wallet.example'] }),
      /allowedOrigins: 'wallet.example'/,
    );
    assert.throws(
      () => new OriginHostRule({ bindHost: '127.0.0.1', allowedOrigins: ['https://wallet.example/'] }),
      /allowedOrigins/,
    );
  });
});
