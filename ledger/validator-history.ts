/**
 * The validator sets of past heights, kept in the state so that evidence about an earlier
 * height can be judged with V(height) (docs/protocol.md §6, §7), not with today's set.
 *
 * The state always holds the set of the next height (`meta/validators`). Since a set changes
 * only by a transaction, a block that changes it also records where the old one ended: the old
 * set becomes an epoch {from, to, validators} under `vset/<from>` and `meta/validatorsSince`
 * becomes height + 1. Only the last LEDGER_LIMITS.validatorEpochsMax epochs are kept, so the
 * cost is bounded and paid only by blocks that change the set. A chain whose set never changed
 * has none of these keys: its set has been in force since height 1.
 *
 * The lineage of rotated validators, so that evidence follows a validator across its keys
 * (issue 23: an equivocator that rotated its key at once used to escape its removal). A
 * validator's identity is the address it joined the set with (by genesis or validator.add), its
 * first address. `validator.rotate` from A to B writes (the only writer; raw 20-byte values):
 *
 * | key              | value                                                               |
 * |------------------|---------------------------------------------------------------------|
 * | `vfirst/<B>`     | the first address of the validator now at B (A's, or A if A is it)   |
 * | `vnow/<first>`   | the validator's latest address, B                                     |
 *
 * Two reads, whatever the number of rotations, resolve any address the validator ever had to
 * its current one (`currentAddressOf`). Chains that never rotate a validator have none of these
 * keys, so their states and roots are unchanged. A removed validator's records stay (they resolve
 * to an address no longer in the set, so to nothing); a key added again after being rotated away
 * starts a new lineage under the same first address, and evidence about the older one then
 * follows the newer one, which holds the same key.
 */
import type { Address } from '../crypto/ed25519.js';
import { bytesEqual } from '../crypto/hash.js';
import { LEDGER_LIMITS } from './checks.js';
import { validatorsHash } from './codec.js';
import {
  addrHex,
  getValidators,
  keys,
  type LedgerState,
  rawCodec,
  type StateOverlay,
  type StateReader,
  uintCodec,
  uintListCodec,
  validatorEpochCodec,
  validatorEpochs,
  validatorsSince,
} from './state.js';
import type { Validator } from './types.js';

/**
 * End of block `height`: when the block left a different set than it started with, the set it
 * started with (V(since..height)) is kept as an epoch and the new one starts at height + 1.
 */
export function recordValidatorChange(o: StateOverlay, parent: LedgerState, height: number): void {
  if (!o.wrote(keys.validators)) return;
  const before = getValidators(parent);
  // A block may change the set and change it back: then nothing changed.
  if (bytesEqual(validatorsHash(before), validatorsHash(getValidators(o)))) return;
  const from = validatorsSince(parent);
  o.write(keys.validatorEpoch(from), { from, to: height, validators: before }, validatorEpochCodec);
  const kept = [...(o.read(keys.validatorEpochs, uintListCodec) ?? []), from];
  while (kept.length > LEDGER_LIMITS.validatorEpochsMax) {
    const oldest = kept.shift()!;
    o.write(keys.validatorEpoch(oldest), null, validatorEpochCodec);
  }
  o.write(keys.validatorEpochs, kept, uintListCodec);
  o.write(keys.validatorsSince, height + 1, uintCodec);
}

/**
 * V(at) as known while executing block `height` on `parent` (at ≤ height): the parent's set when
 * it was already in force at `at`, else a kept epoch; undefined when the set of `at` is no
 * longer kept or `at` is not a height that block `height` can know about.
 */
export function validatorsAt(parent: LedgerState, height: number, at: number): Validator[] | undefined {
  if (!Number.isSafeInteger(at) || at < 1 || at > height) return undefined;
  if (at >= validatorsSince(parent)) return getValidators(parent);
  for (const e of validatorEpochs(parent)) if (e.from <= at && at <= e.to) return e.validators;
  return undefined;
}

/** Keys of the rotation lineage (see the header). */
export const lineageKeys = {
  first: (a: Address) => `vfirst/${addrHex(a)}`,
  now: (first: Address) => `vnow/${addrHex(first)}`,
} as const;

/** Records that the validator at `from` moved to `to` (validator.rotate). */
export function recordValidatorRotation(o: StateOverlay, from: Address, to: Address): void {
  const first = o.read(lineageKeys.first(from), rawCodec) ?? from;
  o.write(lineageKeys.first(to), first, rawCodec);
  o.write(lineageKeys.now(first), to, rawCodec);
}

/**
 * The address in `set` of the validator that had `address` at some time: `address` itself when
 * it is in the set (the key is in use now, so that entry is the one accountable for it), else
 * the validator's latest address when it is in the set; undefined when the validator has left.
 */
export function currentAddressOf(
  o: StateReader,
  address: Address,
  set: readonly Validator[],
): Address | undefined {
  const has = (a: Address) => set.some((v) => bytesEqual(v.address, a));
  if (has(address)) return address;
  const first = o.read(lineageKeys.first(address), rawCodec) ?? address;
  const now = o.read(lineageKeys.now(first), rawCodec);
  return now !== undefined && has(now) ? now : undefined;
}
