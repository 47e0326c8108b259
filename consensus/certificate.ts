/**
 * Commit certificates (docs/protocol.md §2.2, V-DECIDED): a quorum of COMMIT signatures over one
 * (chainId, height, round, digest). The COMMIT signature is the commit seal, so a certificate is
 * just the round and the (author, signature) pairs, sorted by author, one per validator.
 *
 * `verifyCommitCertificate` is standalone: the node (sync, DECIDED), the ledger and the client SDK
 * call it with the validator set in force at the certified height (§7), never the current one.
 */
import { ADDRESS_LENGTH, verify as defaultVerify, SIGNATURE_LENGTH } from '../crypto/ed25519.js';
import {
  asBytes,
  asList,
  asMap,
  asNumber,
  decode,
  encode,
  expectKeys,
  type Value,
} from '../crypto/encoding.js';
import { compareBytes } from '../crypto/hash.js';
import { CertificateError } from './errors.js';
import { encodePayload, type SignedItem, type VerifyFn, type VotePayload } from './payload.js';
import type { ValidatorSet } from './validators.js';

export interface CertificateSignature {
  author: Uint8Array;
  signature: Uint8Array;
}

export interface CommitCertificate {
  /** The round whose COMMIT quorum this is (not necessarily B.view: re-proposed blocks keep their view). */
  round: number;
  /** Strictly ascending by author address bytes. */
  sigs: CertificateSignature[];
}

/** The COMMIT payload a certificate signature must verify against. */
export function commitPayload(
  chainId: string,
  height: number,
  round: number,
  author: Uint8Array,
  digest: Uint8Array,
): VotePayload {
  return { type: 'COMMIT', chainId, height, round, author, digest };
}

/** Builds a certificate from COMMIT items of one (height, round, digest), sorting by author. */
export function certificateFromCommits(
  round: number,
  commits: readonly SignedItem<VotePayload>[],
): CommitCertificate {
  const sigs = commits.map((c) => ({ author: c.payload.author, signature: c.signature }));
  sigs.sort((a, b) => compareBytes(a.author, b.author));
  return { round, sigs };
}

export function commitCertificateValue(cert: CommitCertificate): Value {
  return { round: cert.round, sigs: cert.sigs.map((s) => [s.author, s.signature]) };
}

/** Parses the value form; `sigsMax` bounds the list (use `validatorsMax`). Throws CertificateError('malformed'). */
export function commitCertificateFromValue(v: Value | undefined, sigsMax: number): CommitCertificate {
  try {
    const m = asMap(v, 'certificate');
    expectKeys(m, ['round', 'sigs'], [], 'certificate');
    const round = asNumber(m.round, 'certificate.round');
    const list = asList(m.sigs, 'certificate.sigs');
    if (list.length > sigsMax) throw new Error(`certificate: more than ${sigsMax} signatures`);
    const sigs = list.map((item, i) => {
      const pair = asList(item, `certificate.sigs[${i}]`);
      if (pair.length !== 2) throw new Error(`certificate.sigs[${i}]: expected [author, signature]`);
      return {
        author: asBytes(pair[0], `certificate.sigs[${i}].author`, ADDRESS_LENGTH),
        signature: asBytes(pair[1], `certificate.sigs[${i}].signature`, SIGNATURE_LENGTH),
      };
    });
    return { round, sigs };
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError('malformed', (e as Error).message);
  }
}

/** Canonical bytes of a certificate, for the ledger to store beside its block. */
export function encodeCommitCertificate(cert: CommitCertificate): Uint8Array {
  return encode(commitCertificateValue(cert));
}

export function decodeCommitCertificate(bytes: Uint8Array, sigsMax = 1024): CommitCertificate {
  let v: Value;
  try {
    v = decode(bytes);
  } catch (e) {
    throw new CertificateError('malformed', (e as Error).message);
  }
  return commitCertificateFromValue(v, sigsMax);
}

export interface VerifyCertificateOptions {
  verify?: VerifyFn;
  /** Quorum to require; defaults to the set's q. Only tests that prove the checkers bite override it. */
  quorum?: number;
}

/**
 * Throws CertificateError unless `cert` holds COMMIT signatures over (chainId, height, cert.round,
 * blockHash) from at least q(V) distinct members of `validators`, the set of `height`, sorted by
 * author. Cheap structural checks run before any signature is verified.
 */
export function verifyCommitCertificate(
  chainId: string,
  height: number,
  blockHash: Uint8Array,
  cert: CommitCertificate,
  validators: ValidatorSet,
  options: VerifyCertificateOptions = {},
): void {
  const verify = options.verify ?? defaultVerify;
  const quorum = options.quorum ?? validators.quorum;
  if (!Number.isSafeInteger(cert.round) || cert.round < 0)
    throw new CertificateError('malformed', 'bad round');
  const keys: Uint8Array[] = [];
  for (let i = 0; i < cert.sigs.length; i++) {
    const s = cert.sigs[i]!;
    if (s.author.length !== ADDRESS_LENGTH || s.signature.length !== SIGNATURE_LENGTH) {
      throw new CertificateError('malformed', `signature ${i}: bad author or signature length`);
    }
    if (i > 0 && compareBytes(cert.sigs[i - 1]!.author, s.author) >= 0) {
      throw new CertificateError('unsorted-signers', `signature ${i}: authors must be strictly ascending`);
    }
    const pk = validators.publicKeyOf(s.author);
    if (!pk)
      throw new CertificateError(
        'not-validator',
        `signature ${i}: signer is not in the set of height ${height}`,
      );
    keys.push(pk);
  }
  if (cert.sigs.length < quorum) {
    throw new CertificateError('too-few-signers', `${cert.sigs.length} signers, quorum is ${quorum}`);
  }
  for (let i = 0; i < cert.sigs.length; i++) {
    const s = cert.sigs[i]!;
    const msg = encodePayload(commitPayload(chainId, height, cert.round, s.author, blockHash));
    if (!verify(s.signature, msg, keys[i]!)) {
      throw new CertificateError(
        'bad-signature',
        `signature ${i} does not verify as COMMIT(${height}, ${cert.round})`,
      );
    }
  }
}

/** Boolean form of `verifyCommitCertificate`. */
export function isValidCommitCertificate(
  chainId: string,
  height: number,
  blockHash: Uint8Array,
  cert: CommitCertificate,
  validators: ValidatorSet,
  options: VerifyCertificateOptions = {},
): boolean {
  try {
    verifyCommitCertificate(chainId, height, blockHash, cert, validators, options);
    return true;
  } catch (e) {
    if (e instanceof CertificateError) return false;
    throw e;
  }
}
