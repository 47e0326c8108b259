/**
 * JSON views of ledger objects for the RPC: bytes as 0x-hex, amounts as decimal strings,
 * times both as milliseconds and ISO-8601.
 */
import { toHex } from '../crypto/hash.js';
import type { Account, Member, Proposal } from '../ledger/state.js';
import type {
  BlockHeader,
  CommitCertificate,
  GovAction,
  Receipt,
  SignedTransaction,
  Validator,
} from '../ledger/types.js';
import type { Json, JsonObject } from '../rpc/backend.js';

export function headerJson(h: BlockHeader, hash: Uint8Array): JsonObject & { height: number; hash: string } {
  return {
    height: h.height,
    hash: toHex(hash),
    chainId: h.chainId,
    view: h.view,
    parentHash: toHex(h.parentHash),
    timestamp: h.timestamp,
    time: new Date(h.timestamp).toISOString(),
    proposer: toHex(h.proposer),
    txRoot: toHex(h.txRoot),
    receiptsRoot: toHex(h.receiptsRoot),
    stateRoot: toHex(h.stateRoot),
    validatorsHash: toHex(h.validatorsHash),
    nextValidatorsHash: toHex(h.nextValidatorsHash),
  };
}

export function certJson(c: CommitCertificate | null): Json {
  if (!c) return null;
  return {
    round: c.round,
    signatures: c.sigs.map((s) => ({ validator: toHex(s.validator), signature: toHex(s.signature) })),
  };
}

export function govActionJson(a: GovAction): JsonObject {
  switch (a.type) {
    case 'member.add':
      return { type: a.type, memberId: a.memberId, name: a.name, admin: toHex(a.admin) };
    case 'member.remove':
      return { type: a.type, memberId: a.memberId };
    case 'validator.add':
      return { type: a.type, publicKey: toHex(a.publicKey), memberId: a.memberId, p2p: a.p2p };
    case 'validator.remove':
      return { type: a.type, address: toHex(a.address) };
    case 'param.set':
      return { type: a.type, name: a.name, value: a.value };
  }
}

export function txJson(stx: SignedTransaction, hash: Uint8Array): JsonObject {
  const t = stx.tx;
  let body: JsonObject;
  switch (t.kind) {
    case 'asset.transfer':
      body = {
        to: toHex(t.body.to),
        amount: t.body.amount.toString(),
        ...(t.body.memo ? { memo: t.body.memo } : {}),
      };
      break;
    case 'data.put':
      body = { key: t.body.key, value: toHex(t.body.value) };
      break;
    case 'identity.register':
      body = { publicKey: toHex(t.body.publicKey), roles: t.body.roles };
      break;
    case 'identity.revoke':
      body = { address: toHex(t.body.address) };
      break;
    case 'gov.propose':
      body = { title: t.body.title, action: govActionJson(t.body.action) };
      break;
    case 'gov.vote':
      body = { proposalId: t.body.proposalId, approve: t.body.approve };
      break;
    case 'identity.rotate':
      body = { newPublicKey: toHex(t.body.newPublicKey) };
      break;
    case 'validator.rotate':
      body = { address: toHex(t.body.address), newPublicKey: toHex(t.body.newPublicKey), p2p: t.body.p2p };
      break;
    case 'evidence.submit':
      body = { evidence: toHex(t.body.evidence) };
      break;
  }
  return {
    hash: toHex(hash),
    chainId: t.chainId,
    from: toHex(t.from),
    nonce: t.nonce,
    kind: t.kind,
    body,
    publicKey: toHex(stx.publicKey),
    signature: toHex(stx.signature),
  };
}

export function receiptJson(r: Receipt): JsonObject {
  return {
    ok: r.ok,
    ...(r.code ? { code: r.code } : {}),
    ...(r.message ? { message: r.message } : {}),
    ...(r.result ? { result: r.result } : {}),
  };
}

export function accountJson(a: Account): JsonObject {
  return {
    address: toHex(a.address),
    publicKey: toHex(a.publicKey),
    member: a.memberId,
    roles: a.roles,
    status: a.status,
    balance: a.balance.toString(),
    nonce: a.nonce,
  };
}

export function memberJson(m: Member): JsonObject {
  return { id: m.id, name: m.name, status: m.status };
}

export function validatorJson(v: Validator): JsonObject {
  return { address: toHex(v.address), publicKey: toHex(v.publicKey), member: v.memberId, p2p: v.p2p };
}

export function proposalJson(p: Proposal): JsonObject {
  return {
    id: p.id,
    title: p.title,
    proposer: toHex(p.proposer),
    member: p.memberId,
    action: govActionJson(p.action),
    status: p.status,
    createdHeight: p.createdHeight,
    expiresHeight: p.expiresHeight,
    ...(p.closedHeight !== undefined ? { closedHeight: p.closedHeight } : {}),
    ...(p.failure ? { failure: p.failure } : {}),
    votes: p.votes.map((v) => ({ member: v.memberId, approve: v.approve })),
    yes: p.votes.filter((v) => v.approve).length,
    no: p.votes.filter((v) => !v.approve).length,
  };
}

/** A `governance` topic event about proposal `p` (its state after the event's block). */
export function governanceEventJson(type: string, height: number, p: Proposal): JsonObject {
  return { type, height, proposalId: p.id, status: p.status, proposal: proposalJson(p) };
}
