/**
 * `synod keys`: create and inspect key files. Secret keys are never printed.
 *
 *   synod keys generate --out FILE [--passphrase-file F] [--label L] [--json]
 *   synod keys show FILE [--passphrase-file F] [--json]
 */
import type { Command } from 'commander';
import { generateKeyPair } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { readKeyFile, readPublicKeyFile, writeKeyFile } from '../keyfile.js';
import { printJson, printTable } from './format.js';
import { readPassphraseFile } from './passphrase.js';

interface GenerateOptions {
  out: string;
  passphraseFile?: string;
  label?: string;
  json?: boolean;
}

interface ShowOptions {
  passphraseFile?: string;
  json?: boolean;
}

async function generate(opts: GenerateOptions): Promise<void> {
  const passphrase =
    opts.passphraseFile === undefined ? undefined : await readPassphraseFile(opts.passphraseFile);
  const { secretKey } = generateKeyPair();
  // writeKeyFile refuses to replace an existing file: a key is never lost to a typo.
  const pub = await writeKeyFile(opts.out, secretKey, {
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(opts.label === undefined ? {} : { label: opts.label }),
  });
  secretKey.fill(0);
  const address = toHex(pub.address);
  const publicKey = toHex(pub.publicKey);
  if (opts.json) {
    printJson({ file: opts.out, address, publicKey, encrypted: pub.encrypted });
    return;
  }
  printTable([
    ['wrote', opts.out],
    ['address', address],
    ['public key', publicKey],
    ['encrypted', pub.encrypted ? 'yes' : 'no (anyone who can read the file has the key)'],
  ]);
}

async function show(file: string, opts: ShowOptions): Promise<void> {
  const pub = await readPublicKeyFile(file);
  // A plain file, or an encrypted one with its passphrase, is read whole: that checks the
  // public half against the secret key rather than trusting the clear fields.
  let verified = false;
  if (!pub.encrypted || opts.passphraseFile !== undefined) {
    const passphrase =
      opts.passphraseFile === undefined ? undefined : await readPassphraseFile(opts.passphraseFile);
    const keys = await readKeyFile(file, passphrase === undefined ? {} : { passphrase });
    keys.secretKey.fill(0);
    verified = true;
  }
  const address = toHex(pub.address);
  const publicKey = toHex(pub.publicKey);
  if (opts.json) {
    printJson({ address, publicKey });
    return;
  }
  const rows: [string, string][] = [
    ['file', file],
    ['address', address],
    ['public key', publicKey],
    ['encrypted', pub.encrypted ? 'yes' : 'no'],
    [
      'secret key',
      verified ? 'present and matches the public key' : 'encrypted (not checked: no passphrase given)',
    ],
  ];
  if (pub.label !== undefined) rows.splice(1, 0, ['label', pub.label]);
  printTable(rows);
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create and inspect Ed25519 key files');
  keys
    .command('generate')
    .description('generate a new key and write it to a key file (mode 0600); never overwrites')
    .requiredOption('--out <file>', 'where to write the key file')
    .option('--passphrase-file <file>', 'encrypt the key with the passphrase in this file')
    .option('--label <text>', 'a note stored in the clear in the key file')
    .option('--json', 'print the result as JSON')
    .action(generate);
  keys
    .command('show')
    .description('print the address and public key of a key file (never the secret key)')
    .argument('<file>', 'the key file')
    .option('--passphrase-file <file>', 'decrypt an encrypted key file to check it')
    .option('--json', 'print {"address", "publicKey"} as JSON')
    .action(show);
}
