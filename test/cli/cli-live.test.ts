/**
 * The `synod` CLI as child processes against a live 4-validator devnet: send, wait, query,
 * verify, govern, follow blocks; JSON for scripts; exit codes 0 (done), 1 (refused, failed,
 * absent, unreachable) and 2 (usage).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { readPublicKeyFile, writeKeyFile } from '../../node/keyfile.js';
import { Cluster } from '../e2e/cluster.js';
import { type Result, runSynod } from './run-synod.js';

// Two validators (two members) keep the machine free for the CLI processes under test.
const cluster = new Cluster({ basePort: 27_400, validators: 2 });
let rpc: string;
const key = (i: number) => join(cluster.dir, 'keys', `member-${i}.json`);
const addressOf = async (file: string) => toHex((await readPublicKeyFile(file)).address);

/** Runs `synod ARGS` in the cluster's folder. */
function synod(...args: string[]): Promise<Result> {
  return runSynod(args, cluster.dir, ['SYNOD_RPC']);
}

function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: a stack trace was printed`);
  return r;
}

// biome-ignore lint/suspicious/noExplicitAny: parsed CLI JSON under test
function json(r: Result, what: string): any {
  ok(r, what);
  return JSON.parse(r.stdout);
}

describe('synod CLI against a live devnet', { timeout: 180_000 }, () => {
  before(async () => {
    await cluster.start();
    rpc = cluster.node(0).rpcUrl;
  });
  after(async () => {
    await cluster.close();
  });

  test('usage errors exit 2; an unreachable node or an absent object exits 1', async () => {
    const [noKey, unreachable, noBlock] = await Promise.all([
      synod('tx', 'transfer', '--rpc', rpc, '--to', `0x${'11'.repeat(20)}`, '--amount', '1'),
      synod('query', 'info', '--rpc', 'http://127.0.0.1:1/rpc'),
      synod('query', 'block', '999999999', '--rpc', rpc),
    ]);
    assert.equal(noKey.code, 2, noKey.stderr);
    assert.match(noKey.stderr, /--key/);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach/);
    assert.equal(noBlock.code, 1);
    assert.match(noBlock.stderr, /no block/);
  });

  test('send, wait and query: put, transfer, tx, data --verify, account, block --verify', async () => {
    const me = await addressOf(key(0));
    const to = await addressOf(key(1));
    const put = json(
      await synod(
        'tx',
        'put',
        '--rpc',
        rpc,
        '--key',
        key(0),
        '--data-key',
        'greeting',
        '--value',
        'hello',
        '--wait',
        '--json',
      ),
      'tx put',
    );
    assert.equal(put.receipt.ok, true);
    const transfer = ok(
      await synod('tx', 'transfer', '--rpc', rpc, '--key', key(0), '--to', to, '--amount', '5', '--wait'),
      'tx transfer',
    );
    assert.match(transfer.stdout, /status\s+ok/);

    const [tx, data, account, block] = await Promise.all([
      synod('query', 'tx', put.hash, '--rpc', rpc, '--json'),
      synod('query', 'data', me, 'greeting', '--verify', '--rpc', rpc, '--json'),
      synod('query', 'account', '--key', key(0), '--txs', '5', '--rpc', rpc, '--json'),
      synod('query', 'block', 'latest', '--verify', '--rpc', rpc),
    ]);
    assert.equal(json(tx, 'query tx').height, put.height);
    const d = json(data, 'query data --verify');
    assert.equal(d.value, '0x68656c6c6f');
    assert.equal(d.verified, true);
    const a = json(account, 'query account');
    assert.equal(a.member, 'member-0');
    assert.ok(a.txs.some((t: { hash: string }) => t.hash === put.hash));
    assert.match(ok(block, 'query block --verify').stdout, /certificate valid/);
  });

  test('identity register, then governance: propose, vote, show, list', async () => {
    const newKey = join(cluster.dir, 'client.json');
    await writeKeyFile(newKey, generateKeyPair().secretKey);
    const reg = json(
      await synod(
        'identity',
        'register',
        '--rpc',
        rpc,
        '--key',
        key(0),
        '--account-key',
        newKey,
        '--roles',
        'data',
        '--wait',
        '--json',
      ),
      'identity register',
    );
    assert.equal(reg.receipt.ok, true);

    const prop = json(
      await synod(
        'gov',
        'propose',
        'set-param',
        '--name',
        'blockTxsMax',
        '--value',
        '4000',
        '--rpc',
        rpc,
        '--key',
        key(0),
        '--wait',
        '--json',
      ),
      'gov propose',
    );
    const id = Number(prop.receipt.result.proposalId);
    assert.ok(id >= 1);
    // Two members: the proposer's yes and this one pass it (2 of 2 > 2/3).
    const vote = ok(
      await synod(
        'gov',
        'vote',
        String(id),
        'yes',
        '--rpc',
        cluster.node(1).rpcUrl,
        '--key',
        key(1),
        '--wait',
      ),
      'gov vote',
    );
    assert.match(vote.stdout, /proposal status\s+executed/);
    const [shown, table, late] = await Promise.all([
      synod('gov', 'show', String(id), '--rpc', rpc, '--json'),
      synod('gov', 'list', '--rpc', rpc),
      synod('gov', 'vote', String(id), 'no', '--rpc', rpc, '--key', key(1), '--wait'),
    ]);
    const p = json(shown, 'gov show');
    assert.deepEqual([p.status, p.yes, p.no], ['executed', 2, 0]);
    assert.match(ok(table, 'gov list').stdout, /executed\s+2\/0\s+set blockTxsMax = 4000/);
    // The late vote commits with a failure receipt: printed, and exit 1.
    assert.equal(late.code, 1, late.stderr);
    assert.match(late.stdout, /failed: /);
    assert.match(late.stderr, /committed but failed/);
  });

  test('query blocks follows over WebSocket; validators and members', async () => {
    const [follow, validators, members] = await Promise.all([
      synod('query', 'blocks', '--follow', '--from', '1', '--count', '3', '--json', '--rpc', rpc),
      synod('query', 'validators', '--height', '1', '--rpc', rpc, '--json'),
      synod('query', 'members', '--rpc', rpc),
    ]);
    const heights = ok(follow, 'query blocks --follow')
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l).height);
    assert.deepEqual(heights, [1, 2, 3]);
    assert.equal(json(validators, 'query validators').validators.length, 2);
    assert.match(ok(members, 'query members').stdout, /member-1\s+active/);
  });
});
