/**
 * Light-client checks for what a node serves: a header is trusted when a quorum of a known
 * validator set signed it (its commit certificate), and a state value is trusted when a Merkle
 * proof ties it to such a header's state root. A node that lies about either is caught here,
 * whatever else it says.
 *
 * Trust comes from the validator set. `verifyCertifiedHeader` takes the set as given: either
 * one the caller already trusts, or one fetched from a node (gov_getValidators), which is only
 * as good as that node, but its hash must still match the header's `validatorsHash`, so a node
 * cannot pair a made-up set with a genuine header.
 */
import { verifyCommitCertificate } from '../consensus/certificate.js';
import { ValidatorSet } from '../consensus/validators.js';
import { addressOf } from '../crypto/ed25519.js';
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js';
import { blockHash, validatorsHash } from '../ledger/codec.js';
import { keyBytes, keys } from '../ledger/state.js';
import { decodeStateProof, verifyStateProof } from '../ledger/state-tree.js';
import type { BlockHeader, Validator } from '../ledger/types.js';
import type { CertJson, DataResult, HeaderJson, ValidatorJson } from './client-types.js';

export type VerificationErrorCode =
  /** The header JSON does not decode, or its hash is not the hash it claims. */
  | 'bad-header'
  /** The validator set does not hash to the header's validatorsHash, or lists a bad entry. */
  | 'validators-mismatch'
  /** No certificate, or one that is not a quorum of valid COMMIT signatures for the header. */
  | 'bad-certificate'
  /** The proof is missing, malformed, for another key/value, or not against the header's root. */
  | 'bad-proof';

export class VerificationError extends Error {
  override readonly name = 'VerificationError';
  constructor(
    readonly code: VerificationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function hex(value: unknown, length: number, what: string): Uint8Array {
  if (typeof value !== 'string') throw new VerificationError('bad-header', `${what}: expected a hex string`);
  try {
    return fromHex(value, length, what);
  } catch (err) {
    throw new VerificationError('bad-header', (err as Error).message);
  }
}

function int(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new VerificationError('bad-header', `${what}: expected a non-negative integer`);
  return value as number;
}

/** The ledger header behind a header JSON (every field that the block hash covers). */
export function headerFromJson(h: HeaderJson): BlockHeader {
  if (typeof h !== 'object' || h === null) throw new VerificationError('bad-header', 'no header');
  if (typeof h.chainId !== 'string')
    throw new VerificationError('bad-header', 'header.chainId: expected a string');
  return {
    chainId: h.chainId,
    height: int(h.height, 'header.height'),
    view: int(h.view, 'header.view'),
    parentHash: hex(h.parentHash, 32, 'header.parentHash'),
    timestamp: int(h.timestamp, 'header.timestamp'),
    proposer: hex(h.proposer, 20, 'header.proposer'),
    txRoot: hex(h.txRoot, 32, 'header.txRoot'),
    receiptsRoot: hex(h.receiptsRoot, 32, 'header.receiptsRoot'),
    stateRoot: hex(h.stateRoot, 32, 'header.stateRoot'),
    validatorsHash: hex(h.validatorsHash, 32, 'header.validatorsHash'),
    nextValidatorsHash: hex(h.nextValidatorsHash, 32, 'header.nextValidatorsHash'),
  };
}

/** Ledger validators from their JSON, checking each address against its public key. */
export function validatorsFromJson(list: readonly ValidatorJson[]): Validator[] {
  if (!Array.isArray(list) || list.length === 0)
    throw new VerificationError('validators-mismatch', 'an empty or missing validator set');
  return list.map((v, i) => {
    let publicKey: Uint8Array;
    let address: Uint8Array;
    try {
      publicKey = fromHex(v.publicKey, 32, `validators[${i}].publicKey`);
      address = fromHex(v.address, 20, `validators[${i}].address`);
    } catch (err) {
      throw new VerificationError('validators-mismatch', (err as Error).message);
    }
    if (!bytesEqual(address, addressOf(publicKey)))
      throw new VerificationError('validators-mismatch', `validators[${i}]: address is not its key's`);
    if (typeof v.member !== 'string')
      throw new VerificationError('validators-mismatch', `validators[${i}].member: expected a string`);
    return { address, publicKey, memberId: v.member, p2p: Array.isArray(v.p2p) ? v.p2p : [] };
  });
}

/** The hash a header carries for this set (0x-hex). */
export function validatorsHashHex(list: readonly ValidatorJson[]): string {
  return toHex(validatorsHash(validatorsFromJson(list)));
}

export interface CertifiedHeader {
  header: BlockHeader;
  /** blockHash(header), recomputed. */
  hash: Uint8Array;
}

/**
 * Throws VerificationError unless `cert` is a valid commit certificate for `header` by the set
 * `validators`, which must be V(header.height) (its hash equals header.validatorsHash).
 * Checks, in order: the header decodes and hashes to its claimed hash; the set hashes to
 * header.validatorsHash; a quorum of that set signed COMMIT for (chainId, height, round, hash).
 */
export function verifyCertifiedHeader(
  headerJson: HeaderJson,
  cert: CertJson | null | undefined,
  validators: readonly ValidatorJson[],
): CertifiedHeader {
  const header = headerFromJson(headerJson);
  const hash = blockHash(header);
  if (headerJson.hash !== undefined && headerJson.hash.toLowerCase() !== toHex(hash)) {
    throw new VerificationError('bad-header', `header hashes to ${toHex(hash)}, not ${headerJson.hash}`);
  }
  const set = validatorsFromJson(validators);
  if (!bytesEqual(validatorsHash(set), header.validatorsHash)) {
    throw new VerificationError(
      'validators-mismatch',
      `the validator set hashes to ${toHex(validatorsHash(set))}, the header of height ${header.height} carries ${toHex(header.validatorsHash)}`,
    );
  }
  if (!cert || !Array.isArray(cert.signatures)) {
    throw new VerificationError('bad-certificate', `no commit certificate for height ${header.height}`);
  }
  let sigs: { author: Uint8Array; signature: Uint8Array }[];
  let valSet: ValidatorSet;
  try {
    sigs = cert.signatures.map((s, i) => ({
      author: fromHex(s.validator, 20, `cert.signatures[${i}].validator`),
      signature: fromHex(s.signature, 64, `cert.signatures[${i}].signature`),
    }));
    valSet = ValidatorSet.fromPublicKeys(set.map((v) => v.publicKey));
  } catch (err) {
    throw new VerificationError('bad-certificate', (err as Error).message);
  }
  try {
    verifyCommitCertificate(header.chainId, header.height, hash, { round: cert.round, sigs }, valSet);
  } catch (err) {
    throw new VerificationError('bad-certificate', `height ${header.height}: ${(err as Error).message}`);
  }
  return { header, hash };
}

/** The state key of `key` in `address`'s data namespace (`data/<address hex>/<key>`). */
export function dataStateKey(address: string, key: string): string {
  return keys.data(fromHex(address, 20, 'address'), key);
}

export interface VerifiedData {
  /** The proven value; null when the proof shows the key holds nothing. */
  value: Uint8Array | null;
  height: number;
  /** The certified block the proof is against. */
  blockHash: string;
  stateRoot: string;
}

/**
 * Checks a `state_getData` answer given with `proof: true`: the header is certified by
 * `validators` (see verifyCertifiedHeader), and the proof shows that, under the header's state
 * root, `data/<address>/<key>` holds exactly the answered value (or nothing when it is null).
 * The key proven is recomputed from `address` and `key` here, never taken from the answer.
 */
export function verifyDataProof(
  address: string,
  key: string,
  answer: DataResult,
  validators: readonly ValidatorJson[],
): VerifiedData {
  if (!answer || answer.proof === undefined || answer.header === undefined) {
    throw new VerificationError('bad-proof', 'the answer carries no proof or header');
  }
  const { header, hash } = verifyCertifiedHeader(answer.header, answer.cert, validators);
  let value: Uint8Array | null;
  try {
    value = answer.value === null ? null : fromHex(answer.value, undefined, 'value');
  } catch (err) {
    throw new VerificationError('bad-proof', (err as Error).message);
  }
  let proof: ReturnType<typeof decodeStateProof>;
  try {
    proof = decodeStateProof(fromHex(answer.proof, undefined, 'proof'));
  } catch (err) {
    throw new VerificationError('bad-proof', `malformed proof: ${(err as Error).message}`);
  }
  const stateKey = keyBytes(dataStateKey(address, key));
  if (!verifyStateProof(header.stateRoot, stateKey, value, proof)) {
    throw new VerificationError(
      'bad-proof',
      `the proof does not show ${value === null ? 'the absence of' : 'this value for'} '${key}' under the state root of block ${header.height}`,
    );
  }
  return { value, height: header.height, blockHash: toHex(hash), stateRoot: toHex(header.stateRoot) };
}
