/** HTTP routing: 404/405, /health, /metrics, and static files without traversal. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { RpcOptionsError } from '../../rpc/options.js';
import { RpcServer } from '../../rpc/server.js';
import { contentTypeFor, safeJoin } from '../../rpc/static.js';
import { FakeBackend } from './fake-backend.js';
import { call, http, rpc, type Started, silent, startServer } from './helpers.js';

const started: Started[] = [];
after(() => Promise.all(started.map((s) => s.server.stop())));

describe('routing', () => {
  let s: Started;
  before(async () => {
    s = await startServer();
    started.push(s);
  });

  it('answers 404 JSON for unknown paths', async () => {
    for (const path of ['/nope', '/rpc/x', '/', '/index.html', '//rpc']) {
      const r = await http(s.port, { method: 'GET', path });
      assert.equal(r.status, 404, path);
      assert.deepEqual(r.json, { error: 'not found' });
      assert.match(String(r.headers['content-type']), /^application\/json/);
    }
    const post = await http(s.port, { method: 'POST', path: '/nope', body: '{}' });
    assert.equal(post.status, 404);
  });

  it('answers 405 with Allow for a wrong method on a known path', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/rpc', 'POST'],
      ['PUT', '/rpc', 'POST'],
      ['DELETE', '/rpc', 'POST'],
      ['POST', '/health', 'GET, HEAD'],
      ['PUT', '/metrics', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await http(s.port, { method, path });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.allow, allow);
      assert.equal(r.json.error, 'method not allowed');
    }
  });

  it('ignores the query string when routing', async () => {
    const r = await http(s.port, { path: '/rpc?x=1', body: JSON.stringify(call('chain_getInfo')) });
    assert.equal(r.json.result.chainId, 'synod-test');
  });

  it('serves {ok: true} on /health by default and 404 on /metrics without a callback', async () => {
    const h = await http(s.port, { method: 'GET', path: '/health' });
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { ok: true });
    const m = await http(s.port, { method: 'GET', path: '/metrics' });
    assert.equal(m.status, 404);
  });
});

describe('health and metrics', () => {
  it('serves the health callback: 200 when ok, 503 when not or when it throws', async () => {
    let mode: 'ok' | 'bad' | 'throw' = 'ok';
    const s = await startServer({
      health: async () => {
        if (mode === 'throw') throw new Error('db gone');
        return mode === 'ok' ? { ok: true, height: 5, peers: 3 } : { ok: false, reason: 'syncing' };
      },
    });
    started.push(s);
    const a = await http(s.port, { method: 'GET', path: '/health' });
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { ok: true, height: 5, peers: 3 });
    mode = 'bad';
    const b = await http(s.port, { method: 'GET', path: '/health' });
    assert.equal(b.status, 503);
    assert.equal(b.json.reason, 'syncing');
    mode = 'throw';
    const c = await http(s.port, { method: 'GET', path: '/health' });
    assert.equal(c.status, 503);
    assert.deepEqual(c.json, { ok: false, error: 'health check failed' });
    const head = await http(s.port, { method: 'HEAD', path: '/health' });
    assert.equal(head.text, '');
  });

  it('serves Prometheus text including the rpc layer’s own metrics', async () => {
    const registry = new Registry();
    const s = await startServer({ metrics: () => registry.metrics(), metricsRegistry: registry });
    started.push(s);
    await rpc(s.port, call('chain_getInfo'));
    await rpc(s.port, call('chain_getBlock', { height: -1 }));
    await rpc(s.port, call('made_up'));
    const m = await http(s.port, { method: 'GET', path: '/metrics' });
    assert.equal(m.status, 200);
    assert.equal(m.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(m.text, /synod_rpc_requests_total\{method="chain_getInfo",code="0"\} 1/);
    assert.match(m.text, /synod_rpc_requests_total\{method="chain_getBlock",code="-32602"\} 1/);
    assert.match(m.text, /synod_rpc_connections \d+/);
    assert.match(m.text, /# TYPE synod_rpc_request_duration_seconds histogram/);
  });
});

describe('shared metrics registry', () => {
  it('lets two servers (or a restart) share one registry', async () => {
    const registry = new Registry();
    const a = await startServer({ metricsRegistry: registry, metrics: () => registry.metrics() });
    const b = await startServer({ metricsRegistry: registry });
    started.push(a, b);
    await rpc(a.port, call('chain_getInfo'));
    await rpc(b.port, call('chain_getInfo'));
    const m = await http(a.port, { method: 'GET', path: '/metrics' });
    assert.match(m.text, /synod_rpc_requests_total\{method="chain_getInfo",code="0"\} 2/);
  });
});

describe('static files', () => {
  let dir: string;
  let s: Started;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'synod-static-'));
    const www = join(dir, 'www');
    mkdirSync(join(www, 'sub'), { recursive: true });
    writeFileSync(join(www, 'index.html'), '<!doctype html><title>explorer</title>');
    writeFileSync(join(www, 'app.js'), 'export const x = 1;');
    writeFileSync(join(www, 'style.css'), 'body{}');
    writeFileSync(join(www, 'data.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(www, 'sub', 'index.html'), '<p>sub</p>');
    writeFileSync(join(www, '.env'), 'SECRET=hidden-dotfile');
    writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE');
    symlinkSync(join(dir, 'secret.txt'), join(www, 'link.txt'));
    s = await startServer({ staticDir: www });
    started.push(s);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves files with their content types', async () => {
    const cases: [string, string, string][] = [
      ['/', 'text/html; charset=utf-8', 'explorer'],
      ['/index.html', 'text/html; charset=utf-8', 'explorer'],
      ['/app.js', 'text/javascript; charset=utf-8', 'export const'],
      ['/style.css', 'text/css; charset=utf-8', 'body{}'],
      ['/sub/', 'text/html; charset=utf-8', 'sub'],
      ['/sub', 'text/html; charset=utf-8', 'sub'],
      ['/app.js?v=3', 'text/javascript; charset=utf-8', 'export const'],
      ['/data.bin', 'application/octet-stream', '\u0001\u0002\u0003'],
    ];
    for (const [path, type, body] of cases) {
      const r = await http(s.port, { method: 'GET', path });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], type, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.ok(r.text.includes(body), path);
    }
    const head = await http(s.port, { method: 'HEAD', path: '/app.js' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String('export const x = 1;'.length));
    assert.equal(head.text, '');
  });

  it('still routes the API paths', async () => {
    const r = await rpc(s.port, call('chain_getInfo'));
    assert.equal(r.json.result.chainId, 'synod-test');
  });

  it('never serves anything outside the folder, dotfiles or symlinks out', async () => {
    const attacks = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/..%2Fsecret.txt',
      '/sub/..%2f..%2fsecret.txt',
      '/sub/%2e%2e/%2e%2e/secret.txt',
      '/..\\secret.txt',
      '/%5c..%5csecret.txt',
      '/.env',
      '/%2eenv',
      '/link.txt',
      '/secret.txt%00.html',
      '/%E0%A4%A',
      '//secret.txt',
      `/${'../'.repeat(10)}etc/passwd`,
      '/nope.html',
    ];
    for (const path of attacks) {
      const r = await http(s.port, { method: 'GET', path });
      assert.ok(r.status === 404 || r.status === 400, `${path} → ${r.status}`);
      assert.doesNotMatch(r.text, /SECRET|root:/, path);
    }
  });

  it('answers 405 for non-GET methods under the static root', async () => {
    const r = await http(s.port, { method: 'POST', path: '/index.html', body: 'x' });
    assert.equal(r.status, 405);
  });

  it('joins paths safely', () => {
    assert.equal(safeJoin('/srv/www', '/a/b.js'), '/srv/www/a/b.js');
    assert.equal(safeJoin('/srv/www', '/'), '/srv/www');
    assert.equal(safeJoin('/srv/www', '/a/../b'), null);
    assert.equal(safeJoin('/srv/www', '/%2e%2e'), null);
    assert.equal(safeJoin('/srv/www', '/a%00'), null);
    assert.equal(safeJoin('/srv/www', '/%zz'), null);
    assert.equal(contentTypeFor('x.WASM'), 'application/wasm');
  });

  it('answers 404 when the static folder does not exist (yet)', async () => {
    const t = await startServer({ staticDir: join(dir, 'not-built-yet') });
    started.push(t);
    const r = await http(t.port, { method: 'GET', path: '/' });
    assert.equal(r.status, 404);
  });
});

describe('options', () => {
  it('validates options at construction, naming the bad field', () => {
    const backend = new FakeBackend();
    assert.throws(
      () => new RpcServer({ backend, logger: silent, limits: { maxBatch: 0 } }),
      (e: unknown) => e instanceof RpcOptionsError && /limits\.maxBatch/.test(e.message),
    );
    assert.throws(() => new RpcServer({ backend, port: 70_000 }), /port/);
    assert.throws(() => new RpcServer({ backend, limits: { bogus: 1 } as never }), /bogus/);
    assert.throws(() => new RpcServer({ backend: {} as never }), /backend/);
    assert.throws(
      () => new RpcServer({ backend, limits: { headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 } }),
      /headersTimeoutMs/,
    );
    const ok = new RpcServer({ backend });
    assert.equal(ok.options.host, '127.0.0.1');
    assert.equal(ok.options.limits.maxBodyBytes, 1024 * 1024);
    assert.equal(ok.options.limits.maxBatch, 100);
    assert.equal(ok.options.limits.handlerTimeoutMs, 30_000);
    assert.equal(ok.options.limits.maxConnectionsPerIp, 64);
    void ok.stop();
  });

  it('binds 127.0.0.1 by default and stops idempotently', async () => {
    const t = await startServer();
    assert.equal(t.server.address()?.host, '127.0.0.1');
    await Promise.all([t.server.stop(), t.server.stop()]);
    await assert.rejects(http(t.port, { method: 'GET', path: '/health' }));
  });
});
