/**
 * Equivocation evidence as a transaction (`evidence.submit`): the ledger verifies it and opens
 * a proposal to remove the validator; the members decide (docs/protocol.md §6: consensus treats an
 * equivocator no differently, governance decides).
 *
 * Why the ledger verifies evidence itself: the ledger may import only crypto/ and genesis/
 * (docs/architecture.md), so it cannot call consensus/evidence.ts. What it needs of the consensus format is
 * small and fixed by docs/protocol.md §2.1 and §6, and is read here with crypto/ alone:
 *
 *   evidence = encode({m1: [payload1, signature1], m2: [payload2, signature2]})
 *   payload  = encode([domainTag "synod/consensus/v1", chainId, type, height, round, author,
 *                      digest                            (PROPOSAL, PREPARE, COMMIT)
 *                      | nothing | preparedRound, preparedDigest   (ROUND-CHANGE)])
 *
 * Genuine evidence: both payloads decode canonically with the domain tag; same chainId (ours),
 * type, height, round and author; they conflict (E1: different digests; E2: different prepared
 * claims); m1's payload bytes sort before m2's (one encoding per equivocation); the author is in
 * V(height) and both signatures verify with its key. A test holds this verifier to
 * consensus/evidence.ts `verifyEvidence` on the same inputs.
 *
 * V(height) comes from the state (validator-history.ts): the current set, or one of the last
 * few past sets; evidence older than those is refused as EVIDENCE_TOO_OLD.
 */
import { ADDRESS_LENGTH, verify as ed25519Verify, SIGNATURE_LENGTH } from '../crypto/ed25519.js';
import {
  asBytes,
  asList,
  asMap,
  asNumber,
  asString,
  decode,
  expectKeys,
  type Value,
} from '../crypto/encoding.js';
import { bytesEqual, compareBytes, toHex } from '../crypto/hash.js';
import { checkBytesSize, checkRight, LEDGER_LIMITS, type VerifyFn } from './checks.js';
import { fail, LedgerError } from './errors.js';
import { openProposal, openRemovalOf } from './governance.js';
import type { ChainParams } from './params.js';
import {
  type Account,
  addrHex,
  getEvidenceRecord,
  getValidators,
  putEvidenceRecord,
  type StateOverlay,
} from './state.js';
import type { Address, EvidenceSubmitBody, Validator } from './types.js';
import { currentAddressOf } from './validator-history.js';

/** The consensus signing domain (consensus/payload.ts DOMAIN_TAG). */
export const CONSENSUS_DOMAIN = 'synod/consensus/v1';
const DIGEST_LENGTH = 32;
const VOTE_TYPES = ['PROPOSAL', 'PREPARE', 'COMMIT'] as const;
export type EvidenceKind = (typeof VOTE_TYPES)[number] | 'ROUND-CHANGE';

/** One signed consensus payload, as far as evidence needs it. */
export interface EvidencePayload {
  type: EvidenceKind;
  chainId: string;
  height: number;
  round: number;
  author: Address;
  /** PROPOSAL, PREPARE, COMMIT. */
  digest?: Uint8Array;
  /** ROUND-CHANGE that reports a prepared value. */
  prepared?: { round: number; digest: Uint8Array };
}

export interface EvidenceItem {
  payload: EvidencePayload;
  /** The payload's canonical bytes: what was signed. */
  signed: Uint8Array;
  signature: Uint8Array;
}

export interface ParsedEvidence {
  kind: EvidenceKind;
  chainId: string;
  height: number;
  round: number;
  validator: Address;
  m1: EvidenceItem;
  m2: EvidenceItem;
}

/** Why evidence is refused, in the words of consensus/errors.ts EvidenceErrorCode. */
export type EvidenceRefusal =
  | 'malformed'
  | 'different-keys'
  | 'not-conflicting'
  | 'not-validator'
  | 'bad-signature'
  | 'unordered'
  | 'wrong-chain'
  | 'future-height';

function refuse(reason: EvidenceRefusal, message: string): never {
  fail('INVALID_EVIDENCE', `invalid evidence (${reason}): ${message}`, { reason });
}

function parsePayload(signed: Uint8Array, what: string): EvidencePayload {
  const items = asList(decode(signed), what);
  if (items.length < 6) refuse('malformed', `${what}: too few fields`);
  if (items[0] !== CONSENSUS_DOMAIN) refuse('malformed', `${what}: not a consensus payload`);
  const chainId = asString(items[1], `${what}.chainId`);
  const type = asString(items[2], `${what}.type`);
  const height = asNumber(items[3], `${what}.height`);
  const round = asNumber(items[4], `${what}.round`);
  const author = asBytes(items[5], `${what}.author`, ADDRESS_LENGTH);
  if (type === 'ROUND-CHANGE') {
    if (items.length === 6) return { type, chainId, height, round, author };
    if (items.length !== 8) refuse('malformed', `${what}: a round change has 6 or 8 fields`);
    return {
      type,
      chainId,
      height,
      round,
      author,
      prepared: {
        round: asNumber(items[6], `${what}.preparedRound`),
        digest: asBytes(items[7], `${what}.preparedDigest`, DIGEST_LENGTH),
      },
    };
  }
  if (!(VOTE_TYPES as readonly string[]).includes(type))
    refuse('malformed', `${what}: unknown type '${type}'`);
  if (items.length !== 7) refuse('malformed', `${what}: a ${type} has 7 fields`);
  return {
    type: type as EvidenceKind,
    chainId,
    height,
    round,
    author,
    digest: asBytes(items[6], `${what}.digest`, DIGEST_LENGTH),
  };
}

function parseItem(v: Value | undefined, what: string): EvidenceItem {
  const pair = asList(v, what);
  if (pair.length !== 2) refuse('malformed', `${what}: expected [payload, signature]`);
  const signed = asBytes(pair[0], `${what}.payload`);
  const signature = asBytes(pair[1], `${what}.signature`, SIGNATURE_LENGTH);
  return { payload: parsePayload(signed, `${what}.payload`), signed, signature };
}

function sameKey(a: EvidencePayload, b: EvidencePayload): boolean {
  return (
    a.type === b.type &&
    a.chainId === b.chainId &&
    a.height === b.height &&
    a.round === b.round &&
    bytesEqual(a.author, b.author)
  );
}

/** E1 / E2: the two payloads say different things under one signing key. */
function conflict(a: EvidencePayload, b: EvidencePayload): boolean {
  if (a.type === 'ROUND-CHANGE') {
    if (!a.prepared || !b.prepared) return (a.prepared === undefined) !== (b.prepared === undefined);
    return a.prepared.round !== b.prepared.round || !bytesEqual(a.prepared.digest, b.prepared.digest);
  }
  return !bytesEqual(a.digest!, b.digest!);
}

/**
 * Parses evidence bytes and checks everything that needs no validator set: shape, one signing
 * key, a conflict, canonical order. Throws INVALID_EVIDENCE with details.reason.
 */
export function parseEvidence(bytes: Uint8Array): ParsedEvidence {
  let m1: EvidenceItem;
  let m2: EvidenceItem;
  try {
    const m = asMap(decode(bytes), 'evidence');
    expectKeys(m, ['m1', 'm2'], [], 'evidence');
    m1 = parseItem(m.m1, 'evidence.m1');
    m2 = parseItem(m.m2, 'evidence.m2');
  } catch (e) {
    if (e instanceof LedgerError) throw e;
    refuse('malformed', (e as Error).message);
  }
  if (!sameKey(m1.payload, m2.payload)) {
    refuse('different-keys', 'the messages differ in chain, type, height, round or author');
  }
  if (!conflict(m1.payload, m2.payload)) refuse('not-conflicting', 'the messages do not conflict');
  if (compareBytes(m1.signed, m2.signed) >= 0) refuse('unordered', 'm1 must sort before m2');
  const p = m1.payload;
  return { kind: p.type, chainId: p.chainId, height: p.height, round: p.round, validator: p.author, m1, m2 };
}

/**
 * The accused validator, once `e` is checked against `validators` (V(e.height)): it is a member
 * and both signatures verify with its key. Throws INVALID_EVIDENCE.
 */
export function checkEvidenceSignatures(
  e: ParsedEvidence,
  validators: readonly Validator[],
  verify: VerifyFn = ed25519Verify,
): Validator {
  const accused = validators.find((v) => bytesEqual(v.address, e.validator));
  if (!accused) refuse('not-validator', `${toHex(e.validator)} is not in the set of height ${e.height}`);
  if (
    !verify(e.m1.signature, e.m1.signed, accused.publicKey) ||
    !verify(e.m2.signature, e.m2.signed, accused.publicKey)
  ) {
    refuse('bad-signature', 'a signature does not verify with the validator key');
  }
  return accused;
}

/** One record per equivocation: `<type>/<height>/<round>/<address hex>` (as consensus keys it). */
export function evidenceKey(e: Pick<ParsedEvidence, 'kind' | 'height' | 'round' | 'validator'>): string {
  return `${e.kind}/${e.height}/${e.round}/${addrHex(e.validator)}`;
}

/** What the evidence rule needs besides the state. */
export interface EvidenceEnv {
  chainId: string;
  /** The height of the block being executed. */
  height: number;
  params: ChainParams;
  verify?: VerifyFn;
  /** V(at) for at ≤ height, as far as the state keeps it (validator-history.ts). */
  validatorsAt: (at: number) => Validator[] | undefined;
}

/**
 * evidence.submit: verifies the evidence, records it once, and opens a proposal to remove the
 * validator (no votes cast: the members decide) unless one is already open, the validator has
 * already left the set, or it is the last validator. The validator is the one that signed,
 * followed across key rotations: the proposal names its address now (currentAddressOf), so
 * rotating right after equivocating does not escape removal, and an open removal then keeps it
 * from rotating again (REMOVAL_PENDING, rotation.ts). Receipt result: the evidence key, the
 * signing validator address, its current address when it rotated since, and the proposal id
 * when there is one.
 */
export function submitEvidence(
  o: StateOverlay,
  sender: Account,
  body: EvidenceSubmitBody,
  env: EvidenceEnv,
): Record<string, number | string> {
  checkRight(sender, 'evidence.submit');
  checkBytesSize(body.evidence, LEDGER_LIMITS.evidenceBytesMax, 'evidence');
  const e = parseEvidence(body.evidence);
  if (e.chainId !== env.chainId) refuse('wrong-chain', `evidence of chain '${e.chainId}'`);
  if (e.height < 1 || e.height > env.height) {
    refuse('future-height', `height ${e.height} is not a height up to this block's (${env.height})`);
  }
  const set = env.validatorsAt(e.height);
  if (!set) {
    fail('EVIDENCE_TOO_OLD', `the validator set of height ${e.height} is no longer kept`, {
      height: e.height,
    });
  }
  const accused = checkEvidenceSignatures(e, set, env.verify);
  const key = evidenceKey(e);
  if (getEvidenceRecord(o, key)) fail('EVIDENCE_EXISTS', `evidence ${key} was already submitted`, { key });

  let proposalId: number | undefined;
  const current = getValidators(o);
  // The validator that signed, wherever its key is now: a rotation after equivocating does not
  // change who is accused (validator-history.ts, the lineage).
  const target = current.length > 1 ? currentAddressOf(o, accused.address, current) : undefined;
  const rotated = target !== undefined && !bytesEqual(target, accused.address);
  if (target) {
    const formerly = rotated ? ` (signed with its former key ${toHex(accused.address)})` : '';
    proposalId =
      openRemovalOf(o, target)?.id ??
      openProposal(
        o,
        {
          proposer: sender.address,
          memberId: sender.memberId,
          action: { type: 'validator.remove', address: target },
          title: `remove validator ${toHex(target)}: ${e.kind} equivocation at height ${e.height}, round ${e.round}${formerly}`,
          votes: [],
          evidence: key,
        },
        env.height,
        env.params,
      ).proposalId;
  }
  putEvidenceRecord(o, key, {
    kind: e.kind,
    height: e.height,
    round: e.round,
    validator: accused.address,
    memberId: accused.memberId,
    submitter: sender.address,
    submittedHeight: env.height,
    ...(proposalId === undefined ? {} : { proposalId }),
  });
  return {
    evidence: key,
    validator: toHex(accused.address),
    ...(rotated ? { currentAddress: toHex(target) } : {}),
    ...(proposalId === undefined ? {} : { proposalId }),
  };
}
