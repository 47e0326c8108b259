/**
 * Keys reserved by open proposals (issue 23, finding 10).
 *
 * Rule: a public key that an open proposal names for a new record — the admin key of a
 * `member.add` (an account key) or the key of a `validator.add` (a validator key) — is reserved
 * for that proposal until it closes (executed, failed, rejected or expired). Meanwhile nothing
 * else may take it in the same namespace, and the attempt fails with KEY_RESERVED:
 * - account keys: `identity.register`, `identity.rotate` to it, another `member.add` naming it;
 * - validator keys: `validator.rotate` to it, another `validator.add` naming it.
 * Why: without it any one admin could veto a pending add alone, by taking the key first; the add
 * then failed for good with ACCOUNT_EXISTS / VALIDATOR_EXISTS. The namespaces stay apart because
 * one key is legitimately both (a validator's node identity is an account with the validator's
 * consensus key).
 *
 * The reservation is derived, not stored: it is read off the open proposals themselves (their
 * actions never change), so it ends exactly when a proposal leaves `meta/openProposals`, needs no
 * bookkeeping at expiry or execution, and adds no key to the state (state roots are unchanged).
 * Cost: a scan of at most LEDGER_LIMITS.openProposalsMax proposals, whose records the block
 * overlay caches decoded after the first read, and only for the transaction kinds above; with no
 * open proposal it is one cached read.
 */
import { bytesEqual } from '../crypto/hash.js';
import { fail } from './errors.js';
import { getProposal, openProposalIds, type StateReader } from './state.js';
import type { GovAction } from './types.js';

/** Which kind of record a reserved key is for. */
export type KeyUse = 'account' | 'validator';

/** The key an action would give a new record, if any. */
export function namedKey(a: GovAction): { use: KeyUse; publicKey: Uint8Array } | undefined {
  if (a.type === 'member.add') return { use: 'account', publicKey: a.admin };
  if (a.type === 'validator.add') return { use: 'validator', publicKey: a.publicKey };
  return undefined;
}

/** The id of the open proposal that reserves `publicKey` for `use`, if any. */
export function reservingProposal(o: StateReader, use: KeyUse, publicKey: Uint8Array): number | undefined {
  for (const id of openProposalIds(o)) {
    const p = getProposal(o, id);
    if (!p) throw new Error(`open proposal ${id} has no record`);
    const named = namedKey(p.action);
    // Keys, not addresses, are compared: an address is the hash of its key, so the two agree.
    if (named?.use === use && bytesEqual(named.publicKey, publicKey)) return id;
  }
  return undefined;
}

/** KEY_RESERVED when an open proposal reserves `publicKey` for `use`. */
export function checkKeyFree(o: StateReader, use: KeyUse, publicKey: Uint8Array): void {
  const id = reservingProposal(o, use, publicKey);
  if (id !== undefined) {
    fail('KEY_RESERVED', `the ${use} key is reserved by open proposal ${id} until it closes`, {
      proposalId: id,
      use,
    });
  }
}

/** For a new proposal: KEY_RESERVED when an open one already names the key its action names. */
export function checkActionKeyFree(o: StateReader, a: GovAction): void {
  const named = namedKey(a);
  if (named) checkKeyFree(o, named.use, named.publicKey);
}
