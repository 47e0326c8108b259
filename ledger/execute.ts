/**
 * Deterministic execution of transactions and blocks.
 *
 * A block at height h runs on the state after block h-1:
 * 1. `beginBlock` (governance): open proposals whose expiresHeight ≤ h expire.
 * 2. Each transaction in order: stateless checks (checks.ts), not a duplicate, admission
 *    (sender account active, member active, nonce = the account's next nonce). Failing any of
 *    these throws a LedgerError: the block is invalid (a builder skips such a transaction).
 *    Otherwise the rule of its kind runs in its own overlay layer: success commits the layer,
 *    a RECEIPT-class LedgerError discards it whole and yields a failure receipt. Either way
 *    the sender's nonce then goes up by one, and nothing else changes for a failed tx.
 * 3. If the block changed the validator set, the old set is kept as a past epoch
 *    (validator-history.ts). The touched keys are encoded once and written to the tree; the
 *    result carries the new state, the receipts, the state diff, the roots and V(h+1) (the
 *    stored validator set).
 *
 * Parameters are read once, from the parent state: a param.set in block h applies from h+1.
 * Nothing here reads a clock, draws randomness or performs I/O.
 */
import { addressOf } from '../crypto/ed25519.js';
import type { Hash } from '../crypto/hash.js';
import { bytesEqual, hexOf, toHex } from '../crypto/hash.js';
import { merkleRoot } from '../crypto/merkle.js';
import {
  type CheckedTx,
  checkBytesSize,
  checkNonce,
  checkRight,
  checkRoles,
  checkSender,
  checkStringSize,
  checkTx,
  LEDGER_LIMITS,
  type TxMeta,
  utf8Length,
  type VerifyFn,
} from './checks.js';
import { encodeReceipt, validatorsHash } from './codec.js';
import { fail, isReceiptCode, LedgerError } from './errors.js';
import { submitEvidence } from './evidence.js';
import { beginBlock, propose, vote } from './governance.js';
import { checkKeyFree } from './key-reservation.js';
import type { ChainParams } from './params.js';
import { indexNodeAccount, rotateAccount, rotateValidator, unindexNodeAccount } from './rotation.js';
import {
  type Account,
  accountCodec,
  getAccount,
  getChainId,
  getData,
  getDataUsage,
  getMember,
  getParams,
  getValidators,
  keys,
  type LedgerState,
  putAccount,
  putData,
  putDataUsage,
  type StateDiff,
  StateOverlay,
} from './state.js';
import type { Block, Receipt, SignedTransaction, Transaction, Validator } from './types.js';
import { recordValidatorChange, validatorsAt } from './validator-history.js';

export interface ExecOptions {
  /** Signature verifier (default crypto/ed25519 `verify`); the node passes its cached one. */
  verify?: VerifyFn;
  /** Tx hashes whose signatures this node already verified skip the check (see checks.ts). */
  isVerified?: (txHash: Hash, stx: SignedTransaction) => boolean;
}

/** What executing a block yields. */
export interface BlockExecution {
  /** The state after the block. */
  state: LedgerState;
  receipts: Receipt[];
  /** Changed keys, sorted; what the store persists for the block. */
  diff: StateDiff;
  txHashes: Hash[];
  txRoot: Hash;
  receiptsRoot: Hash;
  stateRoot: Hash;
  /** V(h+1): the validator set stored in the new state, sorted by address. */
  nextValidators: Validator[];
  nextValidatorsHash: Hash;
}

/** What a kind's rule needs besides the state. */
export interface TxEnv {
  height: number;
  params: ChainParams;
  chainId: string;
  /** Verifies the signatures inside evidence (default crypto/ed25519 `verify`). */
  verify?: VerifyFn;
  /** V(at) for at ≤ height as far as the state keeps it (validator-history.ts). */
  validatorsAt: (at: number) => Validator[] | undefined;
}

/**
 * Executes one admitted transaction on `o`: the rule of its kind in a layer of its own, then
 * the nonce. Throws (block-invalid) when the sender may not be charged; returns the receipt.
 */
export function applyTx(o: StateOverlay, c: CheckedTx, env: TxEnv): Receipt {
  const tx = c.stx.tx;
  // The sender's key is built once per transaction: hex-encoding addresses is a visible share
  // of the work for simple transfers.
  const fromKey = keys.account(tx.from);
  const sender = checkSender(o, tx.from, fromKey);
  checkNonce(sender, tx.nonce);
  const layer = o.child();
  let receipt: Receipt;
  try {
    const result = runRule(layer, sender, fromKey, tx, env);
    layer.commit();
    receipt = result === undefined ? { txHash: c.hash, ok: true } : { txHash: c.hash, ok: true, result };
  } catch (e) {
    // Anything but a rule failure is a bug or a broken invariant: never turn it into a receipt.
    if (!(e instanceof LedgerError) || !isReceiptCode(e.code)) throw e;
    receipt = { txHash: c.hash, ok: false, code: e.code, message: e.message };
  }
  // Re-read: the rule may have changed the sender's balance (never its existence).
  const after = o.read(fromKey, accountCodec)!;
  o.write(fromKey, { ...after, nonce: after.nonce + 1 }, accountCodec);
  return receipt;
}

type Result = Record<string, number | string> | undefined;

function runRule(o: StateOverlay, sender: Account, fromKey: string, tx: Transaction, env: TxEnv): Result {
  switch (tx.kind) {
    case 'asset.transfer':
      return transfer(o, sender, fromKey, tx.body.to, tx.body.amount, tx.body.memo);
    case 'data.put': {
      checkRight(sender, tx.kind);
      const { key, value } = tx.body;
      if (key.length === 0) fail('INVALID_FIELD', 'data key is empty');
      checkStringSize(key, env.params.dataKeyBytesMax, 'data key');
      checkBytesSize(value, env.params.dataValueBytesMax, 'data value');
      // An empty value deletes the key (types.ts), so absent and empty are one state.
      putDataWithinQuota(o, sender, key, value, env.params);
      return undefined;
    }
    case 'identity.register': {
      checkRight(sender, tx.kind);
      checkRoles(tx.body.roles);
      const address = addressOf(tx.body.publicKey);
      if (getAccount(o, address)) fail('ACCOUNT_EXISTS', `key ${toHex(address)} already has an account`);
      // A pending member.add's admin key is not for taking (key-reservation.ts).
      checkKeyFree(o, 'account', tx.body.publicKey);
      if (tx.body.roles.includes('node')) indexNodeAccount(o, address);
      putAccount(o, {
        address,
        publicKey: tx.body.publicKey,
        memberId: sender.memberId,
        roles: [...tx.body.roles],
        status: 'active',
        balance: 0n,
        nonce: 0,
      });
      return { address: toHex(address) };
    }
    case 'identity.revoke': {
      checkRight(sender, tx.kind);
      const target = getAccount(o, tx.body.address);
      if (!target) fail('UNKNOWN_TARGET', `no account ${toHex(tx.body.address)}`);
      if (target.memberId !== sender.memberId) {
        fail('NOT_PERMITTED', `account ${toHex(target.address)} belongs to member '${target.memberId}'`);
      }
      // Keeps a member from locking itself out by accident; another admin can do it.
      if (bytesEqual(target.address, sender.address))
        fail('NOT_PERMITTED', 'an account cannot revoke itself');
      if (target.status === 'revoked') fail('ALREADY_REVOKED', `account ${toHex(target.address)} is revoked`);
      putAccount(o, { ...target, status: 'revoked' });
      if (target.roles.includes('node')) unindexNodeAccount(o, target.address);
      return undefined;
    }
    case 'gov.propose': {
      const r = propose(o, sender, tx.body, env.height, env.params);
      return { proposalId: r.proposalId, status: r.status };
    }
    case 'gov.vote': {
      const r = vote(o, sender, tx.body, env.height, env.params);
      return { proposalId: r.proposalId, status: r.status };
    }
    case 'identity.rotate':
      return rotateAccount(o, sender, fromKey, tx.body);
    case 'validator.rotate':
      return rotateValidator(o, sender, tx.body);
    case 'evidence.submit':
      return submitEvidence(o, sender, tx.body, env);
  }
}

/**
 * Writes (or, for an empty value, deletes) a data entry and updates the member's usage count
 * (`usage/<member>`, state.ts) in the same layer. A put that would take the member's keys above
 * memberDataKeysMax, or raise its bytes (UTF-8 key + value) above memberDataBytesMax, fails with
 * QUOTA_EXCEEDED; an overwrite that does not grow, and a delete, always apply, so a member above
 * a quota that governance lowered can still shrink.
 */
function putDataWithinQuota(
  o: StateOverlay,
  sender: Account,
  key: string,
  value: Uint8Array,
  params: ChainParams,
): void {
  const old = getData(o, sender.address, key);
  const entryBytes = (v: Uint8Array | undefined) => (v === undefined ? 0 : utf8Length(key) + v.length);
  const next = value.length === 0 ? undefined : value;
  if (old === undefined && next === undefined) return; // deleting an absent key: nothing changes
  const usage = getDataUsage(o, sender.memberId);
  // max(0, ·): entries written before the counter existed are not counted (state.ts).
  const keys = Math.max(0, usage.keys + (next === undefined ? 0 : 1) - (old === undefined ? 0 : 1));
  const bytes = Math.max(0, usage.bytes + entryBytes(next) - entryBytes(old));
  if (keys > usage.keys && keys > params.memberDataKeysMax) {
    fail(
      'QUOTA_EXCEEDED',
      `member '${sender.memberId}' would hold ${keys} data keys, above ${params.memberDataKeysMax}`,
      {
        memberId: sender.memberId,
        keys,
        max: params.memberDataKeysMax,
      },
    );
  }
  if (bytes > usage.bytes && bytes > params.memberDataBytesMax) {
    fail(
      'QUOTA_EXCEEDED',
      `member '${sender.memberId}' would hold ${bytes} data bytes, above ${params.memberDataBytesMax}`,
      { memberId: sender.memberId, bytes, max: params.memberDataBytesMax },
    );
  }
  putData(o, sender.address, key, next ?? null);
  putDataUsage(o, sender.memberId, { keys, bytes });
}

function transfer(
  o: StateOverlay,
  sender: Account,
  fromKey: string,
  to: Uint8Array,
  amount: bigint,
  memo?: string,
): Result {
  checkRight(sender, 'asset.transfer');
  if (amount <= 0n) fail('INVALID_AMOUNT', 'amount must be above zero');
  if (memo !== undefined) checkStringSize(memo, LEDGER_LIMITS.memoBytesMax, 'memo');
  const toKey = keys.account(to);
  const recipient = o.read(toKey, accountCodec);
  if (!recipient) fail('UNKNOWN_RECIPIENT', `no account ${toHex(to)}`);
  if (recipient.status !== 'active' || getMember(o, recipient.memberId)?.status !== 'active') {
    fail('RECIPIENT_INACTIVE', `account ${toHex(to)} is revoked or its member removed`);
  }
  // The layer is fresh, so `sender` is the sender's current record.
  if (sender.balance < amount) {
    fail('INSUFFICIENT_BALANCE', `balance ${sender.balance} is below ${amount}`, {
      balance: sender.balance.toString(),
      amount: amount.toString(),
    });
  }
  const debited = { ...sender, balance: sender.balance - amount };
  o.write(fromKey, debited, accountCodec);
  // A transfer to oneself must credit the debited record.
  const dest = toKey === fromKey ? debited : recipient;
  o.write(toKey, { ...dest, balance: dest.balance + amount }, accountCodec);
  return undefined;
}

/** The Merkle leaf of a receipt: its canonical encoding. */
export function receiptLeaf(r: Receipt): Uint8Array {
  return encodeReceipt(r);
}

/**
 * Runs one block's transactions on a parent state. Used by applyBlock (validation, sync) and
 * by the block builder, which calls `check` and `add` itself to skip what cannot go in.
 */
export class BlockExecutor {
  /** Parameters in force for this block (from the parent state). */
  readonly params: ChainParams;
  readonly chainId: string;
  readonly receipts: Receipt[] = [];
  readonly txHashes: Hash[] = [];
  private readonly o: StateOverlay;
  /** Hex hashes of the included txs; built on first need (see add). */
  private seen: Set<string> | undefined;
  private readonly env: TxEnv;
  private finished = false;

  constructor(
    private readonly parent: LedgerState,
    readonly height: number,
    private readonly opts: ExecOptions = {},
  ) {
    this.o = StateOverlay.over(parent);
    this.params = getParams(this.o);
    this.chainId = getChainId(this.o);
    this.env = {
      height,
      params: this.params,
      chainId: this.chainId,
      ...(opts.verify ? { verify: opts.verify } : {}),
      validatorsAt: (at) => validatorsAt(parent, height, at),
    };
    beginBlock(this.o, height);
  }

  /**
   * Stateless checks against this chain and the block's parameters. `meta` (size and hash of
   * stx's canonical bytes) saves re-encoding when the caller decoded stx from bytes.
   */
  check(stx: SignedTransaction, meta?: TxMeta): CheckedTx {
    return checkTx(
      stx,
      {
        chainId: this.chainId,
        txBytesMax: this.params.txBytesMax,
        verify: this.opts.verify,
        isVerified: this.opts.isVerified,
      },
      meta,
    );
  }

  /**
   * Adds a checked transaction: duplicate check, admission and execution. On a throw the
   * executor is unchanged, so a builder can go on with the next candidate.
   */
  add(c: CheckedTx): Receipt {
    if (this.finished) throw new Error('add() after finish()');
    let receipt: Receipt;
    try {
      receipt = applyTx(this.o, c, this.env);
    } catch (e) {
      // A repeat of an included tx always fails its nonce (the first one used it), so a set of
      // included hashes is needed only to name that case, and is built only then.
      if (e instanceof LedgerError && e.code === 'BAD_NONCE' && this.included().has(hexOf(c.hash))) {
        fail('DUPLICATE_TX', `transaction ${toHex(c.hash)} appears twice`);
      }
      throw e;
    }
    this.seen?.add(hexOf(c.hash));
    this.txHashes.push(c.hash);
    this.receipts.push(receipt);
    return receipt;
  }

  private included(): Set<string> {
    this.seen ??= new Set(this.txHashes.map(hexOf));
    return this.seen;
  }

  /** The sender's next nonce in the state so far (for builders ordering candidates). */
  nextNonce(address: Uint8Array): number | undefined {
    return getAccount(this.o, address)?.nonce;
  }

  /** Ends the block. `txRoot` may be passed when the caller computed it already. */
  finish(txRoot?: Hash): BlockExecution {
    if (this.finished) throw new Error('finish() twice');
    this.finished = true;
    recordValidatorChange(this.o, this.parent, this.height);
    const nextValidators = getValidators(this.o);
    const { state, diff } = this.o.finish();
    return {
      state,
      receipts: this.receipts,
      diff,
      txHashes: this.txHashes,
      txRoot: txRoot ?? merkleRoot(this.txHashes),
      receiptsRoot: merkleRoot(this.receipts.map(receiptLeaf)),
      stateRoot: state.tree.root(),
      nextValidators,
      nextValidatorsHash: validatorsHash(nextValidators),
    };
  }
}

/**
 * Executes `block` on `state` (its parent's state). Checks every transaction (stateless and
 * admission; failures throw a LedgerError whose details name txIndex) but not the header's
 * roots, which is validateBlock's job.
 */
export function applyBlock(state: LedgerState, block: Block, opts: ExecOptions = {}): BlockExecution {
  const ex = new BlockExecutor(state, block.header.height, opts);
  if (block.header.chainId !== ex.chainId) {
    fail('WRONG_CHAIN_ID', `block is for chain '${block.header.chainId}', this is '${ex.chainId}'`);
  }
  const checked = block.txs.map((stx, i) => atTx(i, () => ex.check(stx)));
  checked.forEach((c, i) => {
    atTx(i, () => ex.add(c));
  });
  return ex.finish();
}

/** Runs `f`, locating a LedgerError it throws at transaction `i`. */
export function atTx<T>(i: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LedgerError) throw e.atTx(i);
    throw e;
  }
}

/**
 * What a transaction would do if it were the first in block `height` on `state` (RPC dry
 * runs, mempool diagnostics). Throws what would keep it out of a block.
 */
export function simulateTx(
  state: LedgerState,
  stx: SignedTransaction,
  height: number,
  opts: ExecOptions = {},
): Receipt {
  const ex = new BlockExecutor(state, height, opts);
  return ex.add(ex.check(stx));
}
