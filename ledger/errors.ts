/**
 * Typed ledger errors with stable string codes (the RPC maps them to numbered application
 * errors; receipts carry them as `code`).
 *
 * Every code belongs to exactly one of three classes, and the class decides what a block may do
 * with a transaction that fails it:
 *
 * - STATELESS: the transaction itself is broken (bytes, chain id, key, signature). It can never
 *   be included; a block carrying it is invalid.
 * - ADMISSION: the sender cannot be charged a nonce (no account, account revoked, member
 *   removed, nonce not the next one, duplicate in the block). Also kept out of blocks: a block
 *   carrying it is invalid. Including such a transaction would let non-accounts fill blocks for
 *   free, or let a revoked key keep a nonce stream.
 * - RECEIPT: the transaction is well-formed, signed and its sender may transact, but the rule of
 *   its kind refuses it (no right, low balance, field too big, closed proposal...). It is
 *   included with a failure receipt {ok: false, code, message}; it consumes its nonce and
 *   changes nothing else.
 * - BLOCK: a block-level check (header field, root, limit) failed.
 * - GENESIS: the genesis document cannot produce a state.
 */
import { Refusal } from '../crypto/refusal.js';

const STATELESS = [
  /** The bytes do not decode canonically, or a value cannot be encoded. */
  'MALFORMED',
  /** Encoded transaction above txBytesMax. */
  'TOO_LARGE',
  'WRONG_CHAIN_ID',
  'BAD_SIGNATURE',
  /** addressOf(publicKey) differs from tx.from. */
  'ADDRESS_MISMATCH',
  'UNKNOWN_KIND',
] as const;

const ADMISSION = [
  /** tx.nonce is not the sender's next nonce (details: expected, got). */
  'BAD_NONCE',
  /** Mempool only: the nonce is further ahead than the pool's window (details: expected, got, window). */
  'NONCE_TOO_FAR',
  'UNKNOWN_ACCOUNT',
  'ACCOUNT_REVOKED',
  /** The sender's member has been removed by governance. */
  'MEMBER_REMOVED',
  /** The same transaction twice in one block. */
  'DUPLICATE_TX',
] as const;

const RECEIPT = [
  /**
   * The sender's roles do not allow this kind, or the target is outside its member (e.g. a
   * non-admin votes or proposes, an admin revokes another member's account). An account whose
   * member was removed never gets this far: that is MEMBER_REMOVED, at admission.
   */
  'NOT_PERMITTED',
  'INSUFFICIENT_BALANCE',
  /** A transfer of zero. */
  'INVALID_AMOUNT',
  /** A field above its size limit (data key/value, memo, title, roles, p2p addresses...). */
  'FIELD_TOO_LARGE',
  /** A field with a refused shape (empty data key, unknown role, bad member id...). */
  'INVALID_FIELD',
  'UNKNOWN_RECIPIENT',
  /** The transfer recipient is revoked or its member removed. */
  'RECIPIENT_INACTIVE',
  /** identity.revoke of an address with no account. */
  'UNKNOWN_TARGET',
  'ALREADY_REVOKED',
  /** identity.register / member.add for a key that already has an account. */
  'ACCOUNT_EXISTS',
  'UNKNOWN_PROPOSAL',
  /** Vote on a proposal that is no longer open (passed, rejected, expired...). */
  'PROPOSAL_CLOSED',
  /** The voter's member has already voted on this proposal. */
  'ALREADY_VOTED',
  /** A governance action names a member that does not exist. */
  'UNKNOWN_MEMBER',
  /** A governance action names a member that exists but was removed. */
  'MEMBER_INACTIVE',
  'MEMBER_EXISTS',
  'UNKNOWN_VALIDATOR',
  'VALIDATOR_EXISTS',
  /** A governance action that cannot apply (e.g. removing the last active member). */
  'INVALID_ACTION',
  /**
   * param.set with an unknown name, or whose result breaks the parameters' validity rule
   * (params.ts paramProblems: bounds, the consensus relations, the protocol block size, a
   * reachable vote threshold). Checked when proposed and again when a passed proposal executes
   * (then the proposal ends "failed" with this code and the parameters stay as they were).
   */
  'INVALID_PARAM',
  /** The change would leave the validator set empty. */
  'WOULD_EMPTY_VALIDATORS',
  /** Too many proposals are open at once (OPEN_PROPOSALS_MAX). */
  'TOO_MANY_PROPOSALS',
  /** evidence.submit whose bytes are not genuine equivocation evidence (details: reason). */
  'INVALID_EVIDENCE',
  /** The same equivocation (type, height, round, validator) was already submitted. */
  'EVIDENCE_EXISTS',
  /** Evidence for a height whose validator set the ledger no longer keeps (or not yet reached). */
  'EVIDENCE_TOO_OLD',
  /** A bounded registry index is full (e.g. node identities, LEDGER_LIMITS.nodeAccountsMax). */
  'REGISTRY_FULL',
  /** validator.rotate of a validator that an open proposal would remove. */
  'REMOVAL_PENDING',
  /**
   * data.put that would take its member's data keys above memberDataKeysMax or its data bytes
   * above memberDataBytesMax (details: memberId, max, and keys or bytes).
   */
  'QUOTA_EXCEEDED',
  /**
   * The key is named by an open member.add (account key) or validator.add (validator key) and
   * reserved for it until it closes (details: proposalId, use); see key-reservation.ts.
   */
  'KEY_RESERVED',
] as const;

const BLOCK = [
  'BAD_HEIGHT',
  'BAD_PARENT_HASH',
  /** Not strictly above the parent's timestamp. */
  'BAD_TIMESTAMP',
  /** Further ahead of the validator's clock than clockSkewMsMax. */
  'TIMESTAMP_TOO_FAR',
  'BAD_PROPOSER',
  'BAD_VIEW',
  'BAD_TX_ROOT',
  'BAD_RECEIPTS_ROOT',
  'BAD_STATE_ROOT',
  'BAD_VALIDATORS_HASH',
  'BAD_NEXT_VALIDATORS_HASH',
  'TOO_MANY_TXS',
  'BLOCK_TOO_LARGE',
] as const;

const GENESIS = ['INVALID_GENESIS'] as const;

export type StatelessCode = (typeof STATELESS)[number];
export type AdmissionCode = (typeof ADMISSION)[number];
export type ReceiptCode = (typeof RECEIPT)[number];
export type BlockCode = (typeof BLOCK)[number];
export type LedgerErrorCode =
  | StatelessCode
  | AdmissionCode
  | ReceiptCode
  | BlockCode
  | (typeof GENESIS)[number];

export const STATELESS_CODES: readonly StatelessCode[] = STATELESS;
export const ADMISSION_CODES: readonly AdmissionCode[] = ADMISSION;
export const RECEIPT_CODES: readonly ReceiptCode[] = RECEIPT;
export const BLOCK_CODES: readonly BlockCode[] = BLOCK;
export const LEDGER_ERROR_CODES: readonly LedgerErrorCode[] = [
  ...STATELESS,
  ...ADMISSION,
  ...RECEIPT,
  ...BLOCK,
  ...GENESIS,
];

const RECEIPT_SET: ReadonlySet<string> = new Set(RECEIPT);

/**
 * True when a transaction failing with `code` is still included with a failure receipt; false
 * when it keeps the transaction out of blocks (a block carrying it is invalid).
 */
export function isReceiptCode(code: string): code is ReceiptCode {
  return RECEIPT_SET.has(code);
}

export type ErrorDetails = Record<string, string | number | boolean>;

/** A transaction or block broke a rule of the ledger: a Refusal (no stack). */
export class LedgerError extends Refusal {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    /** Machine-readable facts (e.g. expected/got nonce, txIndex of the failing tx in a block). */
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }

  /** The same error, located at transaction `index` of a block (message and details say so). */
  atTx(index: number): LedgerError {
    return new LedgerError(this.code, `tx ${index}: ${this.message}`, { ...this.details, txIndex: index });
  }
}

export function isLedgerError(e: unknown): e is LedgerError {
  return e instanceof LedgerError;
}

/** Throws LedgerError(code, message, details). For one-line guards. */
export function fail(code: LedgerErrorCode, message: string, details?: ErrorDetails): never {
  throw new LedgerError(code, message, details);
}
