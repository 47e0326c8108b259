/**
 * RpcServer options, validated once at construction so a bad config fails at start-up with a
 * message naming the field, not later as a hang or a crash under load.
 *
 * Limits (all optional; defaults in brackets):
 * - maxBodyBytes [1 MiB]          POST /rpc body; larger → HTTP 413 with TOO_LARGE.
 * - maxBatch [100]                entries in one batch; more → TOO_LARGE (id null).
 * - handlerTimeoutMs [30 s]       per call; a route may declare its own (tx_submitAndWait).
 * - maxConnectionsPerIp [64]      open TCP connections per client IP; more → HTTP 429.
 * - maxConnections [1024]         open TCP connections in total; more → HTTP 503.
 * - maxTxBytes [128 KiB]          decoded size of a submitted tx; more → TOO_LARGE.
 * - headersTimeoutMs [10 s]       to receive the request headers (Node answers 408).
 * - requestTimeoutMs [30 s]       to receive the whole request, body included (408).
 * - keepAliveTimeoutMs [5 s]      idle keep-alive connection lifetime.
 * - maxHeaderBytes [16 KiB]       request header size (Node answers 431).
 * - wsMaxMessageBytes [1 MiB]     one WebSocket message; more → close 1009.
 * - wsMaxInFlight [64]            concurrent calls per WebSocket; more → RATE_LIMITED.
 * - wsMaxSubscriptions [32]       subscriptions per WebSocket; more → RATE_LIMITED.
 * - wsSubscriptionBuffer [256]    notifications queued per subscription before `lagged`.
 * - wsHighWaterBytes [1 MiB]      socket backlog above which notifications queue instead of sending.
 * - wsMaxBufferedBytes [16 MiB]   socket backlog above which the connection is closed (1008).
 * - heartbeatMs [30 s]            ping interval; no pong by the next ping → connection terminated.
 * - shutdownGraceMs [5 s]         how long stop() lets in-flight calls finish before cutting.
 *
 * Host and Origin rule (origin-host.ts): `allowedHosts` [loopback names only when bound to a
 * loopback address, else '*'] and `allowedOrigins` [the request's own origin only]; a request
 * or upgrade outside them gets 403 before it is read.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { RpcBackend } from './backend.js';
import { originHostProblems } from './origin-host.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const positiveInt = (max = Number.MAX_SAFE_INTEGER) => z.int().min(1).max(max);
// setTimeout clamps delays above 2^31-1 ms to 1 ms, which would turn a long timeout into none.
const MAX_TIMER_MS = 2 ** 31 - 1;

export const LimitsSchema = z.strictObject({
  maxBodyBytes: positiveInt(256 * MiB).default(1 * MiB),
  maxBatch: positiveInt(10_000).default(100),
  handlerTimeoutMs: positiveInt(MAX_TIMER_MS).default(30_000),
  maxConnectionsPerIp: positiveInt().default(64),
  maxConnections: positiveInt().default(1024),
  maxTxBytes: positiveInt(64 * MiB).default(128 * KiB),
  headersTimeoutMs: positiveInt(MAX_TIMER_MS).default(10_000),
  requestTimeoutMs: positiveInt(MAX_TIMER_MS).default(30_000),
  keepAliveTimeoutMs: positiveInt(MAX_TIMER_MS).default(5_000),
  maxHeaderBytes: positiveInt(1 * MiB).default(16 * KiB),
  wsMaxMessageBytes: positiveInt(256 * MiB).default(1 * MiB),
  wsMaxInFlight: positiveInt().default(64),
  wsMaxSubscriptions: positiveInt().default(32),
  wsSubscriptionBuffer: positiveInt().default(256),
  wsHighWaterBytes: positiveInt().default(1 * MiB),
  wsMaxBufferedBytes: positiveInt().default(16 * MiB),
  heartbeatMs: positiveInt(MAX_TIMER_MS).default(30_000),
  shutdownGraceMs: z.int().min(0).max(MAX_TIMER_MS).default(5_000),
});

export type Limits = z.output<typeof LimitsSchema>;

const isFunction = (v: unknown) => typeof v === 'function';

export type HealthReport = { ok?: boolean; [key: string]: unknown };

export const RpcServerOptionsSchema = z
  .strictObject({
    /** The node's implementation of the data the methods serve. */
    backend: z.custom<RpcBackend>(
      (v) => typeof v === 'object' && v !== null && isFunction((v as RpcBackend).getInfo),
      { error: 'expected an RpcBackend object' },
    ),
    /** Interface to bind; 127.0.0.1 unless the operator opens it up on purpose. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one (tests). */
    port: z.int().min(0).max(65_535).default(0),
    /** A pino logger, normally `rootLogger.child({module: 'rpc'})`. Silent when absent. */
    logger: z
      .custom<Logger>((v) => typeof v === 'object' && v !== null && isFunction((v as Logger).child), {
        error: 'expected a pino logger',
      })
      .optional(),
    /** GET /health: a JSON report; `ok: false` (or a throw) answers 503. Absent → `{ok: true}`. */
    health: z.custom<() => HealthReport | Promise<HealthReport>>(isFunction).optional(),
    /** GET /metrics: Prometheus text exposition. Absent → 404. */
    metrics: z.custom<() => string | Promise<string>>(isFunction).optional(),
    /** If given, the server registers its own rpc metrics in this registry. */
    metricsRegistry: z
      .custom<Registry>((v) => typeof v === 'object' && v !== null && isFunction((v as Registry).metrics))
      .optional(),
    /** Folder served at GET / (the explorer). Absent → only the API paths exist. */
    staticDir: z.string().min(1).optional(),
    /**
     * Host header values served besides loopback names: `name` (any port), `name:port`, or '*'
     * for any. Absent: none when bound to a loopback address, '*' otherwise (DNS rebinding).
     */
    allowedHosts: z.array(z.string().min(1)).max(256).optional(),
    /** Origins (https://app.example:8443) served besides the request's own, or '*' for any. */
    allowedOrigins: z.array(z.string().min(1)).max(256).optional(),
    limits: LimitsSchema.default(() => LimitsSchema.parse({})),
  })
  .refine((o) => o.limits.wsMaxBufferedBytes >= o.limits.wsHighWaterBytes, {
    error: 'limits.wsMaxBufferedBytes must be at least limits.wsHighWaterBytes',
    path: ['limits', 'wsMaxBufferedBytes'],
  })
  .refine((o) => o.limits.headersTimeoutMs <= o.limits.requestTimeoutMs, {
    // Node refuses a header deadline later than the whole-request deadline.
    error: 'limits.headersTimeoutMs must not exceed limits.requestTimeoutMs',
    path: ['limits', 'headersTimeoutMs'],
  })
  .refine((o) => o.limits.maxConnections >= o.limits.maxConnectionsPerIp, {
    error: 'limits.maxConnections must be at least limits.maxConnectionsPerIp',
    path: ['limits', 'maxConnections'],
  })
  .superRefine((o, ctx) => {
    for (const message of originHostProblems(o)) ctx.addIssue({ code: 'custom', message });
  });

export type RpcServerOptions = z.input<typeof RpcServerOptionsSchema>;

export interface ResolvedOptions extends Omit<z.output<typeof RpcServerOptionsSchema>, 'logger'> {
  logger: Logger;
}

export class RpcOptionsError extends Error {
  override readonly name = 'RpcOptionsError';
}

/** Validates and fills defaults; throws RpcOptionsError naming every bad field. */
export function resolveOptions(input: RpcServerOptions): ResolvedOptions {
  const r = RpcServerOptionsSchema.safeParse(input);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new RpcOptionsError(`invalid RPC server options: ${detail}`);
  }
  const given = r.data.logger ?? pino({ level: 'silent' });
  // Every line of this layer carries module=rpc, whether or not the caller already bound it.
  const logger = given.bindings().module === 'rpc' ? given : given.child({ module: 'rpc' });
  return { ...r.data, logger };
}
