/** JSON-RPC 2.0 conformance of POST /rpc, against the fake backend. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RpcError, RpcErrorCode } from '../../rpc/errors.js';
import { hashOf } from './fake-backend.js';
import { assertResponse, call, rpc, type Started, startServer } from './helpers.js';

describe('JSON-RPC conformance over HTTP', () => {
  let s: Started;
  before(async () => {
    s = await startServer();
  });
  after(() => s.server.stop());

  it('answers a single call with its result and the same id', async () => {
    const r = await rpc(s.port, call('chain_getInfo', undefined, 1));
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assertResponse(r.json);
    assert.deepEqual(r.json, {
      jsonrpc: '2.0',
      id: 1,
      result: { chainId: 'synod-test', genesisHash: hashOf(0, 1), height: 4, validators: 4, f: 1, quorum: 3 },
    });
  });

  it('echoes string, number and null ids', async () => {
    for (const id of ['abc', 7, 0, -3, 1.5, '', null]) {
      const r = await rpc(s.port, call('node_getStatus', undefined, id));
      assert.equal(r.status, 200);
      assertResponse(r.json);
      assert.equal(r.json.id, id);
      assert.deepEqual(r.json.result, { role: 'observer', syncing: false });
    }
  });

  it('sends no body for a notification (HTTP 204)', async () => {
    const r = await rpc(s.port, { jsonrpc: '2.0', method: 'chain_getInfo' });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    // Even a failing notification is not answered.
    const bad = await rpc(s.port, { jsonrpc: '2.0', method: 'no_such_method' });
    assert.equal(bad.status, 204);
  });

  it('answers an all-notification batch with 204 and no body', async () => {
    const r = await rpc(s.port, [
      { jsonrpc: '2.0', method: 'chain_getInfo' },
      { jsonrpc: '2.0', method: 'node_getStatus', params: {} },
    ]);
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });

  it('rejects a wrong or missing jsonrpc member with -32600', async () => {
    for (const body of [
      { jsonrpc: '1.0', method: 'chain_getInfo', id: 5 },
      { jsonrpc: 2, method: 'chain_getInfo', id: 5 },
      { method: 'chain_getInfo', id: 5 },
    ]) {
      const r = await rpc(s.port, body);
      assertResponse(r.json);
      assert.equal(r.json.error.code, -32600);
      assert.equal(r.json.id, 5);
      assert.match(r.json.error.data.reason, /jsonrpc/);
    }
  });

  it('answers invalid request objects with -32600 and id null when the id is unreadable', async () => {
    const cases: [unknown, string | number | null][] = [
      [1, null],
      ['x', null],
      [null, null],
      [true, null],
      [{ jsonrpc: '2.0', method: 1, params: 'bar' }, null],
      [{ jsonrpc: '2.0', method: 'chain_getInfo', id: { a: 1 } }, null],
      [{ jsonrpc: '2.0', method: 'chain_getInfo', id: [1] }, null],
      [{ jsonrpc: '2.0', method: 'chain_getInfo', id: 3, params: 'x' }, 3],
      [{ jsonrpc: '2.0', method: 'chain_getInfo', id: 3, params: null }, 3],
      [{ jsonrpc: '2.0', method: 'chain_getInfo', id: 3, result: 1 }, 3],
    ];
    for (const [body, id] of cases) {
      const r = await rpc(s.port, JSON.stringify(body));
      assert.equal(r.status, 200);
      assertResponse(r.json);
      assert.equal(r.json.error.code, -32600, JSON.stringify(body));
      assert.equal(r.json.id, id, JSON.stringify(body));
    }
  });

  it('answers an empty batch with one -32600 object, id null', async () => {
    const r = await rpc(s.port, []);
    assert.equal(r.status, 200);
    assert.ok(!Array.isArray(r.json));
    assert.equal(r.json.error.code, -32600);
    assert.equal(r.json.id, null);
  });

  it('answers unparsable JSON with -32700, id null', async () => {
    for (const text of [
      '{',
      '{"jsonrpc": "2.0", "method": "foo", "params": "bar", "baz]',
      '',
      'nul',
      '[1,',
    ]) {
      const r = await rpc(s.port, text);
      assert.equal(r.status, 200);
      assertResponse(r.json);
      assert.equal(r.json.error.code, -32700);
      assert.equal(r.json.id, null);
    }
  });

  it('answers an unknown method with -32601 naming it', async () => {
    const r = await rpc(s.port, call('chain_nope', {}, 9));
    assert.equal(r.json.error.code, -32601);
    assert.equal(r.json.id, 9);
    assert.equal(r.json.error.data.method, 'chain_nope');
  });

  it('does not serve WebSocket-only methods over HTTP', async () => {
    const r = await rpc(s.port, call('subscribe', { topic: 'newBlocks' }));
    assert.equal(r.json.error.code, -32601);
    assert.match(r.json.error.data.reason, /WebSocket/);
  });

  it('answers invalid params with -32602 naming the field', async () => {
    const cases: [string, unknown, string][] = [
      ['chain_getBlock', { height: -1 }, 'height'],
      ['chain_getBlock', { height: 1.5 }, 'height'],
      ['chain_getBlock', { height: '1' }, 'height'],
      ['chain_getBlock', { heigth: 1 }, 'heigth'],
      ['chain_getBlock', { hash: '0x1234' }, 'hash'],
      ['chain_getBlock', {}, 'height'],
      ['chain_getBlock', { height: 1, hash: hashOf(1) }, 'height'],
      ['chain_getBlock', { height: 1, full: 'yes' }, 'full'],
      ['chain_getBlocks', { limit: 0 }, 'limit'],
      ['chain_getBlocks', { limit: 101 }, 'limit'],
      ['chain_getAccountTxs', { address: '0xzz' }, 'address'],
      ['chain_getAccountTxs', {}, 'address'],
      ['state_getData', { address: `0x${'a'.repeat(40)}` }, 'key'],
      ['tx_submit', { tx: '0x123' }, 'tx'],
      ['tx_submit', { tx: 'abcd' }, 'tx'],
      ['tx_submitAndWait', { tx: '0xabcd', timeoutMs: 0 }, 'timeoutMs'],
      ['gov_getProposals', { status: 'maybe' }, 'status'],
      ['gov_getProposal', { id: -1 }, 'id'],
      ['chain_getInfo', { extra: 1 }, 'extra'],
      ['chain_getTx', 'not-structured-but-array', 'params'],
    ];
    for (const [method, params, field] of cases) {
      const body =
        params === 'not-structured-but-array' ? call(method, [1, 2]) : call(method, params as object, 'p');
      const r = await rpc(s.port, body);
      assertResponse(r.json);
      assert.equal(r.json.error.code, -32602, `${method} ${JSON.stringify(params)}`);
      const fields = r.json.error.data.issues.map((i: { field: string }) => i.field);
      assert.ok(fields.includes(field), `${method} ${JSON.stringify(params)}: ${JSON.stringify(fields)}`);
      assert.match(r.json.error.message, new RegExp(field));
    }
  });

  it('accepts params by position as [] or [{...}]', async () => {
    const a = await rpc(s.port, call('chain_getInfo', []));
    assert.equal(a.json.result.chainId, 'synod-test');
    const b = await rpc(s.port, call('chain_getBlock', [{ height: 2 }]));
    assert.equal(b.json.result.header.height, 2);
  });

  it('answers null for an absent block', async () => {
    const r = await rpc(s.port, call('chain_getBlock', { height: 999 }));
    assert.equal(r.json.result, null);
    assert.ok(Object.hasOwn(r.json, 'result'));
  });

  it('passes an application error through with its code, message and data', async () => {
    s.backend.override.submitTx = async () => {
      throw new RpcError(RpcErrorCode.BAD_NONCE, 'nonce 3 already used', { expected: 4, got: 3 });
    };
    try {
      const r = await rpc(s.port, call('tx_submit', { tx: '0xdeadbeef' }, 'a'));
      assert.deepEqual(r.json, {
        jsonrpc: '2.0',
        id: 'a',
        error: { code: 1002, message: 'nonce 3 already used', data: { expected: 4, got: 3 } },
      });
    } finally {
      delete s.backend.override.submitTx;
    }
  });

  it('hides unexpected errors behind -32603 without internal details', async () => {
    s.backend.override.getStatus = async () => {
      throw new Error('leveldb at /var/secret/path is corrupt');
    };
    s.backend.override.getInfo = () => {
      throw new TypeError('sync throw with secret');
    };
    try {
      for (const m of ['node_getStatus', 'chain_getInfo']) {
        const r = await rpc(s.port, call(m));
        assert.equal(r.json.error.code, -32603);
        assert.equal(r.json.error.message, 'Internal error');
        assert.doesNotMatch(r.text, /secret/);
      }
    } finally {
      delete s.backend.override.getStatus;
      delete s.backend.override.getInfo;
    }
  });

  it('answers a result that is not JSON-serialisable with -32603, not a crash', async () => {
    s.backend.override.getStatus = async () => ({ big: 10n });
    try {
      const r = await rpc(s.port, call('node_getStatus', undefined, 4));
      assert.equal(r.json.error.code, -32603);
      assert.equal(r.json.id, 4);
    } finally {
      delete s.backend.override.getStatus;
    }
  });

  it('answers a batch mixing good, bad and notification entries', async () => {
    const r = await rpc(s.port, [
      call('chain_getInfo', undefined, 1),
      { jsonrpc: '2.0', method: 'node_getStatus' }, // notification: no answer
      call('chain_getBlock', { height: -5 }, 2),
      { foo: 'boo' },
      call('nope', {}, '3'),
      1,
      call('chain_getBlock', { height: 1 }, 4),
    ]);
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.json));
    for (const x of r.json) assertResponse(x);
    assert.equal(r.json.length, 6);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON
    const byId = new Map<unknown, any>(
      r.json.filter((x: { id: unknown }) => x.id !== null).map((x: { id: unknown }) => [x.id, x]),
    );
    assert.equal(byId.get(1).result.chainId, 'synod-test');
    assert.equal(byId.get(2).error.code, -32602);
    assert.equal(byId.get('3').error.code, -32601);
    assert.equal(byId.get(4).result.header.height, 1);
    const nulls = r.json.filter((x: { id: unknown }) => x.id === null);
    assert.equal(nulls.length, 2);
    for (const n of nulls) assert.equal(n.error.code, -32600);
  });

  it('answers a batch of one with an array of one', async () => {
    const r = await rpc(s.port, [call('chain_getInfo', undefined, 1)]);
    assert.ok(Array.isArray(r.json));
    assert.equal(r.json.length, 1);
    assert.equal(r.json[0].id, 1);
  });

  it('answers a batch of invalid entries with one error each', async () => {
    const r = await rpc(s.port, [1, 2, 3]);
    assert.ok(Array.isArray(r.json));
    assert.equal(r.json.length, 3);
    for (const x of r.json) {
      assert.equal(x.error.code, -32600);
      assert.equal(x.id, null);
    }
  });

  it('rejects an over-size transaction with TOO_LARGE', async () => {
    const big = `0x${'ab'.repeat(128 * 1024 + 1)}`;
    const r = await rpc(s.port, call('tx_submit', { tx: big }));
    assert.equal(r.json.error.code, 1007);
    assert.equal(r.json.error.data.limit, 'txBytes');
  });

  it('lower-cases hashes and addresses before the backend sees them', async () => {
    const upper = `0x${'AB'.repeat(20)}`;
    await rpc(s.port, call('state_getAccount', { address: upper }));
    const last = s.backend.calls.at(-1);
    assert.deepEqual(last, { method: 'getAccount', args: [upper.toLowerCase()] });
  });
});
