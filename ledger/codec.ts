/**
 * Canonical encoding of the ledger's shapes (ledger/types.ts), their hashes and the bytes a
 * transaction signature covers. Decoders are strict: unknown fields, missing fields, wrong
 * sizes and non-canonical bytes are refused with an EncodingError naming the field.
 *
 * - tx hash     = SHA-256(encodeSignedTx(stx))
 * - block hash  = SHA-256(encodeHeader(header)) (the certificate is not part of it)
 * - tx signature covers encode({domain: "synod/tx/v1", tx}) so it can never pass as a
 *   consensus message signature (those use "synod/consensus/v1").
 */
import { ADDRESS_LENGTH, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from '../crypto/ed25519.js';
import {
  asBigInt,
  asBool,
  asBytes,
  asList,
  asMap,
  asNumber,
  asString,
  decode,
  EncodingError,
  encode,
  expectKeys,
  type Value,
  type ValueMap,
} from '../crypto/encoding.js';
import { HASH_LENGTH, type Hash, sha256 } from '../crypto/hash.js';
import { transientBytes } from '../crypto/transient-bytes.js';
import { objectSlot } from './object-slot.js';
import { decodeSignedTransfer } from './transfer-decode.js';
import {
  type Block,
  type BlockHeader,
  type CommitCertificate,
  GOV_ACTION_TYPES,
  type GovAction,
  type Receipt,
  type SignedTransaction,
  type Transaction,
  TX_KINDS,
  type TxKind,
  type Validator,
} from './types.js';

export const TX_SIGNING_DOMAIN = 'synod/tx/v1';

// ---- transactions ------------------------------------------------------------------------

function bodyToValue(tx: Transaction): ValueMap {
  switch (tx.kind) {
    case 'asset.transfer':
      return { to: tx.body.to, amount: tx.body.amount, memo: tx.body.memo };
    case 'data.put':
      return { key: tx.body.key, value: tx.body.value };
    case 'identity.register':
      return { publicKey: tx.body.publicKey, roles: tx.body.roles };
    case 'identity.revoke':
      return { address: tx.body.address };
    case 'gov.propose':
      return { action: govActionToValue(tx.body.action), title: tx.body.title };
    case 'gov.vote':
      return { proposalId: tx.body.proposalId, approve: tx.body.approve };
    case 'identity.rotate':
      return { newPublicKey: tx.body.newPublicKey };
    case 'validator.rotate':
      return { address: tx.body.address, newPublicKey: tx.body.newPublicKey, p2p: tx.body.p2p };
    case 'evidence.submit':
      return { evidence: tx.body.evidence };
  }
}

export function govActionToValue(a: GovAction): ValueMap {
  switch (a.type) {
    case 'member.add':
      return { type: a.type, memberId: a.memberId, name: a.name, admin: a.admin };
    case 'member.remove':
      return { type: a.type, memberId: a.memberId };
    case 'validator.add':
      return { type: a.type, publicKey: a.publicKey, memberId: a.memberId, p2p: a.p2p };
    case 'validator.remove':
      return { type: a.type, address: a.address };
    case 'param.set':
      return { type: a.type, name: a.name, value: a.value };
  }
}

function stringList(v: Value | undefined, what: string): string[] {
  return asList(v, what).map((item, i) => asString(item, `${what}[${i}]`));
}

export function govActionFromValue(v: Value | undefined, what = 'action'): GovAction {
  const m = asMap(v, what);
  const type = asString(m.type, `${what}.type`);
  if (!(GOV_ACTION_TYPES as readonly string[]).includes(type)) {
    throw new EncodingError(`${what}.type: unknown action '${type}'`);
  }
  switch (type as GovAction['type']) {
    case 'member.add':
      expectKeys(m, ['type', 'memberId', 'name', 'admin'], [], what);
      return {
        type: 'member.add',
        memberId: asString(m.memberId, `${what}.memberId`),
        name: asString(m.name, `${what}.name`),
        admin: asBytes(m.admin, `${what}.admin`, PUBLIC_KEY_LENGTH),
      };
    case 'member.remove':
      expectKeys(m, ['type', 'memberId'], [], what);
      return { type: 'member.remove', memberId: asString(m.memberId, `${what}.memberId`) };
    case 'validator.add':
      expectKeys(m, ['type', 'publicKey', 'memberId', 'p2p'], [], what);
      return {
        type: 'validator.add',
        publicKey: asBytes(m.publicKey, `${what}.publicKey`, PUBLIC_KEY_LENGTH),
        memberId: asString(m.memberId, `${what}.memberId`),
        p2p: stringList(m.p2p, `${what}.p2p`),
      };
    case 'validator.remove':
      expectKeys(m, ['type', 'address'], [], what);
      return { type: 'validator.remove', address: asBytes(m.address, `${what}.address`, ADDRESS_LENGTH) };
    case 'param.set':
      expectKeys(m, ['type', 'name', 'value'], [], what);
      return {
        type: 'param.set',
        name: asString(m.name, `${what}.name`),
        value: asNumber(m.value, `${what}.value`),
      };
  }
}

function bodyFromValue(kind: TxKind, v: Value | undefined): Transaction['body'] {
  const m = asMap(v, 'tx.body');
  switch (kind) {
    case 'asset.transfer':
      expectKeys(m, ['to', 'amount'], ['memo'], 'tx.body');
      return {
        to: asBytes(m.to, 'tx.body.to', ADDRESS_LENGTH),
        amount: asBigInt(m.amount, 'tx.body.amount'),
        ...(m.memo === undefined ? {} : { memo: asString(m.memo, 'tx.body.memo') }),
      };
    case 'data.put':
      expectKeys(m, ['key', 'value'], [], 'tx.body');
      return { key: asString(m.key, 'tx.body.key'), value: asBytes(m.value, 'tx.body.value') };
    case 'identity.register':
      expectKeys(m, ['publicKey', 'roles'], [], 'tx.body');
      return {
        publicKey: asBytes(m.publicKey, 'tx.body.publicKey', PUBLIC_KEY_LENGTH),
        roles: stringList(m.roles, 'tx.body.roles'),
      };
    case 'identity.revoke':
      expectKeys(m, ['address'], [], 'tx.body');
      return { address: asBytes(m.address, 'tx.body.address', ADDRESS_LENGTH) };
    case 'gov.propose':
      expectKeys(m, ['action', 'title'], [], 'tx.body');
      return {
        action: govActionFromValue(m.action, 'tx.body.action'),
        title: asString(m.title, 'tx.body.title'),
      };
    case 'gov.vote':
      expectKeys(m, ['proposalId', 'approve'], [], 'tx.body');
      return {
        proposalId: asNumber(m.proposalId, 'tx.body.proposalId'),
        approve: asBool(m.approve, 'tx.body.approve'),
      };
    case 'identity.rotate':
      expectKeys(m, ['newPublicKey'], [], 'tx.body');
      return { newPublicKey: asBytes(m.newPublicKey, 'tx.body.newPublicKey', PUBLIC_KEY_LENGTH) };
    case 'validator.rotate':
      expectKeys(m, ['address', 'newPublicKey', 'p2p'], [], 'tx.body');
      return {
        address: asBytes(m.address, 'tx.body.address', ADDRESS_LENGTH),
        newPublicKey: asBytes(m.newPublicKey, 'tx.body.newPublicKey', PUBLIC_KEY_LENGTH),
        p2p: stringList(m.p2p, 'tx.body.p2p'),
      };
    case 'evidence.submit':
      expectKeys(m, ['evidence'], [], 'tx.body');
      return { evidence: asBytes(m.evidence, 'tx.body.evidence') };
  }
}

export function txToValue(tx: Transaction): ValueMap {
  return { chainId: tx.chainId, from: tx.from, nonce: tx.nonce, kind: tx.kind, body: bodyToValue(tx) };
}

export function txFromValue(v: Value | undefined): Transaction {
  const m = asMap(v, 'tx');
  expectKeys(m, ['chainId', 'from', 'nonce', 'kind', 'body'], [], 'tx');
  const kind = asString(m.kind, 'tx.kind');
  if (!(TX_KINDS as readonly string[]).includes(kind))
    throw new EncodingError(`tx.kind: unknown kind '${kind}'`);
  return {
    chainId: asString(m.chainId, 'tx.chainId'),
    from: asBytes(m.from, 'tx.from', ADDRESS_LENGTH),
    nonce: asNumber(m.nonce, 'tx.nonce'),
    kind: kind as TxKind,
    body: bodyFromValue(kind as TxKind, m.body),
  } as Transaction;
}

/*
 * Transactions are immutable once built or decoded: nothing in Synod changes one in place (a
 * changed transaction is a new object). So each object's canonical bytes, hash and signing
 * bytes are computed at most once and remembered beside it, keyed by identity: a transaction
 * admitted to the mempool is hashed, proposed, validated, stored and indexed without being
 * encoded again. Decoding records the bytes it read (they are the canonical encoding).
 */
interface SignedTxMemo {
  /** The canonical encoding (for a decoded transaction, a private copy of what was read). */
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, once computed or given. */
  hash: Hash | undefined;
}
/**
 * One memo per signed transaction, kept on the object (ledger/object-slot.ts: a decoded
 * transaction used to cost three WeakMap entries: its bytes, its hash, and its bytes again
 * keyed by its inner tx).
 */
const signedTxMemo = objectSlot<SignedTxMemo>();
const signingBytesMemo = objectSlot<Uint8Array>();

/** The bytes a transaction signature covers. */
export function txSigningBytes(tx: Transaction): Uint8Array {
  let b = signingBytesMemo.get(tx);
  if (!b) {
    b = encode({ domain: TX_SIGNING_DOMAIN, tx: txToValue(tx) });
    signingBytesMemo.set(tx, b);
  }
  return b;
}

/**
 * The bytes `stx`'s signature covers. When its canonical bytes are known (it was decoded or
 * encoded), they are a constant prefix and a span of those bytes: cheaper to cut again (a
 * transaction is verified once, at admission) than to encode the transaction or to keep 200
 * more bytes beside every held one.
 */
export function signedTxSigningBytes(stx: SignedTransaction): Uint8Array {
  const memo = signedTxMemo.get(stx);
  return memo ? signingBytesOf(memo.bytes) : txSigningBytes(stx.tx);
}

export function signedTxToValue(stx: SignedTransaction): ValueMap {
  return { tx: txToValue(stx.tx), publicKey: stx.publicKey, signature: stx.signature };
}

export function signedTxFromValue(v: Value | undefined, what = 'signedTx'): SignedTransaction {
  const m = asMap(v, what);
  expectKeys(m, ['tx', 'publicKey', 'signature'], [], what);
  return {
    tx: txFromValue(m.tx),
    publicKey: asBytes(m.publicKey, `${what}.publicKey`, PUBLIC_KEY_LENGTH),
    signature: asBytes(m.signature, `${what}.signature`, SIGNATURE_LENGTH),
  };
}

function memoOf(stx: SignedTransaction): SignedTxMemo {
  let memo = signedTxMemo.get(stx);
  if (!memo) {
    memo = { bytes: encode(signedTxToValue(stx)), hash: undefined };
    signedTxMemo.set(stx, memo);
  }
  return memo;
}

export function encodeSignedTx(stx: SignedTransaction): Uint8Array {
  return memoOf(stx).bytes;
}

/**
 * Decodes a signed transaction. `hash`, when given, must be SHA-256 of exactly `bytes` (callers
 * that hashed the bytes already, to look them up, pass it so `txHash` never hashes them again).
 */
export function decodeSignedTx(bytes: Uint8Array, hash?: Hash): SignedTransaction {
  // A private copy: the caller's buffer may be pooled and reused.
  const own = new Uint8Array(bytes);
  const stx = decodeSignedTransfer(own) ?? signedTxFromValue(decode(own));
  signedTxMemo.set(stx, { bytes: own, hash });
  return stx;
}

/**
 * The signing bytes are the map {domain, tx}: a constant prefix (the domain entry and the key
 * "tx", which sorts after "domain") followed by the transaction's own encoding, which is the
 * last value of a canonical signed transaction ("tx" sorts after "publicKey" and "signature").
 * So a decoded transaction's signing bytes are a prefix and a span of what was read, without
 * encoding the transaction again.
 */
const SIGNING_PREFIX = (() => {
  const withNull = encode({ domain: TX_SIGNING_DOMAIN, tx: null });
  return withNull.subarray(0, withNull.length - 1); // drop the null's tag: the tx value goes there
})();

/**
 * Where the transaction's value starts in a canonical signed transaction: after the map header
 * and the fixed-size publicKey and signature entries, so at the same offset in every one.
 */
const SIGNED_TX_BODY_AT = (() => {
  const withNull = encode({
    publicKey: new Uint8Array(PUBLIC_KEY_LENGTH),
    signature: new Uint8Array(SIGNATURE_LENGTH),
    tx: null,
  });
  return withNull.length - 1;
})();

/** `bytes` must be a canonical signed transaction (decoded successfully, so sizes are fixed). */
function signingBytesOf(bytes: Uint8Array): Uint8Array {
  const out = transientBytes(SIGNING_PREFIX.length + bytes.length - SIGNED_TX_BODY_AT);
  out.set(SIGNING_PREFIX);
  out.set(bytes.subarray(SIGNED_TX_BODY_AT), SIGNING_PREFIX.length);
  return out;
}

export function txHash(stx: SignedTransaction): Hash {
  const memo = memoOf(stx);
  memo.hash ??= sha256(memo.bytes);
  return memo.hash;
}

// ---- blocks ------------------------------------------------------------------------------

const HEADER_KEYS = [
  'chainId',
  'height',
  'view',
  'parentHash',
  'timestamp',
  'proposer',
  'txRoot',
  'receiptsRoot',
  'stateRoot',
  'validatorsHash',
  'nextValidatorsHash',
] as const;

export function headerToValue(h: BlockHeader): ValueMap {
  const out: ValueMap = {};
  for (const k of HEADER_KEYS) out[k] = h[k];
  return out;
}

export function headerFromValue(v: Value | undefined): BlockHeader {
  const m = asMap(v, 'header');
  expectKeys(m, HEADER_KEYS, [], 'header');
  return {
    chainId: asString(m.chainId, 'header.chainId'),
    height: asNumber(m.height, 'header.height'),
    view: asNumber(m.view, 'header.view'),
    parentHash: asBytes(m.parentHash, 'header.parentHash', HASH_LENGTH),
    timestamp: asNumber(m.timestamp, 'header.timestamp'),
    proposer: asBytes(m.proposer, 'header.proposer', ADDRESS_LENGTH),
    txRoot: asBytes(m.txRoot, 'header.txRoot', HASH_LENGTH),
    receiptsRoot: asBytes(m.receiptsRoot, 'header.receiptsRoot', HASH_LENGTH),
    stateRoot: asBytes(m.stateRoot, 'header.stateRoot', HASH_LENGTH),
    validatorsHash: asBytes(m.validatorsHash, 'header.validatorsHash', HASH_LENGTH),
    nextValidatorsHash: asBytes(m.nextValidatorsHash, 'header.nextValidatorsHash', HASH_LENGTH),
  };
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  return encode(headerToValue(h));
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return headerFromValue(decode(bytes));
}

/** The block hash: SHA-256 of the canonical header. */
export function blockHash(h: BlockHeader): Hash {
  return sha256(encodeHeader(h));
}

export function blockToValue(b: Block): ValueMap {
  return { header: headerToValue(b.header), txs: b.txs.map(signedTxToValue) };
}

export function blockFromValue(v: Value | undefined): Block {
  const m = asMap(v, 'block');
  expectKeys(m, ['header', 'txs'], [], 'block');
  return {
    header: headerFromValue(m.header),
    txs: asList(m.txs, 'block.txs').map((t, i) => signedTxFromValue(t, `block.txs[${i}]`)),
  };
}

export function encodeBlock(b: Block): Uint8Array {
  return encode(blockToValue(b));
}

export function decodeBlock(bytes: Uint8Array): Block {
  return blockFromValue(decode(bytes));
}

// ---- certificates, receipts, validators -------------------------------------------------

export function certToValue(c: CommitCertificate): ValueMap {
  return { round: c.round, sigs: c.sigs.map((s) => ({ validator: s.validator, signature: s.signature })) };
}

export function certFromValue(v: Value | undefined): CommitCertificate {
  const m = asMap(v, 'cert');
  expectKeys(m, ['round', 'sigs'], [], 'cert');
  return {
    round: asNumber(m.round, 'cert.round'),
    sigs: asList(m.sigs, 'cert.sigs').map((s, i) => {
      const e = asMap(s, `cert.sigs[${i}]`);
      expectKeys(e, ['validator', 'signature'], [], `cert.sigs[${i}]`);
      return {
        validator: asBytes(e.validator, `cert.sigs[${i}].validator`, ADDRESS_LENGTH),
        signature: asBytes(e.signature, `cert.sigs[${i}].signature`, SIGNATURE_LENGTH),
      };
    }),
  };
}

export function encodeCert(c: CommitCertificate): Uint8Array {
  return encode(certToValue(c));
}

export function decodeCert(bytes: Uint8Array): CommitCertificate {
  return certFromValue(decode(bytes));
}

export function receiptToValue(r: Receipt): ValueMap {
  return { txHash: r.txHash, ok: r.ok, code: r.code, message: r.message, result: r.result };
}

export function receiptFromValue(v: Value | undefined): Receipt {
  const m = asMap(v, 'receipt');
  expectKeys(m, ['txHash', 'ok'], ['code', 'message', 'result'], 'receipt');
  const r: Receipt = {
    txHash: asBytes(m.txHash, 'receipt.txHash', HASH_LENGTH),
    ok: asBool(m.ok, 'receipt.ok'),
  };
  if (m.code !== undefined) r.code = asString(m.code, 'receipt.code');
  if (m.message !== undefined) r.message = asString(m.message, 'receipt.message');
  if (m.result !== undefined) {
    const res = asMap(m.result, 'receipt.result');
    r.result = {};
    for (const [k, val] of Object.entries(res)) {
      if (typeof val === 'number' || typeof val === 'string') r.result[k] = val;
      else throw new EncodingError(`receipt.result.${k}: expected an integer or a string`);
    }
  }
  return r;
}

// The canonical bytes of {txHash, ok: true} are a fixed template with the hash at the end:
// most receipts of a busy block are these, and copying the template beats a generic encode
// (each receipt is encoded for the block's receipts root and again for the store).
const OK_RECEIPT = encode(receiptToValue({ txHash: new Uint8Array(HASH_LENGTH), ok: true }));
const OK_RECEIPT_HASH_AT = OK_RECEIPT.length - HASH_LENGTH;

export function encodeReceipt(r: Receipt): Uint8Array {
  if (
    r.ok === true &&
    r.result === undefined &&
    r.code === undefined &&
    r.message === undefined &&
    r.txHash instanceof Uint8Array &&
    r.txHash.length === HASH_LENGTH
  ) {
    const out = OK_RECEIPT.slice();
    out.set(r.txHash, OK_RECEIPT_HASH_AT);
    return out;
  }
  return encode(receiptToValue(r));
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  return receiptFromValue(decode(bytes));
}

export function validatorToValue(v: Validator): ValueMap {
  return { address: v.address, publicKey: v.publicKey, memberId: v.memberId, p2p: v.p2p };
}

export function validatorFromValue(v: Value | undefined, what = 'validator'): Validator {
  const m = asMap(v, what);
  expectKeys(m, ['address', 'publicKey', 'memberId', 'p2p'], [], what);
  return {
    address: asBytes(m.address, `${what}.address`, ADDRESS_LENGTH),
    publicKey: asBytes(m.publicKey, `${what}.publicKey`, PUBLIC_KEY_LENGTH),
    memberId: asString(m.memberId, `${what}.memberId`),
    p2p: stringList(m.p2p, `${what}.p2p`),
  };
}

/**
 * Hash of a validator set: the consensus identities only (address, public key, member), in
 * address order. Network addresses are left out so that moving a node does not change it.
 */
export function validatorsHash(set: readonly Validator[]): Hash {
  const sorted = [...set].sort((a, b) => Buffer.compare(a.address, b.address));
  return sha256(
    encode({
      domain: 'synod/validators/v1',
      validators: sorted.map((v) => ({ address: v.address, publicKey: v.publicKey, memberId: v.memberId })),
    }),
  );
}
