/**
 * Building blocks of the method param schemas, and the translation of a schema failure into
 * an INVALID_PARAMS error whose issues name the offending field.
 *
 * Objects are strict: an unknown key (`heigth`) is an error, not silently ignored, because a
 * typo would otherwise quietly select a default (the latest block instead of the one asked).
 */
import { z } from 'zod';
import { PROPOSAL_STATUSES } from './backend.js';
import { RpcError } from './errors.js';

/** Block height: a non-negative safe integer. */
export const Height = z.int({ error: 'expected a non-negative integer' }).nonnegative({
  error: 'expected a non-negative integer',
});

/** 32-byte hash as 0x + 64 hex digits; normalised to lower case for the backend. */
export const Hash32 = z
  .string({ error: 'expected a 0x-prefixed 32-byte hex string' })
  .regex(/^0x[0-9a-fA-F]{64}$/, { error: 'expected 0x followed by 64 hex digits' })
  .transform((s) => s.toLowerCase());

/** 20-byte address as 0x + 40 hex digits; normalised to lower case. */
export const Address = z
  .string({ error: 'expected a 0x-prefixed 20-byte hex address' })
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: 'expected 0x followed by 40 hex digits' })
  .transform((s) => s.toLowerCase());

/** Page size: 1..100, default 20. */
export const Limit = z
  .int({ error: 'expected an integer from 1 to 100' })
  .min(1, { error: 'expected an integer from 1 to 100' })
  .max(100, { error: 'expected an integer from 1 to 100' })
  .default(20);

/**
 * Non-empty 0x-hex bytes. The size cap is checked by the handler against the configured
 * limit (answering TOO_LARGE); the body limit already bounds the string itself.
 */
export const HexBytes = z
  .string({ error: 'expected 0x-prefixed hex bytes' })
  .regex(/^0x(?:[0-9a-fA-F]{2})+$/, {
    error: 'expected 0x followed by a non-empty, even number of hex digits',
  });

/** Opaque pagination cursor handed back by an earlier page. */
export const Cursor = z
  .string({ error: 'expected a cursor string from an earlier page' })
  .min(1, { error: 'expected a non-empty cursor' })
  .max(256, { error: 'cursor longer than 256 characters' });

/** Key in an account's data namespace, as the client wrote it. */
export const DataKey = z
  .string({ error: 'expected a string key' })
  .min(1, { error: 'expected a non-empty key' })
  .max(1024, { error: 'key longer than 1024 characters' });

export const ProposalStatusSchema = z.enum(PROPOSAL_STATUSES, {
  error: `expected one of ${PROPOSAL_STATUSES.join(', ')}`,
});

export const ProposalId = z.int({ error: 'expected a non-negative integer proposal id' }).nonnegative({
  error: 'expected a non-negative integer proposal id',
});

/** Upper bound of tx_submitAndWait's own `timeoutMs`. */
export const MAX_SUBMIT_WAIT_MS = 120_000;
export const DEFAULT_SUBMIT_WAIT_MS = 30_000;

export const WaitTimeout = z
  .int({ error: `expected an integer from 1 to ${MAX_SUBMIT_WAIT_MS}` })
  .min(1, { error: `expected an integer from 1 to ${MAX_SUBMIT_WAIT_MS}` })
  .max(MAX_SUBMIT_WAIT_MS, { error: `expected an integer from 1 to ${MAX_SUBMIT_WAIT_MS}` })
  .default(DEFAULT_SUBMIT_WAIT_MS);

/** subscribe's params: one shape per topic (WebSocket only). */
export const SubscribeSchema = z.discriminatedUnion(
  'topic',
  [
    z.strictObject({ topic: z.literal('newBlocks'), fromHeight: Height.optional() }),
    z.strictObject({ topic: z.literal('tx'), hash: Hash32 }),
    z.strictObject({ topic: z.literal('governance') }),
  ],
  { error: 'expected topic newBlocks, tx or governance' },
);

export type SubscribeParams = z.output<typeof SubscribeSchema>;

/**
 * JSON-RPC allows params by name (object) or by position (array). Synod's methods take
 * named params; for the convenience of clients that always send an array, `[]` means no
 * params and `[{...}]` means the object inside. Absent params mean `{}`.
 */
export function normalizeParams(raw: unknown): unknown {
  if (raw === undefined) return {};
  if (Array.isArray(raw)) {
    if (raw.length === 0) return {};
    const only = raw[0];
    if (raw.length === 1 && typeof only === 'object' && only !== null && !Array.isArray(only)) return only;
  }
  return raw;
}

/** Turns schema issues into `{field, message}` pairs, naming the field (or the unknown keys). */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: base ? `${base}.${key}` : key, message: 'unknown field' });
      }
      continue;
    }
    out.push({ field: base || 'params', message: issue.message });
  }
  return out;
}

/** Parses params with `schema`, throwing INVALID_PARAMS that names each bad field. */
export function parseParams<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(normalizeParams(raw));
  if (!result.success) throw RpcError.invalidParams(describeIssues(result.error));
  return result.data;
}
