/**
 * tx_submitAndWait waiters are bounded per client (issue 23, finding 10): one client (remote
 * address) cannot hold every waiting slot. The backend runs over a real Chain (LevelDB in a
 * temporary folder) and a real Mempool; blocks are never committed, so every call waits until
 * its own short timeout or its abort.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { verify } from '../../crypto/ed25519.js';
import { encodeSignedTx } from '../../ledger/codec.js';
import { getAccount } from '../../ledger/state.js';
import { Chain } from '../../node/chain.js';
import { Mempool } from '../../node/mempool.js';
import { NodeRpcBackend } from '../../node/rpc-backend.js';
import { RpcError, RpcErrorCode } from '../../rpc/errors.js';
import { fixtureGenesis, wallet } from '../ledger/helpers.js';

let dir: string;
let chain: Chain;
let backend: NodeRpcBackend;
let mempool: Mempool;
const PER_CLIENT = 3;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synod-waiters-'));
  chain = await Chain.open(join(dir, 'ledger'), fixtureGenesis(), verify, pino({ level: 'silent' }));
  mempool = new Mempool({
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
  backend = new NodeRpcBackend({
    chain,
    mempool,
    submit: (bytes) => mempool.add(bytes).entry,
    status: () => ({}),
    waitersPerClientMax: PER_CLIENT,
  });
});

after(async () => {
  await chain.close();
  await rm(dir, { recursive: true, force: true });
});

const to = new Uint8Array(20).fill(7);

describe('tx_submitAndWait waiters per client', () => {
  test('a client past its bound is refused before admission; others still wait; slots come back', async () => {
    const alice = wallet('alpha-admin');
    const ac = new AbortController();
    const waiting = Array.from({ length: PER_CLIENT }, () =>
      backend
        .submitTxAndWait(encodeSignedTx(alice.transfer(to, 1n)), 60_000, ac.signal, '10.0.0.1')
        .catch((e) => e),
    );
    // Let the calls reach their wait (admission is synchronous after one await).
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(mempool.size, PER_CLIENT);
    const extra = encodeSignedTx(alice.transfer(to, 1n));
    await assert.rejects(backend.submitTxAndWait(extra, 60_000, ac.signal, '10.0.0.1'), (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, RpcErrorCode.TOO_MANY_WAITERS);
      assert.deepEqual(err.data, { limit: PER_CLIENT, max: PER_CLIENT });
      return true;
    });
    assert.equal(mempool.size, PER_CLIENT, 'the refused call admitted nothing');
    // Another client is not affected.
    const beta = wallet('beta-admin');
    const other = backend
      .submitTxAndWait(encodeSignedTx(beta.transfer(to, 1n)), 60_000, ac.signal, '10.0.0.2')
      .catch((e) => e);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(mempool.size, PER_CLIENT + 1);
    // Ending the calls (here by abort, as a disconnect does) frees the slots.
    ac.abort();
    for (const r of await Promise.all([...waiting, other])) {
      assert.ok(r instanceof RpcError);
      assert.equal(r.code, RpcErrorCode.TIMEOUT);
    }
    const again = await backend
      .submitTxAndWait(extra, 30, new AbortController().signal, '10.0.0.1')
      .catch((e: unknown) => e);
    assert.ok(again instanceof RpcError);
    assert.equal(again.code, RpcErrorCode.TIMEOUT, 'admitted and waited again (then timed out)');
  });
});
