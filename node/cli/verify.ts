/**
 * `synod verify`: checks the header chain a node serves, following the validator set from
 * genesis through every set change (rpc/verify-chain.ts), and names the first header that does
 * not verify.
 *
 *   synod verify --rpc URL [--from H] [--to H] [--genesis FILE] [--json]
 *
 * Exit code 0 when every header from..to verified, 1 otherwise (or when the node cannot be
 * reached), 2 for a usage error.
 */
import { type Command, Option } from 'commander';
import { loadGenesisFile } from '../../genesis/genesis.js';
import { SynodClient } from '../../rpc/client.js';
import { type ChainVerification, verifyChain } from '../../rpc/verify-chain.js';
import { CliError } from './errors.js';
import { printJson, printTable } from './format.js';
import { intOption } from './options.js';

interface VerifyFlags {
  rpc: string;
  from: number;
  to?: number;
  genesis?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'verify the chain a node serves: every header, its commit certificate by the validator set of its height, and every set change from genesis',
    )
    .option(
      '--rpc <url>',
      'JSON-RPC URL of a node (env SYNOD_RPC)',
      process.env.SYNOD_RPC ?? 'http://127.0.0.1:26600/rpc',
    )
    .addOption(
      new Option('--from <height>', 'first height to verify')
        .argParser(intOption(1, Number.MAX_SAFE_INTEGER))
        .default(1),
    )
    .addOption(
      new Option('--to <height>', "last height to verify (default: the node's latest)").argParser(
        intOption(0, Number.MAX_SAFE_INTEGER),
      ),
    )
    .option('--genesis <file>', 'trust this genesis file instead of the block 0 the node serves')
    .option('--json', 'print the result as JSON')
    .action(async (flags: VerifyFlags) => {
      const genesis = flags.genesis === undefined ? undefined : await loadGenesisFile(flags.genesis);
      const client = new SynodClient(flags.rpc);
      let result: ChainVerification;
      try {
        result = await verifyChain(client, {
          from: flags.from,
          ...(flags.to === undefined ? {} : { to: flags.to }),
          ...(genesis ? { genesis } : {}),
        });
      } catch (err) {
        throw new CliError(`cannot verify ${flags.rpc}: ${(err as Error).message}`);
      }
      if (flags.json) printJson(result);
      else printResult(result);
      if (!result.ok) process.exitCode = 1;
    });
}

function printResult(r: ChainVerification): void {
  const rows: [string, string][] = [
    ['chain', r.chainId],
    ['genesis', r.genesisHash],
    ['trusted', r.trustRoot],
    ['heights', `${r.from}..${r.to}`],
    ['verified', `${r.verified} headers`],
    [
      `set at ${r.from}`,
      `${r.initialSet.validators} validators (f ${r.initialSet.f}, quorum ${r.initialSet.quorum}) ${r.initialSet.validatorsHash}`,
    ],
  ];
  for (const c of r.setChanges) {
    rows.push([
      `set from ${c.height}`,
      `${c.validators} validators (f ${c.f}, quorum ${c.quorum}) ${c.validatorsHash}`,
    ]);
  }
  printTable(rows);
  if (r.failure) {
    process.stdout.write(
      `\nFAILED at height ${r.failure.height} (${r.failure.code}): ${r.failure.message}\n`,
    );
  } else {
    process.stdout.write('\nOK: every header verified\n');
  }
}
