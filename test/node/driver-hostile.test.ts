/**
 * The production consensus driver over a real chain (LevelDB in a temporary folder), a real
 * replica, WAL and mempool, with a stand-in network (issue 23, findings 1 and 2):
 * - a block with a valid commit certificate is executed whatever the local clock says (a node
 *   3 s behind halted on the first block when the driver passed Date.now() to the ledger);
 * - a broadcast that throws (a frame the p2p layer refuses) is logged, and deciding goes on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { certificateFromCommits } from '../../consensus/certificate.js';
import { signPayload, type VotePayload } from '../../consensus/payload.js';
import { Replica } from '../../consensus/replica.js';
import { verify } from '../../crypto/ed25519.js';
import { buildBlock } from '../../ledger/block.js';
import { getAccount, getValidators } from '../../ledger/state.js';
import type { Block } from '../../ledger/types.js';
import { createLedgerBlockPort, toLedgerCert } from '../../node/block-port.js';
import { Chain } from '../../node/chain.js';
import { ConsensusDriver } from '../../node/consensus-driver.js';
import { Mempool } from '../../node/mempool.js';
import { FrameTooLargeError, type P2PHost } from '../../node/p2p/index.js';
import { Wal } from '../../node/wal.js';
import { fixtureGenesis, key } from '../ledger/helpers.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const FAST = { blockPeriodMs: 10, emptyBlockIntervalMs: 50, roundTimeoutMsBase: 200, roundTimeoutMsMax: 400 };

interface Rig {
  chain: Chain;
  driver: ConsensusDriver;
  fatal: string[];
  broadcasts: number;
  errors: string[];
  reports: string[];
}

async function rig(opts: { broadcastThrows: boolean }): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'synod-driver-'));
  dirs.push(dir);
  const errors: string[] = [];
  const log = pino(
    { level: 'error' },
    { write: (line: string) => errors.push(JSON.parse(line).msg as string) },
  );
  const chain = await Chain.open(join(dir, 'ledger'), fixtureGenesis({ params: FAST }), verify, log);
  const self = key('alpha-val');
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
  const params = chain.params;
  const replica = new Replica<Block>({
    chainId: chain.chainId,
    port: createLedgerBlockPort(),
    signer: { address: self.address, sign: (m) => self.sign(m) },
    verify,
    limits: {
      roundTimeoutMsBase: params.roundTimeoutMsBase,
      roundTimeoutMsMax: params.roundTimeoutMsMax,
      blockPeriodMs: params.blockPeriodMs,
      emptyBlockIntervalMs: params.emptyBlockIntervalMs,
      clockSkewMsMax: params.clockSkewMsMax,
    },
  });
  const r: Rig = {
    chain,
    driver: undefined as unknown as ConsensusDriver,
    fatal: [],
    broadcasts: 0,
    errors,
    reports: [],
  };
  const p2p = {
    broadcast: (_protocol: string, payload: Uint8Array) => {
      r.broadcasts++;
      if (opts.broadcastThrows) throw new FrameTooLargeError(payload.length, 16);
      return 0;
    },
    send: () => {},
    reportMisbehaviour: (_peer: string, reason: string) => {
      r.reports.push(reason);
      return false;
    },
  } as unknown as P2PHost;
  r.driver = new ConsensusDriver({
    replica,
    chain,
    wal: Wal.open(join(dir, 'wal')),
    mempool,
    p2p,
    verify,
    self: self.address,
    log,
    evidenceFile: join(dir, 'evidence.jsonl'),
    onSyncRequest: () => {},
    onFatal: (message) => r.fatal.push(message),
  });
  r.driver.start();
  return r;
}

/** Block 1 with the given timestamp, certified by two of the three validators (q = 2). */
function certifiedBlock(chain: Chain, timestamp: number) {
  const set = getValidators(chain.state);
  const built = buildBlock(chain.state, chain.header, {
    txs: [],
    proposer: set[1 % set.length]!.address,
    view: 0,
    timestamp,
  });
  const votes = ['beta-val', 'gamma-val'].map((label) => {
    const s = key(label);
    return signPayload<VotePayload>(
      { type: 'COMMIT', chainId: chain.chainId, height: 1, round: 0, author: s.address, digest: built.hash },
      (m) => s.sign(m),
    );
  });
  return { block: built.block, cert: toLedgerCert(certificateFromCommits(0, votes)) };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('the driver on hostile and skewed input', () => {
  it('commits a certified block whose timestamp is a minute ahead of the local clock', async () => {
    const r = await rig({ broadcastThrows: false });
    const { block, cert } = certifiedBlock(r.chain, Date.now() + 60_000);
    r.driver.onSyncedBlock(block, cert);
    await until(() => r.chain.height >= 1 || r.fatal.length > 0, 5_000);
    r.driver.stop();
    assert.deepEqual(r.fatal, [], 'no fatal alarm');
    assert.equal(r.chain.height, 1, 'the certified block was committed');
    await r.chain.close();
  });

  it('keeps deciding when every broadcast throws (a frame the network refuses)', async () => {
    const r = await rig({ broadcastThrows: true });
    const { block, cert } = certifiedBlock(r.chain, Date.now());
    r.driver.onSyncedBlock(block, cert);
    // After block 1 the replica proposes or changes round, and each send throws.
    await until(() => r.broadcasts >= 3 || r.fatal.length > 0, 5_000);
    r.driver.stop();
    assert.deepEqual(r.fatal, [], 'no fatal alarm');
    assert.ok(r.broadcasts >= 3, `the driver went on sending (${r.broadcasts} attempts)`);
    assert.ok(r.errors.includes('could not broadcast'), 'each failure is logged');
    await r.chain.close();
  });

  it('reports a peer’s provable misbehaviour to the scorer', async () => {
    const r = await rig({ broadcastThrows: false });
    r.driver.onMessage('peer-x', new Uint8Array([0xff, 0x00, 0x13]));
    await until(() => r.reports.length > 0, 2_000);
    r.driver.stop();
    assert.deepEqual(r.reports, ['consensus-malformed']);
    await r.chain.close();
  });
});
