/** Errors the SDK throws, in their own module so every client-*.ts file can share them. */

/** The node answered a call with a JSON-RPC error: `code` is from rpc/errors.ts (e.g. 1002 BAD_NONCE). */
export class RpcCallError extends Error {
  override readonly name = 'RpcCallError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The node could not be reached, or answered something that is not JSON-RPC. */
export class RpcTransportError extends Error {
  override readonly name = 'RpcTransportError';
}

/** A transaction was not committed within the time waited; it may still commit (see `hash`). */
export class TxTimeoutError extends Error {
  override readonly name = 'TxTimeoutError';
  constructor(
    readonly hash: string,
    readonly timeoutMs: number,
  ) {
    super(`transaction ${hash} was not committed within ${timeoutMs} ms; it may still commit`);
  }
}
