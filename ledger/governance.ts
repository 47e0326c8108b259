/**
 * On-chain governance: proposals, votes, tallies, and the actions a passed proposal executes.
 *
 * Rules (all deterministic, evaluated in transaction order):
 * - Only an admin account of an active member proposes or votes (NOT_PERMITTED otherwise;
 *   an account of a removed member never gets this far: admission refuses it).
 * - Each member has one vote (ALREADY_VOTED for a second one from any of its admins). The
 *   proposer's member votes yes by proposing.
 * - The action is validated against the state when proposed (a proposal that could not apply
 *   is refused up front) and again when executed (the state may have changed meanwhile).
 * - Tally, after the proposal and after every vote, counting only votes of members that are
 *   active at that moment, against A = the number of active members:
 *     passes   when yes * den > A * num                     (params govThreshold*)
 *     rejected when (A - no) * den <= A * num               (even all remaining yes cannot pass)
 *   Passing executes the action in the same transaction: status becomes "executed", or
 *   "failed" with the error when the action no longer applies (the vote itself still counts
 *   and its receipt is ok). Membership changes do not re-tally other open proposals by
 *   themselves; their next vote does.
 * - Verified equivocation evidence (evidence.ts) also opens a proposal, a validator.remove with
 *   no votes cast: the members decide as for any other.
 * - Expiry: a proposal created at height c with TTL t is open for votes at heights c..c+t-1;
 *   at the start of block c+t it becomes "expired" (beginBlock).
 * - Effects: member.add adds the member and an admin account for its key; member.remove marks
 *   the member removed (its accounts are refused from then on) and drops its validators;
 *   validator.add/remove edit the set; param.set changes one parameter. The stored validator
 *   set is V(h+1) after block h, so validator changes in block h take effect at height h+1.
 *   Parameter changes take effect from the next block (execution reads the parameters once, at
 *   the start of each block, and the node hands the consensus core the same parameters with
 *   each height).
 * - Governance cannot brick the chain: a param.set is judged by the one validity rule of chain
 *   parameters (params.ts paramProblems) applied to the parameters it would produce, when
 *   proposed (INVALID_PARAM receipt) and again when it passes, against the parameters in force
 *   then (other changes may have passed meanwhile): a change that would now break the rule ends
 *   "failed" with INVALID_PARAM and changes nothing. The rule keeps the threshold reachable, so
 *   governance can always still decide, including to undo a change.
 */
import { addressOf } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../crypto/hash.js';
import {
  checkMemberId,
  checkMemberName,
  checkP2p,
  checkRight,
  checkStringSize,
  LEDGER_LIMITS,
} from './checks.js';
import { fail, LedgerError } from './errors.js';
import { checkActionKeyFree } from './key-reservation.js';
import { type ChainParams, isParamName, paramProblems } from './params.js';
import {
  type Account,
  getAccount,
  getMember,
  getParams,
  getProposal,
  getValidators,
  keys,
  listMembers,
  nextProposalId,
  openProposalIds,
  type Proposal,
  type ProposalStatus,
  putAccount,
  putMember,
  putMemberIds,
  putNextProposalId,
  putOpenProposalIds,
  putParams,
  putProposal,
  putValidators,
  type StateOverlay,
  stringListCodec,
  type Vote,
} from './state.js';
import type { Address, GovAction, GovProposeBody, GovVoteBody } from './types.js';

// ---- block boundary ------------------------------------------------------------------------

/** Start of block `height`: every open proposal whose expiresHeight ≤ height expires. */
export function beginBlock(o: StateOverlay, height: number): void {
  const open = openProposalIds(o);
  if (open.length === 0) return;
  const still: number[] = [];
  for (const id of open) {
    const p = getProposal(o, id);
    if (!p) throw new Error(`open proposal ${id} has no record`);
    if (p.expiresHeight <= height) putProposal(o, { ...p, status: 'expired', closedHeight: height });
    else still.push(id);
  }
  if (still.length !== open.length) putOpenProposalIds(o, still);
}

// ---- tally ---------------------------------------------------------------------------------

export interface Tally {
  yes: number;
  no: number;
  /** Active members now. */
  members: number;
}

export function tally(o: StateOverlay, p: Proposal): Tally {
  const active = new Set(
    listMembers(o)
      .filter((m) => m.status === 'active')
      .map((m) => m.id),
  );
  let yes = 0;
  let no = 0;
  for (const v of p.votes) {
    if (!active.has(v.memberId)) continue;
    if (v.approve) yes++;
    else no++;
  }
  return { yes, no, members: active.size };
}

export function passes(t: Tally, params: ChainParams): boolean {
  return t.yes * params.govThresholdDenominator > t.members * params.govThresholdNumerator;
}

export function cannotPass(t: Tally, params: ChainParams): boolean {
  return (t.members - t.no) * params.govThresholdDenominator <= t.members * params.govThresholdNumerator;
}

// ---- transactions --------------------------------------------------------------------------

export interface GovResult {
  proposalId: number;
  status: ProposalStatus;
}

/** gov.propose by `sender` (already admitted) in block `height`. */
export function propose(
  o: StateOverlay,
  sender: Account,
  body: GovProposeBody,
  height: number,
  params: ChainParams,
): GovResult {
  checkRight(sender, 'gov.propose');
  return openProposal(
    o,
    {
      proposer: sender.address,
      memberId: sender.memberId,
      action: body.action,
      title: body.title,
      votes: [{ memberId: sender.memberId, approve: true }],
    },
    height,
    params,
  );
}

/** What opens a proposal: a member admin's gov.propose, or verified evidence (evidence.ts). */
export interface NewProposal {
  proposer: Address;
  memberId: string;
  action: GovAction;
  title: string;
  /** Votes cast by opening it: the proposer's member's yes for gov.propose, none for evidence. */
  votes: Vote[];
  /** The evidence key, when evidence opened it. */
  evidence?: string;
}

/**
 * Checks and stores a new open proposal, then tallies it (it may pass at once, e.g. with one
 * member). The caller has checked who may open it.
 */
export function openProposal(
  o: StateOverlay,
  np: NewProposal,
  height: number,
  params: ChainParams,
): GovResult {
  checkStringSize(np.title, LEDGER_LIMITS.titleBytesMax, 'title');
  if (np.title.length === 0) fail('INVALID_FIELD', 'title is empty');
  const open = openProposalIds(o);
  if (open.length >= LEDGER_LIMITS.openProposalsMax) {
    fail('TOO_MANY_PROPOSALS', `${open.length} proposals are open, the most allowed`);
  }
  validateAction(o, np.action);
  // One open proposal per named key, so a second cannot pre-empt the first (key-reservation.ts).
  checkActionKeyFree(o, np.action);
  const id = nextProposalId(o);
  putNextProposalId(o, id + 1);
  const p: Proposal = {
    id,
    proposer: np.proposer,
    memberId: np.memberId,
    action: np.action,
    title: np.title,
    createdHeight: height,
    expiresHeight: height + params.proposalTtlBlocks,
    status: 'open',
    votes: [...np.votes],
    ...(np.evidence === undefined ? {} : { evidence: np.evidence }),
  };
  putOpenProposalIds(o, [...open, id]);
  return { proposalId: id, status: settle(o, p, height, params) };
}

/** The open proposal that would remove validator `address`, if any (a bounded scan). */
export function openRemovalOf(o: StateOverlay, address: Address): Proposal | undefined {
  for (const id of openProposalIds(o)) {
    const p = getProposal(o, id);
    if (p?.action.type === 'validator.remove' && bytesEqual(p.action.address, address)) return p;
  }
  return undefined;
}

/** gov.vote by `sender` (already admitted) in block `height`. */
export function vote(
  o: StateOverlay,
  sender: Account,
  body: GovVoteBody,
  height: number,
  params: ChainParams,
): GovResult {
  checkRight(sender, 'gov.vote');
  const p = getProposal(o, body.proposalId);
  if (!p) fail('UNKNOWN_PROPOSAL', `no proposal ${body.proposalId}`, { proposalId: body.proposalId });
  if (p.status !== 'open') {
    fail('PROPOSAL_CLOSED', `proposal ${p.id} is ${p.status}`, { proposalId: p.id, status: p.status });
  }
  if (p.votes.some((v) => v.memberId === sender.memberId)) {
    fail('ALREADY_VOTED', `member '${sender.memberId}' has already voted on proposal ${p.id}`, {
      proposalId: p.id,
      memberId: sender.memberId,
    });
  }
  const votes = [...p.votes, { memberId: sender.memberId, approve: body.approve }].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  return { proposalId: p.id, status: settle(o, { ...p, votes }, height, params) };
}

/** Tallies `p`, executes or closes it if decided, and stores it. Returns the new status. */
function settle(o: StateOverlay, p: Proposal, height: number, params: ChainParams): ProposalStatus {
  const t = tally(o, p);
  let next: Proposal = p;
  if (passes(t, params)) {
    const layer = o.child();
    try {
      executeAction(layer, p.action);
      layer.commit();
      next = { ...p, status: 'executed', closedHeight: height };
    } catch (e) {
      if (!(e instanceof LedgerError)) throw e;
      next = { ...p, status: 'failed', closedHeight: height, failure: { code: e.code, message: e.message } };
    }
  } else if (cannotPass(t, params)) {
    next = { ...p, status: 'rejected', closedHeight: height };
  }
  if (next.status !== 'open') {
    putOpenProposalIds(
      o,
      openProposalIds(o).filter((id) => id !== p.id),
    );
  }
  putProposal(o, next);
  return next.status;
}

// ---- actions -------------------------------------------------------------------------------

/** Refuses (with a receipt code) an action that could not apply to the current state. */
export function validateAction(o: StateOverlay, a: GovAction): void {
  switch (a.type) {
    case 'member.add': {
      checkMemberId(a.memberId);
      checkMemberName(a.name);
      if (getMember(o, a.memberId)) fail('MEMBER_EXISTS', `member '${a.memberId}' already exists`);
      const ids = o.read(keys.members, stringListCodec) ?? [];
      if (ids.length >= LEDGER_LIMITS.membersMax) {
        fail('INVALID_ACTION', `the registry holds ${ids.length} members, the most allowed`);
      }
      const admin = addressOf(a.admin);
      if (getAccount(o, admin)) fail('ACCOUNT_EXISTS', `key ${toHex(admin)} already has an account`);
      return;
    }
    case 'member.remove': {
      activeMember(o, a.memberId);
      const others = listMembers(o).filter((m) => m.status === 'active' && m.id !== a.memberId);
      if (others.length === 0)
        fail('INVALID_ACTION', `removing '${a.memberId}' would leave no active member`);
      const remaining = getValidators(o).filter((v) => v.memberId !== a.memberId);
      if (remaining.length === 0) {
        fail('WOULD_EMPTY_VALIDATORS', `every validator belongs to '${a.memberId}'`);
      }
      return;
    }
    case 'validator.add': {
      activeMember(o, a.memberId);
      checkP2p(a.p2p);
      const address = addressOf(a.publicKey);
      const set = getValidators(o);
      if (set.some((v) => bytesEqual(v.address, address))) {
        fail('VALIDATOR_EXISTS', `${toHex(address)} is already a validator`);
      }
      if (set.length >= LEDGER_LIMITS.validatorsMax) {
        fail('INVALID_ACTION', `the set has ${set.length} validators, the most allowed`);
      }
      return;
    }
    case 'validator.remove': {
      const set = getValidators(o);
      if (!set.some((v) => bytesEqual(v.address, a.address))) {
        fail('UNKNOWN_VALIDATOR', `${toHex(a.address)} is not a validator`);
      }
      if (set.length === 1) fail('WOULD_EMPTY_VALIDATORS', 'cannot remove the last validator');
      return;
    }
    case 'param.set': {
      if (!isParamName(a.name)) fail('INVALID_PARAM', `unknown parameter '${a.name}'`);
      // getParams(o) is the latest state: it includes changes executed earlier in this block.
      const next = { ...getParams(o), [a.name]: a.value };
      const problems = paramProblems(next);
      if (problems.length > 0) fail('INVALID_PARAM', problems.join('; '), { name: a.name, value: a.value });
      return;
    }
  }
}

function activeMember(o: StateOverlay, id: string): void {
  const m = getMember(o, id);
  if (!m) fail('UNKNOWN_MEMBER', `no member '${id}'`);
  if (m.status !== 'active') fail('MEMBER_INACTIVE', `member '${id}' has been removed`);
}

/** Applies a passed action; re-validates first, so a stale action fails cleanly. */
export function executeAction(o: StateOverlay, a: GovAction): void {
  validateAction(o, a);
  switch (a.type) {
    case 'member.add': {
      putMember(o, { id: a.memberId, name: a.name, status: 'active' });
      putMemberIds(o, [...(o.read(keys.members, stringListCodec) ?? []), a.memberId]);
      putAccount(o, {
        address: addressOf(a.admin),
        publicKey: a.admin,
        memberId: a.memberId,
        roles: ['admin'],
        status: 'active',
        balance: 0n,
        nonce: 0,
      });
      return;
    }
    case 'member.remove': {
      const m = getMember(o, a.memberId)!;
      putMember(o, { ...m, status: 'removed' });
      putValidators(
        o,
        getValidators(o).filter((v) => v.memberId !== a.memberId),
      );
      return;
    }
    case 'validator.add':
      putValidators(o, [
        ...getValidators(o),
        { address: addressOf(a.publicKey), publicKey: a.publicKey, memberId: a.memberId, p2p: a.p2p },
      ]);
      return;
    case 'validator.remove':
      putValidators(
        o,
        getValidators(o).filter((v) => !bytesEqual(v.address, a.address)),
      );
      return;
    case 'param.set':
      putParams(o, { ...getParams(o), [a.name]: a.value });
      return;
  }
}
