/**
 * `synod genesis`: write a devnet genesis with its keys, validate a genesis file, print its hash.
 *
 *   synod genesis init --validators N --out DIR [--chain-id ID] [--base-port P] [--balance N] [--force] [--json]
 *   synod genesis validate FILE [--json]
 *   synod genesis hash FILE
 */
import type { Command } from 'commander';
import { toHex } from '../../crypto/hash.js';
import { createDevnet, DEVNET_DEFAULTS, type Devnet, DevnetError } from '../../genesis/devnet.js';
import { genesisHash, loadGenesisFile } from '../../genesis/genesis.js';
import { CliError } from './errors.js';
import { printJson, printTable } from './format.js';
import { amountOption, intOption } from './options.js';

interface InitOptions {
  validators: number;
  out: string;
  chainId?: string;
  basePort?: number;
  balance?: bigint;
  force?: boolean;
  json?: boolean;
}

async function init(opts: InitOptions): Promise<void> {
  let net: Devnet;
  try {
    net = await createDevnet({
      validators: opts.validators,
      outDir: opts.out,
      ...(opts.chainId === undefined ? {} : { chainId: opts.chainId }),
      ...(opts.basePort === undefined ? {} : { basePort: opts.basePort }),
      ...(opts.balance === undefined ? {} : { balance: opts.balance }),
      force: opts.force === true,
    });
  } catch (err) {
    if (err instanceof DevnetError && err.code === 'DEVNET_EXISTS') {
      throw new CliError(`${err.path} already exists; nothing was written (--force overwrites)`, err.code);
    }
    throw err;
  }
  if (opts.json) {
    printJson({
      genesisFile: net.genesisFile,
      chainId: net.genesis.chainId,
      genesisHash: net.genesisHash,
      validators: net.validators.map((v) => ({
        memberId: v.memberId,
        address: v.address,
        publicKey: v.publicKey,
        p2p: v.p2p,
        keyFile: v.keyFile,
      })),
      admins: net.admins.map((a) => ({
        memberId: a.memberId,
        address: a.address,
        publicKey: a.publicKey,
        keyFile: a.keyFile,
      })),
    });
    return;
  }
  printTable([
    ['wrote', net.genesisFile],
    ['chain id', net.genesis.chainId],
    ['genesis hash', net.genesisHash],
    ['genesis time', new Date(net.genesis.genesisTime).toISOString()],
  ]);
  process.stdout.write('\n');
  printTable([
    ...net.validators.flatMap((v): [string, string][] => [
      [`validator ${v.index}`, `${v.address}  ${v.memberId}  ${v.p2p.join(' ')}`],
      ['  key file', v.keyFile],
    ]),
    ...net.admins.flatMap((a): [string, string][] => [
      [`admin of ${a.memberId}`, `${a.address}  balance ${net.genesis.accounts[a.index]!.balance}`],
      ['  key file', a.keyFile],
    ]),
  ]);
  process.stdout.write('\nKey files are not encrypted: they are for a local devnet only.\n');
}

async function validate(file: string, opts: { json?: boolean }): Promise<void> {
  // Invalid files throw a GenesisError listing each field's problem: exit 1.
  const doc = await loadGenesisFile(file);
  const hash = toHex(genesisHash(doc));
  if (opts.json) {
    printJson({
      valid: true,
      chainId: doc.chainId,
      genesisHash: hash,
      members: doc.members.length,
      accounts: doc.accounts.length,
      validators: doc.validators.length,
    });
    return;
  }
  printTable([
    ['valid', file],
    ['chain id', doc.chainId],
    ['genesis time', new Date(doc.genesisTime).toISOString()],
    ['members', String(doc.members.length)],
    ['accounts', String(doc.accounts.length)],
    ['validators', String(doc.validators.length)],
    ['genesis hash', hash],
  ]);
}

async function hash(file: string): Promise<void> {
  const doc = await loadGenesisFile(file);
  process.stdout.write(`${toHex(genesisHash(doc))}\n`);
}

export function registerGenesis(program: Command): void {
  const genesis = program.command('genesis').description('create, validate and hash genesis files');
  genesis
    .command('init')
    .description('write a devnet genesis.json and one key file per validator and per member admin')
    .requiredOption(
      '--validators <n>',
      `number of validators, one member each (1..${DEVNET_DEFAULTS.validatorsMax})`,
      intOption(1, DEVNET_DEFAULTS.validatorsMax),
    )
    .requiredOption('--out <dir>', 'folder to write genesis.json and keys/ into')
    .option('--chain-id <id>', 'chain id', DEVNET_DEFAULTS.chainId)
    .option(
      '--base-port <port>',
      'validator i listens for p2p on base-port + 100 + i',
      intOption(1, 65_000),
      DEVNET_DEFAULTS.basePort,
    )
    .option('--balance <amount>', 'initial balance of each member admin account', amountOption)
    .option('--force', 'overwrite an existing genesis.json and key files')
    .option('--json', 'print the result as JSON')
    .action(init);
  genesis
    .command('validate')
    .description('check a genesis file; prints its hash, or each problem with the field it concerns')
    .argument('<file>', 'the genesis file')
    .option('--json', 'print the result as JSON')
    .action(validate);
  genesis
    .command('hash')
    .description('print the genesis hash (the hash of block 0) of a genesis file')
    .argument('<file>', 'the genesis file')
    .action(hash);
}
