/**
 * A typed JSON-RPC client for Synod nodes (importable as `synod/client`): one method per RPC
 * call, errors as `RpcCallError` with the server's code and data, and helpers that sign and
 * submit transactions with the right nonce.
 */
import type { Signer } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import { encodeSignedTx } from '../ledger/codec.js';
import { signTx } from '../ledger/tx-builder.js';
import type { Address, Transaction, TxBody } from '../ledger/types.js';
import type { Json, JsonObject } from './backend.js';

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

export interface ClientOptions {
  /** Per-call time limit (ms); tx_submitAndWait adds its own wait on top. Default 30 s. */
  timeoutMs?: number;
}

export class SynodClient {
  private nextId = 1;
  private readonly timeoutMs: number;

  constructor(
    readonly url: string,
    opts: ClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** One JSON-RPC call; throws RpcCallError for an error answer, Error for transport failures. */
  async call<T = Json>(method: string, params?: JsonObject, timeoutMs = this.timeoutMs): Promise<T> {
    const id = this.nextId++;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new Error(`cannot reach ${this.url}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: { result?: T; error?: { code: number; message: string; data?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${this.url} answered HTTP ${res.status} with a non-JSON body`);
    }
    if (body.error) throw new RpcCallError(body.error.code, body.error.message, body.error.data);
    return body.result as T;
  }

  getInfo() {
    return this.call<JsonObject>('chain_getInfo');
  }
  getStatus() {
    return this.call<JsonObject>('node_getStatus');
  }
  getBlock(ref: { height: number } | { hash: string }, full = false) {
    return this.call<JsonObject | null>('chain_getBlock', { ...ref, full });
  }
  getBlocks(limit = 20, before?: number) {
    return this.call<JsonObject>('chain_getBlocks', { limit, ...(before === undefined ? {} : { before }) });
  }
  getTx(hash: string) {
    return this.call<JsonObject | null>('chain_getTx', { hash });
  }
  getAccount(address: string) {
    return this.call<JsonObject | null>('state_getAccount', { address });
  }
  getData(address: string, key: string, proof = false) {
    return this.call<JsonObject | null>('state_getData', { address, key, proof });
  }
  getValidators() {
    return this.call<JsonObject>('gov_getValidators', {});
  }
  getMembers() {
    return this.call<JsonObject>('gov_getMembers', {});
  }
  submitTx(tx: Uint8Array) {
    return this.call<{ hash: string }>('tx_submit', { tx: toHex(tx) });
  }
  submitTxAndWait(tx: Uint8Array, timeoutMs = 30_000) {
    return this.call<JsonObject>(
      'tx_submitAndWait',
      { tx: toHex(tx), timeoutMs },
      timeoutMs + this.timeoutMs,
    );
  }

  /** The account's next nonce as the node sees it (0 for an account it does not know). */
  async nextNonce(address: Address): Promise<number> {
    const account = await this.getAccount(toHex(address));
    return typeof account?.nonce === 'number' ? account.nonce : 0;
  }

  /**
   * Signs `body` as the signer's next transaction (nonce from the node) and submits it;
   * with `wait`, answers once it is committed (with its receipt).
   */
  async send(
    signer: Signer,
    chainId: string,
    body: TxBody,
    opts: { wait?: boolean; timeoutMs?: number } = {},
  ) {
    const nonce = await this.nextNonce(signer.address);
    const tx = { chainId, from: signer.address, nonce, ...body } as Transaction;
    const bytes = encodeSignedTx(signTx(tx, signer));
    return opts.wait ? this.submitTxAndWait(bytes, opts.timeoutMs) : this.submitTx(bytes);
  }
}
