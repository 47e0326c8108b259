/**
 * The state and header of block 0, from a genesis document.
 *
 * Block 0 has height 0, view 0, parentHash all zeros, timestamp genesisTime, proposer the zero
 * address, no transactions (txRoot = receiptsRoot = merkleRoot([])), the genesis state's root,
 * and validatorsHash = nextValidatorsHash = the hash of the genesis validator set (V(0) = V(1)).
 * The genesis hash is blockHash(header).
 *
 * The document is re-checked here (ids, references, duplicates, parameters, total supply) so
 * that a state is never built from an inconsistent one, whoever parsed it; genesis/genesis.ts
 * gives operators the friendlier field-by-field report first.
 */
import { ADDRESS_LENGTH, addressOf } from '../crypto/ed25519.js';
import { type Hash, toHex } from '../crypto/hash.js';
import { merkleRoot } from '../crypto/merkle.js';
import { checkMemberId, checkMemberName, checkP2p, checkRoles, LEDGER_LIMITS } from './checks.js';
import { blockHash, validatorsHash } from './codec.js';
import { LedgerError } from './errors.js';
import type { GenesisDoc } from './genesis-doc.js';
import { paramProblems } from './params.js';
import {
  addrHex,
  type LedgerState,
  putAccount,
  putChainId,
  putMember,
  putMemberIds,
  putNextProposalId,
  putNodeAccountAddresses,
  putOpenProposalIds,
  putParams,
  putValidators,
  StateOverlay,
  StateTree,
} from './state.js';
import type { BlockHeader, Validator } from './types.js';

/** Balances are encoded as 256-bit integers; keeping the supply below that means no sum overflows. */
const SUPPLY_MAX = (1n << 256n) - 1n;

export interface Genesis {
  state: LedgerState;
  header: BlockHeader;
  /** blockHash(header): the chain's genesis hash. */
  hash: Hash;
}

function invalid(problem: string): never {
  throw new LedgerError('INVALID_GENESIS', `invalid genesis: ${problem}`);
}

/** Rewrites a field error from the shared checks as a genesis problem naming the entry. */
function within(where: string, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e instanceof LedgerError) invalid(`${where}: ${e.message}`);
    throw e;
  }
}

export function genesisState(doc: GenesisDoc): Genesis {
  if (doc.chainId.length === 0) invalid('chainId is empty');
  if (!Number.isSafeInteger(doc.genesisTime) || doc.genesisTime < 0)
    invalid('genesisTime is not a valid time');
  const problems = paramProblems(doc.params);
  if (problems.length > 0) invalid(problems.join('; '));

  const memberIds = new Set<string>();
  doc.members.forEach((m, i) => {
    within(`members[${i}]`, () => {
      checkMemberId(m.id);
      checkMemberName(m.name);
    });
    if (memberIds.has(m.id)) invalid(`members[${i}]: duplicate id '${m.id}'`);
    memberIds.add(m.id);
  });
  if (memberIds.size === 0) invalid('no members');

  const o = StateOverlay.over({ tree: StateTree.empty() });
  putChainId(o, doc.chainId);
  putParams(o, doc.params);
  putNextProposalId(o, 1);
  putOpenProposalIds(o, []);
  for (const m of doc.members) putMember(o, { id: m.id, name: m.name, status: 'active' });
  putMemberIds(o, [...memberIds]);

  const accounts = new Set<string>();
  const nodes: Uint8Array[] = [];
  let supply = 0n;
  doc.accounts.forEach((a, i) => {
    if (!memberIds.has(a.memberId)) invalid(`accounts[${i}]: unknown member '${a.memberId}'`);
    within(`accounts[${i}]`, () => checkRoles(a.roles));
    if (a.publicKey.length !== 32) invalid(`accounts[${i}]: public key must be 32 bytes`);
    if (a.balance < 0n) invalid(`accounts[${i}]: negative balance`);
    const address = addressOf(a.publicKey);
    const k = addrHex(address);
    if (accounts.has(k)) invalid(`accounts[${i}]: duplicate account ${toHex(address)}`);
    accounts.add(k);
    supply += a.balance;
    if (a.roles.includes('node')) nodes.push(address);
    putAccount(o, {
      address,
      publicKey: a.publicKey,
      memberId: a.memberId,
      roles: [...a.roles],
      status: 'active',
      balance: a.balance,
      nonce: 0,
    });
  });
  if (supply > SUPPLY_MAX) invalid('total supply exceeds 2^256-1');
  if (nodes.length > LEDGER_LIMITS.nodeAccountsMax) {
    invalid(`${nodes.length} accounts with the role 'node', above ${LEDGER_LIMITS.nodeAccountsMax}`);
  }
  // Written only when there are node identities, so other genesis states are unchanged.
  if (nodes.length > 0) putNodeAccountAddresses(o, nodes);

  const validators: Validator[] = [];
  const seen = new Set<string>();
  doc.validators.forEach((v, i) => {
    if (!memberIds.has(v.memberId)) invalid(`validators[${i}]: unknown member '${v.memberId}'`);
    if (v.publicKey.length !== 32) invalid(`validators[${i}]: public key must be 32 bytes`);
    within(`validators[${i}]`, () => checkP2p(v.p2p));
    const address = addressOf(v.publicKey);
    const k = addrHex(address);
    if (seen.has(k)) invalid(`validators[${i}]: duplicate validator ${toHex(address)}`);
    seen.add(k);
    validators.push({ address, publicKey: v.publicKey, memberId: v.memberId, p2p: [...v.p2p] });
  });
  if (validators.length === 0) invalid('no validators');
  putValidators(o, validators);

  const { state } = o.finish();
  const vHash = validatorsHash(validators);
  const empty = merkleRoot([]);
  const header: BlockHeader = {
    chainId: doc.chainId,
    height: 0,
    view: 0,
    parentHash: new Uint8Array(32),
    timestamp: doc.genesisTime,
    proposer: new Uint8Array(ADDRESS_LENGTH),
    txRoot: empty,
    receiptsRoot: empty,
    stateRoot: state.tree.root(),
    validatorsHash: vHash,
    nextValidatorsHash: vHash,
  };
  return { state, header, hash: blockHash(header) };
}
