/**
 * The genesis document in memory. The JSON file form (hex strings, decimal amounts) is parsed
 * and validated by genesis/genesis.ts; the ledger builds the initial state from this shape, so
 * the type lives here and genesis/ imports it (never the other way round).
 */
import type { ChainParams } from './params.js';

export interface GenesisMember {
  id: string;
  name: string;
}

export interface GenesisAccount {
  publicKey: Uint8Array;
  memberId: string;
  /** "admin" makes the account an admin of its member (may register keys, propose, vote). */
  roles: string[];
  balance: bigint;
}

export interface GenesisValidator {
  publicKey: Uint8Array;
  memberId: string;
  /** libp2p multiaddrs, e.g. /ip4/127.0.0.1/tcp/26700 */
  p2p: string[];
}

export interface GenesisDoc {
  chainId: string;
  /** Milliseconds since the Unix epoch: the timestamp of block 0. */
  genesisTime: number;
  params: ChainParams;
  members: GenesisMember[];
  accounts: GenesisAccount[];
  validators: GenesisValidator[];
}
