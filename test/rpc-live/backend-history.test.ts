/**
 * The node's RPC backend over a real Chain (LevelDB in a temporary folder, blocks built and
 * committed through node/chain.ts, no network): past validator sets and member registries,
 * governance events per block, exact page cursors, and resubmission of committed txs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { verify } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { buildBlock } from '../../ledger/block.js';
import { encodeBlock, encodeSignedTx, validatorsHash } from '../../ledger/codec.js';
import { getAccount, getValidators } from '../../ledger/state.js';
import type { SignedTransaction } from '../../ledger/types.js';
import { Chain } from '../../node/chain.js';
import { Mempool } from '../../node/mempool.js';
import { NodeRpcBackend } from '../../node/rpc-backend.js';
import { RpcError, RpcErrorCode } from '../../rpc/errors.js';
import { fixtureGenesis, key, wallet } from '../ledger/helpers.js';

const silent = pino({ level: 'silent' });
let dir: string;
let chain: Chain;
let backend: NodeRpcBackend;
/** Governance events per height, collected as node.ts would publish them. */
const events = new Map<number, Record<string, unknown>[]>();
const alpha = wallet('alpha-admin');
const beta = wallet('beta-admin');
const gamma = wallet('gamma-admin');
const committed: { height: number; tx: SignedTransaction }[] = [];

function makeBackend(): NodeRpcBackend {
  const mempool = new Mempool({
    chainId: chain.chainId,
    txBytesMax: 65_536,
    txsMax: 1_000,
    bytesMax: 1 << 20,
    futureNoncesMax: 16,
    gappedTtlMs: 30_000,
    verify,
    account: (address) => {
      const a = getAccount(chain.state, address);
      return a ? { nextNonce: a.nonce, canTransact: a.status === 'active' } : undefined;
    },
  });
  return new NodeRpcBackend({
    chain,
    mempool,
    submit: (bytes) => mempool.add(bytes).entry,
    status: () => ({ role: 'validator', round: 2 }),
  });
}

/** Builds the next block from `txs` and commits it as the node does (certificate not checked here). */
async function commit(txs: SignedTransaction[]): Promise<number> {
  const set = getValidators(chain.state);
  const built = buildBlock(chain.state, chain.header, {
    txs,
    proposer: set[(chain.height + 1) % set.length]!.address,
    view: 0,
    timestamp: chain.header.timestamp + 1_000,
  });
  assert.equal(built.block.txs.length, txs.length, built.rejected.map((r) => r.error.message).join('; '));
  chain.remember(built);
  await chain.commit(built.block, built.hash, { round: 0, sigs: [] });
  for (const tx of txs) committed.push({ height: chain.height, tx });
  return chain.height;
}

const deltaVal = key('delta-val');
const heights: Record<string, number> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synod-backend-'));
  chain = await Chain.open(
    join(dir, 'ledger'),
    fixtureGenesis({ params: { proposalTtlBlocks: 3 } }),
    verify,
    silent,
  );
  backend = makeBackend();
  chain.onCommit((c) => {
    backend.onCommitted(c);
    events.set(c.block.header.height, backend.governanceEvents(c));
  });
  // 1: a validator is proposed (alpha's member votes yes by proposing); 2: beta and gamma pass it.
  heights.addValidatorProposed = await commit([
    alpha.propose(
      { type: 'validator.add', publicKey: deltaVal.publicKey, memberId: 'alpha', p2p: [] },
      'add delta-val',
    ),
  ]);
  heights.addValidatorExecuted = await commit([beta.vote(1, true), gamma.vote(1, true)]);
  // 3: a member is proposed; 4: beta votes no, which rejects it (2 of 3 cannot exceed 2/3).
  heights.memberProposed = await commit([
    alpha.propose(
      { type: 'member.add', memberId: 'delta', name: 'Delta', admin: key('delta-admin').publicKey },
      'add delta',
    ),
  ]);
  heights.memberRejected = await commit([beta.vote(2, false)]);
  // 5: a proposal nobody votes on; it expires at the start of block 5 + ttl 3 = 8.
  heights.paramProposed = await commit([
    alpha.propose({ type: 'param.set', name: 'blockTxsMax', value: 100 }, 'p'),
  ]);
  // 6, 7: member delta added for real.
  await commit([
    alpha.propose(
      { type: 'member.add', memberId: 'delta', name: 'Delta', admin: key('delta-admin').publicKey },
      'again',
    ),
  ]);
  heights.memberAdded = await commit([beta.vote(4, true), gamma.vote(4, true)]);
  heights.expired = await commit([]);
  // 9, 10: delta-val removed again, so the latest set equals the genesis set and the 4-validator
  // set of heights 3..10 exists only in history.
  await commit([alpha.propose({ type: 'validator.remove', address: deltaVal.address }, 'remove delta-val')]);
  heights.removeExecuted = await commit([beta.vote(5, true), gamma.vote(5, true)]);
  for (let i = 0; i < 3; i++) await commit([]);
});

after(async () => {
  await chain?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the RPC backend over a real chain', () => {
  test('governance events per block, in order, with closings after the tx that closed them', () => {
    const types = (h: number) => (events.get(h) ?? []).map((e) => `${e.type}:${e.proposalId}`);
    assert.deepEqual(types(heights.addValidatorProposed!), ['proposal.created:1']);
    assert.deepEqual(types(heights.addValidatorExecuted!), [
      'vote.cast:1',
      'vote.cast:1',
      'proposal.executed:1',
    ]);
    assert.deepEqual(types(heights.memberRejected!), ['vote.cast:2', 'proposal.rejected:2']);
    assert.deepEqual(types(heights.expired!), ['proposal.expired:3']);
    const vote = events.get(heights.memberRejected!)![0]!;
    assert.equal(vote.member, 'beta');
    assert.equal(vote.approve, false);
    assert.match(String(vote.txHash), /^0x[0-9a-f]{64}$/);
    const created = events.get(heights.addValidatorProposed!)![0]!;
    assert.equal((created.proposal as { title: string }).title, 'add delta-val');
  });

  test('gov_getValidators serves V(h) for past heights, matching each header, also from replayed history', async () => {
    for (const b of [backend, makeBackend()]) {
      for (let h = 0; h <= chain.height; h++) {
        const header = await chain.store.getHeader(h);
        const set = (await b.getValidators(h)) as {
          height: number;
          validators: unknown[];
          validatorsHash: string;
        };
        assert.equal(set.height, h);
        assert.equal(set.validatorsHash, toHex(header!.validatorsHash), `height ${h}`);
      }
      const mid = (await b.getValidators(heights.addValidatorExecuted! + 1)) as { validators: unknown[] };
      assert.equal(mid.validators.length, 4);
      const next = (await b.getValidators(undefined)) as { height: number; validatorsHash: string };
      assert.equal(next.height, chain.height + 1);
      assert.equal(next.validatorsHash, toHex(validatorsHash(chain.nextValidators)));
      assert.equal(await b.getValidators(chain.height + 2), null);
    }
  });

  test('gov_getMembers rebuilds the registry of a past height', async () => {
    const ids = async (h: number | undefined) =>
      ((await backend.getMembers(h)) as { members: { id: string; status: string }[] }).members.map(
        (m) => m.id,
      );
    assert.deepEqual(await ids(0), ['alpha', 'beta', 'gamma']);
    assert.deepEqual(await ids(heights.memberAdded! - 1), ['alpha', 'beta', 'gamma']);
    assert.deepEqual(await ids(heights.memberAdded!), ['alpha', 'beta', 'delta', 'gamma']);
    assert.deepEqual(await ids(undefined), ['alpha', 'beta', 'delta', 'gamma']);
    assert.equal(await backend.getMembers(chain.height + 1), null);
  });

  test('page cursors are exact: `next` is null exactly when nothing older exists', async () => {
    const tip = chain.height;
    const all = (await backend.getBlocks(undefined, tip + 1)) as {
      blocks: { height: number }[];
      next: unknown;
    };
    assert.equal(all.blocks.length, tip + 1);
    assert.equal(all.next, null);
    const first = (await backend.getBlocks(undefined, tip)) as { blocks: { height: number }[]; next: number };
    assert.deepEqual(
      first.blocks.map((b) => b.height),
      Array.from({ length: tip }, (_, i) => tip - i),
    );
    assert.equal(first.next, 1);
    const rest = (await backend.getBlocks(first.next, tip)) as {
      blocks: { height: number }[];
      next: unknown;
    };
    assert.deepEqual(
      rest.blocks.map((b) => b.height),
      [0],
    );
    assert.equal(rest.next, null);

    const addr = toHex(alpha.address);
    const sent = committed.filter((c) => toHex(c.tx.tx.from) === addr).length;
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const p = (await backend.getAccountTxs(addr, cursor, 2)) as {
        txs: { hash: string }[];
        next: string | null;
      };
      seen.push(...p.txs.map((t) => t.hash));
      if (p.next === null) break;
      cursor = p.next;
    }
    assert.equal(seen.length, sent);
    assert.equal(new Set(seen).size, sent);
  });

  test('a malformed or out-of-range account cursor is INVALID_PARAMS, not an internal error', async () => {
    for (const bad of ['x', '1:99999999999', '99999999999999999:1', '1:2:3']) {
      await assert.rejects(backend.getAccountTxs(toHex(alpha.address), bad, 5), (err: unknown) => {
        assert.ok(err instanceof RpcError, String(err));
        assert.equal(err.code, RpcErrorCode.INVALID_PARAMS);
        return true;
      });
    }
  });

  test('resubmitting a committed tx: tx_submit says ALREADY_KNOWN, tx_submitAndWait answers its record', async () => {
    const { tx, height } = committed[0]!;
    const bytes = encodeSignedTx(tx);
    await assert.rejects(backend.submitTx(bytes), (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, RpcErrorCode.ALREADY_KNOWN);
      return true;
    });
    const rec = await backend.submitTxAndWait(bytes, 1_000, new AbortController().signal);
    assert.equal(rec.height, height);
  });

  test('node_getStatus also names the consensus round "view", as docs/architecture.md does', async () => {
    assert.equal((await backend.getStatus()).view, 2);
  });
  test('chain_getBlock and DECIDED answers come from memory for the newest blocks, exactly as a reopened chain gives them from the store', async () => {
    assert.ok(chain.height >= 9, 'the fixture commits more blocks than memory keeps');
    assert.ok(chain.recentBlock(chain.height), 'the tip is held in memory');
    assert.ok(chain.recentBlock(chain.height - 7), 'the newest 8 are');
    assert.equal(chain.recentBlock(chain.height - 8), undefined, 'older ones come from the store');
    const fromMemory: unknown[] = [];
    for (let h = 0; h <= chain.height; h++) {
      fromMemory.push([await backend.getBlockByHeight(h, false), await backend.getBlockByHeight(h, true)]);
      // What a DECIDED carries (consensus-driver serveDecided): the same from memory as stored.
      const decided = await chain.decidedBlock(h);
      const [stored, storedCert] = [await chain.store.getBlock(h), await chain.store.getCert(h)];
      if (h === 0) {
        assert.equal(decided, undefined, 'genesis has no certificate to serve');
        continue;
      }
      assert.ok(decided && stored && storedCert, `height ${h} can be served`);
      assert.deepEqual(encodeBlock(decided.block), encodeBlock(stored), `block ${h}`);
      assert.deepEqual(decided.cert, storedCert, `certificate ${h}`);
    }
    assert.equal(await chain.decidedBlock(chain.height + 1), undefined, 'nothing above the tip');
    await chain.close();
    chain = await Chain.open(
      join(dir, 'ledger'),
      fixtureGenesis({ params: { proposalTtlBlocks: 3 } }),
      verify,
      silent,
    );
    assert.equal(chain.recentBlock(chain.height), undefined, 'nothing in memory after a restart');
    const fresh = makeBackend();
    for (let h = 0; h <= chain.height; h++) {
      const fromStore = [await fresh.getBlockByHeight(h, false), await fresh.getBlockByHeight(h, true)];
      assert.deepEqual(fromStore, fromMemory[h], `height ${h}`);
    }
    assert.equal(await fresh.getBlockByHeight(chain.height + 1, false), null);
  });
});
