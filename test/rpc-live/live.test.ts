/**
 * The JSON-RPC API and the client SDK against a live 4-validator devnet (separate processes):
 * every method of the docs/architecture.md table, the application error codes, SDK round trips for every
 * transaction kind, the nonce manager under concurrency, subscriptions that resume across
 * disconnects and a node restart, and state proofs that verify (and fail when tampered with).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AccountClient,
  type DataResult,
  type HeaderJson,
  headerFromJson,
  RpcCallError,
  SynodClient,
  type SynodSocket,
  TxTimeoutError,
  VerificationError,
  verifyDataProof,
} from 'synod/client';
import { addressOf, generateKeyPair, Signer } from '../../crypto/ed25519.js';
import { fromHex, toHex } from '../../crypto/hash.js';
import { blockHash, encodeSignedTx } from '../../ledger/codec.js';
import { signTx } from '../../ledger/tx-builder.js';
import { readKeyFile } from '../../node/keyfile.js';
import { Cluster, sleep } from '../e2e/cluster.js';

const cluster = new Cluster({ basePort: 27_100 });
let client: SynodClient;
let chainId: string;
const signers: Signer[] = [];
const members: AccountClient[] = [];
const sockets: SynodSocket[] = [];

/** Raw JSON-RPC over HTTP, for answers the SDK would turn into exceptions. */
async function raw(
  method: string,
  params?: unknown,
): Promise<{ result?: unknown; error?: { code: number; data?: unknown } }> {
  const res = await fetch(cluster.node(0).rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as { result?: unknown; error?: { code: number; data?: unknown } };
}

async function rejectsWith(p: Promise<unknown>, code: number): Promise<RpcCallError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    assert.ok(err instanceof RpcCallError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
  return caught as RpcCallError;
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

const hex = (s: string) => toHex(new TextEncoder().encode(s));

describe('the RPC API and the SDK against a live devnet', { timeout: 180_000 }, () => {
  before(async () => {
    await cluster.start();
    client = new SynodClient(cluster.node(0).rpcUrl, { timeoutMs: 15_000 });
    chainId = await client.chainId();
    for (let i = 0; i < 4; i++) {
      const signer = new Signer((await readKeyFile(join(cluster.dir, 'keys', `member-${i}.json`))).secretKey);
      signers.push(signer);
      members.push(client.account(signer));
    }
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await cluster.close();
  });

  test('every method of the table answers as specified', async () => {
    const put = await members[0]!.put('greeting', 'hello', { wait: true });
    assert.equal(put.receipt.ok, true);

    const info = await client.getInfo();
    assert.equal(info.chainId, chainId);
    assert.match(info.genesisHash, /^0x[0-9a-f]{64}$/);
    assert.ok(info.height >= put.height);
    assert.deepEqual([info.validators, info.f, info.quorum], [4, 1, 3]);

    const status = await client.getStatus();
    assert.equal(status.role, 'validator');
    assert.equal(typeof status.view, 'number');
    assert.equal(status.syncing, false);
    assert.equal(typeof status.version, 'string');
    assert.ok(Array.isArray(status.peers));

    // chain_getTx
    const tx = await client.getTx(put.hash);
    assert.equal(tx?.height, put.height);
    assert.equal(tx?.kind, 'data.put');
    assert.equal(tx?.receipt.ok, true);
    assert.equal(await client.getTx(`0x${'ab'.repeat(32)}`), null);

    // chain_getBlock by height, by hash, full, absent
    const block = await client.getBlock({ height: put.height });
    assert.ok(block);
    assert.ok((block.txs as string[]).includes(put.hash));
    assert.ok((block.cert?.signatures.length ?? 0) >= 3);
    const byHash = await client.getBlock({ hash: block.header.hash });
    assert.equal(byHash?.header.height, put.height);
    const full = await client.getBlock({ height: put.height }, true);
    const fullTxs = (full?.txs ?? []) as { hash: string; receipt: { ok: boolean } }[];
    assert.equal(fullTxs.find((t) => t.hash === put.hash)?.receipt.ok, true);
    assert.equal(await client.getBlock({ height: 1e12 }), null);
    assert.equal(await client.getBlock({ hash: `0x${'cd'.repeat(32)}` }), null);
    assert.equal((await raw('chain_getBlock', { height: 1, hash: block.header.hash })).error?.code, -32602);

    // chain_getBlocks: newest first, default 20, max 100, `before` continues exactly
    const page1 = await client.call<{ blocks: HeaderJson[]; next: number | null }>('chain_getBlocks', {});
    assert.equal(page1.blocks.length, Math.min(20, page1.blocks[0]!.height + 1));
    assert.deepEqual(
      page1.blocks.map((h) => h.height),
      page1.blocks.map((_, i) => page1.blocks[0]!.height - i),
    );
    const small = await client.getBlocks(2);
    assert.equal(small.blocks.length, 2);
    // `next` is the cursor of the next page, null when nothing older exists (tip at 1).
    const oldest = small.blocks[1]!.height;
    assert.equal(small.next, oldest > 0 ? oldest : null);
    if (oldest > 0) {
      const page2 = await client.getBlocks(2, oldest);
      assert.equal(page2.blocks[0]!.height, oldest - 1);
    }
    assert.equal((await raw('chain_getBlocks', { limit: 101 })).error?.code, -32602);
    assert.equal((await raw('chain_getBlocks', { limit: 0 })).error?.code, -32602);
    const last = await client.getBlocks(1, 1);
    assert.deepEqual([last.blocks.map((h) => h.height), last.next], [[0], null]);

    // chain_getAccountTxs: newest first, cursor pages
    await members[0]!.transfer(signers[1]!.address, 1n, { wait: true });
    const txs1 = await client.getAccountTxs(signers[0]!.address, { limit: 1 });
    assert.equal(txs1.txs.length, 1);
    assert.ok(txs1.next);
    const txs2 = await client.getAccountTxs(signers[0]!.address, { limit: 1, before: txs1.next });
    assert.ok(txs2.txs[0]!.height < txs1.txs[0]!.height || txs2.txs[0]!.index < txs1.txs[0]!.index);
    const allTxs = await client.getAccountTxs(signers[0]!.address);
    assert.ok(allTxs.txs.some((t) => t.hash === put.hash));
    assert.equal(
      (await raw('chain_getAccountTxs', { address: toHex(signers[0]!.address), before: 'nope' })).error?.code,
      -32602,
    );

    // state_getAccount, state_getData
    const account = await client.getAccount(signers[0]!.address);
    assert.equal(account?.member, 'member-0');
    assert.deepEqual(account?.roles, ['admin']);
    assert.equal(account?.status, 'active');
    assert.match(String(account?.balance), /^[0-9]+$/);
    assert.equal(await client.getAccount(generateKeyPair().publicKey.slice(0, 20)), null);
    const data = await client.getData(signers[0]!.address, 'greeting');
    assert.equal(data?.value, hex('hello'));
    assert.equal(data?.proof, undefined);
    const proven = await client.getData(signers[0]!.address, 'greeting', true);
    assert.ok(proven?.proof && proven.header && proven.cert);
    assert.equal((await client.getData(signers[0]!.address, 'absent'))?.value, null);

    // gov_getMembers / gov_getValidators, latest and by height
    assert.equal((await client.getMembers()).members.length, 4);
    assert.equal((await client.getMembers(0))?.members.length, 4);
    const vset = await client.getValidators();
    assert.equal(vset.validators.length, 4);
    assert.ok(vset.height >= info.height + 1);
    const v1 = await client.getValidators(1);
    assert.equal(v1?.validatorsHash, (await client.getBlock({ height: 1 }))?.header.validatorsHash);
    assert.equal(await client.getValidators(1e12), null);

    // gov_getProposals / gov_getProposal
    assert.ok(Array.isArray(await client.getProposals()));
    assert.ok(Array.isArray(await client.getProposals('open')));
    assert.equal(await client.getProposal(999_999), null);
    assert.equal((await raw('gov_getProposals', { status: 'bogus' })).error?.code, -32602);

    // A batch: answers in call order, each its own result or error.
    const answers = await client.batch([
      { method: 'chain_getInfo' },
      { method: 'no_such_method' },
      { method: 'chain_getTx', params: { hash: put.hash } },
    ]);
    assert.deepEqual(
      answers.map((a) => (a.ok ? 'ok' : a.error.code)),
      ['ok', -32601, 'ok'],
    );

    // subscribe is WebSocket-only
    assert.equal((await raw('subscribe', { topic: 'newBlocks' })).error?.code, -32601);
  });

  test('refusals carry their application codes and data', async () => {
    const w = signers[2]!;
    const nonce = await client.nextNonce(w.address);
    const body = { kind: 'asset.transfer' as const, body: { to: signers[3]!.address, amount: 1n } };
    const sign = (over: { chainId?: string; nonce?: number }, s: Signer = w) =>
      encodeSignedTx(signTx({ chainId, from: s.address, nonce, ...over, ...body }, s));

    const wrongChain = await rejectsWith(client.submitTx(sign({ chainId: 'other-chain' })), 1006);
    assert.deepEqual(wrongChain.data, { expected: chainId, got: 'other-chain' });
    const forged = signTx({ chainId, from: w.address, nonce, ...body }, w);
    forged.signature = forged.signature.slice();
    forged.signature[5]! ^= 0xff;
    await rejectsWith(client.submitTx(forged), 1001);
    const stranger = new Signer(generateKeyPair().secretKey);
    await rejectsWith(client.submitTx(sign({ nonce: 0 }, stranger)), 1003);
    await rejectsWith(client.submitTx(new Uint8Array([1, 2, 3])), 1008);
    const ok = await client.submitTxAndWait(sign({}));
    assert.equal(ok.receipt.ok, true);
    const reused = signTx(
      { chainId, from: w.address, nonce, kind: 'data.put', body: { key: 'x', value: new Uint8Array([1]) } },
      w,
    );
    const used = await rejectsWith(client.submitTx(reused), 1002);
    assert.equal((used.data as { expected: number }).expected, nonce + 1);
    // The very bytes that committed: ALREADY_KNOWN for tx_submit, the record for tx_submitAndWait.
    await rejectsWith(client.submitTx(sign({})), 1013);
    assert.equal((await client.submitTxAndWait(sign({}))).hash, ok.hash);
    assert.equal((await raw('tx_submit', { tx: '0x123' })).error?.code, -32602);
  });

  test('SDK round trips for every transaction kind', async () => {
    const [m0, m1, m2] = members as [AccountClient, AccountClient, AccountClient];
    const to = toHex(signers[1]!.address);
    const before = BigInt((await client.getAccount(to))!.balance);
    const transfer = await m0.transfer(to, 25n, { wait: true, memo: 'rent' });
    assert.equal(transfer.receipt.ok, true);
    assert.equal((transfer.body as { memo?: string }).memo, 'rent');
    assert.equal(BigInt((await client.getAccount(to))!.balance), before + 25n);

    const put = await m0.put('colour', new Uint8Array([0xca, 0xfe]), { wait: true });
    assert.equal(put.receipt.ok, true);
    assert.equal((await client.getData(signers[0]!.address, 'colour'))?.value, '0xcafe');
    await m0.put('colour', new Uint8Array(), { wait: true });
    assert.equal((await client.getData(signers[0]!.address, 'colour'))?.value, null);

    // identity.register: a fresh key becomes an account of member-0 that can use its roles
    const fresh = new Signer(generateKeyPair().secretKey);
    const reg = await m0.register(fresh.publicKey, ['data'], { wait: true });
    assert.equal(reg.receipt.ok, true, JSON.stringify(reg.receipt));
    const acct = await client.getAccount(fresh.address);
    assert.deepEqual([acct?.member, acct?.roles, acct?.status], ['member-0', ['data'], 'active']);
    const own = await client.account(fresh).put('mine', 'yes', { wait: true });
    assert.equal(own.receipt.ok, true);

    // identity.revoke: the account is refused from then on
    const rev = await m0.revoke(fresh.address, { wait: true });
    assert.equal(rev.receipt.ok, true);
    assert.equal((await client.getAccount(fresh.address))?.status, 'revoked');
    await rejectsWith(client.account(fresh).put('mine', 'no'), 1004);

    // gov.propose + gov.vote: member-0 proposes, members 1 and 2 vote: > 2/3 of 4, executed
    const heightBefore = (await client.getInfo()).height;
    const prop = await m0.propose(
      { type: 'member.add', memberId: 'acme', name: 'Acme', admin: generateKeyPair().publicKey },
      'add acme',
      { wait: true },
    );
    assert.equal(prop.receipt.ok, true, JSON.stringify(prop.receipt));
    const id = Number(prop.receipt.result?.proposalId);
    assert.equal((await client.getProposal(id))?.status, 'open');
    assert.ok((await client.getProposals('open')).some((p) => p.id === id));
    const v1 = await m1.vote(id, true, { wait: true });
    assert.equal(v1.receipt.ok, true);
    const v2 = await m2.vote(id, true, { wait: true });
    assert.equal(v2.receipt.result?.status, 'executed');
    const p = await client.getProposal(id);
    assert.deepEqual([p?.status, p?.yes, p?.no, p?.closedHeight], ['executed', 3, 0, v2.height]);
    assert.ok((await client.getMembers()).members.some((m) => m.id === 'acme'));
    assert.ok(!(await client.getMembers(heightBefore))?.members.some((m) => m.id === 'acme'));
    assert.ok((await client.getMembers(v2.height))?.members.some((m) => m.id === 'acme'));
    // A vote on a closed proposal commits with a failure receipt.
    const late = await members[3]!.vote(id, true, { wait: true });
    assert.equal(late.receipt.ok, false);
  });

  test('the nonce manager lets one account have many transactions in flight', async () => {
    const m3 = members[3]!;
    const start = await client.nextNonce(signers[3]!.address);
    const sent = await Promise.all(Array.from({ length: 40 }, () => m3.transfer(signers[0]!.address, 1n)));
    assert.deepEqual(
      sent.map((s) => s.nonce).sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => start + i),
    );
    const done = await Promise.all(sent.map((s) => client.waitForTx(s.hash, { timeoutMs: 30_000 })));
    assert.ok(done.every((t) => t.receipt.ok));
    assert.equal(await client.nextNonce(signers[3]!.address), start + 40);

    // A second client whose nonce is stale (another sender used it) recovers from BAD_NONCE.
    const other = new SynodClient(cluster.node(1).rpcUrl);
    const stale = other.nonces(signers[3]!.address);
    const n = await stale.acquire();
    stale.release(n);
    await m3.transfer(signers[0]!.address, 1n, { wait: true });
    // Node 1 may commit that block a moment after node 0 answered: wait (bounded) until it has.
    for (let i = 0; i < 100 && (await other.nextNonce(signers[3]!.address)) <= n; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const recovered = await other.send(
      signers[3]!,
      chainId,
      {
        kind: 'data.put',
        body: { key: 'stale', value: new Uint8Array([1]) },
      },
      { wait: true },
    );
    assert.equal(recovered.receipt.ok, true);
    assert.equal(recovered.nonce, n + 1);
  });

  test('a subscriber that disconnects and resumes with fromHeight sees every block exactly once', async () => {
    const opened: boolean[] = [];
    const socket = new SynodClient(cluster.node(1).rpcUrl).socket({
      reconnectMaxMs: 300,
      onStatus: (e) => {
        if (e.type === 'open') opened.push(e.reconnect);
      },
    });
    sockets.push(socket);
    const seen: number[] = [];
    const sub = await socket.subscribeBlocks({ fromHeight: 1, onBlock: (h) => seen.push(h.height) });
    const grows = async (what: string) => {
      const n = seen.length;
      await until(() => seen.length > n + 1, 20_000, what);
    };
    await grows('back-fill and first live blocks');
    socket.reconnect();
    await grows('blocks after a dropped connection');
    socket.reconnect();
    await grows('blocks after a second drop');
    // The node itself goes away and comes back.
    await cluster.stop(1);
    await cluster.restart(1);
    const target = (await cluster.height(0)) + 2;
    await until(() => (sub.lastHeight ?? 0) >= target, 30_000, `block ${target} after the restart`);
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, i) => 1 + i),
      'every height once, in order',
    );
    assert.ok(opened.filter((r) => r).length >= 3, `reconnects: ${opened}`);

    // The tx topic: one committed before subscribing, one after.
    const early = await members[1]!.put('ws', 'early', { wait: true });
    assert.equal((await socket.waitForTx(early.hash, 10_000)).height, early.height);
    const later = await members[1]!.put('ws', 'later');
    const rec = await socket.waitForTx(later.hash, 20_000);
    assert.equal(rec.receipt.ok, true);

    // The governance topic accepts subscribers.
    const gov = await socket.subscribeGovernance(() => {});
    await gov.unsubscribe();
    await sub.unsubscribe();
  });

  test('state proofs verify against a certified header; any tampering fails', async () => {
    const owner = toHex(signers[0]!.address);
    const v = await client.getVerifiedData(owner, 'greeting');
    assert.equal(new TextDecoder().decode(v.value as Uint8Array), 'hello');
    const absent = await client.getVerifiedData(owner, 'never-written');
    assert.equal(absent.value, null);
    const block = await client.getVerifiedBlock(2);
    assert.equal(toHex(block.verified.hash), block.header.hash);

    const answer = (await client.getData(owner, 'greeting', true)) as DataResult;
    const validators = (await client.getValidators(answer.header!.height))!.validators;
    verifyDataProof(owner, 'greeting', answer, validators);

    const fails = (what: string, code: string, a: DataResult, vs = validators, key = 'greeting') =>
      assert.throws(
        () => verifyDataProof(owner, key, a, vs),
        (err: unknown) => err instanceof VerificationError && err.code === code,
        what,
      );
    const clone = (): DataResult => structuredClone(answer);
    const flip = (h: string, at: number) => {
      const b = fromHex(h);
      b[at]! ^= 0x01;
      return toHex(b);
    };

    const proof = clone();
    proof.proof = flip(answer.proof!, fromHex(answer.proof!).length - 5);
    fails('a flipped proof byte', 'bad-proof', proof);
    const value = clone();
    value.value = hex('hellO');
    fails('another value', 'bad-proof', value);
    fails('another key', 'bad-proof', answer, validators, 'greeting2');
    const header = clone();
    header.header!.stateRoot = flip(answer.header!.stateRoot, 0);
    fails('a changed state root', 'bad-header', header);
    header.header!.hash = toHex(blockHash(headerFromJson(header.header!)));
    fails('a changed state root with its hash recomputed', 'bad-certificate', header);
    const sig = clone();
    sig.cert!.signatures[0]!.signature = flip(answer.cert!.signatures[0]!.signature, 3);
    fails('a flipped certificate signature', 'bad-certificate', sig);
    const few = clone();
    few.cert!.signatures = answer.cert!.signatures.slice(0, 2);
    fails('a certificate below quorum', 'bad-certificate', few);
    const noCert = clone();
    noCert.cert = null;
    fails('no certificate', 'bad-certificate', noCert);
    const otherSet = structuredClone(validators);
    const k = generateKeyPair().publicKey;
    otherSet[0] = { ...otherSet[0]!, publicKey: toHex(k), address: toHex(addressOf(k)) };
    fails('a validator set that is not the header', 'validators-mismatch', answer, otherSet);
  });

  test('waitForTx gives up after its time limit with the hash', async () => {
    const hash = `0x${'42'.repeat(32)}`;
    await assert.rejects(client.waitForTx(hash, { timeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof TxTimeoutError);
      assert.equal(err.hash, hash);
      return true;
    });
  });
});
