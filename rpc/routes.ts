/**
 * THE method table: every JSON-RPC method Synod serves, its param schema, its handler and,
 * where the default does not fit, its own deadline. The names are the contract of docs/architecture.md;
 * the dispatcher (dispatch.ts) registers exactly these with the JSON-RPC engine, so adding a
 * method here is the whole job.
 *
 * Handlers only validate-and-forward: they turn checked params into a backend call and
 * return its JSON-ready result unchanged.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RpcBackend } from './backend.js';
import { RpcError, RpcErrorCode } from './errors.js';
import {
  Address,
  Cursor,
  DataKey,
  Hash32,
  Height,
  HexBytes,
  Limit,
  ProposalId,
  ProposalStatusSchema,
  type SubscribeParams,
  SubscribeSchema,
  WaitTimeout,
} from './schemas.js';

export type Transport = 'http' | 'ws';

/** Per-session subscription operations; present only on WebSocket calls. */
export interface SubscriptionApi {
  subscribe(params: SubscribeParams): string;
  unsubscribe(id: string): boolean;
}

/** What a handler gets besides its params. */
export interface HandlerContext {
  backend: RpcBackend;
  /** Aborts on the call's deadline, when the client goes away, or when the server stops. */
  signal: AbortSignal;
  transport: Transport;
  remoteAddress: string;
  log: Logger;
  /** Largest accepted signed transaction, in bytes. */
  maxTxBytes: number;
  subscriptions: SubscriptionApi | undefined;
}

export interface Route<S extends z.ZodType> {
  params: S;
  handler: (params: z.output<S>, ctx: HandlerContext) => Promise<unknown>;
  /** Deadline in ms; a function when it depends on the params. Default: the server's handler timeout. */
  timeoutMs?: number | ((params: z.output<S>) => number);
  /** Transports the method is served on. Default: both. */
  transports?: readonly Transport[];
}

/** A route with its param type erased, as the dispatcher iterates them. */
export interface RouteEntry {
  params: z.ZodType;
  handler: (params: unknown, ctx: HandlerContext) => Promise<unknown>;
  timeoutMs?: number | ((params: unknown) => number);
  transports?: readonly Transport[];
}

// Type-checks handler against schema, then erases the param type for the table.
function route<S extends z.ZodType>(r: Route<S>): RouteEntry {
  return r as unknown as RouteEntry;
}

const NoParams = z.strictObject({});

/** Decodes checked 0x-hex to bytes, enforcing the transaction size limit. */
function txBytes(hex: string, maxTxBytes: number): Uint8Array {
  const size = (hex.length - 2) / 2;
  if (size > maxTxBytes) throw RpcError.tooLarge('txBytes', maxTxBytes, size);
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

const GetBlockParams = z
  .strictObject({ height: Height.optional(), hash: Hash32.optional(), full: z.boolean().default(false) })
  .refine((p) => (p.height === undefined) !== (p.hash === undefined), {
    error: 'give exactly one of height or hash',
    path: ['height'],
  });

/** Grace beyond tx_submitAndWait's own wait, so the backend's TIMEOUT (with the tx hash) wins the race. */
const SUBMIT_WAIT_GRACE_MS = 5_000;

function wsOnly(ctx: HandlerContext): SubscriptionApi {
  // The dispatcher already refuses ws-only methods over HTTP; this keeps the type honest.
  if (!ctx.subscriptions)
    throw new RpcError(RpcErrorCode.METHOD_NOT_FOUND, 'Method not found', { reason: 'WebSocket only' });
  return ctx.subscriptions;
}

export const routes = {
  chain_getInfo: route({
    params: NoParams,
    handler: (_p, ctx) => ctx.backend.getInfo(),
  }),
  chain_getBlock: route({
    params: GetBlockParams,
    handler: (p, ctx) =>
      p.hash !== undefined
        ? ctx.backend.getBlockByHash(p.hash, p.full)
        : ctx.backend.getBlockByHeight(p.height as number, p.full),
  }),
  chain_getBlocks: route({
    params: z.strictObject({ before: Height.optional(), limit: Limit }),
    handler: (p, ctx) => ctx.backend.getBlocks(p.before, p.limit),
  }),
  chain_getTx: route({
    params: z.strictObject({ hash: Hash32 }),
    handler: (p, ctx) => ctx.backend.getTx(p.hash),
  }),
  chain_getAccountTxs: route({
    params: z.strictObject({ address: Address, before: Cursor.optional(), limit: Limit }),
    handler: (p, ctx) => ctx.backend.getAccountTxs(p.address, p.before, p.limit),
  }),
  tx_submit: route({
    params: z.strictObject({ tx: HexBytes }),
    handler: (p, ctx) => ctx.backend.submitTx(txBytes(p.tx, ctx.maxTxBytes)),
  }),
  tx_submitAndWait: route({
    params: z.strictObject({ tx: HexBytes, timeoutMs: WaitTimeout }),
    handler: (p, ctx) =>
      ctx.backend.submitTxAndWait(txBytes(p.tx, ctx.maxTxBytes), p.timeoutMs, ctx.signal, ctx.remoteAddress),
    timeoutMs: (p) => p.timeoutMs + SUBMIT_WAIT_GRACE_MS,
  }),
  state_getAccount: route({
    params: z.strictObject({ address: Address }),
    handler: (p, ctx) => ctx.backend.getAccount(p.address),
  }),
  state_getData: route({
    params: z.strictObject({ address: Address, key: DataKey, proof: z.boolean().default(false) }),
    handler: (p, ctx) => ctx.backend.getData(p.address, p.key, p.proof),
  }),
  gov_getMembers: route({
    params: z.strictObject({ height: Height.optional() }),
    handler: (p, ctx) => ctx.backend.getMembers(p.height),
  }),
  gov_getValidators: route({
    params: z.strictObject({ height: Height.optional() }),
    handler: (p, ctx) => ctx.backend.getValidators(p.height),
  }),
  gov_getProposals: route({
    params: z.strictObject({ status: ProposalStatusSchema.optional() }),
    handler: (p, ctx) => ctx.backend.getProposals(p.status),
  }),
  gov_getProposal: route({
    params: z.strictObject({ id: ProposalId }),
    handler: (p, ctx) => ctx.backend.getProposal(p.id),
  }),
  node_getStatus: route({
    params: NoParams,
    handler: (_p, ctx) => ctx.backend.getStatus(),
  }),
  subscribe: route({
    params: SubscribeSchema,
    handler: async (p, ctx) => wsOnly(ctx).subscribe(p),
    transports: ['ws'],
  }),
  unsubscribe: route({
    params: z.strictObject({
      subscription: z.string({ error: 'expected a subscription id string' }).max(64),
    }),
    handler: async (p, ctx) => wsOnly(ctx).unsubscribe(p.subscription),
    transports: ['ws'],
  }),
} as const satisfies Record<string, RouteEntry>;

export type MethodName = keyof typeof routes;
export const METHOD_NAMES = Object.keys(routes) as MethodName[];
