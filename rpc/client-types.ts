/**
 * The JSON shapes Synod nodes answer with, as the SDK types them. Bytes are 0x-hex strings,
 * amounts decimal strings (they exceed 2^53), times milliseconds since the epoch.
 *
 * Interfaces rather than schemas: the SDK trusts the node's shapes for convenience and checks
 * only what it verifies cryptographically (client-verify.ts).
 */

export interface HeaderJson {
  height: number;
  hash: string;
  chainId: string;
  view: number;
  parentHash: string;
  timestamp: number;
  /** ISO-8601 form of `timestamp`. */
  time: string;
  proposer: string;
  txRoot: string;
  receiptsRoot: string;
  stateRoot: string;
  validatorsHash: string;
  nextValidatorsHash: string;
}

export interface CertJson {
  round: number;
  signatures: { validator: string; signature: string }[];
}

export interface ReceiptJson {
  ok: boolean;
  /** Stable error code when !ok. */
  code?: string;
  message?: string;
  /** Kind-specific result, e.g. `{proposalId, status}` of gov.propose. */
  result?: Record<string, number | string>;
}

export type GovActionJson =
  | { type: 'member.add'; memberId: string; name: string; admin: string }
  | { type: 'member.remove'; memberId: string }
  | { type: 'validator.add'; publicKey: string; memberId: string; p2p: string[] }
  | { type: 'validator.remove'; address: string }
  | { type: 'param.set'; name: string; value: number };

/** A signed transaction as the node shows it. `body` depends on `kind`. */
export interface TxJson {
  hash: string;
  chainId: string;
  from: string;
  nonce: number;
  kind: string;
  body: Record<string, unknown>;
  publicKey: string;
  signature: string;
}

/** A committed transaction with its receipt and place (chain_getTx, tx_submitAndWait). */
export interface TxRecord extends TxJson {
  height: number;
  index: number;
  receipt: ReceiptJson;
}

export interface InfoResult {
  chainId: string;
  genesisHash: string;
  height: number;
  latestHash: string;
  latestTime: string;
  latestTimestamp: number;
  validators: number;
  f: number;
  quorum: number;
}

export interface BlockResult {
  header: HeaderJson;
  txCount: number;
  /** Tx hashes, or whole transactions with receipts when asked `full`. */
  txs: string[] | (TxJson & { receipt: ReceiptJson | null })[];
  /** Null for block 0 (genesis is trusted by its hash, not certified). */
  cert: CertJson | null;
}

export interface BlocksPage {
  /** Newest first. */
  blocks: HeaderJson[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: number | null;
}

export interface AccountTxRef {
  hash: string;
  height: number;
  index: number;
}

export interface AccountTxsPage {
  /** Newest first. */
  txs: AccountTxRef[];
  /** Opaque cursor: pass as `before` for the next (older) page; null when there is none. */
  next: string | null;
}

export interface AccountJson {
  address: string;
  publicKey: string;
  member: string;
  roles: string[];
  status: 'active' | 'revoked';
  balance: string;
  /** The nonce the account's next transaction must carry. */
  nonce: number;
}

export interface DataResult {
  address: string;
  key: string;
  /** 0x-hex value, or null when the key holds nothing. */
  value: string | null;
  /** The latest height, whose state the value was read from. */
  height: number;
  stateRoot: string;
  /** With `proof`: the state key proven, the encoded proof, the header and its certificate. */
  stateKey?: string;
  proof?: string;
  header?: HeaderJson;
  cert?: CertJson | null;
}

export interface MemberJson {
  id: string;
  name: string;
  status: 'active' | 'removed';
}

export interface MembersResult {
  height: number;
  members: MemberJson[];
}

export interface ValidatorJson {
  address: string;
  publicKey: string;
  member: string;
  p2p: string[];
}

export interface ValidatorsResult {
  /** V(height): the set that certifies block `height`. */
  height: number;
  validators: ValidatorJson[];
  f: number;
  quorum: number;
  /** validatorsHash of the set (what block headers carry). */
  validatorsHash?: string;
}

export interface ProposalJson {
  id: number;
  title: string;
  proposer: string;
  member: string;
  action: GovActionJson;
  status: 'open' | 'executed' | 'failed' | 'rejected' | 'expired';
  createdHeight: number;
  expiresHeight: number;
  closedHeight?: number;
  failure?: { code: string; message: string };
  votes: { member: string; approve: boolean }[];
  yes: number;
  no: number;
}

export interface StatusResult {
  nodeId: string;
  address: string;
  role: 'validator' | 'observer';
  version: string;
  chainId: string;
  height: number;
  latestHash: string;
  /** The consensus round (view) of the height in progress. */
  view?: number;
  round?: number;
  syncing: boolean;
  peers: string[];
  [field: string]: unknown;
}

/** A governance event (the `governance` topic). */
export interface GovernanceEvent {
  type: 'proposal.created' | 'vote.cast' | `proposal.${'executed' | 'failed' | 'rejected' | 'expired'}`;
  height: number;
  proposalId: number;
  [field: string]: unknown;
}
