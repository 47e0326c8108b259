/**
 * A local development network's genesis: one member per validator, each with a validator key
 * and a funded admin account, every key written to its own key file.
 *
 * Layout written under `outDir`:
 *
 * | path                         | what                                               |
 * |------------------------------|----------------------------------------------------|
 * | genesis.json                 | the genesis file                                   |
 * | keys/validator-<i>.json      | validator i's consensus key (mode 0600)            |
 * | keys/member-<i>.json         | member i's admin account key (mode 0600)           |
 *
 * Ports: validator i listens for p2p on basePort + 100 + i; basePort + i is left for its RPC.
 * Keys are written without a passphrase: a devnet holds nothing of value and must start
 * unattended.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addressOf, generateKeyPair } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import type { GenesisDoc } from '../ledger/genesis-doc.js';
import { DEFAULT_PARAMS } from '../ledger/params.js';
import { writeKeyFile } from '../node/keyfile.js';
import { ADMIN_ROLE, genesisHash, genesisToJson, parseGenesis } from './genesis.js';

export const DEVNET_DEFAULTS = Object.freeze({
  chainId: 'synod-devnet',
  basePort: 26600,
  /** Initial balance of each member's admin account. */
  balance: 1_000_000_000_000n,
  validatorsMax: 100,
});

export interface DevnetOptions {
  /** Number of validators (and members), 1..100. */
  validators: number;
  outDir: string;
  chainId?: string;
  basePort?: number;
  balance?: bigint;
  /** Milliseconds since the epoch; defaults to now, rounded down to the second. */
  genesisTime?: number;
  /** Overwrite an existing genesis.json and key files. Without it, existing files are refused. */
  force?: boolean;
}

export interface DevnetKey {
  index: number;
  memberId: string;
  keyFile: string;
  /** 0x-hex */
  address: string;
  /** 0x-hex */
  publicKey: string;
}

export interface DevnetValidator extends DevnetKey {
  p2p: string[];
  p2pPort: number;
}

export interface Devnet {
  genesisFile: string;
  genesis: GenesisDoc;
  /** 0x-hex block hash of block 0. */
  genesisHash: string;
  validators: DevnetValidator[];
  /** The admin account of each member. */
  admins: DevnetKey[];
}

export class DevnetError extends Error {
  override readonly name = 'DevnetError';
  constructor(
    readonly code: 'DEVNET_BAD_OPTION' | 'DEVNET_EXISTS',
    message: string,
    /** The existing file, for DEVNET_EXISTS. */
    readonly path?: string,
  ) {
    super(message);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function checkOptions(o: DevnetOptions): void {
  const max = DEVNET_DEFAULTS.validatorsMax;
  if (!Number.isSafeInteger(o.validators) || o.validators < 1 || o.validators > max) {
    throw new DevnetError('DEVNET_BAD_OPTION', `validators: expected an integer in 1..${max}`);
  }
  const basePort = o.basePort ?? DEVNET_DEFAULTS.basePort;
  if (!Number.isSafeInteger(basePort) || basePort < 1 || basePort + 100 + o.validators > 65_535) {
    throw new DevnetError(
      'DEVNET_BAD_OPTION',
      `basePort: expected an integer from 1 with basePort + 100 + validators <= 65535`,
    );
  }
}

/**
 * Generates fresh keys, writes the genesis file and the key files, and returns what it wrote.
 * The document is validated by the same parser as any genesis file before anything is written.
 */
export async function createDevnet(opts: DevnetOptions): Promise<Devnet> {
  checkOptions(opts);
  const n = opts.validators;
  const chainId = opts.chainId ?? DEVNET_DEFAULTS.chainId;
  const basePort = opts.basePort ?? DEVNET_DEFAULTS.basePort;
  const balance = opts.balance ?? DEVNET_DEFAULTS.balance;
  const genesisTime = opts.genesisTime ?? Math.floor(Date.now() / 1000) * 1000;
  const keysDir = join(opts.outDir, 'keys');
  const genesisFile = join(opts.outDir, 'genesis.json');

  const validatorKeys = Array.from({ length: n }, () => generateKeyPair());
  const adminKeys = Array.from({ length: n }, () => generateKeyPair());
  const memberIds = Array.from({ length: n }, (_, i) => `member-${i}`);
  const p2pPorts = Array.from({ length: n }, (_, i) => basePort + 100 + i);

  const draft: GenesisDoc = {
    chainId,
    genesisTime,
    params: { ...DEFAULT_PARAMS },
    members: memberIds.map((id, i) => ({ id, name: `Member ${i}` })),
    accounts: adminKeys.map((k, i) => ({
      publicKey: k.publicKey,
      memberId: memberIds[i]!,
      roles: [ADMIN_ROLE],
      balance,
    })),
    validators: validatorKeys.map((k, i) => ({
      publicKey: k.publicKey,
      memberId: memberIds[i]!,
      p2p: [`/ip4/127.0.0.1/tcp/${p2pPorts[i]}`],
    })),
  };
  // Round trip through the file parser: a bad chain id or balance fails here, before any file.
  const json = genesisToJson(draft);
  const genesis = parseGenesis(JSON.parse(json));

  const validatorFiles = memberIds.map((_, i) => join(keysDir, `validator-${i}.json`));
  const adminFiles = memberIds.map((_, i) => join(keysDir, `member-${i}.json`));
  if (!opts.force) {
    for (const f of [genesisFile, ...validatorFiles, ...adminFiles]) {
      if (await exists(f))
        throw new DevnetError('DEVNET_EXISTS', `${f} already exists (force overwrites it)`, f);
    }
  }

  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  // Key files first: a genesis.json on disk then always has its keys next to it.
  for (let i = 0; i < n; i++) {
    const overwrite = opts.force === true;
    await writeKeyFile(validatorFiles[i]!, validatorKeys[i]!.secretKey, {
      label: `validator-${i}`,
      overwrite,
    });
    await writeKeyFile(adminFiles[i]!, adminKeys[i]!.secretKey, { label: `member-${i} admin`, overwrite });
  }
  await writeFile(genesisFile, json, { mode: 0o644 });

  const describe = (pk: Uint8Array, i: number, keyFile: string): DevnetKey => ({
    index: i,
    memberId: memberIds[i]!,
    keyFile,
    address: toHex(addressOf(pk)),
    publicKey: toHex(pk),
  });
  return {
    genesisFile,
    genesis,
    genesisHash: toHex(genesisHash(genesis)),
    validators: validatorKeys.map((k, i) => ({
      ...describe(k.publicKey, i, validatorFiles[i]!),
      p2p: [...genesis.validators[i]!.p2p],
      p2pPort: p2pPorts[i]!,
    })),
    admins: adminKeys.map((k, i) => describe(k.publicKey, i, adminFiles[i]!)),
  };
}
