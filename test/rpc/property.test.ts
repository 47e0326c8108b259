/**
 * Property tests: whatever arrives, the server answers with valid JSON-RPC (or a clean HTTP
 * error) and keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { METHOD_NAMES } from '../../rpc/routes.js';
import { assertResponse, call, http, type Started, startServer, WsClient } from './helpers.js';

const FIELDS = ['height', 'hash', 'limit', 'address', 'tx', 'topic', 'full', 'before', 'id', 'status', 'key'];

/** Request-like objects: mostly near-valid, with every member sometimes wrong or missing. */
const requestLike = fc.record(
  {
    jsonrpc: fc.oneof(
      fc.constant('2.0'),
      fc.constant('2.0'),
      fc.constant('1.0'),
      fc.integer(),
      fc.constant(null),
    ),
    method: fc.oneof(fc.constantFrom(...METHOD_NAMES, 'nope', 'rpc.discover'), fc.string(), fc.integer()),
    params: fc.oneof(
      fc.dictionary(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    id: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.double(), fc.object({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);

/** The number of answers the spec requires for one decoded entry. */
function expectedAnswers(entry: unknown): number {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 1;
  const o = entry as Record<string, unknown>;
  const idOk =
    !Object.hasOwn(o, 'id') ||
    o.id === null ||
    typeof o.id === 'string' ||
    (typeof o.id === 'number' && Number.isFinite(o.id));
  const valid =
    o.jsonrpc === '2.0' &&
    typeof o.method === 'string' &&
    idOk &&
    (!Object.hasOwn(o, 'params') || (typeof o.params === 'object' && o.params !== null));
  return valid && !Object.hasOwn(o, 'id') ? 0 : 1;
}

function checkAnswer(status: number, json: unknown, text: string, expected: number | undefined): void {
  if (status === 204) {
    assert.equal(text, '');
    if (expected !== undefined) assert.equal(expected, 0);
    return;
  }
  assert.ok([200, 413].includes(status), `status ${status}`);
  if (expected !== undefined) assert.notEqual(expected, 0, 'answered a notification-only body');
  if (Array.isArray(json)) {
    assert.ok(json.length > 0);
    for (const r of json) assertResponse(r);
    if (expected !== undefined) assert.equal(json.length, expected);
  } else {
    assertResponse(json);
  }
}

describe('fuzzing POST /rpc', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ limits: { maxBodyBytes: 64 * 1024 } });
  });
  after(() => s.server.stop());

  it('answers random bytes with a valid JSON-RPC error, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const r = await http(s.port, { body: Buffer.from(bytes) });
        checkAnswer(r.status, r.json, r.text, undefined);
      }),
      { numRuns: 150 },
    );
  });

  it('answers random JSON values validly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const body = JSON.stringify(value);
        const r = await http(s.port, { body });
        const decoded = JSON.parse(body);
        let expected: number;
        if (!Array.isArray(decoded)) expected = expectedAnswers(decoded);
        else if (decoded.length === 0) expected = 1;
        else expected = decoded.reduce((n: number, e: unknown) => n + expectedAnswers(e), 0);
        checkAnswer(r.status, r.json, r.text, expected);
      }),
      { numRuns: 150 },
    );
  });

  it('answers every request-like single or batch with exactly the answers the spec requires', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          requestLike,
          fc.array(fc.oneof(requestLike, fc.jsonValue({ maxDepth: 1 })), { maxLength: 8 }),
        ),
        async (payload) => {
          const body = JSON.stringify(payload);
          const decoded = JSON.parse(body);
          const r = await http(s.port, { body });
          if (Array.isArray(decoded)) {
            const expected =
              decoded.length === 0 ? 1 : decoded.reduce((n: number, e: unknown) => n + expectedAnswers(e), 0);
            checkAnswer(r.status, r.json, r.text, expected);
            if (decoded.length > 0 && expected > 0) assert.ok(Array.isArray(r.json), 'a batch gets an array');
          } else {
            checkAnswer(r.status, r.json, r.text, expectedAnswers(decoded));
            if (r.status === 200 && expectedAnswers(decoded) === 1 && typeof decoded.id === 'string') {
              if (decoded.jsonrpc === '2.0' && typeof decoded.method === 'string')
                assert.equal(r.json.id, decoded.id);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers random methods and paths with a clean HTTP status', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.webPath(),
        async (method, path) => {
          const r = await http(s.port, {
            method,
            path: path.startsWith('/') ? path : `/${path}`,
            body: '{}',
          });
          assert.ok([200, 204, 400, 404, 405].includes(r.status), `${method} ${path} → ${r.status}`);
          if (method !== 'HEAD' && r.status !== 204) assert.notEqual(r.json, undefined, 'a JSON body');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is still healthy afterwards', async () => {
    const r = await http(s.port, { method: 'GET', path: '/health' });
    assert.equal(r.status, 200);
    const c = await http(s.port, { body: JSON.stringify(call('chain_getInfo')) });
    assert.equal(c.json.result.chainId, 'synod-test');
  });
});

describe('fuzzing WebSocket messages', () => {
  let s: Started;
  let c: WsClient;
  before(async () => {
    s = await startServer();
    c = await WsClient.connect(s.wsUrl);
  });
  after(async () => {
    await c.close();
    await s.server.stop();
  });

  it('answers random messages validly and keeps the connection open', async () => {
    let marker = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          requestLike.map((v) => JSON.stringify(v)),
        ),
        async (text) => {
          const from = c.messages.length;
          c.send(text);
          const id = `marker-${++marker}`;
          c.send(call('chain_getInfo', undefined, id));
          await c.waitFor((m) => m.id === id, 5_000, 'marker answer');
          for (const m of c.messages.slice(from)) {
            if (Array.isArray(m)) for (const x of m) assertResponse(x);
            else if (m.method !== 'subscription') assertResponse(m);
          }
          assert.equal(c.closed, undefined);
        },
      ),
      { numRuns: 100 },
    );
  });
});
