/**
 * Public surface of the consensus core. The node drives a `Replica` (replica.ts, events.ts); the
 * ledger implements `BlockPort`; the node, ledger and SDK reuse the certificate and evidence
 * verifiers, which need nothing but crypto/ and a `ValidatorSet`.
 */
export {
  type CertificateSignature,
  type CommitCertificate,
  certificateFromCommits,
  commitPayload,
  decodeCommitCertificate,
  encodeCommitCertificate,
  isValidCommitCertificate,
  verifyCommitCertificate,
} from './certificate.js';
export * from './errors.js';
export * from './events.js';
export {
  decodeEvidence,
  type Evidence,
  encodeEvidence,
  evidenceKey,
  makeEvidence,
  verifyEvidence,
} from './evidence.js';
export { type ConsensusLimits, checkLimits, DEFAULT_LIMITS, resolveLimits } from './limits.js';
export {
  type DecidedMessage,
  decodeMessage,
  encodeDecidedMessage,
  encodeMessage,
  type Message,
  type MessageKind,
  messageHeight,
  type ProposalMessage,
  type RoundChangeMessage,
  type VoteMessage,
} from './messages.js';
export {
  DOMAIN_TAG,
  decodePayload,
  encodePayload,
  type Payload,
  type RoundChangePayload,
  type SignedItem,
  type SignFn,
  signPayload,
  type VerifyFn,
  type VotePayload,
} from './payload.js';
export type { BlockPort } from './port.js';
export { faultsTolerated, qbftQuorumSize, quorumSize } from './quorum.js';
export { type BrokenRule, Replica, type ReplicaOptions, type ReplicaStatus } from './replica.js';
export { roundTimeoutMs } from './timer.js';
export { addressKey, ValidatorSet } from './validators.js';
export { decodeWalRecord, encodeWalRecord, type WalRecord } from './wal.js';
