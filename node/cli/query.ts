/**
 * `synod query`: read the chain over JSON-RPC. Tables by default, `--json` for scripts.
 *
 *   synod query info | status
 *   synod query block <height|hash|latest> [--full] [--verify]
 *   synod query blocks [--limit N] [--before H]
 *   synod query blocks --follow [--from H] [--count N]      (WebSocket; resumes after drops)
 *   synod query tx <hash> [--wait] [--timeout MS]
 *   synod query account <address> | --key FILE [--txs N]
 *   synod query data <address> <key> [--verify]
 *   synod query validators [--height H]
 *   synod query members [--height H]
 *
 * Exit code 0 with an answer, 1 when the object is absent (block, tx, account), the node is
 * unreachable or refuses, or a verification fails; 2 for usage errors.
 */
import type { Command } from 'commander';
import { toHex } from '../../crypto/hash.js';
import {
  type BlockResult,
  type HeaderJson,
  SynodClient,
  type TxJson,
  type TxRecord,
  validatorsHashHex,
} from '../../rpc/client.js';
import { readPublicKeyFile } from '../keyfile.js';
import { CliError } from './errors.js';
import { printJson, printTable } from './format.js';
import { intOption } from './options.js';
import { parseAddress, type RpcFlags, receiptText, rpc, rpcOptions, withSpinner } from './tx.js';

const client = (flags: RpcFlags) => new SynodClient(flags.rpc);

/** Prints rows of cells as aligned columns under a header line. */
function printColumns(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [head, ...rows]) {
    process.stdout.write(
      `${r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
}

function short(hex: string): string {
  return hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** A value as text when it is printable UTF-8, else as hex. */
export function valueText(hex: string): string {
  const bytes = Buffer.from(hex.slice(2), 'hex');
  const text = bytes.toString('utf8');
  // Text only when it round-trips as UTF-8 and has no control characters but tab/newline.
  const printable =
    Buffer.from(text, 'utf8').equals(bytes) &&
    [...text].every((ch) => {
      const c = ch.codePointAt(0) as number;
      return c === 9 || c === 10 || (c >= 32 && c !== 127);
    });
  return printable ? JSON.stringify(text) : hex;
}

function headerRows(h: HeaderJson): [string, string][] {
  return [
    ['height', String(h.height)],
    ['hash', h.hash],
    ['time', h.time],
    ['view', String(h.view)],
    ['proposer', h.proposer],
    ['parent', h.parentHash],
    ['state root', h.stateRoot],
    ['tx root', h.txRoot],
    ['receipts root', h.receiptsRoot],
    ['validators hash', h.validatorsHash],
    ['next validators', h.nextValidatorsHash],
  ];
}

function txBodyText(tx: TxJson): string {
  const b = tx.body as Record<string, unknown>;
  switch (tx.kind) {
    case 'asset.transfer':
      return `${b.amount} to ${b.to}${b.memo ? ` (${JSON.stringify(b.memo)})` : ''}`;
    case 'data.put':
      return `${JSON.stringify(b.key)} = ${valueText(String(b.value))}`;
    case 'identity.register':
      return `key ${b.publicKey} roles ${(b.roles as string[]).join(',')}`;
    case 'identity.revoke':
      return `account ${b.address}`;
    case 'gov.propose':
      return `${JSON.stringify(b.title)} ${JSON.stringify(b.action)}`;
    case 'gov.vote':
      return `proposal ${b.proposalId}: ${b.approve ? 'yes' : 'no'}`;
    default:
      return JSON.stringify(b);
  }
}

async function blockRef(client: SynodClient, ref: string): Promise<{ height: number } | { hash: string }> {
  if (ref === 'latest') return { height: (await client.getInfo()).height };
  if (/^[0-9]+$/.test(ref) && Number.isSafeInteger(Number(ref))) return { height: Number(ref) };
  if (/^0x[0-9a-fA-F]{64}$/.test(ref)) return { hash: ref.toLowerCase() };
  throw new CliError(`<block>: expected a height, a 0x block hash or 'latest', got '${ref}'`);
}

function printBlock(b: BlockResult, verified: string | undefined): void {
  printTable([
    ...headerRows(b.header),
    ['txs', String(b.txCount)],
    [
      'certificate',
      b.cert ? `round ${b.cert.round}, ${b.cert.signatures.length} signatures` : 'none (genesis)',
    ],
    ...(verified === undefined ? [] : ([['verified', verified]] as [string, string][])),
  ]);
  if (b.txs.length === 0) return;
  process.stdout.write('\n');
  if (typeof b.txs[0] === 'string') {
    printColumns(
      ['#', 'TX HASH'],
      (b.txs as string[]).map((h, i) => [String(i), h]),
    );
    return;
  }
  printColumns(
    ['#', 'HASH', 'KIND', 'FROM', 'NONCE', 'RESULT', 'BODY'],
    (b.txs as (TxJson & { receipt: TxRecord['receipt'] | null })[]).map((t, i) => [
      String(i),
      short(t.hash),
      t.kind,
      short(t.from),
      String(t.nonce),
      t.receipt ? (t.receipt.ok ? 'ok' : `failed ${t.receipt.code ?? ''}`) : '?',
      txBodyText(t),
    ]),
  );
}

function headerLine(h: HeaderJson): string[] {
  return [String(h.height), h.time, String(h.view), short(h.proposer), h.hash];
}
const HEADER_COLUMNS = ['HEIGHT', 'TIME', 'VIEW', 'PROPOSER', 'HASH'];
/** Fixed widths for streamed rows, which cannot be measured in advance. */
const FOLLOW_WIDTHS = [8, 24, 4, 17];

function followLine(cells: string[]): string {
  return cells.map((c, i) => (i < FOLLOW_WIDTHS.length ? c.padEnd(FOLLOW_WIDTHS[i]!) : c)).join('  ');
}

/** Streams blocks over WebSocket until `count` were printed or SIGINT; resumes after drops. */
async function follow(flags: RpcFlags & { from?: number; count?: number }): Promise<void> {
  const socket = client(flags).socket({
    onStatus: (e) => {
      if (flags.json) return;
      if (e.type === 'reconnecting')
        process.stderr.write(`connection lost; reconnecting (attempt ${e.attempt}, in ${e.delayMs} ms)\n`);
      else if (e.type === 'open' && e.reconnect) process.stderr.write('reconnected; resuming\n');
    },
  });
  let seen = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onSignal = () => done();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (!flags.json) process.stdout.write(`${followLine(HEADER_COLUMNS)}\n`);
  try {
    await rpc('subscribe', () =>
      socket.subscribeBlocks({
        ...(flags.from === undefined ? {} : { fromHeight: flags.from }),
        onBlock: (h) => {
          if (flags.count !== undefined && seen >= flags.count) return;
          seen++;
          if (flags.json) process.stdout.write(`${JSON.stringify(h)}\n`);
          else process.stdout.write(`${followLine(headerLine(h))}\n`);
          if (flags.count !== undefined && seen >= flags.count) done();
        },
      }),
    );
    await finished;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await socket.close();
  }
}

export function registerQuery(program: Command): void {
  const query = program
    .command('query')
    .description('read the chain: blocks, transactions, accounts, data, governance');

  rpcOptions(
    query.command('info').description('chain id, height, latest block, validator count, f and quorum'),
  ).action(async (flags: RpcFlags) => {
    const info = await rpc('query info', () => client(flags).getInfo());
    if (flags.json) return printJson(info);
    printTable([
      ['chain id', info.chainId],
      ['genesis hash', info.genesisHash],
      ['height', String(info.height)],
      ['latest hash', info.latestHash],
      ['latest time', info.latestTime],
      ['validators', `${info.validators} (tolerates f = ${info.f}, quorum ${info.quorum})`],
    ]);
  });

  rpcOptions(query.command('status').description("the node's role, height, peers and sync state")).action(
    async (flags: RpcFlags) => {
      const s = await rpc('query status', () => client(flags).getStatus());
      if (flags.json) return printJson(s);
      printTable([
        ['node id', s.nodeId],
        ['address', s.address],
        ['role', s.role],
        ['version', s.version],
        ['chain id', s.chainId],
        ['height', String(s.height)],
        ['view', String(s.view ?? s.round ?? '')],
        ['syncing', s.syncing ? 'yes' : 'no'],
        ['peers', String(s.peers.length)],
      ]);
    },
  );

  rpcOptions(query.command('block').description('one block: header, transactions, commit certificate'))
    .argument('<block>', "a height, a 0x block hash, or 'latest'")
    .option('--full', 'show whole transactions with their receipts')
    .option('--verify', 'check the commit certificate against the validator set of that height')
    .action(async (ref: string, flags: RpcFlags & { full?: boolean; verify?: boolean }) => {
      const c = client(flags);
      const where = await rpc('query block', () => blockRef(c, ref));
      const block = await rpc('query block', () => c.getBlock(where, flags.full === true));
      if (!block) throw new CliError(`no block ${ref}`, 'NOT_FOUND');
      let verified: string | undefined;
      if (flags.verify) {
        if (!block.cert) throw new CliError('block 0 has no certificate: genesis is trusted by its hash');
        const v = await rpc('query block --verify', () => c.getVerifiedBlock(block.header.height));
        verified = `certificate valid: ${v.cert?.signatures.length} signatures for ${toHex(v.verified.hash)}`;
      }
      if (flags.json) return printJson(verified === undefined ? block : { ...block, verified: true });
      printBlock(block, verified);
    });

  rpcOptions(query.command('blocks').description('recent block headers, newest first; or follow new ones'))
    .option('--limit <n>', 'headers per page (1..100)', intOption(1, 100), 20)
    .option(
      '--before <height>',
      'only heights below this (the `next` of the previous page)',
      intOption(0, Number.MAX_SAFE_INTEGER),
    )
    .option('--follow', 'stream blocks as they are committed (WebSocket), until Ctrl-C or --count')
    .option(
      '--from <height>',
      'with --follow: start here (older blocks are back-filled)',
      intOption(0, Number.MAX_SAFE_INTEGER),
    )
    .option(
      '--count <n>',
      'with --follow: stop after this many blocks',
      intOption(1, Number.MAX_SAFE_INTEGER),
    )
    .action(
      async (
        flags: RpcFlags & { limit: number; before?: number; follow?: boolean; from?: number; count?: number },
      ) => {
        if (flags.follow) return follow(flags);
        if (flags.from !== undefined || flags.count !== undefined)
          throw new CliError('--from and --count go with --follow');
        const page = await rpc('query blocks', () => client(flags).getBlocks(flags.limit, flags.before));
        if (flags.json) return printJson(page);
        printColumns(HEADER_COLUMNS, page.blocks.map(headerLine));
        if (page.next !== null) process.stdout.write(`(older: --before ${page.next})\n`);
      },
    );

  rpcOptions(query.command('tx').description('a committed transaction with its receipt'))
    .argument('<hash>', 'the transaction hash (0x + 64 hex)')
    .option('--wait', 'wait until it is committed')
    .option('--timeout <ms>', 'how long --wait waits (ms)', intOption(1, 3_600_000), 30_000)
    .action(async (hash: string, flags: RpcFlags & { wait?: boolean; timeout: number }) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(hash))
        throw new CliError(`<hash>: expected 0x + 64 hex digits, got '${hash}'`);
      const c = client(flags);
      const tx = await rpc('query tx', () =>
        flags.wait
          ? withSpinner('waiting for the commit', c.waitForTx(hash, { timeoutMs: flags.timeout }))
          : c.getTx(hash),
      );
      if (!tx)
        throw new CliError(
          `no committed transaction ${hash} (pending or unknown; --wait waits)`,
          'NOT_FOUND',
        );
      if (flags.json) printJson(tx);
      else
        printTable([
          ['hash', tx.hash],
          ['height', String(tx.height)],
          ['index', String(tx.index)],
          ['kind', tx.kind],
          ['from', tx.from],
          ['nonce', String(tx.nonce)],
          ['body', txBodyText(tx)],
          ['status', receiptText(tx)],
          ...Object.entries(tx.receipt.result ?? {}).map(([k, v]): [string, string] => [`  ${k}`, String(v)]),
        ]);
      if (!tx.receipt.ok) throw new CliError(`the transaction failed: ${receiptText(tx)}`, 'TX_FAILED');
    });

  rpcOptions(query.command('account').description('balance, nonce, member, roles and status of an account'))
    .argument('[address]', 'the account address (or --key)')
    .option('--key <file>', 'a key file: the account of its key (only the public half is read)')
    .option('--txs <n>', 'also list its latest n transactions', intOption(1, 100))
    .action(async (address: string | undefined, flags: RpcFlags & { key?: string; txs?: number }) => {
      if ((address === undefined) === (flags.key === undefined))
        throw new CliError('give an address or --key FILE (one of them)');
      const addr =
        address !== undefined
          ? toHex(parseAddress(address, '<address>'))
          : toHex((await readPublicKeyFile(flags.key as string)).address);
      const c = client(flags);
      const account = await rpc('query account', () => c.getAccount(addr));
      if (!account)
        throw new CliError(`no account ${addr} (accounts are registered by their member)`, 'NOT_FOUND');
      const txs =
        flags.txs === undefined
          ? undefined
          : await rpc('query account', () => c.getAccountTxs(addr, { limit: flags.txs }));
      if (flags.json)
        return printJson(txs === undefined ? account : { ...account, txs: txs.txs, next: txs.next });
      printTable([
        ['address', account.address],
        ['public key', account.publicKey],
        ['member', account.member],
        ['roles', account.roles.join(', ')],
        ['status', account.status],
        ['balance', account.balance],
        ['next nonce', String(account.nonce)],
      ]);
      if (txs) {
        process.stdout.write('\n');
        printColumns(
          ['HEIGHT', 'INDEX', 'TX HASH'],
          txs.txs.map((t) => [String(t.height), String(t.index), t.hash]),
        );
      }
    });

  rpcOptions(query.command('data').description("a value in an account's data namespace"))
    .argument('<address>', 'the owner address')
    .argument('<key>', 'the key')
    .option('--verify', 'ask for a Merkle proof and check it against a certified header')
    .action(async (address: string, key: string, flags: RpcFlags & { verify?: boolean }) => {
      const addr = toHex(parseAddress(address, '<address>'));
      const c = client(flags);
      if (flags.verify) {
        const v = await rpc('query data --verify', () => c.getVerifiedData(addr, key));
        const value = v.value === null ? null : toHex(v.value);
        if (flags.json)
          return printJson({
            address: addr,
            key,
            value,
            verified: true,
            height: v.height,
            blockHash: v.blockHash,
            stateRoot: v.stateRoot,
          });
        printTable([
          ['address', addr],
          ['key', key],
          ['value', value === null ? '(none)' : valueText(value)],
          [
            'verified',
            `proof checked against block ${v.height} (${v.blockHash}), certified by its validators`,
          ],
        ]);
        return;
      }
      const d = await rpc('query data', () => c.getData(addr, key));
      if (flags.json) return printJson(d);
      printTable([
        ['address', addr],
        ['key', key],
        ['value', d?.value == null ? '(none)' : valueText(d.value)],
        ['height', String(d?.height ?? '')],
      ]);
    });

  rpcOptions(
    query.command('validators').description('the validator set of a height (default: of the next block)'),
  )
    .option('--height <h>', 'the height whose certifying set to show', intOption(0, Number.MAX_SAFE_INTEGER))
    .action(async (flags: RpcFlags & { height?: number }) => {
      const set = await rpc('query validators', () => client(flags).getValidators(flags.height));
      if (set === null) throw new CliError(`no validator set for height ${flags.height} yet`, 'NOT_FOUND');
      if (flags.json) return printJson(set);
      process.stdout.write(
        `validators of height ${set.height}: ${set.validators.length} (f = ${set.f}, quorum ${set.quorum}), hash ${set.validatorsHash ?? validatorsHashHex(set.validators)}\n\n`,
      );
      printColumns(
        ['ADDRESS', 'MEMBER', 'P2P'],
        set.validators.map((v) => [v.address, v.member, v.p2p.join(' ')]),
      );
    });

  rpcOptions(query.command('members').description('the member registry (default: latest)'))
    .option('--height <h>', 'the registry after this block', intOption(0, Number.MAX_SAFE_INTEGER))
    .action(async (flags: RpcFlags & { height?: number }) => {
      const reg = await rpc('query members', () => client(flags).getMembers(flags.height));
      if (reg === null) throw new CliError(`no registry for height ${flags.height} yet`, 'NOT_FOUND');
      if (flags.json) return printJson(reg);
      process.stdout.write(`members after block ${reg.height}: ${reg.members.length}\n\n`);
      printColumns(
        ['ID', 'STATUS', 'NAME'],
        reg.members.map((m) => [m.id, m.status, m.name]),
      );
    });
}
