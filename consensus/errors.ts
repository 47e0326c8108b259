/**
 * Typed errors of the consensus core. Each class has a stable `name` and each failure a stable
 * `code`, so callers (the node, the RPC layer, tests) branch on codes, never on message text.
 *
 * Operating errors (bad bytes from the network, forged certificates) are these classes, thrown
 * by decoders and standalone verifiers. Inside the replica, invalid input is never thrown: it is
 * dropped and counted (see `DropReason` in events.ts). `ConsensusInvariantError` is different:
 * it means the caller or this code broke a contract (a programmer error) and must crash.
 */

export type MessageErrorCode =
  /** The frame is larger than `messageBytesMax` (or a block larger than `blockBytesMax`). */
  | 'too-large'
  /** Not a canonical encoding, or the wrong shape (missing/unknown field, wrong type). */
  | 'malformed'
  /** Unknown message kind, or a signed payload of the wrong type for its slot. */
  | 'bad-kind'
  /** The signed payload does not carry the consensus domain tag. */
  | 'bad-domain'
  /** A list longer than `validatorsMax`. */
  | 'too-many-items'
  /** The block port refused the block bytes. */
  | 'bad-block'
  /** A DECIDED for a height at or below `DecodeOptions.staleDecidedAtOrBelow` (its block left undecoded). */
  | 'stale';

export class MessageError extends Error {
  override readonly name = 'MessageError';
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export type CertificateErrorCode =
  /** Wrong shape: bad author or signature length, bad round. */
  | 'malformed'
  /** Authors not strictly ascending by address bytes (this also rules out a signer twice). */
  | 'unsorted-signers'
  /** A signer is not a member of the validator set of the certified height. */
  | 'not-validator'
  /** Fewer distinct signers than the quorum of that set. */
  | 'too-few-signers'
  /** A signature does not verify as COMMIT(chainId, height, round, digest, author). */
  | 'bad-signature';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export type EvidenceErrorCode =
  | 'malformed'
  /** The two messages are not of one validator, chain, height, round and type. */
  | 'different-keys'
  /** The two messages do not conflict (identical, or same digest / same prepared value). */
  | 'not-conflicting'
  | 'not-validator'
  | 'bad-signature'
  /** m1 and m2 are not in canonical order (see evidence.ts). */
  | 'unordered';

export class EvidenceError extends Error {
  override readonly name = 'EvidenceError';
  constructor(
    readonly code: EvidenceErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export type WalErrorCode =
  | 'malformed'
  /** The record was written for another chain. */
  | 'wrong-chain'
  /** The record is for a height above the one the ledger says comes next: storage is corrupt. */
  | 'ahead-of-ledger';

export class WalError extends Error {
  override readonly name = 'WalError';
  constructor(
    readonly code: WalErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export class LimitsError extends Error {
  override readonly name = 'LimitsError';
}

export class ValidatorSetError extends Error {
  override readonly name = 'ValidatorSetError';
}

/** A broken contract between the driver and the core, or a bug in the core: crash, do not handle. */
export class ConsensusInvariantError extends Error {
  override readonly name = 'ConsensusInvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConsensusInvariantError(message);
}
