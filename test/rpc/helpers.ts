/**
 * Shared test plumbing: start a server on 127.0.0.1:0 over a fake backend, plain HTTP
 * requests on fresh connections (so connection limits are deterministic), a small WebSocket
 * client, and bounded waits (every wait in these tests ends, one way or the other).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { RpcServerOptions } from '../../rpc/options.js';
import { RpcServer } from '../../rpc/server.js';
import { FakeBackend } from './fake-backend.js';

export const silent = pino({ level: 'silent' });

export interface Started {
  server: RpcServer;
  backend: FakeBackend;
  url: string;
  wsUrl: string;
  port: number;
}

export async function startServer(
  opts: Partial<RpcServerOptions> = {},
  backend = new FakeBackend(5),
): Promise<Started> {
  const server = new RpcServer({ backend, logger: silent, ...opts });
  const addr = await server.start();
  return { server, backend, url: addr.url, wsUrl: addr.wsUrl, port: addr.port };
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `cond` until true, failing after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON under test
  json: any;
}

/** One HTTP request on its own connection. `path` is sent verbatim (no normalisation). */
export function http(
  port: number,
  opts: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const { method = 'POST', path = '/rpc', body, headers = {} } = opts;
  return within(
    new Promise<HttpAnswer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent: false,
          headers: { 'content-type': 'application/json', ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    }),
    10_000,
    `${method} ${path}`,
  );
}

/** POST /rpc with a JSON value (or raw text). */
export function rpc(port: number, body: unknown): Promise<HttpAnswer> {
  return http(port, { body: typeof body === 'string' ? body : JSON.stringify(body) });
}

export function call(
  method: string,
  params?: unknown,
  id: string | number | null = 1,
): Record<string, unknown> {
  const req: Record<string, unknown> = { jsonrpc: '2.0', method, id };
  if (params !== undefined) req.params = params;
  return req;
}

/** Asserts the shape of one JSON-RPC 2.0 response object. */
export function assertResponse(r: unknown): void {
  assert.equal(typeof r, 'object');
  assert.notEqual(r, null);
  const o = r as Record<string, unknown>;
  assert.equal(o.jsonrpc, '2.0');
  assert.ok(
    o.id === null || typeof o.id === 'string' || typeof o.id === 'number',
    `bad id ${JSON.stringify(o.id)}`,
  );
  assert.ok(Object.hasOwn(o, 'result') !== Object.hasOwn(o, 'error'), 'exactly one of result / error');
  if (Object.hasOwn(o, 'error')) {
    const e = o.error as Record<string, unknown>;
    assert.ok(Number.isInteger(e.code), 'error.code is an integer');
    assert.equal(typeof e.message, 'string');
  }
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON messages
type Msg = any;

/** A WebSocket JSON-RPC client that keeps every message it receives, in order. */
export class WsClient {
  readonly messages: Msg[] = [];
  private nextId = 1;
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(data.toString())));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', () => {});
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    const ws = new WebSocket(url, options);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      5_000,
      'WebSocket open',
    );
    return new WsClient(ws);
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Sends a call and resolves with its response. */
  async call(method: string, params?: unknown, ms = 5_000): Promise<Msg> {
    const id = this.nextId++;
    this.send(call(method, params, id));
    return this.waitFor((m) => m.id === id, ms, `response to ${method}`);
  }

  /** Resolves with the first received message matching `pred` (already received or future). */
  async waitFor(pred: (m: Msg) => boolean, ms: number, what: string): Promise<Msg> {
    let found: Msg;
    await until(
      () => {
        found = this.messages.find(pred);
        return found !== undefined;
      },
      ms,
      what,
    );
    return found;
  }

  notifications(subscription: string): Msg[] {
    return this.messages.filter(
      (m) => m.method === 'subscription' && m.params?.subscription === subscription,
    );
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => {
        this.ws.once('close', () => resolve());
        this.ws.terminate();
      }),
      2_000,
      'WebSocket close',
    );
  }
}
