/**
 * What the RPC layer needs from the node: the consumer defines the interface, the node
 * implements it. Every result is already JSON-ready (bytes as 0x-hex strings, amounts above
 * 2^53 as decimal strings), so `rpc/` never imports ledger or consensus internals and the
 * node can change its storage without touching the wire format.
 *
 * Conventions for implementers:
 * - Hashes and addresses arrive lower-case and validated (0x + 64 / 40 hex digits).
 * - "Absent" is `null`, not an error (an explorer asks for things that do not exist yet).
 * - To answer with an application error, throw `RpcError` from `rpc/errors.js` (e.g.
 *   `new RpcError(RpcErrorCode.BAD_NONCE, 'nonce 7 already used', {expected: 8, got: 7})`).
 *   Any other exception is logged and answered as a detail-free internal error.
 * - Live events are pushed with `RpcServer.publish(topic, payload)`, called only AFTER the
 *   block is durably stored, so `getBlockHeaders` can always serve what was published.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** 0x + 64 lower-case hex digits (block hash, tx hash). */
export type Hash32Hex = string;
/** 0x + 40 lower-case hex digits. */
export type AddressHex = string;

/** A block header as served over RPC. `height` and `hash` are what the subscription logic reads. */
export interface BlockHeaderJson {
  height: number;
  hash: Hash32Hex;
  [field: string]: Json;
}

/** A committed transaction with where it landed (the result of chain_getTx). */
export interface TxRecordJson {
  hash: Hash32Hex;
  height: number;
  index: number;
  [field: string]: Json;
}

/** The ledger's proposal lifecycle: open → executed | failed (passed, execution failed) | rejected | expired. */
export const PROPOSAL_STATUSES = ['open', 'executed', 'failed', 'rejected', 'expired'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export interface RpcBackend {
  /** chain_getInfo: chainId, genesisHash, height, latest block hash and time, validator count, f, quorum. */
  getInfo(): Promise<JsonObject>;

  /** chain_getBlock by height: header, tx hashes (or whole txs when `full`), commit certificate; null if absent. */
  getBlockByHeight(height: number, full: boolean): Promise<JsonObject | null>;

  /** chain_getBlock by hash; same shape; null if absent. */
  getBlockByHash(hash: Hash32Hex, full: boolean): Promise<JsonObject | null>;

  /**
   * chain_getBlocks: a newest-first page of headers with height < `before` (or from the tip
   * when undefined), at most `limit` (1..100). Suggested shape: `{blocks: [...], next: height | null}`.
   */
  getBlocks(before: number | undefined, limit: number): Promise<JsonObject>;

  /**
   * Headers of heights `from..to` inclusive, ascending, contiguous, stopping early at the
   * stored tip (so fewer, or none, when `to` is beyond it). Used to back-fill `newBlocks`
   * subscriptions; `to - from` is at most 99.
   */
  getBlockHeaders(from: number, to: number): Promise<BlockHeaderJson[]>;

  /** chain_getTx: the committed tx with receipt, height, index; null if unknown or not yet committed. */
  getTx(hash: Hash32Hex): Promise<TxRecordJson | null>;

  /**
   * chain_getAccountTxs: a newest-first page of the account's txs, strictly older than the
   * opaque cursor `before` (a `next` value of an earlier page), at most `limit`.
   * Suggested shape: `{txs: [...], next: cursor | null}`.
   */
  getAccountTxs(address: AddressHex, before: string | undefined, limit: number): Promise<JsonObject>;

  /** tx_submit: admit to the mempool (signature, chain id, nonce window, account, size) and answer `{hash}`. */
  submitTx(tx: Uint8Array): Promise<{ hash: Hash32Hex }>;

  /**
   * tx_submitAndWait: admit, then wait until committed and answer the receipt (with hash,
   * height, index). On reaching `timeoutMs` throw RpcError TIMEOUT with `data.hash`, since
   * the tx was admitted and may still commit. `signal` aborts when the client goes away or the
   * server stops; stop waiting then.
   */
  /** `client` names the caller (its remote address) for the per-client bound on waiting calls. */
  submitTxAndWait(
    tx: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
    client?: string,
  ): Promise<JsonObject>;

  /** state_getAccount: balance, nonce, member, roles, status; null if unknown. */
  getAccount(address: AddressHex): Promise<JsonObject | null>;

  /**
   * state_getData: the value under `key` in `address`'s namespace and, when `proof`, a Merkle
   * (non-)inclusion proof against a certified header. `key` is passed as the client sent it.
   */
  getData(address: AddressHex, key: string, proof: boolean): Promise<JsonObject | null>;

  /** gov_getMembers: the member registry at `height` (latest when undefined). */
  getMembers(height: number | undefined): Promise<Json>;

  /** gov_getValidators: the validator set at `height` (latest when undefined). */
  getValidators(height: number | undefined): Promise<Json>;

  /** gov_getProposals: proposals with their votes, optionally only those in `status`. */
  getProposals(status: ProposalStatus | undefined): Promise<Json>;

  /** gov_getProposal: one proposal with its votes; null if unknown. */
  getProposal(id: number): Promise<JsonObject | null>;

  /** node_getStatus: node id, role (validator/observer), peers, syncing, view, version. */
  getStatus(): Promise<JsonObject>;
}

/** Payloads of `RpcServer.publish(topic, payload)`. */
export interface TopicPayloads {
  /** Every committed block's header, in height order, after it is stored. */
  newBlocks: BlockHeaderJson;
  /** Every committed tx, shaped as chain_getTx answers it; delivered to `tx` subscribers of its hash. */
  tx: TxRecordJson;
  /** Governance events (proposal created, vote cast, proposal passed/rejected/expired/executed). */
  governance: JsonObject;
}

export type Topic = keyof TopicPayloads;
export const TOPICS: readonly Topic[] = ['newBlocks', 'tx', 'governance'];
