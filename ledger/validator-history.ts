/**
 * The validator sets of past heights, kept in the state so that evidence about an earlier
 * height can be judged with V(height) (PROTOCOL.md §6, §7), not with today's set.
 *
 * The state always holds the set of the next height (`meta/validators`). Since a set changes
 * only by a transaction, a block that changes it also records where the old one ended: the old
 * set becomes an epoch {from, to, validators} under `vset/<from>` and `meta/validatorsSince`
 * becomes height + 1. Only the last LEDGER_LIMITS.validatorEpochsMax epochs are kept, so the
 * cost is bounded and paid only by blocks that change the set. A chain whose set never changed
 * has none of these keys: its set has been in force since height 1.
 */
import { bytesEqual } from '../crypto/hash.js';
import { LEDGER_LIMITS } from './checks.js';
import { validatorsHash } from './codec.js';
import {
  getValidators,
  keys,
  type LedgerState,
  type StateOverlay,
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
