/**
 * The Synod client SDK (importable as `synod/client`): a typed method per JSON-RPC call,
 * transaction building and signing, a nonce manager so one account can have many transactions
 * in flight, `waitForTx`, WebSocket subscriptions that survive reconnects (client-ws.ts), and
 * a verifier for commit certificates and state proofs (client-verify.ts).
 *
 *   const client = new SynodClient('http://127.0.0.1:26600/rpc');
 *   const me = client.account(new Signer(secretKey));
 *   const { hash } = await me.transfer(to, 25n);            // admitted to the mempool
 *   const tx = await client.waitForTx(hash);                // committed, with its receipt
 *   const { value } = await client.getVerifiedData(address, 'greeting');  // proven
 *
 * Errors: RpcCallError (the node answered an error: `code`, `data`), RpcTransportError (no
 * answer), TxTimeoutError (not committed in time; it may still commit), VerificationError.
 */
import { addressOf } from '../crypto/ed25519.js';
import { fromHex, sha256, toHex } from '../crypto/hash.js';
import { encodeSignedTx, txHash } from '../ledger/codec.js';
import { signTx, type TxSigner } from '../ledger/tx-builder.js';
import type { Address, GovAction, SignedTransaction, Transaction, TxBody } from '../ledger/types.js';
import type { Json, JsonObject } from './backend.js';
import { RpcCallError, RpcTransportError, TxTimeoutError } from './client-errors.js';
import { NonceManager } from './client-nonce.js';
import type {
  AccountJson,
  AccountTxsPage,
  BlockResult,
  BlocksPage,
  DataResult,
  InfoResult,
  MembersResult,
  ProposalJson,
  StatusResult,
  TxRecord,
  ValidatorsResult,
} from './client-types.js';
import {
  type CertifiedHeader,
  VerificationError,
  type VerifiedData,
  verifyCertifiedHeader,
  verifyDataProof,
} from './client-verify.js';
import { type SocketOptions, SynodSocket } from './client-ws.js';

export { addressOf, generateKeyPair, Signer } from '../crypto/ed25519.js';
export { decodeSignedTx, encodeSignedTx, txHash } from '../ledger/codec.js';
export {
  dataPutTx,
  proposeTx,
  registerTx,
  revokeTx,
  signTx,
  type TxHead,
  type TxSigner,
  transferTx,
  voteTx,
  Wallet,
} from '../ledger/tx-builder.js';
export type { GovAction, SignedTransaction, Transaction, TxBody } from '../ledger/types.js';
export { RpcCallError, RpcTransportError, TxTimeoutError } from './client-errors.js';
export { NonceManager } from './client-nonce.js';
export type * from './client-types.js';
export {
  type CertifiedHeader,
  dataStateKey,
  headerFromJson,
  VerificationError,
  type VerificationErrorCode,
  type VerifiedData,
  validatorsHashHex,
  verifyCertifiedHeader,
  verifyDataProof,
} from './client-verify.js';
export {
  type BlocksOptions,
  type BlocksSubscription,
  SocketClosedError,
  type SocketOptions,
  type SocketStatusEvent,
  type Subscription,
  SynodSocket,
  toWsUrl,
} from './client-ws.js';

/** JSON-RPC error codes the SDK reacts to (the full table is in rpc/errors.ts). */
const BAD_NONCE = 1002;
const TIMEOUT = 1009;
const ALREADY_KNOWN = 1013;
/** A nonce refused as used or taken is retried with another this many times at most. */
const NONCE_RETRIES_MAX = 8;

export interface ClientOptions {
  /** Per-call time limit (ms); tx_submitAndWait adds its own wait on top. Default 30 s. */
  timeoutMs?: number;
  /**
   * HTTP requests in flight at once; more wait their turn in order. Each in-flight request
   * holds a connection and nodes cap connections per client IP (64 by default), so a burst of
   * calls must not open one each. Default 16.
   */
  maxInFlight?: number;
}

/** A counting semaphore with a FIFO queue (calls keep their order, which nonces rely on). */
class Slots {
  private free: number;
  private readonly queue: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}

/** One entry of a batch: a method and its params. */
export interface BatchCall {
  method: string;
  params?: JsonObject;
}

/** One answer of a batch, in the order of the calls. */
export type BatchAnswer<T = Json> = { ok: true; result: T } | { ok: false; error: RpcCallError };

export interface SendOptions {
  /** Wait until committed (tx_submitAndWait) and answer the committed tx with its receipt. */
  wait?: boolean;
  /** How long `wait` waits (ms, 1..120000). Default 30 s. */
  timeoutMs?: number;
}

/** What a send answers without `wait`: the hash, and the nonce it used. */
export interface Submitted {
  hash: string;
  nonce: number;
}

/** The committed tx with `wait: true`, the submitted hash with `wait` false or absent, either when unknown. */
export type SendResult<O extends SendOptions | undefined> = O extends { wait: true }
  ? TxRecord
  : O extends { wait?: false | undefined } | undefined
    ? Submitted
    : TxRecord | Submitted;

/** A signer with its address (crypto/ed25519 Signer fits). */
export type AccountSigner = TxSigner & { readonly address: Address };

type AddressLike = string | Uint8Array;

function addressHex(a: AddressLike): string {
  if (typeof a === 'string') return toHex(fromHex(a, 20, 'address'));
  if (a.length !== 20) throw new RangeError('address: expected 20 bytes');
  return toHex(a);
}

function txBytes(tx: Uint8Array | SignedTransaction): Uint8Array {
  return tx instanceof Uint8Array ? tx : encodeSignedTx(tx);
}

export class SynodClient {
  private nextId = 1;
  private readonly timeoutMs: number;
  private readonly slots: Slots;
  private readonly nonceManagers = new Map<string, NonceManager>();
  private chainIdValue: Promise<string> | undefined;

  constructor(
    readonly url: string,
    opts: ClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const maxInFlight = opts.maxInFlight ?? 16;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError('maxInFlight: expected a positive integer');
    this.slots = new Slots(maxInFlight);
  }

  // ---- transport ------------------------------------------------------------------------

  private async post(body: unknown, timeoutMs: number): Promise<unknown> {
    const payload = JSON.stringify(body);
    await this.slots.acquire();
    let res: Response;
    let text: string;
    try {
      try {
        res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        throw new RpcTransportError(`cannot reach ${this.url}: ${(err as Error).message}`);
      }
    } finally {
      this.slots.release();
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new RpcTransportError(`${this.url} answered HTTP ${res.status} with a non-JSON body`);
    }
  }

  /** One JSON-RPC call; throws RpcCallError for an error answer, RpcTransportError for no answer. */
  async call<T = Json>(method: string, params?: JsonObject, timeoutMs = this.timeoutMs): Promise<T> {
    const id = this.nextId++;
    const body = (await this.post(
      { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) },
      timeoutMs,
    )) as { result?: T; error?: { code: number; message: string; data?: unknown } };
    if (body?.error) throw new RpcCallError(body.error.code, body.error.message, body.error.data);
    if (typeof body !== 'object' || body === null || !('result' in body))
      throw new RpcTransportError(`${this.url} answered without a result`);
    return body.result as T;
  }

  /**
   * Several calls in one request (at most the node's batch limit, 100 by default). Answers
   * come in the order of `calls`, each a result or its own error.
   */
  async batch<T = Json>(calls: readonly BatchCall[], timeoutMs = this.timeoutMs): Promise<BatchAnswer<T>[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const body = await this.post(
      calls.map((c, i) => ({
        jsonrpc: '2.0',
        id: first + i,
        method: c.method,
        ...(c.params === undefined ? {} : { params: c.params }),
      })),
      timeoutMs,
    );
    if (!Array.isArray(body)) {
      const e = (body as { error?: { code: number; message: string; data?: unknown } })?.error;
      if (e) throw new RpcCallError(e.code, e.message, e.data);
      throw new RpcTransportError(`${this.url} answered a batch with something else`);
    }
    const byId = new Map<number, { result?: T; error?: { code: number; message: string; data?: unknown } }>();
    for (const a of body) byId.set(a.id, a);
    return calls.map((c, i) => {
      const a = byId.get(first + i);
      if (!a) return { ok: false, error: new RpcCallError(-32603, `no answer for ${c.method}`) };
      if (a.error) return { ok: false, error: new RpcCallError(a.error.code, a.error.message, a.error.data) };
      return { ok: true, result: a.result as T };
    });
  }

  /** A WebSocket connection to the same node, for subscriptions (close it when done). */
  socket(opts: SocketOptions = {}): SynodSocket {
    return new SynodSocket(this.url, opts);
  }

  // ---- one method per RPC call ------------------------------------------------------------

  getInfo(): Promise<InfoResult> {
    return this.call<InfoResult>('chain_getInfo');
  }
  getStatus(): Promise<StatusResult> {
    return this.call<StatusResult>('node_getStatus');
  }
  getBlock(ref: { height: number } | { hash: string }, full = false): Promise<BlockResult | null> {
    return this.call<BlockResult | null>('chain_getBlock', { ...ref, full });
  }
  /** Newest-first headers below `before` (from the tip when absent); `limit` 1..100. */
  getBlocks(limit = 20, before?: number): Promise<BlocksPage> {
    return this.call<BlocksPage>('chain_getBlocks', { limit, ...(before === undefined ? {} : { before }) });
  }
  getTx(hash: string): Promise<TxRecord | null> {
    return this.call<TxRecord | null>('chain_getTx', { hash });
  }
  /** Newest-first page of the account's transactions; pass a page's `next` as `before`. */
  getAccountTxs(
    address: AddressLike,
    opts: { before?: string; limit?: number } = {},
  ): Promise<AccountTxsPage> {
    return this.call<AccountTxsPage>('chain_getAccountTxs', {
      address: addressHex(address),
      ...(opts.before === undefined ? {} : { before: opts.before }),
      ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    });
  }
  getAccount(address: AddressLike): Promise<AccountJson | null> {
    return this.call<AccountJson | null>('state_getAccount', { address: addressHex(address) });
  }
  /** The value under `key` in `address`'s namespace; with `proof`, unverified proof material (see getVerifiedData). */
  getData(address: AddressLike, key: string, proof = false): Promise<DataResult | null> {
    return this.call<DataResult | null>('state_getData', { address: addressHex(address), key, proof });
  }
  /** The member registry after block `height` (latest when absent); null for a height beyond the tip. */
  getMembers(): Promise<MembersResult>;
  getMembers(height: number | undefined): Promise<MembersResult | null>;
  getMembers(height?: number): Promise<MembersResult | null> {
    return this.call<MembersResult | null>('gov_getMembers', height === undefined ? {} : { height });
  }
  /**
   * V(height), the set that certifies block `height` (the next block's set when absent); null
   * beyond the next height.
   */
  getValidators(): Promise<ValidatorsResult>;
  getValidators(height: number | undefined): Promise<ValidatorsResult | null>;
  getValidators(height?: number): Promise<ValidatorsResult | null> {
    return this.call<ValidatorsResult | null>('gov_getValidators', height === undefined ? {} : { height });
  }
  /** Proposals, newest first, optionally only those with `status`. */
  getProposals(status?: ProposalJson['status']): Promise<ProposalJson[]> {
    return this.call<ProposalJson[]>('gov_getProposals', status === undefined ? {} : { status });
  }
  getProposal(id: number): Promise<ProposalJson | null> {
    return this.call<ProposalJson | null>('gov_getProposal', { id });
  }
  /** Admits a signed tx to the mempool; answers its hash. */
  submitTx(tx: Uint8Array | SignedTransaction): Promise<{ hash: string }> {
    return this.call<{ hash: string }>('tx_submit', { tx: toHex(txBytes(tx)) });
  }
  /** Admits a signed tx and answers once it is committed (RpcCallError 1009 TIMEOUT with data.hash otherwise). */
  submitTxAndWait(tx: Uint8Array | SignedTransaction, timeoutMs = 30_000): Promise<TxRecord> {
    return this.call<TxRecord>(
      'tx_submitAndWait',
      { tx: toHex(txBytes(tx)), timeoutMs },
      timeoutMs + this.timeoutMs,
    );
  }

  // ---- transactions ---------------------------------------------------------------------

  /** The chain id, read once from the node. */
  chainId(): Promise<string> {
    this.chainIdValue ??= this.getInfo().then(
      (i) => i.chainId,
      (err) => {
        this.chainIdValue = undefined;
        throw err;
      },
    );
    return this.chainIdValue;
  }

  /** The account's next nonce as the node sees it (0 for an account it does not know). */
  async nextNonce(address: AddressLike): Promise<number> {
    const account = await this.getAccount(address);
    return typeof account?.nonce === 'number' ? account.nonce : 0;
  }

  /** The nonce manager of `address` (one per address and client, shared by every send). */
  nonces(address: AddressLike): NonceManager {
    const key = addressHex(address);
    let m = this.nonceManagers.get(key);
    if (!m) {
      m = new NonceManager(() => this.nextNonce(key));
      this.nonceManagers.set(key, m);
    }
    return m;
  }

  /**
   * Signs `body` with the signer's next nonce (from its nonce manager, so concurrent sends get
   * consecutive nonces) and submits it; with `wait`, answers once committed, with its receipt.
   * A nonce the node says is used or taken is replaced and the tx re-signed; a nonce of a tx
   * the node refused is given back for the next send.
   */
  send<O extends SendOptions | undefined = undefined>(
    signer: AccountSigner,
    chainId: string,
    body: TxBody,
    opts?: O,
  ): Promise<SendResult<O>> {
    return this.sendAny(signer, chainId, body, opts ?? {}) as Promise<SendResult<O>>;
  }

  private async sendAny(
    signer: AccountSigner,
    chainId: string,
    body: TxBody,
    opts: SendOptions,
  ): Promise<TxRecord | Submitted> {
    const nonces = this.nonces(signer.address);
    for (let attempt = 0; ; attempt++) {
      const nonce = await nonces.acquire();
      const tx = { chainId, from: signer.address, nonce, ...body } as Transaction;
      const bytes = encodeSignedTx(signTx(tx, signer));
      try {
        if (opts.wait) return await this.submitTxAndWait(bytes, opts.timeoutMs ?? 30_000);
        const { hash } = await this.submitTx(bytes);
        return { hash, nonce };
      } catch (err) {
        if (!(err instanceof RpcCallError)) {
          // No answer: the tx may or may not be in; if it is, the nonce's next user is told
          // it is taken and moves on, so giving it back is safe.
          nonces.release(nonce);
          throw err;
        }
        if (err.code === TIMEOUT) throw err; // admitted: the nonce is spent
        if (err.code === ALREADY_KNOWN && !opts.wait) {
          // These very bytes were committed already (an earlier attempt whose answer was lost).
          return { hash: toHex(sha256(bytes)), nonce };
        }
        if (err.code !== BAD_NONCE || attempt >= NONCE_RETRIES_MAX) {
          nonces.release(nonce);
          throw err;
        }
        const data = (err.data ?? {}) as {
          expected?: number;
          got?: number;
          pending?: string;
          futureMax?: number;
        };
        if (data.futureMax !== undefined) {
          // Too far ahead: too many of this account's txs are pending; nothing to retry.
          nonces.release(nonce);
          throw err;
        }
        // Used (committed) or taken (another pending tx has it): skip past it and re-sign.
        if (typeof data.expected === 'number') nonces.advanceTo(data.expected);
      }
    }
  }

  /** A sender bound to one signer: a method per transaction kind. Chain id read from the node unless given. */
  account(signer: AccountSigner, chainId?: string): AccountClient {
    return new AccountClient(this, signer, chainId);
  }

  /**
   * Polls chain_getTx until the tx is committed (every 100 ms, slowing to 1 s). Throws
   * TxTimeoutError after `timeoutMs`; the tx may still commit later.
   */
  async waitForTx(hash: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<TxRecord> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let delay = opts.pollMs ?? 100;
    for (;;) {
      const tx = await this.getTx(hash);
      if (tx) return tx;
      const left = deadline - Date.now();
      if (left <= 0) throw new TxTimeoutError(hash, timeoutMs);
      await new Promise((r) => setTimeout(r, Math.min(delay, left)));
      delay = Math.min(1_000, delay * 2);
    }
  }

  // ---- verified reads -------------------------------------------------------------------

  /**
   * The validator set of `height`, checked against the header: its hash must be the header's
   * validatorsHash. `trusted` skips the fetch (a set the caller already trusts).
   */
  private async validatorsFor(height: number, trusted?: ValidatorsResult['validators']) {
    if (trusted) return trusted;
    const set = await this.getValidators(height);
    if (!set)
      throw new VerificationError(
        'validators-mismatch',
        `the node has no validator set for height ${height}`,
      );
    return set.validators;
  }

  /**
   * Reads `key` of `address` with a proof and verifies it: the header's commit certificate by
   * V(height) (fetched with gov_getValidators unless `validators` is given; its hash must match
   * the header), then the Merkle proof against the header's state root. Throws
   * VerificationError when anything does not check out.
   */
  async getVerifiedData(
    address: AddressLike,
    key: string,
    opts: { validators?: ValidatorsResult['validators'] } = {},
  ): Promise<VerifiedData> {
    const a = addressHex(address);
    const answer = await this.getData(a, key, true);
    if (!answer?.header) throw new VerificationError('bad-proof', 'the node answered no proof');
    await this.expectChain(answer.header.chainId);
    const validators = await this.validatorsFor(answer.header.height, opts.validators);
    return verifyDataProof(a, key, answer, validators);
  }

  /** Block `height` with its header verified against its commit certificate and V(height). */
  async getVerifiedBlock(
    height: number,
    opts: { validators?: ValidatorsResult['validators'] } = {},
  ): Promise<BlockResult & { verified: CertifiedHeader }> {
    const block = await this.getBlock({ height });
    if (!block) throw new VerificationError('bad-header', `the node has no block ${height}`);
    await this.expectChain(block.header.chainId);
    const validators = await this.validatorsFor(height, opts.validators);
    return { ...block, verified: verifyCertifiedHeader(block.header, block.cert, validators) };
  }

  /** A header of another chain is refused even if its certificate is valid there. */
  private async expectChain(chainId: string): Promise<void> {
    const ours = await this.chainId();
    if (chainId !== ours)
      throw new VerificationError('bad-header', `the header is of chain '${chainId}', not '${ours}'`);
  }
}

/** Sends transactions of one account; every method takes SendOptions (wait, timeoutMs). */
export class AccountClient {
  constructor(
    readonly client: SynodClient,
    readonly signer: AccountSigner,
    private readonly chainIdGiven?: string,
  ) {}

  get address(): string {
    return toHex(this.signer.address);
  }

  /** Any transaction body. */
  async submit<O extends SendOptions | undefined = undefined>(
    body: TxBody,
    opts?: O,
  ): Promise<SendResult<O>> {
    const chainId = this.chainIdGiven ?? (await this.client.chainId());
    return this.client.send(this.signer, chainId, body, opts);
  }

  /** Moves `amount` to `to` (a registered account), with an optional `memo`. */
  transfer<O extends (SendOptions & { memo?: string }) | undefined = undefined>(
    to: AddressLike,
    amount: bigint,
    opts?: O,
  ): Promise<SendResult<O>> {
    const toBytes = fromHex(addressHex(to), 20, 'to');
    const memo = opts?.memo;
    return this.submit(
      {
        kind: 'asset.transfer',
        body: memo === undefined ? { to: toBytes, amount } : { to: toBytes, amount, memo },
      },
      opts,
    );
  }

  /** Stores `value` (bytes, or a string stored as UTF-8) under `key`; an empty value deletes it. */
  put<O extends SendOptions | undefined = undefined>(
    key: string,
    value: Uint8Array | string,
    opts?: O,
  ): Promise<SendResult<O>> {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    return this.submit({ kind: 'data.put', body: { key, value: bytes } }, opts);
  }

  /** Adds a client key to this (admin) account's member, with roles (admin, transfer, data). */
  register<O extends SendOptions | undefined = undefined>(
    publicKey: Uint8Array | string,
    roles: string[],
    opts?: O,
  ): Promise<SendResult<O>> {
    const pk = typeof publicKey === 'string' ? fromHex(publicKey, 32, 'publicKey') : publicKey;
    return this.submit({ kind: 'identity.register', body: { publicKey: pk, roles } }, opts);
  }

  /** Revokes an account of this (admin) account's member. */
  revoke<O extends SendOptions | undefined = undefined>(
    address: AddressLike,
    opts?: O,
  ): Promise<SendResult<O>> {
    return this.submit(
      { kind: 'identity.revoke', body: { address: fromHex(addressHex(address), 20, 'address') } },
      opts,
    );
  }

  /** Opens a governance proposal; the receipt's result carries its `proposalId`. */
  propose<O extends SendOptions | undefined = undefined>(
    action: GovAction,
    title: string,
    opts?: O,
  ): Promise<SendResult<O>> {
    return this.submit({ kind: 'gov.propose', body: { action, title } }, opts);
  }

  vote<O extends SendOptions | undefined = undefined>(
    proposalId: number,
    approve: boolean,
    opts?: O,
  ): Promise<SendResult<O>> {
    return this.submit({ kind: 'gov.vote', body: { proposalId, approve } }, opts);
  }
}

/** The address of a public key (0x-hex), e.g. of a key about to be registered. */
export function addressOfKey(publicKey: Uint8Array | string): string {
  const pk = typeof publicKey === 'string' ? fromHex(publicKey, 32, 'publicKey') : publicKey;
  return toHex(addressOf(pk));
}

/** The hash a node will give this signed transaction. */
export function signedTxHash(tx: SignedTransaction): string {
  return toHex(txHash(tx));
}
