/**
 * `synod tx`: sign and submit transactions over JSON-RPC.
 *
 *   synod tx transfer --rpc URL --key FILE --to ADDRESS --amount N [--memo M] [--wait] [--json]
 *   synod tx put      --rpc URL --key FILE --data-key K --value V [--wait] [--json]
 *
 * The nonce is the account's next one as the node reports it. Exit code 0 when the node
 * admitted the transaction (and, with --wait, when it committed successfully); 1 otherwise.
 */
import type { Command } from 'commander';
import { Signer } from '../../crypto/ed25519.js';
import { fromHex } from '../../crypto/hash.js';
import { readKeyFile } from '../../crypto/keyfile.js';
import type { TxBody } from '../../ledger/types.js';
import type { JsonObject } from '../../rpc/backend.js';
import { RpcCallError, SynodClient } from '../../rpc/client.js';
import { CliError } from './errors.js';
import { printJson, printTable } from './format.js';
import { amountOption } from './options.js';
import { readPassphraseFile } from './passphrase.js';

interface CommonFlags {
  rpc: string;
  key: string;
  passphraseFile?: string;
  wait?: boolean;
  timeout: string;
  json?: boolean;
}

async function loadSigner(flags: CommonFlags): Promise<Signer> {
  const passphrase =
    flags.passphraseFile === undefined ? undefined : await readPassphraseFile(flags.passphraseFile);
  const keys = await readKeyFile(flags.key, passphrase === undefined ? {} : { passphrase });
  return new Signer(keys.secretKey);
}

async function send(flags: CommonFlags, body: TxBody): Promise<void> {
  const client = new SynodClient(flags.rpc);
  const signer = await loadSigner(flags);
  const timeoutMs = Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000) {
    throw new CliError(`--timeout: expected milliseconds in 1..120000, got '${flags.timeout}'`);
  }
  let result: JsonObject | { hash: string };
  try {
    const info = await client.getInfo();
    result = await client.send(signer, String(info.chainId), body, { wait: flags.wait === true, timeoutMs });
  } catch (err) {
    if (err instanceof RpcCallError) {
      const data = err.data === undefined ? '' : ` ${JSON.stringify(err.data)}`;
      throw new CliError(`the node refused the transaction: ${err.message} (code ${err.code})${data}`);
    }
    throw err;
  }
  if (flags.json) printJson(result);
  else if ('receipt' in result) {
    const receipt = result.receipt as JsonObject;
    printTable([
      ['hash', String(result.hash)],
      ['height', String(result.height)],
      ['status', receipt.ok ? 'ok' : `failed: ${receipt.code} ${receipt.message ?? ''}`],
    ]);
  } else printTable([['hash', String(result.hash)]]);
  if ('receipt' in result && !(result.receipt as JsonObject).ok) process.exitCode = 1;
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--rpc <url>', 'JSON-RPC URL of a node, e.g. http://127.0.0.1:26600/rpc')
    .requiredOption('--key <file>', 'key file of the sending account')
    .option('--passphrase-file <file>', 'file holding the key file passphrase')
    .option('--wait', 'wait until the transaction is committed and print its receipt')
    .option('--timeout <ms>', 'how long --wait waits', '30000')
    .option('--json', 'print JSON');
}

export function registerTx(program: Command): void {
  const tx = program.command('tx').description('sign and submit transactions');
  common(tx.command('transfer').description('transfer native tokens'))
    .requiredOption('--to <address>', 'recipient address (0x + 40 hex)')
    .requiredOption('--amount <n>', 'amount (a non-negative integer)', amountOption)
    .option('--memo <text>', 'a note stored with the transfer')
    .action(async (flags: CommonFlags & { to: string; amount: bigint; memo?: string }) => {
      let to: Uint8Array;
      try {
        to = fromHex(flags.to, 20, '--to');
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      await send(flags, {
        kind: 'asset.transfer',
        body: { to, amount: flags.amount, ...(flags.memo === undefined ? {} : { memo: flags.memo }) },
      });
    });
  common(tx.command('put').description("store a value under a key in the sender's namespace"))
    .requiredOption('--data-key <key>', 'the key')
    .requiredOption('--value <text>', 'the value (UTF-8 text, or 0x-hex bytes)')
    .action(async (flags: CommonFlags & { dataKey: string; value: string }) => {
      const value = /^0x([0-9a-fA-F]{2})*$/.test(flags.value)
        ? fromHex(flags.value)
        : new TextEncoder().encode(flags.value);
      await send(flags, { kind: 'data.put', body: { key: flags.dataKey, value } });
    });
}
