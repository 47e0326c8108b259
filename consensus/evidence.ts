/**
 * Equivocation evidence (docs/protocol.md §6): two messages m1 ≠ m2 signed by one validator for the same
 * chainId, height, round and type, that conflict:
 *   E1: both PROPOSAL, or both PREPARE, or both COMMIT, with different digests;
 *   E2: both ROUND-CHANGE, with different (preparedRound, preparedDigest).
 * Byte-identical replays, messages of different rounds, and anything failing the signature or
 * membership checks are not evidence. The pair is stored in canonical order (m1's payload bytes
 * sort before m2's), so the same equivocation always yields the same record and duplicates
 * collapse. Consensus treats the equivocator no differently; governance decides any penalty.
 */
import { verify as defaultVerify } from '../crypto/ed25519.js';
import { asMap, decode, encode, expectKeys, type Value } from '../crypto/encoding.js';
import { bytesEqual, compareBytes } from '../crypto/hash.js';
import { EvidenceError, MessageError } from './errors.js';
import {
  decodeSignedItem,
  encodePayload,
  type Payload,
  type SignedItem,
  type SignedType,
  signedItemValue,
  type VerifyFn,
} from './payload.js';
import { addressKey, type ValidatorSet } from './validators.js';

export interface Evidence {
  kind: SignedType;
  chainId: string;
  height: number;
  round: number;
  validator: Uint8Array;
  m1: SignedItem;
  m2: SignedItem;
}

/** Same (chainId, height, round, type, author): the key under which an honest validator signs once (I1). */
export function sameSigningKey(a: Payload, b: Payload): boolean {
  return (
    a.type === b.type &&
    a.chainId === b.chainId &&
    a.height === b.height &&
    a.round === b.round &&
    bytesEqual(a.author, b.author)
  );
}

/** True when two payloads with the same signing key say different things (E1 or E2). */
export function payloadsConflict(a: Payload, b: Payload): boolean {
  if (!sameSigningKey(a, b)) return false;
  if (a.type === 'ROUND-CHANGE' && b.type === 'ROUND-CHANGE') {
    if (!a.prepared || !b.prepared) return (a.prepared === undefined) !== (b.prepared === undefined);
    return a.prepared.round !== b.prepared.round || !bytesEqual(a.prepared.digest, b.prepared.digest);
  }
  if (a.type !== 'ROUND-CHANGE' && b.type !== 'ROUND-CHANGE') return !bytesEqual(a.digest, b.digest);
  return false;
}

/** The evidence record for two conflicting items (signatures are assumed already checked). */
export function makeEvidence(a: SignedItem, b: SignedItem): Evidence {
  if (!payloadsConflict(a.payload, b.payload))
    throw new EvidenceError('not-conflicting', 'the payloads do not conflict');
  const [m1, m2] = compareBytes(a.signed, b.signed) < 0 ? [a, b] : [b, a];
  const p = m1.payload;
  return { kind: p.type, chainId: p.chainId, height: p.height, round: p.round, validator: p.author, m1, m2 };
}

/** Stable identity of an equivocation: one record per (type, height, round, validator). */
export function evidenceKey(e: Pick<Evidence, 'kind' | 'height' | 'round' | 'validator'>): string {
  return `${e.kind}/${e.height}/${e.round}/${addressKey(e.validator)}`;
}

export function encodeEvidence(e: Evidence): Uint8Array {
  const v: Value = { m1: signedItemValue(e.m1), m2: signedItemValue(e.m2) };
  return encode(v);
}

/** Parses evidence bytes (the record is just the two items; the rest is derived from them). */
export function decodeEvidence(bytes: Uint8Array): Evidence {
  try {
    const m = asMap(decode(bytes), 'evidence');
    expectKeys(m, ['m1', 'm2'], [], 'evidence');
    const m1 = decodeSignedItem(m.m1, 'evidence.m1');
    const m2 = decodeSignedItem(m.m2, 'evidence.m2');
    if (!sameSigningKey(m1.payload, m2.payload))
      throw new EvidenceError('different-keys', 'messages of different keys');
    const e = makeEvidence(m1, m2);
    if (e.m1 !== m1) throw new EvidenceError('unordered', 'm1 must sort before m2');
    return e;
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    if (e instanceof MessageError) throw new EvidenceError('malformed', e.message);
    throw new EvidenceError('malformed', (e as Error).message);
  }
}

/**
 * Throws EvidenceError unless `e` is genuine evidence against a member of `validators` (the set of
 * `e.height`) on chain `chainId`: same key, conflicting, canonical order, both signatures valid.
 */
export function verifyEvidence(
  chainId: string,
  e: Evidence,
  validators: ValidatorSet,
  verify: VerifyFn = defaultVerify,
): void {
  const a = e.m1.payload;
  const b = e.m2.payload;
  // The decoded payloads must be exactly what was signed (an in-memory record could disagree).
  if (!bytesEqual(encodePayload(a), e.m1.signed) || !bytesEqual(encodePayload(b), e.m2.signed)) {
    throw new EvidenceError('malformed', 'a payload does not match its signed bytes');
  }
  if (!sameSigningKey(a, b)) throw new EvidenceError('different-keys', 'messages of different keys');
  if (a.chainId !== chainId) throw new EvidenceError('different-keys', 'evidence of another chain');
  if (
    a.type !== e.kind ||
    a.height !== e.height ||
    a.round !== e.round ||
    !bytesEqual(a.author, e.validator)
  ) {
    throw new EvidenceError('malformed', 'record fields disagree with its messages');
  }
  if (!payloadsConflict(a, b)) throw new EvidenceError('not-conflicting', 'the payloads do not conflict');
  if (compareBytes(e.m1.signed, e.m2.signed) >= 0)
    throw new EvidenceError('unordered', 'm1 must sort before m2');
  const pk = validators.publicKeyOf(e.validator);
  if (!pk) throw new EvidenceError('not-validator', 'the accused is not in the set of that height');
  if (!verify(e.m1.signature, e.m1.signed, pk) || !verify(e.m2.signature, e.m2.signed, pk)) {
    throw new EvidenceError('bad-signature', 'a signature does not verify');
  }
}
