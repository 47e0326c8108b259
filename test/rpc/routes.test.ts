/**
 * The method table against docs/architecture.md, and what each method forwards to the backend. Runs the
 * dispatcher directly (no sockets): the transports are covered elsewhere.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher } from '../../rpc/dispatch.js';
import { RPC_ERROR_MESSAGES, RpcError, RpcErrorCode, toErrorObject } from '../../rpc/errors.js';
import { NO_METRICS } from '../../rpc/metrics.js';
import { LimitsSchema } from '../../rpc/options.js';
import { METHOD_NAMES, routes } from '../../rpc/routes.js';
import { FakeBackend, hashOf } from './fake-backend.js';
import { silent } from './helpers.js';

/** The JSON-RPC table of docs/architecture.md ("names are the contract"). */
const DESIGN_METHODS = [
  'chain_getInfo',
  'chain_getBlock',
  'chain_getBlocks',
  'chain_getTx',
  'chain_getAccountTxs',
  'tx_submit',
  'tx_submitAndWait',
  'state_getAccount',
  'state_getData',
  'gov_getMembers',
  'gov_getValidators',
  'gov_getProposals',
  'gov_getProposal',
  'node_getStatus',
  'subscribe',
  'unsubscribe',
];

function setup() {
  const backend = new FakeBackend(5);
  const d = new Dispatcher({ backend, log: silent, limits: LimitsSchema.parse({}), metrics: NO_METRICS });
  const caller = {
    transport: 'http' as const,
    remoteAddress: '127.0.0.1',
    signal: new AbortController().signal,
  };
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON
  const send = async (method: string, params?: unknown): Promise<any> => {
    const out = await d.handlePayload({ jsonrpc: '2.0', id: 1, method, params }, caller);
    return JSON.parse(out as string);
  };
  return { backend, send };
}

const ADDR = `0x${'12'.repeat(20)}`;

describe('route table', () => {
  it('has exactly the methods of docs/architecture.md', () => {
    assert.deepEqual([...METHOD_NAMES].sort(), [...DESIGN_METHODS].sort());
    for (const name of METHOD_NAMES) assert.ok(routes[name].params, `${name} has a schema`);
    assert.deepEqual(routes.subscribe.transports, ['ws']);
    assert.deepEqual(routes.unsubscribe.transports, ['ws']);
  });

  it('forwards checked params to the backend', async () => {
    const { backend, send } = setup();
    const cases: [string, unknown, string, unknown[]][] = [
      ['chain_getInfo', undefined, 'getInfo', []],
      ['chain_getBlock', { height: 3 }, 'getBlockByHeight', [3, false]],
      ['chain_getBlock', { height: 0, full: true }, 'getBlockByHeight', [0, true]],
      [
        'chain_getBlock',
        { hash: hashOf(2).toUpperCase().replace('0X', '0x') },
        'getBlockByHash',
        [hashOf(2), false],
      ],
      ['chain_getBlocks', {}, 'getBlocks', [undefined, 20]],
      ['chain_getBlocks', { before: 4, limit: 100 }, 'getBlocks', [4, 100]],
      ['chain_getTx', { hash: hashOf(1) }, 'getTx', [hashOf(1)]],
      ['chain_getAccountTxs', { address: ADDR }, 'getAccountTxs', [ADDR, undefined, 20]],
      ['chain_getAccountTxs', { address: ADDR, before: 'c1', limit: 5 }, 'getAccountTxs', [ADDR, 'c1', 5]],
      ['tx_submit', { tx: '0x0102ff' }, 'submitTx', [new Uint8Array([1, 2, 255])]],
      ['state_getAccount', { address: ADDR }, 'getAccount', [ADDR]],
      ['state_getData', { address: ADDR, key: 'k' }, 'getData', [ADDR, 'k', false]],
      ['state_getData', { address: ADDR, key: 'k', proof: true }, 'getData', [ADDR, 'k', true]],
      ['gov_getMembers', {}, 'getMembers', [undefined]],
      ['gov_getMembers', { height: 2 }, 'getMembers', [2]],
      ['gov_getValidators', { height: 0 }, 'getValidators', [0]],
      ['gov_getProposals', {}, 'getProposals', [undefined]],
      ['gov_getProposals', { status: 'open' }, 'getProposals', ['open']],
      ['gov_getProposal', { id: 1 }, 'getProposal', [1]],
      ['node_getStatus', undefined, 'getStatus', []],
    ];
    for (const [method, params, backendMethod, args] of cases) {
      const res = await send(method, params);
      assert.ok(Object.hasOwn(res, 'result'), `${method}: ${JSON.stringify(res.error)}`);
      assert.deepEqual(backend.calls.at(-1), { method: backendMethod, args }, method);
    }
  });

  it('passes tx_submitAndWait its wait, a default, and an abort signal', async () => {
    const { backend, send } = setup();
    await send('tx_submitAndWait', { tx: '0xaa' });
    let call = backend.calls.at(-1);
    assert.equal(call?.method, 'submitTxAndWait');
    assert.equal(call?.args[1], 30_000);
    assert.ok(call?.args[2] instanceof AbortSignal);
    await send('tx_submitAndWait', { tx: '0xaa', timeoutMs: 500 });
    call = backend.calls.at(-1);
    assert.equal(call?.args[1], 500);
    const tooLong = await send('tx_submitAndWait', { tx: '0xaa', timeoutMs: 120_001 });
    assert.equal(tooLong.error.data.issues[0].field, 'timeoutMs');
    assert.equal(routes.tx_submitAndWait.timeoutMs instanceof Function, true);
  });

  it('answers SHUTTING_DOWN once shutdown has begun', async () => {
    const backend = new FakeBackend();
    const d = new Dispatcher({ backend, log: silent, limits: LimitsSchema.parse({}), metrics: NO_METRICS });
    d.beginShutdown();
    const out = await d.handlePayload(
      { jsonrpc: '2.0', id: 1, method: 'chain_getInfo' },
      { transport: 'http', remoteAddress: '', signal: new AbortController().signal },
    );
    assert.equal(JSON.parse(out as string).error.code, 1012);
  });
});

describe('interrupts', () => {
  it('a client that goes away interrupts every call of its batch, through one listener', async () => {
    const backend = new FakeBackend();
    const started: AbortSignal[] = [];
    backend.override.submitTxAndWait = (_tx: Uint8Array, _ms: number, signal: AbortSignal) => {
      started.push(signal);
      return new Promise(() => {}); // waits until interrupted
    };
    const d = new Dispatcher({ backend, log: silent, limits: LimitsSchema.parse({}), metrics: NO_METRICS });
    const client = new AbortController();
    const added: string[] = [];
    const add = client.signal.addEventListener.bind(client.signal);
    client.signal.addEventListener = ((type: string, ...rest: never[]) => {
      added.push(type);
      return add(type, ...(rest as [never, never]));
    }) as typeof client.signal.addEventListener;
    const batch = Array.from({ length: 50 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'tx_submitAndWait',
      params: { tx: '0xaa', timeoutMs: 60_000 },
    }));
    const answer = d.handlePayload(batch, { transport: 'http', remoteAddress: '', signal: client.signal });
    while (started.length < 50) await new Promise((r) => setImmediate(r));
    client.abort();
    const out = JSON.parse((await answer) as string) as { error: { message: string } }[];
    assert.equal(out.length, 50);
    for (const r of out) assert.equal(r.error.message, 'Client disconnected');
    for (const s of started) assert.equal(s.aborted, true);
    assert.deepEqual(added, ['abort']);
  });
});

describe('error codes', () => {
  it('are unique, stable and each has a readable message', () => {
    const codes = Object.values(RpcErrorCode);
    assert.equal(new Set(codes).size, codes.length);
    for (const c of codes) assert.ok(RPC_ERROR_MESSAGES[c].length > 0);
    assert.deepEqual(
      { ...RpcErrorCode },
      {
        PARSE_ERROR: -32700,
        INVALID_REQUEST: -32600,
        METHOD_NOT_FOUND: -32601,
        INVALID_PARAMS: -32602,
        INTERNAL_ERROR: -32603,
        INVALID_SIGNATURE: 1001,
        BAD_NONCE: 1002,
        UNKNOWN_ACCOUNT: 1003,
        NOT_PERMITTED: 1004,
        MEMPOOL_FULL: 1005,
        WRONG_CHAIN_ID: 1006,
        TOO_LARGE: 1007,
        MALFORMED_TX: 1008,
        TIMEOUT: 1009,
        NOT_FOUND: 1010,
        RATE_LIMITED: 1011,
        SHUTTING_DOWN: 1012,
        ALREADY_KNOWN: 1013,
        UNAVAILABLE: 1014,
        SENDER_QUOTA: 1015,
        MEMBER_QUOTA: 1016,
        TOO_MANY_WAITERS: 1017,
      },
    );
  });

  it('RpcError carries code, message and a data object; other errors leak nothing', () => {
    const e = new RpcError(RpcErrorCode.MEMPOOL_FULL);
    assert.deepEqual(e.toObject(), { code: 1005, message: 'Mempool full', data: {} });
    assert.ok(e instanceof Error);
    assert.deepEqual(toErrorObject(new Error('/home/node/.secret')), {
      code: -32603,
      message: 'Internal error',
      data: {},
    });
    assert.deepEqual(toErrorObject('a string'), { code: -32603, message: 'Internal error', data: {} });
  });
});
