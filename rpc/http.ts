/**
 * The HTTP side of the RPC port: routes a request to JSON-RPC, health, metrics or static
 * files, and enforces the body limit. WebSocket upgrades never come here (see ws.ts).
 *
 * | path       | methods   | answer                                                            |
 * |------------|-----------|-------------------------------------------------------------------|
 * | /rpc       | POST      | JSON-RPC 2.0 (200 with the response, 204 when there is none, 413) |
 * | /health    | GET, HEAD | the health callback's JSON; 200 or 503                            |
 * | /metrics   | GET, HEAD | the metrics callback's Prometheus text; 404 when not configured   |
 * | anything   | GET, HEAD | a file of the static folder, else 404                             |
 * Unknown paths answer 404 JSON; a known path with the wrong method answers 405 with `Allow`.
 * Before any of that, a Host or Origin outside the rule of origin-host.ts answers 403 (a
 * JSON-RPC error on /rpc, plain text elsewhere) with the body unread; a listed cross origin
 * gets CORS headers, and its preflight (OPTIONS) answers 204.
 * JSON-RPC errors travel in 200 responses (the call was transported fine); only transport
 * problems use HTTP statuses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Admission } from './connections.js';
import type { Caller, Dispatcher } from './dispatch.js';
import { RpcError, RpcErrorCode } from './errors.js';
import type { RpcMetrics } from './metrics.js';
import type { HealthReport, Limits } from './options.js';
import type { OriginHostRule } from './origin-host.js';
import { serveStatic } from './static.js';

/** A health or metrics callback that does not answer within this is treated as failed. */
const CALLBACK_TIMEOUT_MS = 5_000;

export interface HttpDeps {
  dispatcher: Dispatcher;
  limits: Limits;
  log: Logger;
  metrics: RpcMetrics;
  health: (() => HealthReport | Promise<HealthReport>) | undefined;
  metricsText: (() => string | Promise<string>) | undefined;
  staticDir: string | undefined;
  /** The refusal decided when the connection was accepted, if it was refused. */
  refusal: (socket: Socket) => Admission | undefined;
  originHost: OriginHostRule;
}

/** How long a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;

/** The JSON-RPC error of a request refused by the Host or Origin rule. */
export function forbiddenError(what: 'host' | 'origin'): RpcError {
  return new RpcError(RpcErrorCode.NOT_PERMITTED, `${what === 'host' ? 'Host' : 'Origin'} not allowed`, {
    reason: `${what} not allowed`,
  });
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string>,
): void {
  send(res, status, JSON.stringify(value), headers);
}

function notFound(res: ServerResponse): void {
  sendJson(res, 404, { error: 'not found' });
}

function methodNotAllowed(res: ServerResponse, allow: string[]): void {
  sendJson(res, 405, { error: 'method not allowed', allow }, { allow: allow.join(', ') });
}

/**
 * The path part of the request target. Parsed by hand: WHATWG URL parsing would read
 * `//rpc` as a host named "rpc".
 */
export function requestPath(target: string | undefined): string | null {
  let t = target ?? '/';
  if (/^https?:\/\//i.test(t)) {
    try {
      t = new URL(t).pathname;
    } catch {
      return null;
    }
  }
  const q = t.search(/[?#]/);
  const path = q >= 0 ? t.slice(0, q) : t;
  return path.startsWith('/') ? path : null;
}

async function withTimeout<T>(fn: () => T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      (async () => fn())(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`callback did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createRequestHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { log } = deps;

  function handleRpc(req: IncomingMessage, res: ServerResponse): void {
    const max = deps.limits.maxBodyBytes;
    const ac = new AbortController();
    // The client going away mid-call aborts the handler's signal.
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    let over = false;
    const tooLarge = (actual?: number) => {
      over = true;
      deps.metrics.rejected('body');
      const error = RpcError.tooLarge('bodyBytes', max, actual);
      // Keep reading (and discarding) the rest, then close: replying and closing with unread
      // input would reset the connection and lose this answer.
      req.resume();
      sendJson(res, 413, { jsonrpc: '2.0', id: null, error: error.toObject() }, { connection: 'close' });
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      tooLarge(declared);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => ac.abort());
    req.on('end', () => {
      if (over) return;
      const caller: Caller = {
        transport: 'http',
        remoteAddress: req.socket.remoteAddress ?? '',
        signal: ac.signal,
      };
      const text = Buffer.concat(chunks, size).toString('utf8');
      deps.dispatcher.handleText(text, caller).then(
        (out) => {
          if (out === null) {
            if (!res.headersSent && !res.destroyed) res.writeHead(204, { 'cache-control': 'no-store' }).end();
          } else {
            send(res, 200, out);
          }
        },
        (err) => {
          log.error({ err }, 'JSON-RPC dispatch failed');
          sendJson(res, 500, { jsonrpc: '2.0', id: null, error: RpcError.internal().toObject() });
        },
      );
    });
  }

  async function handleHealth(res: ServerResponse): Promise<void> {
    try {
      const report = deps.health ? await withTimeout(deps.health, CALLBACK_TIMEOUT_MS) : { ok: true };
      sendJson(res, report.ok === false ? 503 : 200, report);
    } catch (err) {
      log.warn({ err }, 'health check failed');
      sendJson(res, 503, { ok: false, error: 'health check failed' });
    }
  }

  async function handleMetrics(res: ServerResponse): Promise<void> {
    const metricsText = deps.metricsText;
    if (!metricsText) return notFound(res);
    try {
      const text = await withTimeout(metricsText, CALLBACK_TIMEOUT_MS);
      if (res.headersSent || res.destroyed) return;
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
        'cache-control': 'no-store',
      });
      res.end(res.req.method === 'HEAD' ? undefined : text);
    } catch (err) {
      log.warn({ err }, 'metrics collection failed');
      sendJson(res, 500, { error: 'metrics unavailable' });
    }
  }

  /** 403 before the body is read: a JSON-RPC error on /rpc, plain text elsewhere. */
  function forbidden(
    req: IncomingMessage,
    res: ServerResponse,
    path: string | null,
    what: 'host' | 'origin',
  ): void {
    deps.metrics.rejected(what);
    log.debug(
      { remoteAddress: req.socket.remoteAddress, host: req.headers.host, origin: req.headers.origin },
      `${what} not allowed`,
    );
    req.resume(); // drain any body so closing does not reset the connection
    if (path === '/rpc') {
      const error = forbiddenError(what).toObject();
      return sendJson(res, 403, { jsonrpc: '2.0', id: null, error }, { connection: 'close' });
    }
    const text = `forbidden: ${what} not allowed\n`;
    send(res, 403, text, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = deps.refusal(req.socket);
    if (refused && !refused.ok) {
      req.resume(); // drain any body so closing does not reset the connection
      sendJson(
        res,
        refused.status,
        { jsonrpc: '2.0', id: null, error: refused.error.toObject() },
        { connection: 'close', 'retry-after': '1' },
      );
      return;
    }
    const path = requestPath(req.url);
    const method = req.method ?? 'GET';
    const host = req.headers.host;
    if (!deps.originHost.hostAllowed(host)) return forbidden(req, res, path, 'host');
    const origin = deps.originHost.checkOrigin(req.headers.origin, host);
    if (!origin.ok) return forbidden(req, res, path, 'origin');
    if (origin.cors !== undefined) {
      res.setHeader('access-control-allow-origin', origin.cors);
      res.setHeader('vary', 'Origin');
      if (method === 'OPTIONS') {
        res
          .writeHead(204, {
            'access-control-allow-methods': 'GET, HEAD, POST',
            'access-control-allow-headers': 'content-type',
            'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
            'cache-control': 'no-store',
          })
          .end();
        return;
      }
    }
    if (path === null) return sendJson(res, 400, { error: 'bad request target' });
    const readOnly = method === 'GET' || method === 'HEAD';
    switch (path) {
      case '/rpc':
        if (method !== 'POST') return methodNotAllowed(res, ['POST']);
        return handleRpc(req, res);
      case '/health':
        if (!readOnly) return methodNotAllowed(res, ['GET', 'HEAD']);
        return handleHealth(res);
      case '/metrics':
        if (!readOnly) return methodNotAllowed(res, ['GET', 'HEAD']);
        return handleMetrics(res);
      default:
        if (!deps.staticDir) return notFound(res);
        if (!readOnly) return methodNotAllowed(res, ['GET', 'HEAD']);
        if (!(await serveStatic(deps.staticDir, path, req, res))) notFound(res);
    }
  }

  return (req, res) => {
    route(req, res).catch((err) => {
      log.error({ err, url: req.url }, 'HTTP handler failed');
      sendJson(res, 500, { error: 'internal error' });
    });
  };
}
