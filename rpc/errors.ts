/**
 * Error codes of the Synod JSON-RPC API. The numbers are part of the public contract: clients
 * switch on them, so a code is never renumbered or reused for another meaning.
 *
 * Every error answer is `{code, message, data}`: `message` is a short readable sentence,
 * `data` is always an object (possibly empty) with machine-readable details.
 *
 * | code   | name              | when                                                         | data (typical)                         |
 * |--------|-------------------|--------------------------------------------------------------|----------------------------------------|
 * | -32700 | PARSE_ERROR       | the body / message is not valid JSON                         | `{reason}`                             |
 * | -32600 | INVALID_REQUEST   | not a JSON-RPC 2.0 request object, or an empty batch         | `{reason}`                             |
 * | -32601 | METHOD_NOT_FOUND  | unknown method, or a WebSocket-only method over HTTP         | `{method, reason?}`                    |
 * | -32602 | INVALID_PARAMS    | params fail the method's schema; each issue names its field  | `{issues: [{field, message}]}`         |
 * | -32603 | INTERNAL_ERROR    | a bug or an unexpected failure; details are logged, not sent | `{}`                                   |
 * |   1001 | INVALID_SIGNATURE | the transaction's signature does not verify                  | `{hash?}`                              |
 * |   1002 | BAD_NONCE         | nonce already used, or too far ahead of the account's nonce  | `{expected?, got?}`                    |
 * |   1003 | UNKNOWN_ACCOUNT   | the sender is not a registered account                       | `{address}`                            |
 * |   1004 | NOT_PERMITTED     | the account is revoked or lacks the role for this action     | `{address?, action?}`                  |
 * |   1005 | MEMPOOL_FULL      | the mempool is at its count or byte bound; retry later       | `{capacity?}`                          |
 * |   1006 | WRONG_CHAIN_ID    | the transaction is for another chain                         | `{expected, got}`                      |
 * |   1007 | TOO_LARGE         | a size limit: body, batch length, transaction bytes          | `{limit, max, actual?}`                |
 * |   1008 | MALFORMED_TX      | the bytes do not decode as a canonical signed transaction    | `{reason}`                             |
 * |   1009 | TIMEOUT           | the handler ran past its deadline (the tx may still commit)  | `{method, timeoutMs, hash?}`           |
 * |   1010 | NOT_FOUND         | a referenced object is required and absent                   | `{what, id}`                           |
 * |   1011 | RATE_LIMITED      | a per-client limit: connections, in-flight calls, subscriptions | `{limit, max}`                      |
 * |   1012 | SHUTTING_DOWN     | the node is stopping and takes no new calls                  | `{}`                                   |
 * |   1013 | ALREADY_KNOWN     | the transaction is already in the mempool or committed       | `{hash}`                               |
 * |   1014 | UNAVAILABLE       | the node cannot answer yet (e.g. syncing, no state at height) | `{reason}`                            |
 * |   1015 | SENDER_QUOTA      | the sender holds its most transactions behind a nonce gap    | `{address, gapped, max, expected}`     |
 * |   1016 | MEMBER_QUOTA      | the sender's member holds its share of the mempool; retry    | `{memberId, txs, bytes, max, bytesMax}` |
 * |   1017 | TOO_MANY_WAITERS  | this client already waits in as many tx_submitAndWait calls as it may | `{limit, max}`          |
 *
 * Lookups of something absent (a block, a tx, a proposal) answer `null`, not NOT_FOUND: the
 * table in docs/architecture.md says so, and "absent" is a normal answer for an explorer.
 */
import { JSONRPCErrorException } from 'json-rpc-2.0';
import { Refusal } from '../crypto/refusal.js';

export const RpcErrorCode = {
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
} as const;

export type RpcErrorName = keyof typeof RpcErrorCode;
export type RpcErrorCodeValue = (typeof RpcErrorCode)[RpcErrorName];

/** The default readable message of each code, used when a thrower gives none. */
export const RPC_ERROR_MESSAGES: Readonly<Record<RpcErrorCodeValue, string>> = {
  [-32700]: 'Parse error',
  [-32600]: 'Invalid request',
  [-32601]: 'Method not found',
  [-32602]: 'Invalid params',
  [-32603]: 'Internal error',
  1001: 'Invalid signature',
  1002: 'Bad nonce',
  1003: 'Unknown account',
  1004: 'Not permitted',
  1005: 'Mempool full',
  1006: 'Wrong chain id',
  1007: 'Too large',
  1008: 'Malformed transaction',
  1009: 'Timed out',
  1010: 'Not found',
  1011: 'Rate limited',
  1012: 'Shutting down',
  1013: 'Already known',
  1014: 'Unavailable',
  1015: 'Sender quota reached',
  1016: 'Member quota reached',
  1017: 'Too many waiting calls',
};

export type ErrorData = Record<string, unknown>;

/** The `error` member of a JSON-RPC error response as Synod sends it. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data: ErrorData;
}

/**
 * The error handlers (and the backend behind them) throw to answer with a JSON-RPC error.
 * Anything else thrown is treated as a bug: logged with its stack, answered as -32603 with no
 * detail, so internal messages (paths, SQL-ish keys, peer ids) never reach a client.
 */
export class RpcError extends Refusal {
  override readonly name = 'RpcError';
  readonly code: number;
  readonly data: ErrorData;

  constructor(code: number, message?: string, data: ErrorData = {}) {
    // A Refusal: no stack (unexpected errors keep theirs and are logged as bugs).
    super(message ?? RPC_ERROR_MESSAGES[code as RpcErrorCodeValue] ?? 'Error');
    this.code = code;
    this.data = data;
  }

  toObject(): RpcErrorObject {
    return { code: this.code, message: this.message, data: this.data };
  }

  static invalidParams(issues: { field: string; message: string }[]): RpcError {
    const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    return new RpcError(RpcErrorCode.INVALID_PARAMS, `Invalid params: ${summary}`, { issues });
  }

  static tooLarge(limit: string, max: number, actual?: number): RpcError {
    const data: ErrorData = actual === undefined ? { limit, max } : { limit, max, actual };
    return new RpcError(RpcErrorCode.TOO_LARGE, `Too large: ${limit} exceeds ${max}`, data);
  }

  static rateLimited(limit: string, max: number): RpcError {
    return new RpcError(RpcErrorCode.RATE_LIMITED, `Rate limited: ${limit} is at most ${max}`, {
      limit,
      max,
    });
  }

  static timeout(method: string, timeoutMs: number): RpcError {
    return new RpcError(RpcErrorCode.TIMEOUT, `${method} timed out after ${timeoutMs} ms`, {
      method,
      timeoutMs,
    });
  }

  static internal(): RpcError {
    return new RpcError(RpcErrorCode.INTERNAL_ERROR, RPC_ERROR_MESSAGES[-32603], {});
  }
}

/**
 * What goes on the wire for any thrown value. RpcError and the engine's own exception type
 * keep their code, message and data; everything else becomes a detail-free internal error.
 */
export function toErrorObject(err: unknown): RpcErrorObject {
  if (err instanceof RpcError) return err.toObject();
  if (err instanceof JSONRPCErrorException) {
    const data = typeof err.data === 'object' && err.data !== null ? (err.data as ErrorData) : {};
    return { code: err.code, message: err.message, data };
  }
  return RpcError.internal().toObject();
}

/** True when `err` is an expected, client-facing error rather than a bug to log loudly. */
export function isClientError(err: unknown): boolean {
  return err instanceof RpcError || err instanceof JSONRPCErrorException;
}
