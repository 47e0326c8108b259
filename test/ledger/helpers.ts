/**
 * Shared fixtures for the ledger tests: deterministic keys, a small genesis, and a Chain that
 * builds, validates and appends blocks.
 */
import assert from 'node:assert/strict';
import { Signer } from '../../crypto/ed25519.js';
import { sha256 } from '../../crypto/hash.js';
import { type BuiltBlock, buildBlock, validateBlock } from '../../ledger/block.js';
import type { GenesisDoc } from '../../ledger/genesis-doc.js';
import { genesisState } from '../../ledger/genesis-state.js';
import { type ChainParams, DEFAULT_PARAMS } from '../../ledger/params.js';
import { getAccount, getValidators, type LedgerState } from '../../ledger/state.js';
import { Wallet } from '../../ledger/tx-builder.js';
import type { BlockHeader, SignedTransaction } from '../../ledger/types.js';

export const CHAIN_ID = 'synod-test';
export const GENESIS_TIME = 1_767_225_600_000;

const signers = new Map<string, Signer>();
/** The same key for the same label, in every run. */
export function key(label: string): Signer {
  let s = signers.get(label);
  if (!s) {
    s = new Signer(sha256(new TextEncoder().encode(`synod-test-key/${label}`)));
    signers.set(label, s);
  }
  return s;
}

export function wallet(label: string, nonce = 0): Wallet {
  return new Wallet(key(label), CHAIN_ID, nonce);
}

export interface FixtureOptions {
  /** Member ids; each gets an admin account `<id>-admin` and a validator `<id>-val`. */
  members?: string[];
  /** Extra accounts: label -> {member, roles, balance}. */
  accounts?: { label: string; member: string; roles: string[]; balance: bigint }[];
  /** Members that get no validator (default: every member has one). */
  noValidator?: string[];
  params?: Partial<ChainParams>;
  adminBalance?: bigint;
}

export function fixtureGenesis(o: FixtureOptions = {}): GenesisDoc {
  const members = o.members ?? ['alpha', 'beta', 'gamma'];
  return {
    chainId: CHAIN_ID,
    genesisTime: GENESIS_TIME,
    params: { ...DEFAULT_PARAMS, ...o.params },
    members: members.map((id) => ({ id, name: `Member ${id}` })),
    accounts: [
      ...members.map((id) => ({
        publicKey: key(`${id}-admin`).publicKey,
        memberId: id,
        roles: ['admin'],
        balance: o.adminBalance ?? 1_000_000n,
      })),
      ...(o.accounts ?? []).map((a) => ({
        publicKey: key(a.label).publicKey,
        memberId: a.member,
        roles: a.roles,
        balance: a.balance,
      })),
    ],
    validators: members
      .filter((id) => !(o.noValidator ?? []).includes(id))
      .map((id, i) => ({
        publicKey: key(`${id}-val`).publicKey,
        memberId: id,
        p2p: [`/ip4/127.0.0.1/tcp/${26700 + i}`],
      })),
  };
}

/** A chain of executed blocks; every block it appends was built and then validated. */
export class Chain {
  state: LedgerState;
  header: BlockHeader;
  readonly blocks: BuiltBlock[] = [];
  readonly genesis: ReturnType<typeof genesisState>;

  constructor(readonly doc: GenesisDoc = fixtureGenesis()) {
    this.genesis = genesisState(doc);
    this.state = this.genesis.state;
    this.header = this.genesis.header;
  }

  get height(): number {
    return this.header.height;
  }

  /** Builds the next block from `txs` (all must go in unless allowSkips), validates it, appends it. */
  produce(txs: SignedTransaction[], opts: { allowSkips?: boolean } = {}): BuiltBlock {
    const validators = this.validatorSet();
    const proposer = validators[(this.header.height + 1) % validators.length]!;
    const built = buildBlock(this.state, this.header, {
      txs,
      proposer,
      view: 0,
      timestamp: this.header.timestamp + 1000,
    });
    if (!opts.allowSkips) {
      assert.equal(
        built.block.txs.length,
        txs.length,
        `skipped: ${built.rejected.map((r) => r.error.code).join(', ')}`,
      );
    }
    const validated = validateBlock(this.state, this.header, built.block);
    assert.deepEqual(validated.stateRoot, built.stateRoot);
    this.state = built.state;
    this.header = built.block.header;
    this.blocks.push(built);
    return built;
  }

  /** The addresses of V(next height), read from the state so governance changes are followed. */
  validatorSet(): Uint8Array[] {
    return getValidators(this.state).map((v) => v.address);
  }

  account(label: string) {
    return getAccount(this.state, key(label).address);
  }
}
