/**
 * A real Syncer on a real P2PHost against peers on 127.0.0.1 that lie (issue 23, finding 4):
 * a status claim no block backs, more frames than asked, blocks outside the range asked, stale
 * blocks, blocks whose certificate does not verify. The chain under the Syncer is a stand-in that
 * holds a fixed validator set and commits whatever is delivered; the honest peer serves blocks
 * certified by that set, so the Syncer's own checks are what is tested. Every wait is bounded
 * and every host is stopped after each test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { commitPayload } from '../../consensus/certificate.js';
import { encodePayload } from '../../consensus/payload.js';
import { publicKeyFromSecret, Signer } from '../../crypto/ed25519.js';
import { asMap, decode, encode } from '../../crypto/encoding.js';
import { compareBytes } from '../../crypto/hash.js';
import { blockHash, encodeBlock, encodeCert } from '../../ledger/codec.js';
import type { Block, BlockHeader, CommitCertificate, Validator } from '../../ledger/types.js';
import type { Chain } from '../../node/chain.js';
import { silentLogger } from '../../node/log.js';
import { createP2PHost, type P2PHost, type SyncHandler } from '../../node/p2p/index.js';
import { SYNC_BATCH_BLOCKS, Syncer } from '../../node/sync.js';

const CHAIN_ID = 'sync-hostile';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const signers = Array.from({ length: 4 }, () => new Signer(new Uint8Array(randomBytes(32))));
const validators: Validator[] = signers.map((s, i) => ({
  address: s.address,
  publicKey: s.publicKey,
  memberId: `m${i}`,
  p2p: [],
}));
const strangers = Array.from({ length: 4 }, () => new Signer(new Uint8Array(randomBytes(32))));

const zero32 = new Uint8Array(32);
function header(height: number): BlockHeader {
  return {
    chainId: CHAIN_ID,
    height,
    view: 0,
    parentHash: zero32,
    timestamp: 1_700_000_000_000 + height,
    proposer: signers[0]!.address,
    txRoot: zero32,
    receiptsRoot: zero32,
    stateRoot: zero32,
    validatorsHash: zero32,
    nextValidatorsHash: zero32,
  };
}

/** A block of `height` with a quorum certificate from `by` (the real set unless told otherwise). */
function certified(
  height: number,
  by: Signer[] = signers.slice(0, 3),
): { block: Block; cert: CommitCertificate } {
  const block: Block = { header: header(height), txs: [] };
  const digest = blockHash(block.header);
  const sigs = by
    .map((s) => ({
      validator: s.address,
      signature: s.sign(encodePayload(commitPayload(CHAIN_ID, height, 0, s.address, digest))),
    }))
    .sort((a, b) => compareBytes(a.validator, b.validator));
  return { block, cert: { round: 0, sigs } };
}

const frameOf = (height: number, by?: Signer[]) => {
  const { block, cert } = certified(height, by);
  return encode({ block: encodeBlock(block), cert: encodeCert(cert) });
};
const status = (height: number) => encode({ height, hash: zero32 });

/** The part of Chain the Syncer reads, committing each delivered block at once. */
class StubChain {
  height = 0;
  hash: Uint8Array = zero32;
  readonly chainId = CHAIN_ID;
  readonly nextValidators = validators;
  readonly delivered: number[] = [];
  deliver(block: Block): void {
    this.delivered.push(block.header.height);
    if (block.header.height === this.height + 1) {
      this.height = block.header.height;
      this.hash = blockHash(block.header);
    }
  }
}

interface Served {
  status: number;
  blocks: number;
  /** Frames the handler produced (a reader that stops early consumes fewer). */
  framesYielded: number;
}

/** A peer answering with `answer(request)`; counts what it was asked and what it produced. */
function servingPeer(answer: (req: { type: string; from?: number; limit?: number }) => Iterable<Uint8Array>) {
  const served: Served = { status: 0, blocks: 0, framesYielded: 0 };
  const handler: SyncHandler = (_peer, request) => {
    const req = decodeRequest(request) as { type: string; from?: number; limit?: number };
    if (req.type === 'status') served.status++;
    else served.blocks++;
    return (async function* () {
      for (const f of answer(req)) {
        served.framesYielded++;
        yield f;
      }
    })();
  };
  return { served, handler };
}

function decodeRequest(bytes: Uint8Array): Record<string, unknown> {
  const m = asMap(decode(bytes), 'request');
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
}

let live: P2PHost[] = [];
let syncers: Syncer[] = [];
afterEach(async () => {
  for (const s of syncers) s.stop();
  syncers = [];
  const hosts = live;
  live = [];
  await Promise.all(hosts.map((h) => h.stop()));
});

async function host(handler?: SyncHandler): Promise<{ host: P2PHost; publicKey: Uint8Array }> {
  const secretKey = new Uint8Array(randomBytes(32));
  const h = await createP2PHost({
    secretKey,
    redial: { baseMs: 50, maxMs: 400, stableMs: 1000, dialTimeoutMs: 2000 },
    // A high threshold so one test sees every report rather than a ban that hides later ones.
    misbehaviour: { threshold: 1000, banMs: 1000 },
    ...(handler ? { handlers: { sync: handler } } : {}),
  });
  live.push(h);
  return { host: h, publicKey: publicKeyFromSecret(secretKey) };
}

/** Our node (a Syncer on a stand-in chain) connected to each of `peers`. */
async function syncing(peers: SyncHandler[], chainHeight = 0) {
  const us = await host();
  const others = [];
  for (const p of peers) others.push(await host(p));
  us.host.setAllowedPeers(others.map((o) => ({ publicKey: o.publicKey, addrs: o.host.multiaddrs() })));
  for (const o of others) o.host.setAllowedPeers([{ publicKey: us.publicKey }]);
  await waitFor(() => us.host.connectedPeers().length === others.length, 'connections');
  const chain = new StubChain();
  chain.height = chainHeight;
  const syncer = new Syncer(chain as unknown as Chain, us.host, silentLogger(), 200);
  syncer.onBlock((b) => chain.deliver(b));
  syncers.push(syncer);
  syncer.start();
  // The driver asks for sync on every message from a future height: hammer it the same way.
  const hammer = setInterval(() => syncer.trigger(chain.height + 1), 10);
  const stopHammer = () => clearInterval(hammer);
  return { us, others, chain, syncer, stopHammer };
}

const reports = (h: P2PHost, reason: string) => h.stats().misbehaviour[reason] ?? 0;
const anyReport = (h: P2PHost) => Object.values(h.stats().misbehaviour).reduce((a, b) => a + b, 0);

describe('sync against lying peers', { timeout: 60_000 }, () => {
  it('a claim of 2^53-1 with no blocks behind it: reported, backed off, not asked in a loop', async () => {
    const liar = servingPeer((req) => (req.type === 'status' ? [status(Number.MAX_SAFE_INTEGER)] : []));
    const { us, chain, stopHammer } = await syncing([liar.handler]);
    try {
      await sleep(3000);
    } finally {
      stopHammer();
    }
    assert.ok(reports(us.host, 'sync-lie') >= 1, 'the peer is reported for a claim no block backs');
    // Backed off for far longer than the test: at most the first status and blocks request.
    assert.ok(liar.served.blocks <= 2, `asked for blocks ${liar.served.blocks} times in 3 s`);
    assert.ok(liar.served.status <= 2, `asked for its status ${liar.served.status} times in 3 s`);
    assert.equal(chain.height, 0);
  });

  it('more frames than asked: stops reading, reports, delivers nothing', async () => {
    // Tiny frames, so a reader that does not stop would take all 5,000 of them.
    const flood = servingPeer((req) =>
      req.type === 'status' ? [status(1000)] : Array.from({ length: 5000 }, (_, i) => encode({ junk: i })),
    );
    const { us, chain, stopHammer } = await syncing([flood.handler]);
    try {
      await waitFor(() => anyReport(us.host) >= 1, 'a report');
      await sleep(1000);
    } finally {
      stopHammer();
    }
    assert.ok(reports(us.host, 'sync-oversize-response') >= 1, JSON.stringify(us.host.stats().misbehaviour));
    const framesIn = us.host.stats().protocols.sync.framesIn;
    assert.ok(framesIn <= 2 * (SYNC_BATCH_BLOCKS + 2), `read ${framesIn} frames`);
    assert.equal(chain.delivered.length, 0);
    assert.ok(flood.served.blocks <= 2, `asked for blocks ${flood.served.blocks} times`);
  });

  it('blocks outside the range asked: the first is refused, reported, nothing delivered', async () => {
    const far = servingPeer((req) =>
      req.type === 'status'
        ? [status(5000)]
        : Array.from({ length: SYNC_BATCH_BLOCKS }, (_, i) => frameOf(4000 + i)),
    );
    const { us, chain, stopHammer } = await syncing([far.handler]);
    try {
      await waitFor(() => anyReport(us.host) >= 1, 'a report');
      await sleep(1000);
    } finally {
      stopHammer();
    }
    assert.ok(reports(us.host, 'sync-unasked-block') >= 1, JSON.stringify(us.host.stats().misbehaviour));
    assert.equal(chain.delivered.length, 0);
    assert.ok(far.served.blocks <= 2, `asked for blocks ${far.served.blocks} times`);
  });

  it('stale blocks only: reported and backed off, not re-asked at once in a loop', async () => {
    // We are at height 5; the peer claims 100 and answers every request with blocks 1..5.
    const stale = servingPeer((req) =>
      req.type === 'status' ? [status(100)] : [1, 2, 3, 4, 5].map((h) => frameOf(h)),
    );
    const { us, chain, stopHammer } = await syncing([stale.handler], 5);
    try {
      await sleep(3000);
    } finally {
      stopHammer();
    }
    assert.ok(reports(us.host, 'sync-unasked-block') >= 1, JSON.stringify(us.host.stats().misbehaviour));
    assert.ok(stale.served.blocks <= 2, `asked for blocks ${stale.served.blocks} times in 3 s`);
    assert.equal(chain.height, 5);
  });

  it('a block whose certificate does not verify is not delivered; the peer is reported', async () => {
    const forger = servingPeer((req) =>
      req.type === 'status' ? [status(10)] : [frameOf(req.from ?? 1, strangers.slice(0, 3))],
    );
    const { us, chain, stopHammer } = await syncing([forger.handler]);
    try {
      await waitFor(() => anyReport(us.host) >= 1 || chain.delivered.length > 0, 'a report or a delivery');
      await sleep(500);
    } finally {
      stopHammer();
    }
    assert.equal(chain.delivered.length, 0, 'a forged block reached consensus');
    assert.ok(reports(us.host, 'sync-bad-block') >= 1, JSON.stringify(us.host.stats().misbehaviour));
  });

  it('with a liar claiming 2^53-1 and an honest peer at 150, syncs to 150 from the honest one', async () => {
    const liar = servingPeer((req) => (req.type === 'status' ? [status(Number.MAX_SAFE_INTEGER)] : []));
    const top = 150;
    const honest = servingPeer((req) => {
      if (req.type === 'status') return [status(top)];
      const from = req.from ?? 1;
      const to = Math.min(top, from + (req.limit ?? SYNC_BATCH_BLOCKS) - 1);
      const out: Uint8Array[] = [];
      for (let h = from; h <= to; h++) out.push(frameOf(h));
      return out;
    });
    const { us, chain, stopHammer } = await syncing([liar.handler, honest.handler]);
    try {
      await waitFor(() => chain.height === top, `height ${top}`, 20_000);
    } finally {
      stopHammer();
    }
    assert.deepEqual(
      chain.delivered,
      Array.from({ length: top }, (_, i) => i + 1),
    );
    assert.equal(reports(us.host, 'sync-bad-block'), 0);
    assert.ok(liar.served.blocks <= 2, `the liar was asked for blocks ${liar.served.blocks} times`);
  });
});
