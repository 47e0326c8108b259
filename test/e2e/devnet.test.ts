/**
 * Multi-process tests: 4 validators as separate OS processes on 127.0.0.1, driven over
 * JSON-RPC, killed with SIGKILL, restarted, wiped. The steps run in order on one network.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, Signer } from '../../crypto/ed25519.js';
import { encode } from '../../crypto/encoding.js';
import { toHex } from '../../crypto/hash.js';
import { encodeSignedTx } from '../../ledger/codec.js';
import { Wallet } from '../../ledger/tx-builder.js';
import { type DevnetNode, startNodeProcess, waitForHealth } from '../../node/devnet.js';
import { readKeyFile, writeKeyFile } from '../../node/keyfile.js';
import { P2PHost, peerIdFromPublicKey } from '../../node/p2p/index.js';
import { SynodClient } from '../../rpc/client.js';
import { Cluster, sleep } from './cluster.js';

const BASE_PORT = 31_600;
const observerKey = generateKeyPair();
const cluster = new Cluster({
  basePort: BASE_PORT,
  // Validators admit this observer's key (it is started later in the run).
  nodeConfig: { p2p: { observers: [toHex(observerKey.publicKey)] } },
});

async function wallet(i: number): Promise<Wallet> {
  const keys = await readKeyFile(join(cluster.dir, 'keys', `member-${i}.json`));
  const signer = new Signer(keys.secretKey);
  const client = cluster.clients[0]!;
  const info = await client.getInfo();
  return new Wallet(signer, String(info.chainId), await client.nextNonce(signer.address));
}

/** Node index of each validator, in proposer order (validators sorted by address). */
async function proposerSchedule(): Promise<number[]> {
  const set = (await cluster.clients[0]!.getValidators()) as { validators: { address: string }[] };
  const sorted = set.validators.map((v) => v.address).sort();
  const statuses = await Promise.all(cluster.clients.map((c) => c.getStatus()));
  return sorted.map((address) => {
    const i = statuses.findIndex((s) => s.address === address);
    assert.ok(i >= 0, `no node has address ${address}`);
    return i;
  });
}

describe('a 4-validator network of separate processes', { timeout: 300_000 }, () => {
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.close();
  });

  test('commits submitted transfers; every node holds the same block at every height', async () => {
    const w0 = await wallet(0);
    // Recipients must be registered accounts (a permissioned ledger): member 1's admin.
    const to = (await wallet(1)).address;
    const before = BigInt(String((await cluster.clients[3]!.getAccount(toHex(to)))?.balance));
    const hashes: string[] = [];
    for (let k = 0; k < 20; k++) {
      const bytes = encodeSignedTx(w0.transfer(to, 5n));
      const { hash } = await cluster.clients[k % 4]!.submitTx(bytes);
      hashes.push(hash);
    }
    const last = await cluster.clients[1]!.submitTxAndWait(encodeSignedTx(w0.transfer(to, 5n)), 30_000);
    assert.equal((last.receipt as { ok: boolean }).ok, true, JSON.stringify(last.receipt));
    // Node 1 answered at commit; the others may be a block behind until they commit it too.
    const height = Number(last.height);
    await Promise.all([0, 1, 2, 3].map((i) => cluster.waitForHeight(i, height, 20_000)));
    for (const h of hashes) {
      const tx = await cluster.clients[2]!.getTx(h);
      assert.ok(tx, `tx ${h} committed`);
    }
    const account = await cluster.clients[3]!.getAccount(toHex(to));
    assert.equal(account?.balance, String(before + 105n));
    await cluster.sameChain([0, 1, 2, 3], height);
    // Quick heights of a few transactions leave the proposal size at the chain's blockTxsMax.
    const metrics = await (await fetch(new URL('/metrics', cluster.node(0).rpcUrl))).text();
    assert.match(metrics, /^synod_proposal_txs_limit 5000$/m);
  });

  test('kill -9 of a non-proposer: the rest keep committing; restarted, it catches up', async () => {
    const h0 = await cluster.height(0);
    const victim = 3;
    await cluster.kill(victim);
    await cluster.waitForHeight(0, h0 + 3, 30_000);
    await cluster.restart(victim);
    const target = await cluster.height(0);
    await cluster.waitForHeight(victim, target, 30_000);
    await cluster.sameChain([0, victim], target);
    const [a, b] = await Promise.all([
      cluster.clients[0]!.getBlock({ height: target }),
      cluster.clients[victim]!.getBlock({ height: target }),
    ]);
    assert.equal(
      (a!.header as { stateRoot: string }).stateRoot,
      (b!.header as { stateRoot: string }).stateRoot,
    );
  });

  test('kill -9 of a proposer: its next turn goes to a round change and commits resume', async () => {
    // proposer(h, 0) = sorted[h mod n]. Kill node `victim`; the first height H after the
    // kill (and after any proposal it may already have sent) where it is the round-0
    // proposer must be decided in a round above 0, by another node.
    const schedule = await proposerSchedule();
    const victim = schedule[0]!;
    const others = [0, 1, 2, 3].filter((i) => i !== victim);
    await cluster.kill(victim);
    const hk = await cluster.height(others[0]!);
    let target = hk + 2;
    while (schedule[target % schedule.length] !== victim) target++;
    const started = Date.now();
    await cluster.waitForHeight(others[0]!, target, 60_000);
    const resumedMs = Date.now() - started;
    const block = await cluster.clients[others[0]!]!.getBlock({ height: target });
    const header = block!.header as { view: number; proposer: string };
    assert.ok(header.view >= 1, `block ${target} was built in round ${header.view}`);
    console.log(
      `# proposer killed at height ${hk}: its turn at height ${target} decided in round ${header.view}, ${resumedMs} ms after the kill`,
    );
    await cluster.restart(victim);
    await cluster.waitForHeight(victim, target, 30_000);
  });

  test('with 2 of 4 stopped nothing commits and nothing forks; one back and commits resume', async () => {
    await cluster.stop(2);
    await cluster.stop(3);
    await sleep(1_500); // let an in-flight height finish
    const stalled = await cluster.height(0);
    await sleep(4_000);
    assert.equal(await cluster.height(0), stalled, 'no block without a quorum');
    assert.equal(await cluster.height(1), stalled);
    await cluster.restart(2);
    await cluster.waitForHeight(0, stalled + 2, 60_000);
    await cluster.waitForHeight(2, stalled + 2, 30_000);
    await cluster.sameChain([0, 1, 2], stalled + 2);
    await cluster.restart(3);
  });

  test('a node whose data folder was wiped re-syncs from its peers and agrees', async () => {
    await cluster.stop(1);
    cluster.wipe(1);
    await cluster.restart(1);
    const target = await cluster.height(0);
    await cluster.waitForHeight(1, target, 60_000);
    await cluster.sameChain([0, 1], target);
  });

  test('an observer syncs the chain and serves chain_getBlock', async () => {
    const home = join(cluster.dir, 'observer');
    await writeKeyFile(join(home, 'node-key.json'), observerKey.secretKey);
    const peers = cluster.nodes.map((n) => {
      const keyFile = JSON.parse(readFileSync(join(n.home, 'validator-key.json'), 'utf8')) as {
        publicKey: string;
      };
      const pk = Uint8Array.from(Buffer.from(keyFile.publicKey.slice(2), 'hex'));
      return `/ip4/127.0.0.1/tcp/${n.p2pPort}/p2p/${peerIdFromPublicKey(pk)}`;
    });
    const httpPort = BASE_PORT + 50;
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({
        genesisFile: '../genesis.json',
        http: { port: httpPort },
        p2p: { listen: `/ip4/127.0.0.1/tcp/${BASE_PORT + 150}`, peers },
        log: { level: 'debug', pretty: false },
      }),
    );
    const observer: DevnetNode = {
      index: 99,
      home,
      httpPort,
      p2pPort: BASE_PORT + 150,
      rpcUrl: `http://127.0.0.1:${httpPort}/rpc`,
    };
    startNodeProcess(observer);
    try {
      await waitForHealth(observer, 60_000);
      const client = new SynodClient(observer.rpcUrl);
      const target = await cluster.height(0);
      const deadline = Date.now() + 60_000;
      while (Number((await client.getInfo()).height) < target && Date.now() < deadline) await sleep(200);
      const status = await client.getStatus();
      assert.equal(status.role, 'observer');
      const block = await client.getBlock({ height: target });
      assert.ok(block, `the observer serves block ${target}`);
      assert.equal((block.header as { hash: string }).hash, await cluster.hashAt(0, target));
    } finally {
      observer.process?.kill('SIGKILL');
    }
  });

  test('a libp2p peer whose key is neither a validator nor an observer is refused', async () => {
    const stranger = generateKeyPair();
    const host = new P2PHost({ secretKey: stranger.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'] });
    await host.start();
    try {
      const n0 = cluster.node(0);
      const keyFile = JSON.parse(readFileSync(join(n0.home, 'validator-key.json'), 'utf8')) as {
        publicKey: string;
      };
      const pk = Uint8Array.from(Buffer.from(keyFile.publicKey.slice(2), 'hex'));
      host.setAllowedPeers([{ publicKey: pk, addrs: [`/ip4/127.0.0.1/tcp/${n0.p2pPort}`] }]);
      await assert.rejects(host.request(pk, encode({ type: 'status' }), { timeoutMs: 5_000 }));
      assert.equal(host.isConnected(pk), false);
    } finally {
      await host.stop();
    }
  });

  test('no node recorded equivocation evidence during all of the above', () => {
    for (const n of cluster.nodes) {
      assert.equal(existsSync(join(n.home, 'data', 'evidence.jsonl')), false, `evidence on ${n.home}`);
    }
  });
});
