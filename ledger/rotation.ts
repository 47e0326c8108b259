/**
 * Key rotation, and the index of node identities that registration keeps.
 *
 * - `identity.rotate` (signed by the account itself, any role): an address is derived from its
 *   key (docs/architecture.md), so a new key means a new address. The account moves there whole (member,
 *   roles, balance; nonce 0, which is safe because no transaction was ever signed for the new
 *   address), the old record is revoked with a zero balance, and `moved/<old>` points to the new
 *   address. Data written under the old address stays readable there; it is not moved (the state
 *   offers no prefix iteration, and a namespace is keyed by address). The old key can sign
 *   nothing more: admission refuses a revoked account.
 * - `validator.rotate` (signed by an admin of the validator's member): the validator's entry in
 *   the stored set, V(h+1), gets the new key and addresses, so like any set change it takes
 *   effect at the next height. Refused while an open proposal would remove that validator, so an
 *   accused validator cannot slip out of its removal vote by changing key. The rotation is
 *   recorded in the validator's lineage (validator-history.ts), so evidence signed with a key it
 *   had before, submitted after it rotated, still accuses it (evidence.ts).
 * - Neither moves to a key that an open proposal reserves (KEY_RESERVED, key-reservation.ts).
 * - Accounts with the role "node" are listed in `meta/nodes` (bounded), the one place a node
 *   reads to know which node identities to admit as peers.
 */
import { addressOf } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../crypto/hash.js';
import { checkP2p, checkRight, LEDGER_LIMITS } from './checks.js';
import { fail } from './errors.js';
import { openRemovalOf } from './governance.js';
import { checkKeyFree } from './key-reservation.js';
import {
  type Account,
  accountCodec,
  getAccount,
  getValidators,
  nodeAccountAddresses,
  putAccount,
  putMovedTo,
  putNodeAccountAddresses,
  putValidators,
  type StateOverlay,
} from './state.js';
import type { Address, IdentityRotateBody, ValidatorRotateBody } from './types.js';
import { recordValidatorRotation } from './validator-history.js';

/** Adds `address` to the node index (REGISTRY_FULL at the bound). */
export function indexNodeAccount(o: StateOverlay, address: Address): void {
  const list = nodeAccountAddresses(o);
  if (list.some((a) => bytesEqual(a, address))) return;
  if (list.length >= LEDGER_LIMITS.nodeAccountsMax) {
    fail('REGISTRY_FULL', `${list.length} node identities are registered, the most allowed`);
  }
  putNodeAccountAddresses(o, [...list, address]);
}

/** Drops `address` from the node index, if it is there. */
export function unindexNodeAccount(o: StateOverlay, address: Address): void {
  const list = nodeAccountAddresses(o);
  const rest = list.filter((a) => !bytesEqual(a, address));
  if (rest.length !== list.length) putNodeAccountAddresses(o, rest);
}

/** identity.rotate by `sender` (the account moving). Result: the new address. */
export function rotateAccount(
  o: StateOverlay,
  sender: Account,
  fromKey: string,
  body: IdentityRotateBody,
): Record<string, string> {
  checkRight(sender, 'identity.rotate');
  const next = addressOf(body.newPublicKey);
  if (bytesEqual(next, sender.address)) fail('INVALID_FIELD', 'the new key is the current key');
  if (getAccount(o, next)) fail('ACCOUNT_EXISTS', `key ${toHex(next)} already has an account`);
  checkKeyFree(o, 'account', body.newPublicKey);
  if (sender.roles.includes('node')) {
    unindexNodeAccount(o, sender.address);
    indexNodeAccount(o, next);
  }
  putAccount(o, {
    address: next,
    publicKey: body.newPublicKey,
    memberId: sender.memberId,
    roles: [...sender.roles],
    status: 'active',
    balance: sender.balance,
    nonce: 0,
  });
  // The caller then consumes the old record's nonce, as for every transaction.
  o.write(fromKey, { ...sender, status: 'revoked', balance: 0n }, accountCodec);
  putMovedTo(o, sender.address, next);
  return { address: toHex(next) };
}

/** validator.rotate by a member admin. Result: the validator's new address. */
export function rotateValidator(
  o: StateOverlay,
  sender: Account,
  body: ValidatorRotateBody,
): Record<string, string> {
  checkRight(sender, 'validator.rotate');
  checkP2p(body.p2p);
  const set = getValidators(o);
  const current = set.find((v) => bytesEqual(v.address, body.address));
  if (!current) fail('UNKNOWN_VALIDATOR', `${toHex(body.address)} is not a validator`);
  if (current.memberId !== sender.memberId) {
    fail('NOT_PERMITTED', `validator ${toHex(body.address)} belongs to member '${current.memberId}'`);
  }
  const next = addressOf(body.newPublicKey);
  if (set.some((v) => bytesEqual(v.address, next)))
    fail('VALIDATOR_EXISTS', `${toHex(next)} is already a validator`);
  checkKeyFree(o, 'validator', body.newPublicKey);
  const pending = openRemovalOf(o, current.address);
  if (pending) {
    fail('REMOVAL_PENDING', `proposal ${pending.id} would remove validator ${toHex(current.address)}`, {
      proposalId: pending.id,
    });
  }
  putValidators(o, [
    ...set.filter((v) => v !== current),
    { address: next, publicKey: body.newPublicKey, memberId: current.memberId, p2p: [...body.p2p] },
  ]);
  // Evidence signed with an earlier key still reaches this validator (validator-history.ts).
  recordValidatorRotation(o, current.address, next);
  return { address: toHex(next) };
}
