/**
 * From a request body (or WebSocket message) to the response text, shared by both transports.
 *
 * The json-rpc-2.0 engine does method lookup, method-not-found, response building and error
 * mapping. Framing is done here, before the engine sees anything, because the engine:
 * - throws on `null` or non-object batch entries (it reads `.method` of them);
 * - answers a one-entry batch with a bare object, where the spec requires an array;
 * - accepts non-string methods and object ids.
 * So each entry is checked against the JSON-RPC 2.0 request shape here and only well-formed
 * single requests are handed to `engine.receive`.
 *
 * Every call gets a deadline (the route's, else the server's handler timeout) and an
 * AbortSignal that fires on that deadline, on client disconnect, or on server stop; the calls
 * of one body to one method share them (SharedDeadline).
 */
import {
  createJSONRPCErrorResponse,
  isJSONRPCID,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
  JSONRPCServer,
} from 'json-rpc-2.0';
import type { Logger } from 'pino';
import type { RpcBackend } from './backend.js';
import { isClientError, RpcError, RpcErrorCode, toErrorObject } from './errors.js';
import type { RpcMetrics } from './metrics.js';
import type { Limits } from './options.js';
import {
  type HandlerContext,
  type RouteEntry,
  routes,
  type SubscriptionApi,
  type Transport,
} from './routes.js';
import { parseParams } from './schemas.js';

/** Who is calling, fixed for a connection (HTTP request or WebSocket session). */
export interface Caller {
  transport: Transport;
  remoteAddress: string;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  subscriptions?: SubscriptionApi;
}

interface DispatcherDeps {
  backend: RpcBackend;
  log: Logger;
  limits: Limits;
  metrics: RpcMetrics;
}

type Entry = { ok: true; request: JSONRPCRequest } | { ok: false; id: JSONRPCID; reason: string };

/**
 * What interrupts the calls of one request body: the caller going away or the server stopping.
 * The calls share one listener on each signal, because a batch of 2,000 calls would otherwise
 * add 2,000 listeners to the same AbortSignal (Node warns past 10, and each EventTarget
 * listener costs a microsecond or two to add and remove).
 */
class BodyInterrupts {
  private readonly calls = new Set<(reason: RpcError) => void>();
  private reason: RpcError | undefined;
  private readonly onCallerAbort = () =>
    this.fire(new RpcError(RpcErrorCode.INTERNAL_ERROR, 'Client disconnected', { reason: 'client gone' }));
  private readonly onStop = () => this.fire(new RpcError(RpcErrorCode.SHUTTING_DOWN));

  constructor(
    private readonly callerSignal: AbortSignal,
    private readonly stopSignal: AbortSignal,
  ) {
    callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
    stopSignal.addEventListener('abort', this.onStop, { once: true });
    if (callerSignal.aborted) this.onCallerAbort();
    else if (stopSignal.aborted) this.onStop();
  }

  /** `interrupt` runs once if the body is interrupted while the call is registered (at once if it was). */
  add(interrupt: (reason: RpcError) => void): void {
    if (this.reason) interrupt(this.reason);
    else this.calls.add(interrupt);
  }

  delete(interrupt: (reason: RpcError) => void): void {
    this.calls.delete(interrupt);
  }

  /** The body is answered: stop listening. */
  close(): void {
    this.callerSignal.removeEventListener('abort', this.onCallerAbort);
    this.stopSignal.removeEventListener('abort', this.onStop);
  }

  private fire(reason: RpcError): void {
    if (this.reason) return;
    this.reason = reason;
    for (const interrupt of this.calls) interrupt(reason);
    this.calls.clear();
  }
}

/**
 * One deadline for the calls of a request body to the same method: one timer, one AbortSignal
 * and one promise that rejects on the deadline, on disconnect or on server stop, raced by each
 * call. Why shared: the calls of a batch start together, and a timer, an AbortController and
 * a promise for each call of a 2,000-call batch of tx_submit were about 1% of a validator's
 * time under load. The time counts from the first call of the body to the method; the
 * deadline is dropped when its last call settles.
 */
class SharedDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private reject!: (reason: RpcError) => void;
  private readonly interrupted: Promise<never>;
  private running = 0;
  private done = false;

  constructor(
    method: string,
    timeoutMs: number,
    private readonly interrupts: BodyInterrupts,
    /** Called once, when no call may join any more (settled, or interrupted). */
    private readonly release: () => void,
  ) {
    this.interrupted = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    // Raced by every call while it runs; nothing else may see an interruption that finds none.
    this.interrupted.catch(() => {});
    this.timer = setTimeout(() => this.interrupt(RpcError.timeout(method, timeoutMs)), timeoutMs);
    interrupts.add(this.interrupt);
  }

  private readonly interrupt = (reason: RpcError): void => {
    this.controller.abort(reason);
    this.reject(reason);
    this.finish();
  };

  /** Runs `fn` until it settles or the deadline is interrupted, whichever comes first. */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await Promise.race([(async () => fn(this.controller.signal))(), this.interrupted]);
    } finally {
      if (--this.running === 0) this.finish();
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.interrupts.delete(this.interrupt);
    this.release();
  }
}

/** The caller as the engine passes it to a method: with its body's interrupts and deadlines. */
interface BodyCaller extends Caller {
  interrupts: BodyInterrupts;
  /** Open shared deadlines of the body, by method. */
  deadlines: Map<string, SharedDeadline>;
}

const hasOwn = (o: object, k: string) => Object.hasOwn(o, k);

/** Checks one decoded value against the JSON-RPC 2.0 request object rules. */
export function checkRequest(value: unknown): Entry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, reason: 'a request must be a JSON object' };
  }
  const o = value as Record<string, unknown>;
  const idPresent = hasOwn(o, 'id');
  const idValid = !idPresent || (isJSONRPCID(o.id) && (typeof o.id !== 'number' || Number.isFinite(o.id)));
  // The id is echoed only when it could be read; otherwise the spec requires null.
  const id: JSONRPCID = idPresent && idValid ? (o.id as JSONRPCID) : null;
  if (o.jsonrpc !== '2.0') return { ok: false, id, reason: 'jsonrpc must be exactly "2.0"' };
  if (typeof o.method !== 'string') return { ok: false, id, reason: 'method must be a string' };
  if (!idValid) return { ok: false, id: null, reason: 'id must be a string, a number or null' };
  if (o.params !== undefined && (typeof o.params !== 'object' || o.params === null)) {
    return { ok: false, id, reason: 'params must be an object or an array' };
  }
  if (hasOwn(o, 'result') || hasOwn(o, 'error')) {
    return { ok: false, id, reason: 'a request has no result or error member' };
  }
  return { ok: true, request: o as unknown as JSONRPCRequest };
}

function errorResponse(id: JSONRPCID, err: RpcError): JSONRPCResponse {
  return createJSONRPCErrorResponse(id, err.code, err.message, err.data);
}

export class Dispatcher {
  private readonly engine: JSONRPCServer<BodyCaller>;
  private readonly deps: DispatcherDeps;
  private closing = false;
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  /** Aborts every in-flight call when the server is cut off after the shutdown grace. */
  private readonly stopAll = new AbortController();

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
    this.engine = new JSONRPCServer<BodyCaller>({
      // Failures are logged where they happen (invoke), with the method; the engine's own
      // listener would otherwise print to the console.
      errorListener: (message, data) => {
        if (!isClientError(data)) deps.log.debug({ err: data }, message);
      },
    });
    this.engine.mapErrorToJSONRPCErrorResponse = (id, error) => {
      const e = toErrorObject(error);
      return createJSONRPCErrorResponse(id, e.code, e.message, e.data);
    };
    this.engine.handleMethodNotFound = async (request) =>
      request.id === undefined
        ? null
        : createJSONRPCErrorResponse(request.id, RpcErrorCode.METHOD_NOT_FOUND, 'Method not found', {
            method: request.method,
          });
    for (const [name, route] of Object.entries(routes) as [string, RouteEntry][]) {
      this.engine.addMethod(name, (params, caller) => this.invoke(name, route, params, caller));
    }
  }

  /** Calls in progress (for stop() and tests). */
  get inFlight(): number {
    return this.active;
  }

  /** From now on every call answers SHUTTING_DOWN. */
  beginShutdown(): void {
    this.closing = true;
  }

  /** Resolves when no call is in progress, or after `ms`; then aborts whatever is left. */
  async drain(ms: number): Promise<void> {
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.stopAll.abort(new RpcError(RpcErrorCode.SHUTTING_DOWN));
  }

  /**
   * Answers a request body: the response text, or null when nothing is to be sent (a
   * notification, or a batch of only notifications). With `reject`, every call in the body
   * is answered with that error instead of being run (used when a client is over a limit).
   */
  async handleText(text: string, caller: Caller, reject?: RpcError): Promise<string | null> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return this.serialize(
        createJSONRPCErrorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error', {
          reason: 'the body is not valid JSON',
        }),
      );
    }
    return this.handlePayload(payload, caller, reject);
  }

  async handlePayload(payload: unknown, caller: Caller, reject?: RpcError): Promise<string | null> {
    const interrupts = new BodyInterrupts(caller.signal, this.stopAll.signal);
    try {
      return await this.answer(payload, { ...caller, interrupts, deadlines: new Map() }, reject);
    } finally {
      interrupts.close();
    }
  }

  private async answer(payload: unknown, caller: BodyCaller, reject?: RpcError): Promise<string | null> {
    if (!Array.isArray(payload)) {
      const res = await this.handleEntry(payload, caller, reject);
      return res === null ? null : this.serialize(res);
    }
    if (payload.length === 0) {
      return this.serialize(
        createJSONRPCErrorResponse(null, RpcErrorCode.INVALID_REQUEST, 'Invalid request', {
          reason: 'empty batch',
        }),
      );
    }
    if (payload.length > this.deps.limits.maxBatch) {
      this.deps.metrics.rejected('batch');
      return this.serialize(
        errorResponse(null, RpcError.tooLarge('batch', this.deps.limits.maxBatch, payload.length)),
      );
    }
    const answers = await Promise.all(payload.map((entry) => this.handleEntry(entry, caller, reject)));
    const parts = answers.filter((a): a is JSONRPCResponse => a !== null).map((a) => this.serialize(a));
    // A batch of notifications only gets no answer at all (spec §6).
    return parts.length === 0 ? null : `[${parts.join(',')}]`;
  }

  private async handleEntry(
    value: unknown,
    caller: BodyCaller,
    reject?: RpcError,
  ): Promise<JSONRPCResponse | null> {
    const entry = checkRequest(value);
    if (!entry.ok) {
      return createJSONRPCErrorResponse(entry.id, RpcErrorCode.INVALID_REQUEST, 'Invalid request', {
        reason: entry.reason,
      });
    }
    const { request } = entry;
    if (reject) return request.id === undefined ? null : errorResponse(request.id, reject);
    try {
      return await this.engine.receive(request, caller);
    } catch (err) {
      // Only an engine bug lands here; still answer rather than drop the call.
      this.deps.log.error({ err, method: request.method }, 'JSON-RPC engine failed');
      return request.id === undefined ? null : errorResponse(request.id, RpcError.internal());
    }
  }

  /** JSON text of one response; a result that cannot be serialised becomes an internal error. */
  private serialize(res: JSONRPCResponse): string {
    try {
      return JSON.stringify(res);
    } catch (err) {
      this.deps.log.error({ err, id: res.id }, 'result is not serialisable as JSON');
      return JSON.stringify(errorResponse(res.id, RpcError.internal()));
    }
  }

  private async invoke(
    method: string,
    route: RouteEntry,
    rawParams: unknown,
    caller: BodyCaller,
  ): Promise<unknown> {
    const started = performance.now();
    let code = 0;
    this.active++;
    try {
      if (this.closing) throw new RpcError(RpcErrorCode.SHUTTING_DOWN);
      if (route.transports && !route.transports.includes(caller.transport)) {
        throw new RpcError(RpcErrorCode.METHOD_NOT_FOUND, 'Method not found', {
          method,
          reason: `only available over ${route.transports.map((t) => (t === 'ws' ? 'WebSocket' : 'HTTP')).join(', ')}`,
        });
      }
      const params = parseParams(route.params, rawParams);
      return await this.deadlineFor(method, route, params, caller).run((signal) =>
        route.handler(params, {
          backend: this.deps.backend,
          signal,
          transport: caller.transport,
          remoteAddress: caller.remoteAddress,
          log: this.deps.log,
          maxTxBytes: this.deps.limits.maxTxBytes,
          subscriptions: caller.subscriptions,
        } satisfies HandlerContext),
      );
    } catch (err) {
      if (isClientError(err)) {
        code = toErrorObject(err).code;
        throw err;
      }
      code = RpcErrorCode.INTERNAL_ERROR;
      this.deps.log.error({ err, method }, 'RPC handler failed');
      throw RpcError.internal();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.deps.metrics.call(method, code, seconds);
      this.deps.log.debug({ method, code, ms: Math.round(seconds * 1000) }, 'rpc call');
      this.active--;
      if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * The deadline a call runs under: its route's time limit (else the server's handler timeout),
   * shared with the body's other calls to the method unless the limit depends on the params.
   */
  private deadlineFor(
    method: string,
    route: RouteEntry,
    params: unknown,
    caller: BodyCaller,
  ): SharedDeadline {
    if (typeof route.timeoutMs === 'function') {
      return new SharedDeadline(method, route.timeoutMs(params), caller.interrupts, () => {});
    }
    let deadline = caller.deadlines.get(method);
    if (deadline === undefined) {
      const timeoutMs = route.timeoutMs ?? this.deps.limits.handlerTimeoutMs;
      const created = new SharedDeadline(method, timeoutMs, caller.interrupts, () => {
        if (caller.deadlines.get(method) === created) caller.deadlines.delete(method);
      });
      deadline = created;
      caller.deadlines.set(method, deadline);
    }
    return deadline;
  }
}
