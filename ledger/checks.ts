/**
 * Transaction checks, in the order a transaction meets them:
 *
 * 1. Stateless (`checkTxBytes`, `checkTx`): size ≤ txBytesMax, canonical decoding, a known
 *    kind, the chain id, addressOf(publicKey) = from, the signature. Failing any of these keeps
 *    a transaction out of every block (STATELESS codes in errors.ts).
 * 2. Admission (`checkSender`, `checkNonce`, `checkTxState`): the sender has an active account
 *    whose member is active, and the nonce is its next one (the mempool may allow a window of
 *    future nonces). Also keeps a transaction out of blocks (ADMISSION codes).
 * 3. Rules (`checkRight` and the field checks used by execute.ts / governance.ts): rights by
 *    role and field sizes. A failure here is a failure receipt (RECEIPT codes).
 *
 * Fixed limits of the ledger that are not chain parameters live in LEDGER_LIMITS.
 */
import { ADDRESS_LENGTH, addressOf, verify as ed25519Verify } from '../crypto/ed25519.js';
import { decode, EncodingError, type Value } from '../crypto/encoding.js';
import { bytesEqual, type Hash, latin1Of, sha256, toHex } from '../crypto/hash.js';
import { encodeSignedTx, signedTxFromValue, signedTxSigningBytes } from './codec.js';
import { fail, LedgerError } from './errors.js';
import {
  type Account,
  accountCodec,
  getAccount,
  getMember,
  ROLES,
  readerOf,
  type StateSource,
} from './state.js';
import { type SignedTransaction, TX_KINDS, type TxKind } from './types.js';

/** Same contract as crypto/ed25519 `verify`; the node passes a cached or pooled one. */
export type VerifyFn = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

/** Limits that are part of the protocol but not governable parameters. */
export const LEDGER_LIMITS = Object.freeze({
  memoBytesMax: 256,
  titleBytesMax: 256,
  memberIdBytesMax: 64,
  memberNameBytesMax: 128,
  rolesMax: ROLES.length,
  p2pAddrsMax: 16,
  p2pAddrBytesMax: 256,
  /** Open proposals at once: bounds the expiry scan done at every block. */
  openProposalsMax: 256,
  /** Members ever added: bounds the tally, which reads every member. */
  membersMax: 1_000,
  validatorsMax: 256,
  /** Accounts with the role "node" at once: bounds the peer list every node derives. */
  nodeAccountsMax: 1_024,
  /** Past validator sets kept for checking evidence (the current one is always known). */
  validatorEpochsMax: 16,
  /** Encoded evidence: two signed payloads of about 150 bytes each. */
  evidenceBytesMax: 4_096,
});

/** A transaction that passed the stateless checks, with its canonical size and hash. */
export interface CheckedTx {
  stx: SignedTransaction;
  hash: Hash;
  size: number;
}

export interface StatelessOptions {
  chainId: string;
  txBytesMax: number;
  /** Default: crypto/ed25519 `verify`. */
  verify?: VerifyFn;
  /**
   * True for a tx hash whose signature this node has already verified (e.g. at mempool
   * admission): the signature check is skipped. Sound because the hash covers the tx, the key
   * and the signature. The address and chain id are still checked. `stx` is the decoded
   * transaction with that hash (the mempool finds its own entries from the object).
   */
  isVerified?: (txHash: Hash, stx: SignedTransaction) => boolean;
}

/** A transaction's canonical size and hash, when the caller has its bytes already. */
export interface TxMeta {
  hash: Hash;
  size: number;
}

const KIND_SET: ReadonlySet<string> = new Set(TX_KINDS);

/** Decodes and checks transaction bytes as received from a client or peer. */
export function checkTxBytes(bytes: Uint8Array, opts: StatelessOptions): CheckedTx {
  if (bytes.length > opts.txBytesMax) {
    fail('TOO_LARGE', `transaction is ${bytes.length} bytes, above txBytesMax ${opts.txBytesMax}`, {
      size: bytes.length,
      max: opts.txBytesMax,
    });
  }
  let value: Value;
  try {
    value = decode(bytes);
  } catch (e) {
    throw malformed(e);
  }
  // Name an unknown kind precisely, before the schema decoder refuses it as a shape error.
  const kind = kindOf(value);
  if (kind !== undefined && !KIND_SET.has(kind)) fail('UNKNOWN_KIND', `unknown transaction kind '${kind}'`);
  let stx: SignedTransaction;
  try {
    stx = signedTxFromValue(value);
  } catch (e) {
    throw malformed(e);
  }
  const checked = { stx, hash: sha256(bytes), size: bytes.length };
  checkSignedFields(checked, opts);
  return checked;
}

/**
 * Checks an already-decoded transaction (e.g. one inside a block). Its size and hash come from
 * `meta` when given (which must describe stx's canonical bytes, e.g. the bytes it was decoded
 * from), else from encoding it.
 */
export function checkTx(stx: SignedTransaction, opts: StatelessOptions, meta?: TxMeta): CheckedTx {
  const checked = meta ? { stx, hash: meta.hash, size: meta.size } : measureTx(stx);
  if (checked.size > opts.txBytesMax) {
    fail('TOO_LARGE', `transaction is ${checked.size} bytes, above txBytesMax ${opts.txBytesMax}`, {
      size: checked.size,
      max: opts.txBytesMax,
    });
  }
  checkSignedFields(checked, opts);
  return checked;
}

/** Canonical size and hash of a transaction, MALFORMED / UNKNOWN_KIND if it cannot be encoded. */
export function measureTx(stx: SignedTransaction): CheckedTx {
  if (!KIND_SET.has(stx.tx.kind)) fail('UNKNOWN_KIND', `unknown transaction kind '${String(stx.tx.kind)}'`);
  let bytes: Uint8Array;
  try {
    bytes = encodeSignedTx(stx);
  } catch (e) {
    throw malformed(e);
  }
  return { stx, hash: sha256(bytes), size: bytes.length };
}

function checkSignedFields(c: CheckedTx, opts: StatelessOptions): void {
  const { stx } = c;
  if (!KIND_SET.has(stx.tx.kind)) fail('UNKNOWN_KIND', `unknown transaction kind '${String(stx.tx.kind)}'`);
  if (stx.tx.chainId !== opts.chainId) {
    fail('WRONG_CHAIN_ID', `transaction is for chain '${stx.tx.chainId}', this is '${opts.chainId}'`, {
      expected: opts.chainId,
      got: stx.tx.chainId,
    });
  }
  if (stx.tx.from.length !== ADDRESS_LENGTH || !bytesEqual(cachedAddressOf(stx.publicKey), stx.tx.from)) {
    fail('ADDRESS_MISMATCH', `tx.from ${toHex(stx.tx.from)} is not the address of the signing key`);
  }
  if (opts.isVerified?.(c.hash, stx)) return;
  const verify = opts.verify ?? ed25519Verify;
  if (!verify(stx.signature, signedTxSigningBytes(stx), stx.publicKey)) {
    fail('BAD_SIGNATURE', 'the signature does not verify');
  }
}

/**
 * addressOf with a memory: a busy account sends many transactions with one key, and a hash
 * per transaction is a visible share of execution. A pure function's cache, so determinism is
 * unaffected; cleared when it reaches its bound.
 */
const addressMemo = new Map<string, Uint8Array>();
const ADDRESS_MEMO_MAX = 100_000;

export function cachedAddressOf(publicKey: Uint8Array): Uint8Array {
  const k = latin1Of(publicKey);
  let a = addressMemo.get(k);
  if (a === undefined) {
    if (addressMemo.size >= ADDRESS_MEMO_MAX) addressMemo.clear();
    a = addressOf(publicKey);
    addressMemo.set(k, a);
  }
  return a;
}

function kindOf(v: Value): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return undefined;
  const tx = v.tx;
  if (tx === null || typeof tx !== 'object' || Array.isArray(tx) || tx instanceof Uint8Array)
    return undefined;
  return typeof tx.kind === 'string' ? tx.kind : undefined;
}

function malformed(e: unknown): LedgerError {
  if (e instanceof EncodingError) return new LedgerError('MALFORMED', `malformed transaction: ${e.message}`);
  if (e instanceof LedgerError) return e;
  throw e;
}

// ---- admission -----------------------------------------------------------------------------

/**
 * The sender's account, if it may transact: it exists, is active, and its member is active.
 * `key` (keys.account(from)) may be passed by callers that already built it.
 */
export function checkSender(s: StateSource, from: Uint8Array, key?: string): Account {
  const account = key === undefined ? getAccount(s, from) : readerOf(s).read(key, accountCodec);
  if (!account) fail('UNKNOWN_ACCOUNT', `no account ${toHex(from)}`, { address: toHex(from) });
  if (account.status !== 'active') {
    fail('ACCOUNT_REVOKED', `account ${toHex(from)} is revoked`, { address: toHex(from) });
  }
  const member = getMember(s, account.memberId);
  if (member?.status !== 'active') {
    fail('MEMBER_REMOVED', `member '${account.memberId}' of account ${toHex(from)} has been removed`, {
      memberId: account.memberId,
    });
  }
  return account;
}

/**
 * A block needs nonce = account.nonce exactly (window 0). The mempool may hold up to `window`
 * future nonces: account.nonce ≤ nonce ≤ account.nonce + window.
 */
export function checkNonce(account: Account, nonce: number, window = 0): void {
  if (nonce < account.nonce || (window === 0 && nonce !== account.nonce)) {
    fail('BAD_NONCE', `nonce ${nonce}, expected ${account.nonce}`, { expected: account.nonce, got: nonce });
  }
  if (nonce > account.nonce + window) {
    fail('NONCE_TOO_FAR', `nonce ${nonce} is more than ${window} ahead of the next nonce ${account.nonce}`, {
      expected: account.nonce,
      got: nonce,
      window,
    });
  }
}

/** Admission of a checked transaction against a committed state (mempool, RPC). */
export function checkTxState(
  s: StateSource,
  stx: SignedTransaction,
  opts: { nonceWindow?: number } = {},
): Account {
  const account = checkSender(s, stx.tx.from);
  checkNonce(account, stx.tx.nonce, opts.nonceWindow ?? 0);
  return account;
}

// ---- rules ---------------------------------------------------------------------------------

/**
 * Which role grants each kind, besides "admin" which grants all; null: any active account
 * (an account may always move itself to a new key).
 */
const KIND_ROLE: Record<TxKind, string | null> = {
  'asset.transfer': 'transfer',
  'data.put': 'data',
  'identity.register': 'admin',
  'identity.revoke': 'admin',
  'gov.propose': 'admin',
  'gov.vote': 'admin',
  'identity.rotate': null,
  'validator.rotate': 'admin',
  // A node identity reports what its node saw; so may an admin.
  'evidence.submit': 'node',
};

export function hasRight(account: Account, kind: TxKind): boolean {
  const role = KIND_ROLE[kind];
  return role === null || account.roles.includes('admin') || account.roles.includes(role);
}

export function checkRight(account: Account, kind: TxKind): void {
  if (!hasRight(account, kind)) {
    fail('NOT_PERMITTED', `account roles [${account.roles.join(', ')}] do not allow ${kind}`, { kind });
  }
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** FIELD_TOO_LARGE when the UTF-8 of `s` exceeds `max` bytes. */
export function checkStringSize(s: string, max: number, what: string): void {
  const n = utf8Length(s);
  if (n > max) fail('FIELD_TOO_LARGE', `${what} is ${n} bytes, above ${max}`, { field: what, size: n, max });
}

export function checkBytesSize(b: Uint8Array, max: number, what: string): void {
  if (b.length > max) {
    fail('FIELD_TOO_LARGE', `${what} is ${b.length} bytes, above ${max}`, {
      field: what,
      size: b.length,
      max,
    });
  }
}

/** The same pattern genesis files use (genesis/genesis.ts MEMBER_ID_PATTERN). */
const MEMBER_ID = /^[a-z0-9][a-z0-9-]*$/;

/** Member ids: 1..64 of a-z, 0-9 and '-', starting with a letter or digit. */
export function checkMemberId(id: string): void {
  checkStringSize(id, LEDGER_LIMITS.memberIdBytesMax, 'memberId');
  if (!MEMBER_ID.test(id)) {
    fail('INVALID_FIELD', `memberId '${id}' must be a-z, 0-9 or '-', starting with a letter or digit`);
  }
}

export function checkMemberName(name: string): void {
  checkStringSize(name, LEDGER_LIMITS.memberNameBytesMax, 'member name');
  if (name.length === 0) fail('INVALID_FIELD', 'member name is empty');
}

/** Roles: known ones only, no duplicates. */
export function checkRoles(roles: readonly string[]): void {
  if (roles.length > LEDGER_LIMITS.rolesMax) {
    fail('FIELD_TOO_LARGE', `${roles.length} roles, above ${LEDGER_LIMITS.rolesMax}`);
  }
  const seen = new Set<string>();
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) fail('INVALID_FIELD', `unknown role '${r}'`);
    if (seen.has(r)) fail('INVALID_FIELD', `role '${r}' given twice`);
    seen.add(r);
  }
}

/** libp2p multiaddrs: at most 16, each non-empty, starting with '/', at most 256 bytes. */
export function checkP2p(addrs: readonly string[]): void {
  if (addrs.length > LEDGER_LIMITS.p2pAddrsMax) {
    fail('FIELD_TOO_LARGE', `${addrs.length} p2p addresses, above ${LEDGER_LIMITS.p2pAddrsMax}`);
  }
  for (const a of addrs) {
    checkStringSize(a, LEDGER_LIMITS.p2pAddrBytesMax, 'p2p address');
    if (!a.startsWith('/')) fail('INVALID_FIELD', `p2p address '${a}' is not a multiaddr`);
  }
}
