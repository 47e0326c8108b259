/**
 * `synod tx`: sign and submit transactions over JSON-RPC; and the helpers every command that
 * talks to a node shares (identity.ts, gov.ts, query.ts): the --rpc/--key options, loading the
 * signer, a spinner while waiting, turning SDK errors into CLI errors, printing a receipt.
 *
 *   synod tx transfer --rpc URL --key FILE --to ADDRESS --amount N [--memo M] [--wait] [--json]
 *   synod tx put      --rpc URL --key FILE --data-key K --value V [--wait] [--json]
 *
 * The nonce is the account's next one as the node reports it. Exit code 0 when the node
 * admitted the transaction (and, with --wait, when it committed successfully); 1 otherwise,
 * also when it committed with a failure receipt (which is then printed before the error).
 */
import { type Command, Option } from 'commander';
import { Signer } from '../../crypto/ed25519.js';
import { fromHex, toHex } from '../../crypto/hash.js';
import type { TxBody } from '../../ledger/types.js';
import {
  RpcCallError,
  RpcTransportError,
  type Submitted,
  SynodClient,
  type TxRecord,
  TxTimeoutError,
  VerificationError,
} from '../../rpc/client.js';
import { readKeyFile, readPublicKeyFile } from '../keyfile.js';
import { CliError } from './errors.js';
import { printJson, printTable } from './format.js';
import { amountOption, intOption } from './options.js';
import { readPassphraseFile } from './passphrase.js';

/** The first devnet node (`npm start`), unless SYNOD_RPC says otherwise. */
export const DEFAULT_RPC = process.env.SYNOD_RPC ?? 'http://127.0.0.1:26600/rpc';

export interface RpcFlags {
  rpc: string;
  json?: boolean;
}

export interface KeyFlags extends RpcFlags {
  key: string;
  passphraseFile?: string;
}

export interface SendFlags extends KeyFlags {
  wait?: boolean;
  timeout: number;
}

/** Adds --rpc and --json. */
export function rpcOptions(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'JSON-RPC URL of a node (env SYNOD_RPC)', DEFAULT_RPC)
    .option('--json', 'print JSON (for scripts)');
}

/** Adds --rpc, --json, --key, --passphrase-file, --wait and --timeout: everything a sender needs. */
export function sendOptions(cmd: Command): Command {
  return rpcOptions(cmd)
    .requiredOption('--key <file>', 'key file of the sending account')
    .option('--passphrase-file <file>', 'file holding the key file passphrase')
    .option('--wait', 'wait until the transaction is committed and print its receipt')
    .addOption(
      new Option('--timeout <ms>', 'how long --wait waits (ms)')
        .argParser(intOption(1, 120_000))
        .default(30_000),
    );
}

export async function loadSigner(flags: KeyFlags): Promise<Signer> {
  const passphrase =
    flags.passphraseFile === undefined ? undefined : await readPassphraseFile(flags.passphraseFile);
  const keys = await readKeyFile(flags.key, passphrase === undefined ? {} : { passphrase });
  return new Signer(keys.secretKey);
}

/** A 20-byte address from 0x-hex, or a usage-level CliError naming the option. */
export function parseAddress(value: string, what: string): Uint8Array {
  try {
    return fromHex(value, 20, what);
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`);
  }
}

/** A 32-byte public key from 0x-hex, or from a key file (only its public half is read). */
export async function parsePublicKey(value: string, what: string): Promise<Uint8Array> {
  if (/^0x[0-9a-fA-F]*$/.test(value)) {
    try {
      return fromHex(value, 32, what);
    } catch (err) {
      throw new CliError(`${what}: ${(err as Error).message}`);
    }
  }
  return (await readPublicKeyFile(value)).publicKey;
}

/**
 * A spinner on stderr while `work` runs, only when stderr is a terminal (never in pipes, logs
 * or tests). Hand-written: a dozen lines do not justify a dependency.
 */
export async function withSpinner<T>(text: string, work: Promise<T>): Promise<T> {
  const out = process.stderr;
  if (!out.isTTY) return work;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const started = Date.now();
  const draw = () => {
    const secs = Math.floor((Date.now() - started) / 1000);
    out.write(`\r${frames[i++ % frames.length]} ${text}${secs > 0 ? ` (${secs} s)` : ''}\x1b[K`);
  };
  draw();
  const timer = setInterval(draw, 80);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    out.write('\r\x1b[K');
  }
}

/** Runs a call against the node, turning SDK errors into readable CLI errors (exit 1). */
export async function rpc<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RpcCallError) {
      const data =
        err.data === undefined || (typeof err.data === 'object' && Object.keys(err.data ?? {}).length === 0)
          ? ''
          : ` ${JSON.stringify(err.data)}`;
      throw new CliError(`${what}: ${err.message} (code ${err.code})${data}`, `RPC_${err.code}`);
    }
    if (err instanceof RpcTransportError) throw new CliError(`${what}: ${err.message}`, 'RPC_UNREACHABLE');
    if (err instanceof TxTimeoutError) throw new CliError(err.message, 'TX_TIMEOUT');
    if (err instanceof VerificationError)
      throw new CliError(`${what}: verification failed (${err.code}): ${err.message}`, 'VERIFICATION_FAILED');
    throw err;
  }
}

/** The receipt line of a committed tx: "ok" or "failed: CODE message". */
export function receiptText(tx: TxRecord): string {
  const r = tx.receipt;
  return r.ok ? 'ok' : `failed: ${r.code ?? ''} ${r.message ?? ''}`.trim();
}

/**
 * Signs and submits `body` from the --key account and prints the outcome. With --wait, waits
 * (spinner on a terminal) and fails (exit 1) when the receipt says the tx failed. `extra` adds
 * rows for a committed tx (e.g. the new proposal's id).
 */
export async function sendAndReport(
  flags: SendFlags,
  body: TxBody,
  extra: (tx: TxRecord) => [string, string][] = () => [],
): Promise<TxRecord | Submitted> {
  const client = new SynodClient(flags.rpc);
  const signer = await loadSigner(flags);
  const result = await rpc<TxRecord | Submitted>('the node refused the transaction', async () => {
    const chainId = await client.chainId();
    if (!flags.wait) return client.send(signer, chainId, body);
    return withSpinner(
      `${body.kind}: waiting for the commit`,
      client.send(signer, chainId, body, { wait: true, timeoutMs: flags.timeout }),
    );
  });
  if (flags.json) printJson(result);
  else if ('receipt' in result) {
    printTable([
      ['hash', result.hash],
      ['from', toHex(signer.address)],
      ['nonce', String(result.nonce)],
      ['height', String(result.height)],
      ['status', receiptText(result)],
      ...(result.receipt.ok ? extra(result) : []),
    ]);
  } else {
    printTable([
      ['hash', result.hash],
      ['from', toHex(signer.address)],
      ['nonce', String(result.nonce)],
      ['status', 'admitted to the mempool (not committed yet; --wait waits)'],
    ]);
  }
  // Thrown (not process.exitCode) so the runner maps it to exit 1 like any other failure.
  if ('receipt' in result && !result.receipt.ok)
    throw new CliError(`the transaction was committed but failed: ${receiptText(result)}`, 'TX_FAILED');
  return result;
}

export function registerTx(program: Command): void {
  const tx = program.command('tx').description('sign and submit transactions');
  sendOptions(tx.command('transfer').description('transfer native tokens to a registered account'))
    .requiredOption('--to <address>', 'recipient address (0x + 40 hex)')
    .requiredOption('--amount <n>', 'amount (a non-negative integer)', amountOption)
    .option('--memo <text>', 'a note stored with the transfer')
    .action(async (flags: SendFlags & { to: string; amount: bigint; memo?: string }) => {
      const to = parseAddress(flags.to, '--to');
      await sendAndReport(flags, {
        kind: 'asset.transfer',
        body: { to, amount: flags.amount, ...(flags.memo === undefined ? {} : { memo: flags.memo }) },
      });
    });
  sendOptions(tx.command('put').description("store a value under a key in the sender's namespace"))
    .requiredOption('--data-key <key>', 'the key')
    .requiredOption('--value <text>', 'the value (UTF-8 text, or 0x-hex bytes); empty deletes the key')
    .action(async (flags: SendFlags & { dataKey: string; value: string }) => {
      const value = /^0x([0-9a-fA-F]{2})*$/.test(flags.value)
        ? fromHex(flags.value)
        : new TextEncoder().encode(flags.value);
      await sendAndReport(flags, { kind: 'data.put', body: { key: flags.dataKey, value } });
    });
}
