/**
 * The ledger's data shapes: transactions, blocks, receipts, certificates, validators.
 *
 * In memory, bytes are Uint8Array and amounts bigint; `ledger/codec.ts` maps each shape to the
 * canonical encoding (crypto/encoding.ts), which is what gets hashed, signed and stored.
 */
import type { Address } from '../crypto/ed25519.js';
import type { Hash } from '../crypto/hash.js';

export type { Address, Hash };

export const TX_KINDS = [
  'asset.transfer',
  'data.put',
  'identity.register',
  'identity.revoke',
  'gov.propose',
  'gov.vote',
  'identity.rotate',
  'validator.rotate',
  'evidence.submit',
] as const;
export type TxKind = (typeof TX_KINDS)[number];

/** Moves `amount` of the native asset from the sender to `to`. */
export interface TransferBody {
  to: Address;
  amount: bigint;
  memo?: string;
}

/** Stores `value` under `key` in the sender's own namespace; an empty value deletes the key. */
export interface DataPutBody {
  key: string;
  value: Uint8Array;
}

/** A member admin adds a client key (account) to its own member, with roles. */
export interface IdentityRegisterBody {
  publicKey: Uint8Array;
  roles: string[];
}

/** A member admin revokes an account of its own member. */
export interface IdentityRevokeBody {
  address: Address;
}

/**
 * An account moves itself to a new key. Addresses are derived from keys, so the account gets a
 * new address: a new record there carries the member, roles and balance, and the old record is
 * revoked (its nonce stream ends). Data written under the old address stays there.
 */
export interface IdentityRotateBody {
  newPublicKey: Uint8Array;
}

/**
 * A member admin replaces the consensus key of one of its member's validators (e.g. a
 * compromised or lost key). Like any set change it takes effect from the next height.
 */
export interface ValidatorRotateBody {
  /** The validator's current address. */
  address: Address;
  newPublicKey: Uint8Array;
  /** libp2p multiaddrs of the node holding the new key. */
  p2p: string[];
}

/**
 * Equivocation evidence (docs/protocol.md §6): the canonical bytes of the two conflicting signed
 * consensus messages, as consensus/evidence.ts `encodeEvidence` writes them. Once verified it
 * opens a proposal to remove the validator (ledger/evidence.ts).
 */
export interface EvidenceSubmitBody {
  evidence: Uint8Array;
}

/** What a governance proposal does once it passes. */
export type GovAction =
  | { type: 'member.add'; memberId: string; name: string; admin: Uint8Array }
  | { type: 'member.remove'; memberId: string }
  | { type: 'validator.add'; publicKey: Uint8Array; memberId: string; p2p: string[] }
  | { type: 'validator.remove'; address: Address }
  | { type: 'param.set'; name: string; value: number };

export const GOV_ACTION_TYPES = [
  'member.add',
  'member.remove',
  'validator.add',
  'validator.remove',
  'param.set',
] as const;

/** A member admin opens a proposal; the proposer's member votes yes implicitly. */
export interface GovProposeBody {
  action: GovAction;
  title: string;
}

/** A member admin votes on an open proposal; one vote per member. */
export interface GovVoteBody {
  proposalId: number;
  approve: boolean;
}

export type TxBody =
  | { kind: 'asset.transfer'; body: TransferBody }
  | { kind: 'data.put'; body: DataPutBody }
  | { kind: 'identity.register'; body: IdentityRegisterBody }
  | { kind: 'identity.revoke'; body: IdentityRevokeBody }
  | { kind: 'gov.propose'; body: GovProposeBody }
  | { kind: 'gov.vote'; body: GovVoteBody }
  | { kind: 'identity.rotate'; body: IdentityRotateBody }
  | { kind: 'validator.rotate'; body: ValidatorRotateBody }
  | { kind: 'evidence.submit'; body: EvidenceSubmitBody };

/** The signed part of a transaction. `nonce` is the sender's next nonce (0 for its first tx). */
export type Transaction = {
  chainId: string;
  from: Address;
  nonce: number;
} & TxBody;

/**
 * A transaction with its signature. `publicKey` travels with it so that anyone can check the
 * signature without state (and `addressOf(publicKey)` must equal `tx.from`).
 */
export interface SignedTransaction {
  tx: Transaction;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

export interface BlockHeader {
  chainId: string;
  height: number;
  /** The consensus round the block was built in (docs/protocol.md §2.3.7: re-proposals keep it). */
  view: number;
  parentHash: Hash;
  /** Milliseconds since the Unix epoch, strictly above the parent's. */
  timestamp: number;
  proposer: Address;
  txRoot: Hash;
  receiptsRoot: Hash;
  /** State root after this block. */
  stateRoot: Hash;
  /** Hash of V(height), the set that certifies this block. */
  validatorsHash: Hash;
  /** Hash of V(height + 1), the set that certifies the next block. */
  nextValidatorsHash: Hash;
}

export interface Block {
  header: BlockHeader;
  txs: SignedTransaction[];
}

/** A quorum of COMMIT signatures for one (height, round, block hash), sorted by validator. */
export interface CommitCertificate {
  round: number;
  sigs: { validator: Address; signature: Uint8Array }[];
}

/** Outcome of one transaction inside a block. A failed tx still consumes its nonce. */
export interface Receipt {
  txHash: Hash;
  ok: boolean;
  /** Stable error code when !ok (see ledger/errors.ts). */
  code?: string;
  message?: string;
  /** Kind-specific result, e.g. the id of a new proposal. */
  result?: Record<string, number | string>;
}

export interface Validator {
  address: Address;
  publicKey: Uint8Array;
  memberId: string;
  /** libp2p multiaddrs where this validator listens. */
  p2p: string[];
}
