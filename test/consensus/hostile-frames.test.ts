/**
 * Frames a hostile peer can send a replica (issue 23, finding 3 and the round-change part of 10):
 * bytes before work, authentication before buffering, buffers bounded in bytes, provable
 * misbehaviour reported as an offence (and only that), and per-height state bounded whatever a
 * validator signs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS } from '../../consensus/limits.js';
import { signedItemValue } from '../../consensus/payload.js';
import type { SimBlock } from '../../consensus/sim/block.js';
import { encode } from '../../crypto/encoding.js';
import {
  certificate,
  decidedFrame,
  makeBlock,
  Net,
  type NetOptions,
  port,
  prepareFrame,
  proposalFrame,
  rcFrame,
  vote,
} from './harness.js';

function solo(opts: Partial<NetOptions> = {}): Net {
  const net = new Net({ n: 4, pendingTxs: true, ...opts });
  net.boot(0);
  return net;
}

function badSignature<T extends { signature: Uint8Array }>(item: T): T {
  const signature = new Uint8Array(item.signature);
  signature[0] = signature[0]! ^ 0xff;
  return { ...item, signature };
}

/** A PROPOSAL frame with raw block bytes (which need not decode). */
function rawProposal(item: ReturnType<typeof vote>, blockBytes: Uint8Array): Uint8Array {
  return encode({
    kind: 'PROPOSAL',
    item: signedItemValue(item),
    block: blockBytes,
    roundChanges: [],
    prepares: [],
  });
}

function blockFor(net: Net, height: number, round: number, extra: Partial<SimBlock> = {}): SimBlock {
  const p = net.proposerIndex(height, round);
  return {
    ...makeBlock({ height, view: round, proposer: net.signers[p]!.address, timestampMs: net.now }),
    ...extra,
  };
}

describe('a frame is authenticated before its block is decoded', () => {
  it('a proposal with a bad signature is refused as such, its block never decoded', () => {
    const net = solo();
    const proposer = net.signers[net.proposerIndex(1, 0)]!;
    const garbage = new Uint8Array(60_000).fill(7);
    const item = badSignature(vote(proposer, 'PROPOSAL', 1, 0, new Uint8Array(32)));
    const ready = net.inject(0, rawProposal(item, garbage), 'attacker');
    const r = net.replica(0);
    assert.equal(r.counters.dropped['bad-signature'], 1);
    assert.equal(r.counters.dropped['bad-block-encoding'], 0, 'the block bytes were never decoded');
    assert.deepEqual(ready.offences, [{ peer: 'attacker', reason: 'bad-signature' }]);
  });

  it('a validly signed proposal whose block does not decode is the sender’s offence', () => {
    const net = solo();
    const proposer = net.signers[net.proposerIndex(1, 0)]!;
    const item = vote(proposer, 'PROPOSAL', 1, 0, new Uint8Array(32));
    const ready = net.inject(0, rawProposal(item, new Uint8Array(100).fill(1)), 'p');
    assert.equal(net.replica(0).counters.dropped['bad-block-encoding'], 1);
    assert.deepEqual(ready.offences, [{ peer: 'p', reason: 'bad-block-encoding' }]);
  });

  it('a past-height proposal is answered without decoding its block', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    net.deliver();
    assert.equal(net.replica(0).height, 2);
    const proposer = net.signers[net.proposerIndex(1, 0)]!;
    const ready = net.inject(
      0,
      rawProposal(vote(proposer, 'PROPOSAL', 1, 0, new Uint8Array(32)), new Uint8Array(10)),
      'late',
    );
    assert.equal(net.replica(0).counters.dropped['bad-block-encoding'], 0);
    assert.deepEqual(ready.serveDecided, [{ to: 'late', height: 1 }]);
    assert.deepEqual(ready.offences, []);
  });

  it('a DECIDED whose certificate does not verify is refused before its block is used', () => {
    const net = solo();
    const s = net.signers;
    const block = blockFor(net, 1, 0);
    const forged = certificate(s.slice(1, 4), 1, 0, port.hash(block));
    forged.sigs[0] = { ...forged.sigs[0]!, signature: new Uint8Array(64).fill(9) };
    const ready = net.inject(0, decidedFrame(block, forged), 'liar');
    assert.equal(net.replica(0).counters.dropped['bad-decided'], 1);
    assert.deepEqual(ready.offences, [{ peer: 'liar', reason: 'bad-decided' }]);
    assert.equal(net.replica(0).height, 1);
  });
});

describe('future heights: authenticated before buffered, bounded in bytes', () => {
  it('a future-height message with a bad signature is not buffered, and not an offence', () => {
    const net = solo();
    const item = badSignature(vote(net.signers[1]!, 'PREPARE', 2, 0, new Uint8Array(32)));
    const ready = net.inject(0, encode({ kind: 'PREPARE', item: signedItemValue(item) }), 'x');
    const r = net.replica(0);
    assert.equal(r.futureBufferSize, 0);
    assert.equal(r.counters.dropped['future-unauthenticated'], 1);
    assert.equal(r.counters.dropped['bad-signature'], 0);
    assert.deepEqual(ready.offences, [], 'the set or the key may change at a future height');
  });

  it('a future-height message from a non-member of V(h) is not buffered', () => {
    const net = solo({ observers: 1 });
    net.inject(0, prepareFrame(net.signers[4]!, 2, 0, new Uint8Array(32)), 'observer');
    assert.equal(net.replica(0).futureBufferSize, 0);
    assert.equal(net.replica(0).counters.dropped['future-unauthenticated'], 1);
  });

  it('a far-future DECIDED is only a sync hint: not verified, not buffered', () => {
    const net = solo();
    const r = net.replica(0);
    const before = r.counters.signaturesVerified;
    // Height 1 + futureHeightsMax + 1, under a certificate nobody checks (the set there is unknown).
    const far = 2 + DEFAULT_LIMITS.futureHeightsMax;
    const block = blockFor(net, far, 0);
    const ready = net.inject(
      0,
      decidedFrame(block, certificate(net.signers.slice(0, 3), far, 0, port.hash(block))),
      'far',
    );
    assert.equal(r.counters.signaturesVerified, before, 'no signature checked for a hint');
    assert.equal(r.futureBufferSize, 0);
    assert.equal(r.counters.dropped['future-too-far'], 1);
    assert.deepEqual(ready.offences, []);
  });

  it('one peer’s large future proposals are bounded in bytes, and evict only its own', () => {
    const limits = {
      bufferedMessagesPerPeerMax: 64,
      bufferedMessagesTotalMax: 256,
      bufferedBytesPerPeerMax: 256 * 1024,
      bufferedBytesTotalMax: 1024 * 1024,
    };
    const net = solo({ limits });
    const s = net.signers;
    net.inject(0, prepareFrame(s[2]!, 2, 0, new Uint8Array(32).fill(2)), 'honest');
    const p2 = net.proposerIndex(2, 0);
    for (let k = 0; k < 40; k++) {
      // Each ~60 KB: padded transactions, validly signed by the height-2 proposer.
      const block = makeBlock({
        height: 2,
        view: 0,
        proposer: s[p2]!.address,
        txs: [`${k}`.padEnd(60_000, 'x')],
      });
      net.inject(0, proposalFrame(s[p2]!, block, 0), 'flooder');
    }
    const r = net.replica(0);
    assert.ok(r.futureBufferBytes <= limits.bufferedBytesPerPeerMax + 1_000, `${r.futureBufferBytes} bytes`);
    assert.ok(r.futureBufferLargestPeerBytes() <= limits.bufferedBytesPerPeerMax);
    assert.ok(r.futureBufferSizeOf('flooder') < 40, 'the flood was cut by bytes, not by count');
    assert.equal(r.futureBufferSizeOf('honest'), 1, 'the honest peer kept its message');
  });
});

describe('offences: provable misbehaviour only', () => {
  it('a malformed frame is an offence; a duplicate, a stale vote and an early timestamp are not', () => {
    const net = solo();
    const s = net.signers;
    assert.deepEqual(net.inject(0, new Uint8Array([1, 2, 3]), 'm').offences, [
      { peer: 'm', reason: 'malformed' },
    ]);
    const frame = prepareFrame(s[1]!, 1, 0, new Uint8Array(32).fill(1));
    assert.deepEqual(net.inject(0, frame, 'a').offences, []);
    assert.deepEqual(net.inject(0, frame, 'a').offences, [], 'a duplicate');
    const early = proposalFrame(
      s[net.proposerIndex(1, 0)]!,
      blockFor(net, 1, 0, { timestampMs: net.now + 10_000 }),
      0,
    );
    const ready = net.inject(0, early, 'fast-clock');
    assert.equal(net.replica(0).counters.dropped['bad-timestamp'], 1);
    assert.deepEqual(ready.offences, [], 'an honest proposer whose clock runs ahead is not punished');
  });

  it('a proposal signed by a validator that is not the proposer is an offence', () => {
    const net = solo();
    const s = net.signers;
    const notProposer = s.find((_, i) => i !== net.proposerIndex(1, 0) && i !== 0)!;
    const block = makeBlock({ height: 1, view: 0, proposer: notProposer.address, timestampMs: net.now });
    const ready = net.inject(0, proposalFrame(notProposer, block, 0), 'np');
    assert.deepEqual(ready.offences, [{ peer: 'np', reason: 'not-proposer' }]);
  });
});

describe('equivocation and a clock behind: found by the Byzantine e2e suite', () => {
  it('a second, different vote of one (type, round, author) is evidence and the sender’s offence', () => {
    const net = solo();
    const s = net.signers;
    assert.deepEqual(net.inject(0, prepareFrame(s[1]!, 1, 0, new Uint8Array(32).fill(1)), 'eq').offences, []);
    const ready = net.inject(0, prepareFrame(s[1]!, 1, 0, new Uint8Array(32).fill(2)), 'eq');
    assert.equal(ready.evidence.length, 1);
    assert.deepEqual(ready.offences, [{ peer: 'eq', reason: 'conflicting' }]);
  });

  it('a proposer whose clock is behind its parent’s timestamp does not propose, and does not halt', () => {
    // Node p is the proposer of height 1, round 0; the parent block was stamped by clocks 5 s
    // ahead of p's, so the earliest timestamp p may use (parent + 1) is beyond its own skew rule.
    const net = new Net({ n: 4, pendingTxs: true });
    const p = net.proposerIndex(1, 0);
    const r = net.newReplica(p);
    // As the driver builds for a round-change round at once: the earliest timestamp allowed.
    const block = net.defaultBlock(p, 1, 0, net.now + 5_001);
    r.step({
      type: 'startHeight',
      nowMs: net.now,
      height: 1,
      validators: net.validatorsAt(1),
      parentHash: port.parentHash(block),
      parentTimestampMs: net.now + 5_000,
    });
    const ready = r.step({ type: 'proposalBuilt', nowMs: net.now, height: 1, round: 0, block });
    assert.equal(r.status, 'running');
    assert.deepEqual(
      ready.messages.map((m) => m.kind),
      [],
      'no proposal it would refuse itself',
    );
    assert.equal(r.counters.dropped['bad-timestamp'], 1);
  });
});

describe('per-height state is bounded whatever a validator signs', () => {
  it('round changes for ever-higher rounds keep one entry per author', () => {
    const net = solo();
    const r = net.replica(0);
    const seenSize = () => (r as unknown as { hs: { seen: Map<string, unknown> } }).hs.seen.size;
    net.inject(0, rcFrame(net.signers[1]!, 1, 10));
    const before = seenSize();
    for (let round = 11; round < 400; round++) net.inject(0, rcFrame(net.signers[1]!, 1, round));
    assert.equal(seenSize(), before, 'only the highest far round change (and its seen entry) is kept');
  });

  it('an equivocator in every round yields one evidence record per message type and height', () => {
    const net = solo();
    const s = net.signers;
    let evidence = 0;
    for (let round = 0; round <= 4; round++) {
      evidence += net.inject(0, prepareFrame(s[1]!, 1, round, new Uint8Array(32).fill(1))).evidence.length;
      evidence += net.inject(0, prepareFrame(s[1]!, 1, round, new Uint8Array(32).fill(2))).evidence.length;
    }
    assert.equal(evidence, 1);
    assert.equal(net.replica(0).counters.evidence, 1);
  });
});
