/**
 * Governance end to end on real processes: 4 validators of 4 members change who belongs by
 * signed votes while the chain runs, with no restart and no file edit on the running nodes.
 *
 * In order, on one network: a proposal that will not reach the threshold is opened (it must
 * expire with no effect); a 5th member is admitted; its admin registers an account that
 * transacts, and its node's key as a node identity; that node starts from the genesis file and
 * one peer address, syncs as a follower, is voted in as the 5th validator and signs
 * certificates; validator 1 is voted out (commits go on, its connections are dropped, its
 * signature never appears again); member 1 is voted out (its accounts are refused); an account
 * rotates its key. At the end every node holds the same blocks (the removed one a prefix) and
 * the header chain verifies from genesis through every set change, by the SDK and by
 * `synod verify`. How long each change took to take effect is printed as `# figure` lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, Signer } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { loadGenesisFile } from '../../genesis/genesis.js';
import { Wallet } from '../../ledger/tx-builder.js';
import type { GovAction, SignedTransaction } from '../../ledger/types.js';
import { type DevnetNode, startNodeProcess, waitForHealth } from '../../node/devnet.js';
import { readKeyFile, writeKeyFile } from '../../node/keyfile.js';
import { peerIdFromPublicKey } from '../../node/p2p/index.js';
import { RpcCallError, SynodClient } from '../../rpc/client.js';
import { verifyChain } from '../../rpc/verify-chain.js';
import { Cluster, FAST_PARAMS, sleep } from './cluster.js';

const BASE_PORT = 28_600;
/** Short enough that the proposal left without votes expires during the run. */
const TTL_BLOCKS = 12;
const cluster = new Cluster({
  basePort: BASE_PORT,
  params: { ...FAST_PARAMS, proposalTtlBlocks: TTL_BLOCKS },
});
const CLI_MAIN = new URL('../../node/cli/main.ts', import.meta.url).pathname;

/** The joining organisation: its admin, a client account, its node's key (a validator key). */
const admin4 = new Signer(generateKeyPair().secretKey);
const client4 = new Signer(generateKeyPair().secretKey);
const client4b = new Signer(generateKeyPair().secretKey);
const node4Key = generateKeyPair();
const node4Signer = new Signer(node4Key.secretKey);
const node4: DevnetNode = {
  index: 4,
  home: '',
  httpPort: BASE_PORT + 4,
  p2pPort: BASE_PORT + 104,
  rpcUrl: `http://127.0.0.1:${BASE_PORT + 4}/rpc`,
};
const node4Client = new SynodClient(node4.rpcUrl, { timeoutMs: 10_000 });

let chainId = '';
const wallets = new Map<string, Wallet>();
const figures: string[] = [];

function figure(line: string): void {
  figures.push(line);
  console.log(`# figure: ${line}`);
}

async function wallet(label: string, signer?: Signer): Promise<Wallet> {
  let w = wallets.get(label);
  if (!w) {
    const s = signer ?? new Signer((await readKeyFile(join(cluster.dir, 'keys', `${label}.json`))).secretKey);
    w = new Wallet(s, chainId, await cluster.clients[0]!.nextNonce(s.address));
    wallets.set(label, w);
  }
  return w;
}

async function validatorKey(i: number): Promise<Signer> {
  return new Signer((await readKeyFile(join(cluster.dir, 'keys', `validator-${i}.json`))).secretKey);
}

/** Submits and waits for the commit; asserts success unless `expectCode` is given. */
async function commit(tx: SignedTransaction, via = 0, expectCode?: string) {
  const r = await cluster.clients[via]!.submitTxAndWait(tx, 30_000);
  const receipt = r.receipt as {
    ok: boolean;
    code?: string;
    message?: string;
    result?: Record<string, unknown>;
  };
  if (expectCode) assert.equal(receipt.code, expectCode, JSON.stringify(receipt));
  else assert.equal(receipt.ok, true, JSON.stringify(receipt));
  // The answering node may be a block ahead of the others: let the nodes that stay
  // validators throughout (0, 2, 3) catch up, so the next step reads what this one wrote.
  const height = Number(r.height);
  await Promise.all([0, 2, 3].map((i) => cluster.waitForHeight(i, height, 15_000)));
  return { height, result: receipt.result ?? {} };
}

interface Passed {
  id: number;
  /** Height of the block that executed it. */
  height: number;
  /** Milliseconds from submitting the deciding votes to their commit. */
  ms: number;
  /** When the deciding block committed (Date.now()). */
  at: number;
}

/** Proposes `action` as member 0's admin and has `voters` vote yes (concurrently). */
async function pass(action: GovAction, title: string, voters: string[]): Promise<Passed> {
  const w0 = await wallet('member-0');
  const proposed = await commit(w0.propose(action, title));
  const id = Number(proposed.result.proposalId);
  const signed = await Promise.all(voters.map(async (v) => (await wallet(v)).vote(id, true)));
  const started = Date.now();
  // Spread over the nodes that stay validators throughout.
  const receipts = await Promise.all(signed.map((tx, i) => commit(tx, [0, 2, 3][i % 3])));
  const at = Date.now();
  const executed = receipts.find((r) => r.result.status === 'executed');
  assert.ok(executed, `proposal ${id} executed: ${JSON.stringify(receipts)}`);
  return { id, height: executed.height, ms: at - started, at };
}

/** Polls `f` every 100 ms until it returns a value other than undefined, for at most `ms`. */
async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** Signer addresses (0x-hex) of the certificate of block `height` as node `client` stores it. */
async function certSigners(client: SynodClient, height: number): Promise<string[] | undefined> {
  const b = await client.getBlock({ height });
  const cert = b?.cert as { signatures: { validator: string }[] } | null | undefined;
  return cert ? cert.signatures.map((s) => s.validator) : undefined;
}

/** Keeps blocks coming (one transfer per call) while a test waits for something. */
async function nudge(): Promise<void> {
  const w0 = await wallet('member-0');
  const to = (await wallet('member-2')).address;
  await cluster.clients[0]!.submitTx(w0.transfer(to, 1n));
}

describe('governance on a live network of separate processes', { timeout: 240_000 }, () => {
  let expiring = 0;

  before(async () => {
    await cluster.start();
    chainId = String((await cluster.clients[0]!.getInfo()).chainId);
  });
  after(async () => {
    node4.process?.kill('SIGKILL');
    await cluster.close();
  });

  test('a proposal no one else votes for is opened (it must expire with no effect)', async () => {
    const w0 = await wallet('member-0');
    const r = await commit(
      w0.propose(
        { type: 'member.add', memberId: 'member-9', name: 'Never', admin: generateKeyPair().publicKey },
        'no',
      ),
    );
    expiring = Number(r.result.proposalId);
    assert.equal(r.result.status, 'open');
  });

  test('a 5th member is admitted by vote; its admin registers an account that transacts', async () => {
    const p = await pass(
      { type: 'member.add', memberId: 'member-4', name: 'Member 4', admin: admin4.publicKey },
      'admit member 4',
      ['member-1', 'member-2'],
    );
    const admin = await cluster.clients[3]!.getAccount(toHex(admin4.address));
    assert.deepEqual([admin?.member, admin?.roles], ['member-4', ['admin']]);
    figure(
      `member.add: executed in block ${p.height}, in force in that block; ${p.ms} ms from the deciding vote`,
    );

    const w4 = await wallet('admin-4', admin4);
    await commit(w4.register(client4.publicKey, ['transfer']));
    const w0 = await wallet('member-0');
    await commit(w0.transfer(client4.address, 1_000n));
    const c4 = await wallet('client-4', client4);
    await commit(c4.transfer(w0.address, 10n), 2);
    // Read from the node that answered the commit: another may be a block behind.
    const account = await cluster.clients[2]!.getAccount(toHex(client4.address));
    assert.equal(account?.balance, '990');
    assert.equal(account?.member, 'member-4');
  });

  test('its node, registered as a node identity, starts from genesis and one peer address and follows the chain', async () => {
    const w4 = await wallet('admin-4', admin4);
    const registered = await commit(w4.register(node4Key.publicKey, ['node']));
    const registeredAt = Date.now();
    // Its home: the genesis file, its key as validator-key.json from the start, one peer.
    node4.home = join(cluster.dir, 'node-4');
    await writeKeyFile(join(node4.home, 'validator-key.json'), node4Key.secretKey);
    const n0 = cluster.node(0);
    const pk0 = (await validatorKey(0)).publicKey;
    writeFileSync(
      join(node4.home, 'config.json'),
      JSON.stringify({
        genesisFile: '../genesis.json',
        validatorKeyFile: 'validator-key.json',
        http: { host: '127.0.0.1', port: node4.httpPort },
        p2p: {
          listen: `/ip4/127.0.0.1/tcp/${node4.p2pPort}`,
          peers: [`/ip4/127.0.0.1/tcp/${n0.p2pPort}/p2p/${peerIdFromPublicKey(pk0)}`],
        },
        log: { level: 'debug', pretty: false },
      }),
    );
    startNodeProcess(node4);
    await waitForHealth(node4, 60_000);
    const target = await cluster.height(0);
    await until('node 4 synced', 60_000, async () =>
      Number((await node4Client.getInfo()).height) >= target ? true : undefined,
    );
    const status = await node4Client.getStatus();
    assert.equal(status.isValidator, false, 'not in the set yet: it follows');
    // Every validator admitted it (it dialled them: the ledger holds no address for it).
    const id4 = peerIdFromPublicKey(node4Key.publicKey);
    for (const i of [0, 1, 2, 3]) {
      await until(`validator ${i} connected to node 4`, 20_000, async () =>
        (await cluster.clients[i]!.getStatus()).peers.includes(id4) ? true : undefined,
      );
    }
    figure(
      `node identity: registered in block ${registered.height}; node 4 synced to ${target} and admitted by all 4 validators ${Date.now() - registeredAt} ms later (includes its process start)`,
    );
  });

  test('voted in as the 5th validator, from the next height it signs certificates', async () => {
    const p = await pass(
      {
        type: 'validator.add',
        publicKey: node4Key.publicKey,
        memberId: 'member-4',
        p2p: [`/ip4/127.0.0.1/tcp/${node4.p2pPort}`],
      },
      'admit node 4 as a validator',
      ['member-1', 'member-2', 'admin-4'],
    );
    const info = await cluster.clients[0]!.getInfo();
    assert.deepEqual([info.validators, info.f, info.quorum], [5, 1, 4]);
    const set = await cluster.clients[2]!.getValidators(p.height + 1);
    assert.ok(set?.validators.some((v) => v.address === toHex(node4Signer.address)));
    const before = await cluster.clients[2]!.getValidators(p.height);
    assert.equal(before?.validators.length, 4, 'block h itself was still certified by the old set');
    // Its signature shows up in a certificate (as some node stores it) from height h+1 on.
    const me = toHex(node4Signer.address);
    let h = p.height + 1;
    const found = await until('a certificate signed by node 4', 40_000, async () => {
      for (const c of [node4Client, ...cluster.clients]) {
        const signers = await certSigners(c, h).catch(() => undefined);
        if (signers?.includes(me)) return h;
      }
      if ((await cluster.height(0)) > h) h++;
      else await nudge();
      return undefined;
    });
    assert.ok(found > p.height);
    assert.equal((await node4Client.getStatus()).isValidator, true);
    figure(
      `validator.add: executed in block ${p.height}, set of 5 in force at ${p.height + 1} (1 block; deciding vote committed in ${p.ms} ms); node 4's signature first seen in the certificate of ${found} (${found - p.height} blocks, ${Date.now() - p.at} ms after the deciding commit)`,
    );
  });

  test('validator 1 voted out: commits go on without it, its connections are dropped', async () => {
    const v1 = await validatorKey(1);
    const id1 = peerIdFromPublicKey(v1.publicKey);
    const p = await pass({ type: 'validator.remove', address: v1.address }, 'retire validator 1', [
      'member-2',
      'member-3',
      'admin-4',
    ]);
    const info = await cluster.clients[0]!.getInfo();
    assert.deepEqual([info.validators, info.f, info.quorum], [4, 1, 3]);
    // Every remaining node hangs up on it.
    for (const i of [0, 2, 3]) {
      await until(`validator ${i} dropped validator 1`, 20_000, async () =>
        (await cluster.clients[i]!.getStatus()).peers.includes(id1) ? undefined : true,
      );
    }
    await until('node 4 dropped validator 1', 20_000, async () =>
      (await node4Client.getStatus()).peers.includes(id1) ? undefined : true,
    );
    const droppedMs = Date.now() - p.at;
    // Commits continue, and no certificate after the change carries its signature.
    for (let k = 0; k < 3; k++) await nudge();
    await cluster.waitForHeight(0, p.height + 4, 30_000);
    for (let h = p.height + 1; h <= p.height + 4; h++) {
      const signers = await certSigners(cluster.clients[0]!, h);
      assert.ok(signers && signers.length >= 3, `height ${h} certified by a quorum of 4`);
      assert.ok(!signers.includes(toHex(v1.address)), `height ${h} not signed by the removed validator`);
    }
    // It is refused: nobody sends it blocks any more, so it falls behind.
    const h1 = await cluster.height(1);
    for (let k = 0; k < 3; k++) await nudge();
    await cluster.waitForHeight(0, Math.max(h1, p.height + 4) + 2, 30_000);
    assert.ok(
      (await cluster.height(1)) < (await cluster.height(0)),
      'the removed validator no longer follows',
    );
    figure(
      `validator.remove: executed in block ${p.height}, set of 4 in force at ${p.height + 1} (1 block; deciding vote committed in ${p.ms} ms); connections to it dropped by all ${droppedMs} ms after the deciding commit`,
    );
  });

  test('member 1 voted out: its accounts are refused', async () => {
    const p = await pass({ type: 'member.remove', memberId: 'member-1' }, 'member 1 leaves', [
      'member-2',
      'member-3',
      'admin-4',
    ]);
    const members = await cluster.clients[0]!.getMembers();
    assert.equal(members.members.find((m) => m.id === 'member-1')?.status, 'removed');
    const w1 = await wallet('member-1');
    const w0 = await wallet('member-0');
    await assert.rejects(cluster.clients[0]!.submitTx(w1.transfer(w0.address, 1n)), (err: unknown) => {
      assert.ok(err instanceof RpcCallError);
      assert.match(err.message, /removed/);
      return true;
    });
    w1.nonce--;
    // Payments to it fail too.
    await commit(w0.transfer(w1.address, 1n), 2, 'RECIPIENT_INACTIVE');
    figure(
      `member.remove: executed in block ${p.height} (deciding vote committed in ${p.ms} ms); its accounts refused from the next transaction on`,
    );
  });

  test('an account rotates its key: the new key transacts, the old one is refused', async () => {
    const c4 = await wallet('client-4', client4);
    const r = await commit(c4.rotateKey(client4b.publicKey), 3);
    assert.equal(r.result.address, toHex(client4b.address));
    const moved = await cluster.clients[0]!.getAccount(toHex(client4b.address));
    assert.deepEqual([moved?.balance, moved?.member, moved?.roles], ['990', 'member-4', ['transfer']]);
    const c4b = await wallet('client-4b', client4b);
    await commit(c4b.transfer((await wallet('member-0')).address, 5n));
    await assert.rejects(cluster.clients[0]!.submitTx(c4.transfer(client4b.address, 1n)), RpcCallError);
    figure(`identity.rotate: executed in block ${r.height}; the new key transacted in the next block`);
  });

  test('the proposal left alone expired with no effect', async () => {
    const p = (await cluster.clients[0]!.getProposal(expiring))!;
    await until('the lone proposal expired', 30_000, async () => {
      if ((await cluster.height(0)) >= p.expiresHeight) return true;
      await nudge();
      return undefined;
    });
    const closed = (await cluster.clients[0]!.getProposal(expiring))!;
    assert.equal(closed.status, 'expired');
    assert.equal(closed.closedHeight, p.createdHeight + TTL_BLOCKS);
    const members = await cluster.clients[0]!.getMembers();
    assert.ok(!members.members.some((m) => m.id === 'member-9'));
    figure(
      `expiry: opened in block ${p.createdHeight}, expired at the start of block ${closed.closedHeight} (TTL ${TTL_BLOCKS} blocks)`,
    );
  });

  test('every node holds the same blocks, and the header chain verifies from genesis', async () => {
    const target = await cluster.height(0);
    for (const i of [2, 3]) await cluster.waitForHeight(i, target, 20_000);
    await until('node 4 at the tip', 20_000, async () =>
      Number((await node4Client.getInfo()).height) >= target ? true : undefined,
    );
    await cluster.sameChain([0, 2, 3], target);
    for (let h = 1; h <= target; h++) {
      const b = await node4Client.getBlock({ height: h });
      assert.equal(b?.header.hash, await cluster.hashAt(0, h), `node 4 block ${h}`);
    }
    // The removed validator holds a prefix of the same chain.
    await cluster.sameChain([0, 1], await cluster.height(1));

    const genesis = await loadGenesisFile(join(cluster.dir, 'genesis.json'));
    const r = await verifyChain(node4Client, { genesis, to: target });
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    assert.equal(r.verified, target);
    assert.deepEqual(
      r.setChanges.map((c) => c.validators),
      [5, 4],
    );

    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI_MAIN,
        'verify',
        '--rpc',
        cluster.node(2).rpcUrl,
        '--to',
        String(target),
        '--json',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const out = JSON.parse(cli.stdout) as { ok: boolean; verified: number; setChanges: unknown[] };
    assert.deepEqual([out.ok, out.verified, out.setChanges.length], [true, target, 2]);
    console.log(`# figures:\n#   ${figures.join('\n#   ')}`);
  });
});
