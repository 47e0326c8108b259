/**
 * `synod gov`: on-chain governance. Member admins propose and vote; anyone reads.
 *
 *   synod gov propose add-member       --member-id ID --name NAME --admin-key HEX|FILE
 *   synod gov propose remove-member    --member-id ID
 *   synod gov propose add-validator    --validator-key HEX|FILE --member-id ID [--p2p MULTIADDR...]
 *   synod gov propose remove-validator --address ADDRESS
 *   synod gov propose set-param        --name NAME --value N
 *       (each with --key FILE [--title T] [--wait] [--json]; with --wait prints the proposal id)
 *   synod gov vote ID yes|no --key FILE [--wait] [--json]
 *   synod gov list [--status open|executed|failed|rejected|expired] [--json]
 *   synod gov show ID [--json]
 *
 * Exit code 0 on success; 1 when the node refuses, the receipt fails, or a proposal is unknown.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { addressOf } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { PARAM_NAMES } from '../../ledger/params.js';
import type { GovAction } from '../../ledger/types.js';
import { PROPOSAL_STATUSES } from '../../rpc/backend.js';
import { type GovActionJson, type ProposalJson, SynodClient, type TxRecord } from '../../rpc/client.js';
import { CliError } from './errors.js';
import { printJson, printTable } from './format.js';
import { intOption } from './options.js';
import {
  parseAddress,
  parsePublicKey,
  type RpcFlags,
  rpc,
  rpcOptions,
  type SendFlags,
  sendAndReport,
  sendOptions,
} from './tx.js';

type ProposeFlags = SendFlags & { title?: string };

/** One line describing an action, for tables. */
export function actionText(a: GovActionJson): string {
  switch (a.type) {
    case 'member.add':
      return `add member ${a.memberId} ('${a.name}', admin ${toHex(addressOf(Buffer.from(a.admin.slice(2), 'hex')))})`;
    case 'member.remove':
      return `remove member ${a.memberId}`;
    case 'validator.add':
      return `add validator ${toHex(addressOf(Buffer.from(a.publicKey.slice(2), 'hex')))} of ${a.memberId}`;
    case 'validator.remove':
      return `remove validator ${a.address}`;
    case 'param.set':
      return `set ${a.name} = ${a.value}`;
  }
}

function defaultTitle(a: GovAction): string {
  switch (a.type) {
    case 'member.add':
      return `Add member ${a.memberId}`;
    case 'member.remove':
      return `Remove member ${a.memberId}`;
    case 'validator.add':
      return `Add validator ${toHex(addressOf(a.publicKey))}`;
    case 'validator.remove':
      return `Remove validator ${toHex(a.address)}`;
    case 'param.set':
      return `Set ${a.name} to ${a.value}`;
  }
}

async function propose(flags: ProposeFlags, action: GovAction): Promise<void> {
  await sendAndReport(
    flags,
    { kind: 'gov.propose', body: { action, title: flags.title ?? defaultTitle(action) } },
    (tx) => proposalRows(tx),
  );
}

function proposalRows(tx: TxRecord): [string, string][] {
  const r = tx.receipt.result ?? {};
  const rows: [string, string][] = [];
  if (r.proposalId !== undefined) rows.push(['proposal', String(r.proposalId)]);
  if (r.status !== undefined) rows.push(['proposal status', String(r.status)]);
  return rows;
}

function parseParamValue(value: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer.');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a safe integer.');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function proposalTable(p: ProposalJson): [string, string][] {
  const rows: [string, string][] = [
    ['id', String(p.id)],
    ['title', p.title],
    ['action', actionText(p.action)],
    ['status', p.status],
    ['proposer', `${p.proposer} (${p.member})`],
    ['created at', String(p.createdHeight)],
    ['expires at', String(p.expiresHeight)],
  ];
  if (p.closedHeight !== undefined) rows.push(['closed at', String(p.closedHeight)]);
  if (p.failure) rows.push(['failure', `${p.failure.code} ${p.failure.message}`]);
  rows.push(['votes', `${p.yes} yes, ${p.no} no`]);
  for (const v of p.votes) rows.push([`  ${v.member}`, v.approve ? 'yes' : 'no']);
  return rows;
}

function printProposalList(list: ProposalJson[]): void {
  if (list.length === 0) {
    process.stdout.write('no proposals\n');
    return;
  }
  const rows = list.map((p) => [String(p.id), p.status, `${p.yes}/${p.no}`, actionText(p.action), p.title]);
  const head = ['ID', 'STATUS', 'YES/NO', 'ACTION', 'TITLE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) {
    process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
  }
}

export function registerGov(program: Command): void {
  const gov = program.command('gov').description('on-chain governance: propose, vote, list, show');
  const prop = gov
    .command('propose')
    .description('open a proposal (the --key account must be a member admin; your member votes yes)');
  const proposeCmd = (name: string, description: string) =>
    sendOptions(prop.command(name).description(description)).option(
      '--title <text>',
      'a title for the proposal',
    );

  proposeCmd('add-member', 'add a member with an admin key')
    .requiredOption('--member-id <id>', 'the new member id')
    .requiredOption('--name <name>', "the member's display name")
    .requiredOption('--admin-key <hex|file>', "the new member's admin public key (0x + 64 hex) or a key file")
    .action(async (flags: ProposeFlags & { memberId: string; name: string; adminKey: string }) => {
      const admin = await parsePublicKey(flags.adminKey, '--admin-key');
      await propose(flags, { type: 'member.add', memberId: flags.memberId, name: flags.name, admin });
    });
  proposeCmd('remove-member', 'remove a member (its accounts are refused and its validators leave)')
    .requiredOption('--member-id <id>', 'the member id')
    .action(async (flags: ProposeFlags & { memberId: string }) => {
      await propose(flags, { type: 'member.remove', memberId: flags.memberId });
    });
  proposeCmd('add-validator', 'add a validator key belonging to a member')
    .requiredOption('--validator-key <hex|file>', 'the consensus public key (0x + 64 hex) or a key file')
    .requiredOption('--member-id <id>', 'the member it belongs to')
    .option('--p2p <multiaddr>', 'a libp2p address where it listens (repeatable)', collect, [])
    .action(async (flags: ProposeFlags & { validatorKey: string; memberId: string; p2p: string[] }) => {
      const publicKey = await parsePublicKey(flags.validatorKey, '--validator-key');
      await propose(flags, { type: 'validator.add', publicKey, memberId: flags.memberId, p2p: flags.p2p });
    });
  proposeCmd('remove-validator', 'remove a validator')
    .requiredOption('--address <address>', 'the validator address (0x + 40 hex)')
    .action(async (flags: ProposeFlags & { address: string }) => {
      await propose(flags, { type: 'validator.remove', address: parseAddress(flags.address, '--address') });
    });
  proposeCmd('set-param', 'change a chain parameter')
    .requiredOption('--name <name>', `one of ${PARAM_NAMES.join(', ')}`)
    .requiredOption('--value <n>', 'the new value (an integer)', parseParamValue)
    .action(async (flags: ProposeFlags & { name: string; value: number }) => {
      if (!(PARAM_NAMES as string[]).includes(flags.name)) {
        throw new CliError(
          `--name: unknown parameter '${flags.name}'; expected one of ${PARAM_NAMES.join(', ')}`,
        );
      }
      await propose(flags, { type: 'param.set', name: flags.name, value: flags.value });
    });

  sendOptions(gov.command('vote').description('vote on an open proposal (one vote per member)'))
    .argument('<id>', 'the proposal id', intOption(1, Number.MAX_SAFE_INTEGER))
    .argument('<vote>', 'yes or no')
    .action(async (id: number, vote: string, flags: SendFlags) => {
      const v = vote.toLowerCase();
      if (v !== 'yes' && v !== 'no') throw new CliError(`<vote>: expected yes or no, got '${vote}'`);
      await sendAndReport(
        flags,
        { kind: 'gov.vote', body: { proposalId: id, approve: v === 'yes' } },
        proposalRows,
      );
    });

  rpcOptions(gov.command('list').description('list proposals, newest first'))
    .option('--status <status>', `only proposals in this status: ${PROPOSAL_STATUSES.join(', ')}`)
    .action(async (flags: RpcFlags & { status?: string }) => {
      if (flags.status !== undefined && !(PROPOSAL_STATUSES as readonly string[]).includes(flags.status)) {
        throw new CliError(
          `--status: expected one of ${PROPOSAL_STATUSES.join(', ')}, got '${flags.status}'`,
        );
      }
      const client = new SynodClient(flags.rpc);
      const list = await rpc('gov list', () =>
        client.getProposals(flags.status as ProposalJson['status'] | undefined),
      );
      if (flags.json) printJson(list);
      else printProposalList(list);
    });

  rpcOptions(gov.command('show').description('show one proposal with its votes'))
    .argument('<id>', 'the proposal id', intOption(0, Number.MAX_SAFE_INTEGER))
    .action(async (id: number, flags: RpcFlags) => {
      const client = new SynodClient(flags.rpc);
      const p = await rpc('gov show', () => client.getProposal(id));
      if (!p) throw new CliError(`no proposal ${id}`, 'NOT_FOUND');
      if (flags.json) printJson(p);
      else printTable(proposalTable(p));
    });
}
