/**
 * The ledger state: one authenticated map (ledger/state-tree.ts) holding everything consensus
 * depends on, so the state root commits to all of it.
 *
 * Key layout (keys are UTF-8 strings; <addr> is 40 lowercase hex digits without 0x; values are
 * the canonical encoding of crypto/encoding.ts unless noted):
 *
 * | key                      | value                                                              |
 * |--------------------------|--------------------------------------------------------------------|
 * | `acct/<addr>`            | Account {address, publicKey, memberId, roles, status, balance, nonce} |
 * | `member/<id>`            | Member {id, name, status}                                          |
 * | `data/<addr>/<key>`      | the raw value bytes of data.put (not wrapped; absent when deleted)  |
 * | `prop/<id>`              | Proposal (decimal id, from 1)                                      |
 * | `meta/chainId`           | string: the chain id (so the root commits to it)                   |
 * | `meta/params`            | ChainParams (map of every parameter)                               |
 * | `meta/validators`        | list of Validator sorted by address: the set for the NEXT height   |
 * | `meta/members`           | list of every member id ever added, sorted (ids are never reused)  |
 * | `meta/nextProposalId`    | uint: the id the next proposal gets                                |
 * | `meta/openProposals`     | list of uint: ids of open proposals, ascending (expiry scan)       |
 * | `meta/nodes`             | list of addresses of accounts holding the role "node", sorted      |
 * | `meta/validatorsSince`   | uint: first height of the set in `meta/validators` (absent: 1)     |
 * | `meta/validatorEpochs`   | list of uint: `fromHeight` of each kept past set, ascending        |
 * | `vset/<from>`            | ValidatorEpoch {from, to, validators}: a past set, V(from..to)     |
 * | `evid/<type>/<h>/<r>/<addr>` | EvidenceRecord: an equivocation already acted upon             |
 * | `moved/<addr>`           | the raw 20-byte address an account rotated its key to              |
 * | `usage/<member>`         | DataUsage {keys, bytes}: what the member's accounts hold in data/  |
 *
 * The `meta/nodes`, `meta/validatorsSince` and `meta/validatorEpochs` keys, and the `vset/`,
 * `evid/`, `moved/` and `usage/` records, are written only once the feature they serve is first
 * used, so the states (and roots) of chains that never use them are what they were before they
 * existed. Likewise `meta/params` leaves out a parameter of PARAMS_STORED_WHEN_CHANGED while it
 * has its default.
 *
 * `usage/<member>` counts the member's data/ entries and their bytes (UTF-8 key bytes + value
 * bytes), updated by every data.put in the same block diff as the entry (execute.ts), so the
 * data.put quota (memberDataKeysMax / memberDataBytesMax) is judged alike by every node and
 * survives restarts. Entries written before the counter existed are not in it; the count never
 * goes below zero when they are deleted.
 *
 * The `meta/` lists are indexes: the tree offers no prefix iteration, and the few things that
 * must be enumerated (members for the vote tally, open proposals for expiry, the validator set)
 * are small and bounded (see LEDGER_LIMITS in checks.ts).
 *
 * Writes during execution go through a StateOverlay: it caches decoded records, stacks one
 * layer per transaction (so a failing transaction is discarded whole), and at the end of the
 * block encodes each touched key once and applies them to the tree in one `setMany`. The list
 * of [key, value | null] it applies is the block's StateDiff, which the store persists.
 */
import type { Address } from '../crypto/ed25519.js';
import {
  asBigInt,
  asBool,
  asBytes,
  asList,
  asMap,
  asNumber,
  asString,
  decode,
  EncodingError,
  encode,
  expectKeys,
  TAG_BYTES,
  TAG_LIST,
  TAG_MAP,
  TAG_STRING,
  TAG_UINT,
  uintLength,
  type Value,
  writeBigVarint,
  writeVarint,
} from '../crypto/encoding.js';
import { compareBytes, type Hash, hexOf } from '../crypto/hash.js';
import { transientBytes } from '../crypto/transient-bytes.js';
import { govActionFromValue, govActionToValue, validatorFromValue, validatorToValue } from './codec.js';
import { type ChainParams, DEFAULT_PARAMS, PARAM_NAMES, PARAMS_STORED_WHEN_CHANGED } from './params.js';
import { type StateProof, StateTree } from './state-tree.js';
import type { GovAction, Validator } from './types.js';

export { StateTree };

/** An immutable ledger state. Executing a block produces a new one and leaves this one intact. */
export interface LedgerState {
  readonly tree: StateTree;
}

/** The key/value changes of one block, sorted by key bytes; null deletes. */
export type StateDiff = [key: Uint8Array, value: Uint8Array | null][];

export function stateFromTree(tree: StateTree): LedgerState {
  return { tree };
}

export function stateRoot(state: LedgerState): Hash {
  return state.tree.root();
}

// ---- records -------------------------------------------------------------------------------

/**
 * Roles an account may hold. "admin" implies every right of the others. "node" marks a node's
 * network identity (its libp2p key, which for a validator is its consensus key): the nodes of
 * a network admit an active "node" account of an active member as a peer, and it may submit
 * equivocation evidence. "admin" does not make an account a peer: peers are explicit.
 */
export const ROLES = ['admin', 'transfer', 'data', 'node'] as const;
export type Role = (typeof ROLES)[number];

export type AccountStatus = 'active' | 'revoked';
export type MemberStatus = 'active' | 'removed';
/**
 * open → passed → executed | failed (the action could not apply to the state at that time);
 * open → rejected (enough no-votes that it can no longer pass); open → expired.
 * "passed" is transient: a proposal reaching the threshold is executed in the same transaction.
 */
export type ProposalStatus = 'open' | 'executed' | 'failed' | 'rejected' | 'expired';

export interface Account {
  address: Address;
  publicKey: Uint8Array;
  memberId: string;
  roles: string[];
  status: AccountStatus;
  balance: bigint;
  /** The nonce the account's next transaction must carry. */
  nonce: number;
}

export interface Member {
  id: string;
  name: string;
  status: MemberStatus;
}

export interface Vote {
  memberId: string;
  approve: boolean;
}

export interface Proposal {
  id: number;
  proposer: Address;
  memberId: string;
  action: GovAction;
  title: string;
  createdHeight: number;
  /** First height at which the proposal is no longer open (createdHeight + proposalTtlBlocks). */
  expiresHeight: number;
  status: ProposalStatus;
  /** One vote per member, sorted by memberId. */
  votes: Vote[];
  /** Height of the block that closed it (executed/failed/rejected/expired). */
  closedHeight?: number;
  /** Why execution failed (status "failed"). */
  failure?: { code: string; message: string };
  /** Set when equivocation evidence opened it: the evidence key (see EvidenceRecord). */
  evidence?: string;
}

/** A past validator set and the heights it certified: V(h) for from <= h <= to. */
export interface ValidatorEpoch {
  from: number;
  to: number;
  validators: Validator[];
}

/**
 * Equivocation evidence the ledger verified and acted upon, stored under its key
 * `<type>/<height>/<round>/<address hex>` (the same identity consensus/evidence.ts uses), so the
 * same equivocation is acted upon once.
 */
export interface EvidenceRecord {
  kind: string;
  height: number;
  round: number;
  validator: Address;
  /** The member the validator belonged to at that height. */
  memberId: string;
  /** Account that submitted it, and the height of the block that committed it. */
  submitter: Address;
  submittedHeight: number;
  /** The proposal it opened (or found open) to remove the validator; absent if none applied. */
  proposalId?: number;
}

// ---- codecs --------------------------------------------------------------------------------

export interface Codec<T> {
  encode(v: T): Uint8Array;
  decode(b: Uint8Array): T;
}

function oneOf<T extends string>(v: Value | undefined, allowed: readonly T[], what: string): T {
  const s = asString(v, what);
  if (!(allowed as readonly string[]).includes(s)) throw new EncodingError(`${what}: unexpected '${s}'`);
  return s as T;
}

const strings = (v: Value | undefined, what: string) =>
  asList(v, what).map((x, i) => asString(x, `${what}[${i}]`));

/**
 * The definition of the account record's bytes: the canonical encoding of the map below.
 * accountCodec is the same codec with a fast path (see there).
 */
export const accountCodecReference: Codec<Account> = {
  encode: (a) =>
    encode({
      address: a.address,
      publicKey: a.publicKey,
      memberId: a.memberId,
      roles: a.roles,
      status: a.status,
      balance: a.balance,
      nonce: a.nonce,
    }),
  decode: (b) => {
    const m = asMap(decode(b), 'account');
    expectKeys(m, ['address', 'publicKey', 'memberId', 'roles', 'status', 'balance', 'nonce'], [], 'account');
    return {
      address: asBytes(m.address, 'account.address', 20),
      publicKey: asBytes(m.publicKey, 'account.publicKey', 32),
      memberId: asString(m.memberId, 'account.memberId'),
      roles: strings(m.roles, 'account.roles'),
      status: oneOf(m.status, ['active', 'revoked'] as const, 'account.status'),
      balance: asBigInt(m.balance, 'account.balance'),
      nonce: asNumber(m.nonce, 'account.nonce'),
    };
  },
};

// The account record's fast path. Accounts are the records a busy chain reads and writes
// most (two per transfer), and the generic encoder and decoder cost several microseconds each.
// accountCodecReference stays the definition: fastEncodeAccount writes exactly its bytes (or
// returns undefined and leaves the case to it), and fastDecodeAccount accepts only bytes laid
// out exactly as those, deferring everything else to the reference decoder, which decodes or
// refuses them. A property test holds the two codecs to each other.

/** Field names in canonical (UTF-8 byte) order, each as length byte + ASCII. */
const ACCOUNT_FIELDS = ['address', 'balance', 'memberId', 'nonce', 'publicKey', 'roles', 'status'].map((k) =>
  Uint8Array.from([k.length, ...Buffer.from(k, 'ascii')]),
);
const UINT256_LIMIT = 1n << 256n;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function bigUintLength(n: bigint): number {
  let len = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    len++;
  }
  return len;
}

class FastWriter {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  uint(n: number): void {
    this.pos = writeVarint(this.buf, this.pos, n);
  }
  bigUint(n: bigint): void {
    this.pos = writeBigVarint(this.buf, this.pos, n);
  }
  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  ascii(s: string): void {
    this.buf[this.pos++] = TAG_STRING;
    this.uint(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }
}

function fastEncodeAccount(a: Account): Uint8Array | undefined {
  if (!(a.address instanceof Uint8Array) || !(a.publicKey instanceof Uint8Array)) return undefined;
  if (typeof a.balance !== 'bigint' || a.balance < 0n || a.balance >= UINT256_LIMIT) return undefined;
  if (!Number.isSafeInteger(a.nonce) || a.nonce < 0) return undefined;
  if (!isAscii(a.memberId) || !isAscii(a.status) || !a.roles.every(isAscii)) return undefined;
  const str = (s: string) => 1 + uintLength(s.length) + s.length;
  let size = 2; // map tag and count (7)
  for (const f of ACCOUNT_FIELDS) size += f.length;
  size += 1 + uintLength(a.address.length) + a.address.length;
  size += 1 + bigUintLength(a.balance);
  size += str(a.memberId);
  size += 1 + uintLength(a.nonce);
  size += 1 + uintLength(a.publicKey.length) + a.publicKey.length;
  size += 1 + uintLength(a.roles.length);
  for (const r of a.roles) size += str(r);
  size += str(a.status);
  const w = new FastWriter(transientBytes(size));
  w.buf[w.pos++] = TAG_MAP;
  w.buf[w.pos++] = ACCOUNT_FIELDS.length;
  w.raw(ACCOUNT_FIELDS[0]!);
  w.buf[w.pos++] = TAG_BYTES;
  w.uint(a.address.length);
  w.raw(a.address);
  w.raw(ACCOUNT_FIELDS[1]!);
  w.buf[w.pos++] = TAG_UINT;
  w.bigUint(a.balance);
  w.raw(ACCOUNT_FIELDS[2]!);
  w.ascii(a.memberId);
  w.raw(ACCOUNT_FIELDS[3]!);
  w.buf[w.pos++] = TAG_UINT;
  w.uint(a.nonce);
  w.raw(ACCOUNT_FIELDS[4]!);
  w.buf[w.pos++] = TAG_BYTES;
  w.uint(a.publicKey.length);
  w.raw(a.publicKey);
  w.raw(ACCOUNT_FIELDS[5]!);
  w.buf[w.pos++] = TAG_LIST;
  w.uint(a.roles.length);
  for (const r of a.roles) w.ascii(r);
  w.raw(ACCOUNT_FIELDS[6]!);
  w.ascii(a.status);
  return w.pos === size ? w.buf : undefined;
}

/** A strict reader of the one layout fastEncodeAccount writes; any deviation is `undefined`. */
class FastReader {
  pos = 0;
  ok = true;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) {
      this.ok = false;
      return -1;
    }
    return this.b[this.pos++]!;
  }
  field(name: Uint8Array): void {
    for (let i = 0; i < name.length; i++) if (this.byte() !== name[i]) this.ok = false;
  }
  /** A minimal LEB128 of at most 7 bytes (49 bits) as a number; a short length or a nonce. */
  smallUint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      if (b < 0) return 0;
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.ok = false; // non-minimal
        return n;
      }
      scale *= 0x80;
    }
    this.ok = false;
    return 0;
  }
  bigUint(): bigint {
    let n = 0n;
    let shift = 0n;
    for (let i = 0; i < 37; i++) {
      const b = this.byte();
      if (b < 0) return 0n;
      n |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if ((b === 0 && i > 0) || n >= UINT256_LIMIT) this.ok = false;
        return n;
      }
    }
    this.ok = false;
    return 0n;
  }
  bytes(length: number): Uint8Array {
    if (this.byte() !== TAG_BYTES || this.smallUint() !== length || this.pos + length > this.b.length) {
      this.ok = false;
      return new Uint8Array(0);
    }
    const out = this.b.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  ascii(): string {
    if (this.byte() !== TAG_STRING) this.ok = false;
    const n = this.smallUint();
    if (!this.ok || this.pos + n > this.b.length) {
      this.ok = false;
      return '';
    }
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = this.b[this.pos++]!;
      if (c > 0x7f) this.ok = false;
      s += String.fromCharCode(c);
    }
    return s;
  }
}

function fastDecodeAccount(b: Uint8Array): Account | undefined {
  const r = new FastReader(b);
  if (r.byte() !== TAG_MAP || r.byte() !== ACCOUNT_FIELDS.length) return undefined;
  r.field(ACCOUNT_FIELDS[0]!);
  const address = r.bytes(20);
  r.field(ACCOUNT_FIELDS[1]!);
  if (r.byte() !== TAG_UINT) return undefined;
  const balance = r.bigUint();
  r.field(ACCOUNT_FIELDS[2]!);
  const memberId = r.ascii();
  r.field(ACCOUNT_FIELDS[3]!);
  if (r.byte() !== TAG_UINT) return undefined;
  const nonce = r.smallUint();
  r.field(ACCOUNT_FIELDS[4]!);
  const publicKey = r.bytes(32);
  r.field(ACCOUNT_FIELDS[5]!);
  if (r.byte() !== TAG_LIST) return undefined;
  const count = r.smallUint();
  const roles: string[] = [];
  for (let i = 0; i < count && r.ok; i++) roles.push(r.ascii());
  r.field(ACCOUNT_FIELDS[6]!);
  const status = r.ascii();
  if (!r.ok || r.pos !== b.length || (status !== 'active' && status !== 'revoked')) return undefined;
  return { address, publicKey, memberId, roles, status, balance, nonce };
}

/** The account record codec: accountCodecReference's bytes, with a fast path for the usual case. */
export const accountCodec: Codec<Account> = {
  encode: (a) => fastEncodeAccount(a) ?? accountCodecReference.encode(a),
  decode: (b) => fastDecodeAccount(b) ?? accountCodecReference.decode(b),
};

export const memberCodec: Codec<Member> = {
  encode: (m) => encode({ id: m.id, name: m.name, status: m.status }),
  decode: (b) => {
    const m = asMap(decode(b), 'member');
    expectKeys(m, ['id', 'name', 'status'], [], 'member');
    return {
      id: asString(m.id, 'member.id'),
      name: asString(m.name, 'member.name'),
      status: oneOf(m.status, ['active', 'removed'] as const, 'member.status'),
    };
  },
};

const PROPOSAL_STATUSES = ['open', 'executed', 'failed', 'rejected', 'expired'] as const;

export const proposalCodec: Codec<Proposal> = {
  encode: (p) =>
    encode({
      id: p.id,
      proposer: p.proposer,
      memberId: p.memberId,
      action: govActionToValue(p.action),
      title: p.title,
      createdHeight: p.createdHeight,
      expiresHeight: p.expiresHeight,
      status: p.status,
      votes: p.votes.map((v) => ({ memberId: v.memberId, approve: v.approve })),
      closedHeight: p.closedHeight,
      failure: p.failure ? { code: p.failure.code, message: p.failure.message } : undefined,
      evidence: p.evidence,
    }),
  decode: (b) => {
    const m = asMap(decode(b), 'proposal');
    expectKeys(
      m,
      ['id', 'proposer', 'memberId', 'action', 'title', 'createdHeight', 'expiresHeight', 'status', 'votes'],
      ['closedHeight', 'failure', 'evidence'],
      'proposal',
    );
    const p: Proposal = {
      id: asNumber(m.id, 'proposal.id'),
      proposer: asBytes(m.proposer, 'proposal.proposer', 20),
      memberId: asString(m.memberId, 'proposal.memberId'),
      action: govActionFromValue(m.action, 'proposal.action'),
      title: asString(m.title, 'proposal.title'),
      createdHeight: asNumber(m.createdHeight, 'proposal.createdHeight'),
      expiresHeight: asNumber(m.expiresHeight, 'proposal.expiresHeight'),
      status: oneOf(m.status, PROPOSAL_STATUSES, 'proposal.status'),
      votes: asList(m.votes, 'proposal.votes').map((x, i) => {
        const v = asMap(x, `proposal.votes[${i}]`);
        expectKeys(v, ['memberId', 'approve'], [], `proposal.votes[${i}]`);
        return {
          memberId: asString(v.memberId, `proposal.votes[${i}].memberId`),
          approve: asBool(v.approve, `proposal.votes[${i}].approve`),
        };
      }),
    };
    if (m.closedHeight !== undefined) p.closedHeight = asNumber(m.closedHeight, 'proposal.closedHeight');
    if (m.failure !== undefined) {
      const f = asMap(m.failure, 'proposal.failure');
      expectKeys(f, ['code', 'message'], [], 'proposal.failure');
      p.failure = {
        code: asString(f.code, 'proposal.failure.code'),
        message: asString(f.message, 'proposal.failure.message'),
      };
    }
    if (m.evidence !== undefined) p.evidence = asString(m.evidence, 'proposal.evidence');
    return p;
  },
};

const PARAMS_ALWAYS_STORED = PARAM_NAMES.filter((k) => !PARAMS_STORED_WHEN_CHANGED.includes(k));

/**
 * Every parameter, except that one of PARAMS_STORED_WHEN_CHANGED is left out while it has its
 * default (and read back as the default), so adding such a parameter changed no existing root.
 */
export const paramsCodec: Codec<ChainParams> = {
  encode: (p) => {
    const out: Record<string, number> = {};
    for (const k of PARAMS_ALWAYS_STORED) out[k] = p[k];
    for (const k of PARAMS_STORED_WHEN_CHANGED) if (p[k] !== DEFAULT_PARAMS[k]) out[k] = p[k];
    return encode(out);
  },
  decode: (b) => {
    const m = asMap(decode(b), 'params');
    expectKeys(m, PARAMS_ALWAYS_STORED, PARAMS_STORED_WHEN_CHANGED, 'params');
    const out = {} as ChainParams;
    for (const k of PARAMS_ALWAYS_STORED) out[k] = asNumber(m[k], `params.${k}`);
    for (const k of PARAMS_STORED_WHEN_CHANGED)
      out[k] = m[k] === undefined ? DEFAULT_PARAMS[k] : asNumber(m[k], `params.${k}`);
    return out;
  },
};

/** A member's data.put usage: entries held and their bytes (UTF-8 key bytes + value bytes). */
export interface DataUsage {
  keys: number;
  bytes: number;
}

export const dataUsageCodec: Codec<DataUsage> = {
  encode: (u) => encode({ keys: u.keys, bytes: u.bytes }),
  decode: (b) => {
    const m = asMap(decode(b), 'usage');
    expectKeys(m, ['keys', 'bytes'], [], 'usage');
    return { keys: asNumber(m.keys, 'usage.keys'), bytes: asNumber(m.bytes, 'usage.bytes') };
  },
};

export const validatorsCodec: Codec<Validator[]> = {
  encode: (set) => encode(set.map(validatorToValue)),
  decode: (b) => asList(decode(b), 'validators').map((v, i) => validatorFromValue(v, `validators[${i}]`)),
};

export const stringCodec: Codec<string> = {
  encode: (s) => encode(s),
  decode: (b) => asString(decode(b), 'string'),
};

export const uintCodec: Codec<number> = {
  encode: (n) => encode(n),
  decode: (b) => asNumber(decode(b), 'uint'),
};

export const uintListCodec: Codec<number[]> = {
  encode: (l) => encode(l),
  decode: (b) => asList(decode(b), 'list').map((x, i) => asNumber(x, `list[${i}]`)),
};

export const stringListCodec: Codec<string[]> = {
  encode: (l) => encode(l),
  decode: (b) => strings(decode(b), 'list'),
};

export const validatorEpochCodec: Codec<ValidatorEpoch> = {
  encode: (e) => encode({ from: e.from, to: e.to, validators: e.validators.map(validatorToValue) }),
  decode: (b) => {
    const m = asMap(decode(b), 'validatorEpoch');
    expectKeys(m, ['from', 'to', 'validators'], [], 'validatorEpoch');
    return {
      from: asNumber(m.from, 'validatorEpoch.from'),
      to: asNumber(m.to, 'validatorEpoch.to'),
      validators: asList(m.validators, 'validatorEpoch.validators').map((v, i) =>
        validatorFromValue(v, `validatorEpoch.validators[${i}]`),
      ),
    };
  },
};

export const evidenceRecordCodec: Codec<EvidenceRecord> = {
  encode: (r) =>
    encode({
      kind: r.kind,
      height: r.height,
      round: r.round,
      validator: r.validator,
      memberId: r.memberId,
      submitter: r.submitter,
      submittedHeight: r.submittedHeight,
      proposalId: r.proposalId,
    }),
  decode: (b) => {
    const m = asMap(decode(b), 'evidence');
    expectKeys(
      m,
      ['kind', 'height', 'round', 'validator', 'memberId', 'submitter', 'submittedHeight'],
      ['proposalId'],
      'evidence',
    );
    const r: EvidenceRecord = {
      kind: asString(m.kind, 'evidence.kind'),
      height: asNumber(m.height, 'evidence.height'),
      round: asNumber(m.round, 'evidence.round'),
      validator: asBytes(m.validator, 'evidence.validator', 20),
      memberId: asString(m.memberId, 'evidence.memberId'),
      submitter: asBytes(m.submitter, 'evidence.submitter', 20),
      submittedHeight: asNumber(m.submittedHeight, 'evidence.submittedHeight'),
    };
    if (m.proposalId !== undefined) r.proposalId = asNumber(m.proposalId, 'evidence.proposalId');
    return r;
  },
};

/** A sorted list of 20-byte addresses. */
export const addressListCodec: Codec<Address[]> = {
  encode: (l) => encode(l),
  decode: (b) => asList(decode(b), 'addresses').map((x, i) => asBytes(x, `addresses[${i}]`, 20)),
};

/** data/ values are stored as they are. */
export const rawCodec: Codec<Uint8Array> = { encode: (b) => b, decode: (b) => b };

// ---- keys ----------------------------------------------------------------------------------

export function addrHex(a: Address): string {
  return hexOf(a);
}

export const keys = {
  account: (a: Address) => `acct/${addrHex(a)}`,
  member: (id: string) => `member/${id}`,
  data: (owner: Address, key: string) => `data/${addrHex(owner)}/${key}`,
  proposal: (id: number) => `prop/${id}`,
  chainId: 'meta/chainId',
  params: 'meta/params',
  validators: 'meta/validators',
  members: 'meta/members',
  nextProposalId: 'meta/nextProposalId',
  openProposals: 'meta/openProposals',
  nodes: 'meta/nodes',
  validatorsSince: 'meta/validatorsSince',
  validatorEpochs: 'meta/validatorEpochs',
  validatorEpoch: (from: number) => `vset/${from}`,
  evidence: (key: string) => `evid/${key}`,
  moved: (a: Address) => `moved/${addrHex(a)}`,
  dataUsage: (memberId: string) => `usage/${memberId}`,
} as const;

const utf8 = new TextEncoder();
export function keyBytes(key: string): Uint8Array {
  // ASCII keys (every key but a data/ key with a non-ASCII name) are copied by hand: Node's
  // TextEncoder gives every result native memory of its own, a malloc per state read even for
  // the 45 bytes of an account key, where a typed array of at most 64 bytes stays in the JS heap.
  const n = key.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return utf8.encode(key);
    out[i] = c;
  }
  return out;
}

// ---- reading -------------------------------------------------------------------------------

/** Anything typed reads can go through: a committed state or an execution overlay. */
export interface StateReader {
  read<T>(key: string, codec: Codec<T>): T | undefined;
}

function treeReader(tree: StateTree): StateReader {
  return {
    read<T>(key: string, codec: Codec<T>): T | undefined {
      const b = tree.get(keyBytes(key));
      return b === undefined ? undefined : codec.decode(b);
    },
  };
}

export type StateSource = LedgerState | StateReader;

/** A typed-read view of a committed state or an overlay. */
export function readerOf(s: StateSource): StateReader {
  return 'read' in s ? s : treeReader(s.tree);
}

const reader = readerOf;

export function getAccount(s: StateSource, address: Address): Account | undefined {
  return reader(s).read(keys.account(address), accountCodec);
}

export function getMember(s: StateSource, id: string): Member | undefined {
  return reader(s).read(keys.member(id), memberCodec);
}

/** Every member ever added (removed ones too), sorted by id. */
export function listMembers(s: StateSource): Member[] {
  const r = reader(s);
  const ids = r.read(keys.members, stringListCodec) ?? [];
  return ids.map((id) => {
    const m = r.read(keys.member(id), memberCodec);
    if (!m) throw new Error(`state index lists member '${id}' that has no record`);
    return m;
  });
}

/** Ids of members whose status is active, sorted. */
export function activeMemberIds(s: StateSource): string[] {
  return listMembers(s)
    .filter((m) => m.status === 'active')
    .map((m) => m.id);
}

/**
 * The validator set stored in this state, sorted by address. After block h this is V(h+1),
 * the set that certifies the next block.
 */
export function getValidators(s: StateSource): Validator[] {
  return reader(s).read(keys.validators, validatorsCodec) ?? [];
}

export function getChainId(s: StateSource): string {
  const id = reader(s).read(keys.chainId, stringCodec);
  if (id === undefined) throw new Error('state has no chain id');
  return id;
}

export function getParams(s: StateSource): ChainParams {
  const p = reader(s).read(keys.params, paramsCodec);
  if (!p) throw new Error('state has no chain parameters');
  return p;
}

export function getData(s: StateSource, owner: Address, key: string): Uint8Array | undefined {
  return reader(s).read(keys.data(owner, key), rawCodec);
}

/** What member `memberId`'s accounts hold in data/ entries (zero when it never wrote any). */
export function getDataUsage(s: StateSource, memberId: string): DataUsage {
  return reader(s).read(keys.dataUsage(memberId), dataUsageCodec) ?? { keys: 0, bytes: 0 };
}

export function getProposal(s: StateSource, id: number): Proposal | undefined {
  if (!Number.isSafeInteger(id) || id < 1) return undefined;
  return reader(s).read(keys.proposal(id), proposalCodec);
}

export function nextProposalId(s: StateSource): number {
  return reader(s).read(keys.nextProposalId, uintCodec) ?? 1;
}

export function openProposalIds(s: StateSource): number[] {
  return reader(s).read(keys.openProposals, uintListCodec) ?? [];
}

/**
 * Proposals by id, newest first, optionally only those with `status`; at most `limit`, with
 * ids below `before` when given (pagination for the RPC). Reads at most `scanMax` records.
 */
export function listProposals(
  s: StateSource,
  opts: { status?: ProposalStatus; before?: number; limit?: number; scanMax?: number } = {},
): Proposal[] {
  const r = reader(s);
  const limit = opts.limit ?? 100;
  const scanMax = opts.scanMax ?? 10_000;
  const out: Proposal[] = [];
  let id = Math.min(nextProposalId(r), opts.before ?? Number.MAX_SAFE_INTEGER) - 1;
  for (let scanned = 0; id >= 1 && out.length < limit && scanned < scanMax; id--, scanned++) {
    const p = r.read(keys.proposal(id), proposalCodec);
    if (p && (opts.status === undefined || p.status === opts.status)) out.push(p);
  }
  return out;
}

/** Addresses of the accounts that hold (or held, until revoked or rotated) the role "node". */
export function nodeAccountAddresses(s: StateSource): Address[] {
  return reader(s).read(keys.nodes, addressListCodec) ?? [];
}

/**
 * The node identities the network admits as peers: accounts with the role "node" that are
 * active and whose member is active, sorted by address.
 */
export function activeNodeAccounts(s: StateSource): Account[] {
  const out: Account[] = [];
  for (const address of nodeAccountAddresses(s)) {
    const a = getAccount(s, address);
    if (a?.status !== 'active' || !a.roles.includes('node')) continue;
    if (getMember(s, a.memberId)?.status !== 'active') continue;
    out.push(a);
  }
  return out;
}

/** First height certified by the set stored in this state (1 while it never changed). */
export function validatorsSince(s: StateSource): number {
  return reader(s).read(keys.validatorsSince, uintCodec) ?? 1;
}

/** The past validator sets this state still keeps, oldest first. */
export function validatorEpochs(s: StateSource): ValidatorEpoch[] {
  const r = reader(s);
  return (r.read(keys.validatorEpochs, uintListCodec) ?? []).map((from) => {
    const e = r.read(keys.validatorEpoch(from), validatorEpochCodec);
    if (!e) throw new Error(`state index lists validator epoch ${from} that has no record`);
    return e;
  });
}

export function getEvidenceRecord(s: StateSource, key: string): EvidenceRecord | undefined {
  return reader(s).read(keys.evidence(key), evidenceRecordCodec);
}

/** The address an account rotated its key to, if it did. */
export function movedTo(s: StateSource, address: Address): Address | undefined {
  return reader(s).read(keys.moved(address), rawCodec);
}

/** Authenticated proof for `key` against stateRoot(state) (inclusion or non-inclusion). */
export function proveKey(state: LedgerState, key: string): StateProof {
  return state.tree.prove(keyBytes(key));
}

// ---- the execution overlay -----------------------------------------------------------------

interface Slot {
  /** Decoded value; null when deleted. Never mutated: writers store new objects. */
  value: unknown;
  codec: Codec<unknown>;
  dirty: boolean;
}

/**
 * A write layer over a tree (the block layer) or over another overlay (a transaction layer).
 * Reads fall through layers and are cached at the block layer; `commit` folds a transaction
 * layer into its parent, and dropping a layer discards it.
 */
export class StateOverlay implements StateReader {
  private readonly slots = new Map<string, Slot>();

  private constructor(
    private readonly tree: StateTree,
    private readonly parent: StateOverlay | undefined,
  ) {}

  static over(state: LedgerState): StateOverlay {
    return new StateOverlay(state.tree, undefined);
  }

  /** A layer on top of this one, for one transaction. */
  child(): StateOverlay {
    return new StateOverlay(this.tree, this);
  }

  read<T>(key: string, codec: Codec<T>): T | undefined {
    const slot = this.slots.get(key);
    if (slot !== undefined) return slot.value === null ? undefined : (slot.value as T);
    if (this.parent) return this.parent.read(key, codec);
    const b = this.tree.get(keyBytes(key));
    const value = b === undefined ? null : codec.decode(b);
    this.slots.set(key, { value, codec: codec as Codec<unknown>, dirty: false });
    return value === null ? undefined : value;
  }

  /** Stores `value` (null deletes). The object must not be mutated afterwards. */
  write<T>(key: string, value: T | null, codec: Codec<T>): void {
    this.slots.set(key, { value, codec: codec as Codec<unknown>, dirty: true });
  }

  /** Whether this layer (not its parents) wrote `key`. */
  wrote(key: string): boolean {
    return this.slots.get(key)?.dirty === true;
  }

  /** Folds this layer's writes into its parent. */
  commit(): void {
    const parent = this.parent;
    if (!parent) throw new Error('commit() on the block layer');
    for (const [k, s] of this.slots) parent.slots.set(k, s);
    this.slots.clear();
  }

  /** The block layer's changes, encoded and sorted by key bytes. */
  diff(): StateDiff {
    if (this.parent) throw new Error('diff() on a transaction layer');
    const out: StateDiff = [];
    for (const [k, s] of this.slots) {
      if (!s.dirty) continue;
      out.push([keyBytes(k), s.value === null ? null : s.codec.encode(s.value)]);
    }
    out.sort((a, b) => compareBytes(a[0], b[0]));
    return out;
  }

  /** Applies the block layer to the tree: the new state and the diff that produced it. */
  finish(): { state: LedgerState; diff: StateDiff } {
    const diff = this.diff();
    return { state: { tree: this.tree.setMany(diff) }, diff };
  }
}

// Typed writers used by execution and genesis (reads use the getters above with the overlay).

export function putAccount(o: StateOverlay, a: Account): void {
  o.write(keys.account(a.address), a, accountCodec);
}

export function putMember(o: StateOverlay, m: Member): void {
  o.write(keys.member(m.id), m, memberCodec);
}

export function putProposal(o: StateOverlay, p: Proposal): void {
  o.write(keys.proposal(p.id), p, proposalCodec);
}

export function putValidators(o: StateOverlay, set: Validator[]): void {
  const sorted = [...set].sort((a, b) => compareBytes(a.address, b.address));
  o.write(keys.validators, sorted, validatorsCodec);
}

export function putChainId(o: StateOverlay, chainId: string): void {
  o.write(keys.chainId, chainId, stringCodec);
}

export function putParams(o: StateOverlay, p: ChainParams): void {
  o.write(keys.params, { ...p }, paramsCodec);
}

export function putMemberIds(o: StateOverlay, ids: string[]): void {
  o.write(keys.members, [...ids].sort(), stringListCodec);
}

export function putNextProposalId(o: StateOverlay, id: number): void {
  o.write(keys.nextProposalId, id, uintCodec);
}

export function putOpenProposalIds(o: StateOverlay, ids: number[]): void {
  o.write(
    keys.openProposals,
    [...ids].sort((a, b) => a - b),
    uintListCodec,
  );
}

export function putNodeAccountAddresses(o: StateOverlay, list: Address[]): void {
  o.write(
    keys.nodes,
    [...list].sort((a, b) => compareBytes(a, b)),
    addressListCodec,
  );
}

export function putEvidenceRecord(o: StateOverlay, key: string, r: EvidenceRecord): void {
  o.write(keys.evidence(key), r, evidenceRecordCodec);
}

export function putMovedTo(o: StateOverlay, from: Address, to: Address): void {
  o.write(keys.moved(from), to, rawCodec);
}

export function putData(o: StateOverlay, owner: Address, key: string, value: Uint8Array | null): void {
  o.write(keys.data(owner, key), value, rawCodec);
}

export function putDataUsage(o: StateOverlay, memberId: string, u: DataUsage): void {
  o.write(keys.dataUsage(memberId), { keys: u.keys, bytes: u.bytes }, dataUsageCodec);
}
