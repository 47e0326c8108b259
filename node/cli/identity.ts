/**
 * `synod identity`: a member's admin adds or revokes client keys (accounts) of its own member.
 *
 *   synod identity register --key ADMIN_FILE --account-key HEX|FILE [--roles transfer,data] [--wait] [--json]
 *   synod identity revoke   --key ADMIN_FILE --address ADDRESS [--wait] [--json]
 *
 * Exit code 0 when admitted (and with --wait, committed successfully); 1 otherwise.
 */
import type { Command } from 'commander';
import { addressOf } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { ROLES } from '../../ledger/state.js';
import { CliError } from './errors.js';
import { parseAddress, parsePublicKey, type SendFlags, sendAndReport, sendOptions } from './tx.js';

function parseRoles(value: string): string[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) {
    throw new CliError(`--roles: expected a comma-separated list of ${ROLES.join(', ')}; got '${value}'`);
  }
  return [...new Set(roles)];
}

export function registerIdentity(program: Command): void {
  const identity = program
    .command('identity')
    .description("manage client accounts of your member (the --key account must be the member's admin)");
  sendOptions(identity.command('register').description('register a client key as an account of your member'))
    .requiredOption('--account-key <hex|file>', 'the new account: its public key (0x + 64 hex) or a key file')
    .option('--roles <list>', `comma-separated roles: ${ROLES.join(', ')}`, 'transfer,data')
    .action(async (flags: SendFlags & { accountKey: string; roles: string }) => {
      const publicKey = await parsePublicKey(flags.accountKey, '--account-key');
      const roles = parseRoles(flags.roles);
      const address = toHex(addressOf(publicKey));
      if (!flags.json)
        process.stdout.write(`registering account ${address} with roles ${roles.join(', ')}\n`);
      await sendAndReport(flags, { kind: 'identity.register', body: { publicKey, roles } }, () => [
        ['account', address],
      ]);
    });
  sendOptions(identity.command('revoke').description('revoke an account of your member'))
    .requiredOption('--address <address>', 'the account to revoke (0x + 40 hex)')
    .action(async (flags: SendFlags & { address: string }) => {
      const address = parseAddress(flags.address, '--address');
      await sendAndReport(flags, { kind: 'identity.revoke', body: { address } });
    });
}
