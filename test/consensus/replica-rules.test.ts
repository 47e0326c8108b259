/**
 * One test per rule of docs/protocol.md §3.2 and per validity predicate of §2.3: a single replica under
 * test, fed crafted messages signed by the other validators' real keys.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyCommitCertificate } from '../../consensus/certificate.js';
import type { DropReason } from '../../consensus/events.js';
import { encodeMessage } from '../../consensus/messages.js';
import { signPayload, type VotePayload } from '../../consensus/payload.js';
import type { SimBlock } from '../../consensus/sim/block.js';
import { encodeSimBlock } from '../../consensus/sim/block.js';
import {
  CHAIN,
  certificate,
  commitFrame,
  decidedFrame,
  GENESIS,
  hexOf,
  makeBlock,
  Net,
  type NetOptions,
  port,
  prepareCert,
  prepareFrame,
  proposalFrame,
  rcFrame,
  rcItem,
  setOf,
  support,
  vote,
} from './harness.js';

/** A net where only replica `i` runs; the others are keys the test signs with. */
function solo(i: number, opts: Partial<NetOptions> = {}): Net {
  const net = new Net({ n: 4, pendingTxs: true, ...opts });
  net.boot(i);
  return net;
}

function blockFor(net: Net, height: number, round: number, extra: Partial<SimBlock> = {}): SimBlock {
  const p = net.proposerIndex(height, round);
  return {
    ...makeBlock({ height, view: round, proposer: net.signers[p]!.address, timestampMs: net.now }),
    ...extra,
  };
}

function dropped(net: Net, i: number, reason: DropReason): number {
  return net.replica(i).counters.dropped[reason];
}

/** Replica 0 (not the proposer of (1, 0)) accepts a round-0 proposal; returns the block. */
function acceptRoundZero(net: Net): SimBlock {
  const b = blockFor(net, 1, 0);
  net.inject(0, proposalFrame(net.signers[net.proposerIndex(1, 0)]!, b, 0));
  assert.equal(net.sentOf('PREPARE', { from: 0, round: 0 }).length, 1, 'replica 0 PREPAREd');
  return b;
}

describe('R0 start height', () => {
  it('starts at round 0; an idle chain arms no timer and builds nothing until there is work (§1.3)', () => {
    const net = new Net({ n: 4, startMs: 1_000 });
    const p = net.proposerIndex(1, 0);
    net.boot(p);
    const r = net.replica(p);
    assert.deepEqual([r.height, r.round, r.status], [1, 0, 'running']);
    assert.equal(r.timerDeadlineMs, undefined, 'no round-0 timer without work');
    assert.equal(net.sentOf('PROPOSAL').length, 0);
    assert.equal(net.logs[p]!.readies.at(-1)!.wakeAtMs, 5_000, 'wakes when the empty-block interval is due');
    // A pending transaction arms the timer, and the proposer builds (blockPeriodMs has passed).
    net.step(p, { type: 'pendingTxs', nowMs: net.now, pending: true });
    assert.equal(r.timerDeadlineMs, 1_000 + 1_000);
    const props = net.sentOf('PROPOSAL', { from: p });
    assert.equal(props.length, 1);
    assert.equal(
      net.sentOf('PREPARE', { from: p }).length,
      1,
      'the proposer PREPAREs its own proposal (a PROPOSAL is no PREPARE)',
    );
  });

  it('with no pending tx, the round-0 proposer makes an empty block once emptyBlockIntervalMs passed', () => {
    const net = new Net({ n: 4, startMs: 1_000 });
    const p = net.proposerIndex(1, 0);
    net.boot(p);
    net.advance(3_000);
    assert.equal(net.sentOf('PROPOSAL').length, 0);
    net.advance(1_000); // now = 5000 = parent.timestamp + emptyBlockIntervalMs
    assert.equal(net.sentOf('PROPOSAL').length, 1);
    assert.ok(
      net.replica(p).timerDeadlineMs !== undefined,
      'expected net.replica(p).timerDeadlineMs !== undefined',
    );
  });

  it('the round-0 proposer waits for blockPeriodMs after the parent even with pending txs', () => {
    const net = new Net({ n: 4, startMs: 1_000 });
    const p = net.proposerIndex(1, 0);
    net.boot(p);
    // Height 1's parent is genesis at time 0: pretend the clock is just 50 ms after it.
    const fresh = new Net({ n: 4, startMs: 50 });
    fresh.boot(p);
    fresh.step(p, { type: 'pendingTxs', nowMs: 50, pending: true });
    assert.equal(fresh.sentOf('PROPOSAL').length, 0);
    fresh.advance(50);
    assert.equal(fresh.sentOf('PROPOSAL').length, 1);
  });

  it('n = 1 decides alone (§9 #2)', () => {
    const net = new Net({ n: 1, pendingTxs: true }).start();
    net.advance(200);
    net.advance(200);
    const commits = net.logs[0]!.commits;
    assert.ok(commits.length >= 2, 'expected commits.length >= 2');
    assert.deepEqual(
      commits.map((c) => [c.height, c.cert.round, c.cert.sigs.length]),
      commits.map((_, k) => [k + 1, 0, 1]),
    );
  });
});

describe('R1 proposal -> PREPARE, and V-PROPOSAL for round 0', () => {
  it('executes a valid proposal, then PREPAREs its digest', () => {
    const net = solo(0);
    const b = blockFor(net, 1, 0);
    const ready = net.inject(0, proposalFrame(net.signers[1]!, b, 0));
    assert.equal(ready.execute.length, 1, 'execution is requested first');
    const [prep] = net.sentOf('PREPARE', { from: 0 });
    assert.ok(prep && prep.msg.kind === 'PREPARE', 'expected prep && prep.msg.kind === "PREPARE"');
    assert.equal(hexOf(prep.msg.item.payload.digest), hexOf(port.hash(b)));
  });

  it('does not PREPARE a block whose execution fails (FRESH, §9 #19)', () => {
    const net = solo(0);
    const b = blockFor(net, 1, 0, { txs: ['bad-signature-tx'] });
    net.invalid.add(hexOf(port.hash(b)));
    net.inject(0, proposalFrame(net.signers[1]!, b, 0));
    assert.equal(net.sentOf('PREPARE').length, 0);
    assert.equal(dropped(net, 0, 'invalid-block'), 1);
  });

  const bad: [string, DropReason, (net: Net) => Uint8Array][] = [
    [
      'a proposal from a validator that is not proposer(h, r)',
      'not-proposer',
      (net) => proposalFrame(net.signers[2]!, blockFor(net, 1, 0), 0),
    ],
    [
      'a signature by someone else than the author',
      'bad-signature',
      (net) => {
        const b = blockFor(net, 1, 0);
        const real = vote(net.signers[1]!, 'PROPOSAL', 1, 0, port.hash(b));
        const forged = {
          ...real,
          signature: vote(net.signers[2]!, 'PROPOSAL', 1, 0, port.hash(b)).signature,
        };
        return encodeMessage<SimBlock>({
          kind: 'PROPOSAL',
          item: forged,
          block: b,
          blockBytes: encodeSimBlock(b),
          roundChanges: [],
          prepares: [],
        });
      },
    ],
    [
      'a block on another parent',
      'bad-block',
      (net) => proposalFrame(net.signers[1]!, blockFor(net, 1, 0, { parentHash: new Uint8Array(32) }), 0),
    ],
    [
      'a block of another height',
      'bad-block',
      (net) => {
        const b = blockFor(net, 1, 0, { height: 2 });
        return encodeMessage<SimBlock>({
          kind: 'PROPOSAL',
          item: vote(net.signers[1]!, 'PROPOSAL', 1, 0, port.hash(b)),
          block: b,
          blockBytes: encodeSimBlock(b),
          roundChanges: [],
          prepares: [],
        });
      },
    ],
    [
      'a block whose B.view is not the round',
      'bad-block',
      (net) => proposalFrame(net.signers[1]!, blockFor(net, 1, 0, { view: 1 }), 0),
    ],
    [
      'a block whose B.proposer is not the author',
      'bad-block',
      (net) => proposalFrame(net.signers[1]!, blockFor(net, 1, 0, { proposer: net.signers[3]!.address }), 0),
    ],
    [
      'a timestamp not after the parent',
      'bad-block',
      (net) => proposalFrame(net.signers[1]!, blockFor(net, 1, 0, { timestampMs: 0 }), 0),
    ],
    [
      'a timestamp too far ahead',
      'bad-timestamp',
      (net) => proposalFrame(net.signers[1]!, blockFor(net, 1, 0, { timestampMs: net.now + 501 }), 0),
    ],
    [
      'a digest that is not the block hash',
      'bad-block',
      (net) => {
        const b = blockFor(net, 1, 0);
        return encodeMessage<SimBlock>({
          kind: 'PROPOSAL',
          item: vote(net.signers[1]!, 'PROPOSAL', 1, 0, new Uint8Array(32)),
          block: b,
          blockBytes: encodeSimBlock(b),
          roundChanges: [],
          prepares: [],
        });
      },
    ],
    [
      'a round-0 proposal carrying round changes',
      'bad-proposal',
      (net) => proposalFrame(net.signers[1]!, blockFor(net, 1, 0), 0, [rcItem(net.signers[0]!, 1, 1)]),
    ],
    [
      'a proposal for another chain',
      'wrong-chain',
      (net) => {
        const b = blockFor(net, 1, 0);
        const item = signPayload<VotePayload>(
          {
            type: 'PROPOSAL',
            chainId: 'other',
            height: 1,
            round: 0,
            author: net.signers[1]!.address,
            digest: port.hash(b),
          },
          (m) => net.signers[1]!.sign(m),
        );
        return encodeMessage<SimBlock>({
          kind: 'PROPOSAL',
          item,
          block: b,
          blockBytes: encodeSimBlock(b),
          roundChanges: [],
          prepares: [],
        });
      },
    ],
  ];
  for (const [what, reason, frame] of bad) {
    it(`rejects ${what} (${reason})`, () => {
      const net = solo(0);
      net.inject(0, frame(net));
      assert.equal(net.sentOf('PREPARE').length, 0, 'no PREPARE');
      assert.equal(dropped(net, 0, reason), 1, `dropped as ${reason}`);
    });
  }

  it('drops a proposal for a round below the current one', () => {
    const net = solo(0);
    net.advance(1_000); // round 1
    net.inject(0, proposalFrame(net.signers[1]!, blockFor(net, 1, 0), 0));
    assert.equal(dropped(net, 0, 'old-round'), 1);
    assert.equal(net.sentOf('PREPARE').length, 0);
  });

  it('(Synod) at round 2, a justified proposal for round 4 moves the replica to 4, restarts its timer, PREPAREs (§9 #9)', () => {
    const net = solo(0);
    net.advance(1_000);
    support(net, 0);
    net.advance(2_000);
    const r = net.replica(0);
    assert.equal(r.round, 2);
    const rcs = [1, 2, 3].map((k) => rcItem(net.signers[k]!, 1, 4));
    const b = blockFor(net, 1, 4);
    net.inject(0, proposalFrame(net.signers[net.proposerIndex(1, 4)]!, b, 4, rcs));
    assert.equal(r.round, 4);
    assert.equal(r.timerDeadlineMs, net.now + 8_000, 'timer(4) = min(1000 * 2^4, 8000), from now');
    assert.equal(net.sentOf('PREPARE', { from: 0, round: 4 }).length, 1);
    assert.equal(r.counters.roundJumps, 1);
  });
});

describe('R2 prepared -> COMMIT', () => {
  it('a PREPARE quorum (own included) for the accepted digest sets prepared and sends COMMIT', () => {
    const net = solo(0);
    const b = acceptRoundZero(net);
    const d = port.hash(b);
    net.inject(0, prepareFrame(net.signers[1]!, 1, 0, d));
    assert.equal(net.sentOf('COMMIT').length, 0, 'two of q = 3');
    net.inject(0, prepareFrame(net.signers[2]!, 1, 0, d));
    assert.equal(net.sentOf('COMMIT', { from: 0 }).length, 1);
    assert.equal(net.replica(0).preparedRound, 0);
    assert.equal(hexOf(net.replica(0).preparedDigest!), hexOf(d));
  });

  it('counts distinct member authors for exactly (h, round, digest): duplicates, outsiders and other votes do not count', () => {
    const net = solo(0, { observers: 1 });
    const b = acceptRoundZero(net);
    const d = port.hash(b);
    net.inject(0, prepareFrame(net.signers[1]!, 1, 0, d));
    net.inject(0, prepareFrame(net.signers[1]!, 1, 0, d)); // the same again
    net.inject(0, prepareFrame(net.signers[4]!, 1, 0, d)); // not in V(1)
    net.inject(0, prepareFrame(net.signers[2]!, 1, 0, new Uint8Array(32).fill(9))); // another digest
    net.inject(0, prepareFrame(net.signers[3]!, 1, 1, d)); // another round
    net.inject(0, prepareFrame(net.signers[3]!, 2, 0, d)); // another height (buffered)
    assert.equal(net.sentOf('COMMIT').length, 0);
    assert.equal(dropped(net, 0, 'duplicate'), 1);
    assert.equal(dropped(net, 0, 'not-validator'), 1);
    net.inject(0, prepareFrame(net.signers[3]!, 1, 0, d));
    assert.equal(net.sentOf('COMMIT', { from: 0 }).length, 1);
  });
});

describe('R3 decide', () => {
  it('a COMMIT quorum decides; the certificate has >= q distinct sorted signers and verifies; DECIDED is sent', () => {
    const net = solo(0);
    const b = acceptRoundZero(net);
    const d = port.hash(b);
    for (const k of [1, 2]) net.inject(0, prepareFrame(net.signers[k]!, 1, 0, d));
    net.inject(0, commitFrame(net.signers[3]!, 1, 0, d));
    assert.equal(net.logs[0]!.commits.length, 0, 'two COMMITs of q = 3');
    net.inject(0, commitFrame(net.signers[1]!, 1, 0, d));
    const [c] = net.logs[0]!.commits;
    assert.ok(c, 'expected c');
    assert.equal(hexOf(c.digest), hexOf(d));
    assert.ok(c.cert.sigs.length >= 3, 'expected c.cert.sigs.length >= 3');
    verifyCommitCertificate(CHAIN, 1, d, c.cert, net.validatorsAt(1));
    assert.equal(net.sentOf('DECIDED', { from: 0 }).length, 1);
    assert.equal(net.replica(0).height, 2, 'R0(h+1) after the driver committed');
  });

  it('(Synod) a COMMIT quorum of round r decides after the replica moved to round r+1 (§9 #14)', () => {
    const net = solo(0);
    const b = acceptRoundZero(net);
    net.advance(1_000);
    assert.equal(net.replica(0).round, 1);
    const d = port.hash(b);
    for (const k of [1, 2, 3]) net.inject(0, commitFrame(net.signers[k]!, 1, 0, d));
    const [c] = net.logs[0]!.commits;
    assert.ok(c, 'expected c');
    assert.equal(c.cert.round, 0);
    assert.equal(hexOf(c.digest), hexOf(d));
  });

  it('a COMMIT quorum for an unknown block asks to sync it, and decides once the block arrives', () => {
    const net = solo(0);
    const b = blockFor(net, 1, 0);
    const d = port.hash(b);
    let sync = 0;
    for (const k of [1, 2, 3])
      sync += net
        .inject(0, commitFrame(net.signers[k]!, 1, 0, d))
        .requestSync.filter((s) => s.reason === 'unknown-block').length;
    assert.equal(sync, 1, 'asked once');
    assert.equal(net.logs[0]!.commits.length, 0);
    net.inject(0, proposalFrame(net.signers[1]!, b, 0));
    assert.equal(net.logs[0]!.commits.length, 1);
  });
});

describe('R4 round timeout', () => {
  it('moves to round+1, keeps prepared, sends an RC reporting it; timer(r) = min(base * 2^r, max)', () => {
    const net = solo(0);
    const b = acceptRoundZero(net);
    const d = port.hash(b);
    for (const k of [1, 2]) net.inject(0, prepareFrame(net.signers[k]!, 1, 0, d));
    const r = net.replica(0);
    const start = net.now;
    assert.equal(r.timerDeadlineMs, start + 1_000);
    net.advance(999);
    assert.equal(r.round, 0, 'not before the deadline');
    net.advance(1);
    assert.equal(r.round, 1);
    const [rc] = net.sentOf('ROUND-CHANGE', { from: 0, round: 1 });
    assert.ok(rc && rc.msg.kind === 'ROUND-CHANGE', 'expected rc && rc.msg.kind === "ROUND-CHANGE"');
    assert.deepEqual(rc.msg.item.payload.prepared, { round: 0, digest: d });
    assert.equal(hexOf(port.hash(rc.msg.preparedBlock!.block)), hexOf(d));
    assert.equal(rc.msg.prepareCert!.length, 3);
    const deadlines = [r.timerDeadlineMs! - net.now];
    for (let k = 0; k < 4; k++) {
      support(net, 0); // q validators at this round, so the timeout may leave it
      net.advance(r.timerDeadlineMs! - net.now);
      deadlines.push(r.timerDeadlineMs! - net.now);
    }
    assert.deepEqual(deadlines, [2_000, 4_000, 8_000, 8_000, 8_000]);
    assert.equal(r.round, 5);
    assert.equal(r.preparedRound, 0, 'prepared survives round changes');
    const last = net.sentOf('ROUND-CHANGE', { from: 0, round: 5 })[0]!;
    assert.ok(
      last.msg.kind === 'ROUND-CHANGE' && last.msg.item.payload.prepared?.round === 0,
      'expected last.msg.kind === "ROUND-CHANGE" && last.msg.item.payload.prepared?.round === 0',
    );
  });
});

describe('R5 propose in round r >= 1', () => {
  it('with a quorum of unprepared RC(h, r), the proposer builds a fresh block with B.view = r (V-PROPOSAL 4a)', () => {
    const p = 2; // proposer(1, 1)
    const net = solo(p);
    assert.equal(net.proposerIndex(1, 1), p);
    net.advance(1_000); // its own RC(1, 1)
    net.inject(p, rcFrame(net.signers[0]!, 1, 1));
    assert.equal(net.sentOf('PROPOSAL').length, 0, 'q - 1 RCs are not enough');
    net.inject(p, rcFrame(net.signers[3]!, 1, 1));
    const [prop] = net.sentOf('PROPOSAL', { from: p, round: 1 });
    assert.ok(prop && prop.msg.kind === 'PROPOSAL', 'expected prop && prop.msg.kind === "PROPOSAL"');
    assert.equal(prop.msg.block.view, 1);
    assert.equal(prop.msg.roundChanges.length, 3);
    assert.equal(prop.msg.prepares.length, 0);
  });

  it('re-proposes the highest prepared block, byte-identical, with its PREPARE certificate (V-PROPOSAL 4b)', () => {
    const p = 2; // proposer(1, 1) and proposer(1, 5)
    const net = solo(p);
    const s = net.signers;
    const bx = blockFor(net, 1, 0, { txs: ['prepared-in-round-0'] });
    const b1 = makeBlock({
      height: 1,
      view: 1,
      proposer: s[2]!.address,
      timestampMs: net.now,
      txs: ['prepared-in-round-1'],
    });
    // RCs for round 5 from two validators (f + 1 = 2): one prepared bx at 0, one b1 at 1.
    net.inject(
      p,
      rcFrame(s[0]!, 1, 5, {
        round: 0,
        block: bx,
        cert: prepareCert([s[0]!, s[1]!, s[3]!], 1, 0, port.hash(bx)),
      }),
    );
    net.inject(
      p,
      rcFrame(s[1]!, 1, 5, {
        round: 1,
        block: b1,
        cert: prepareCert([s[1]!, s[2]!, s[3]!], 1, 1, port.hash(b1)),
      }),
    );
    assert.equal(net.replica(p).round, 5, 'R6 pulled it up to round 5, where its own RC makes q = 3');
    const [prop] = net.sentOf('PROPOSAL', { from: p, round: 5 });
    assert.ok(prop && prop.msg.kind === 'PROPOSAL', 'expected prop && prop.msg.kind === "PROPOSAL"');
    assert.equal(
      hexOf(prop.msg.item.payload.digest),
      hexOf(port.hash(b1)),
      'the highest prepared value (round 1)',
    );
    assert.deepEqual(encodeSimBlock(prop.msg.block), encodeSimBlock(b1), 'byte-identical: B.view stays 1');
    assert.equal(prop.msg.prepares.length, 3);
    assert.ok(
      prop.msg.prepares.every((x) => x.payload.round === 1),
      'expected prop.msg.prepares.every((x) => x.payload.round === 1)',
    );
    assert.equal(prop.msg.roundChanges.length, 3);
  });
});

describe('R6 f+1 round skip', () => {
  it('RCs above our round from f+1 validators move us to the (f+1)-th largest of their rounds', () => {
    const net = solo(0, { n: 7 });
    const s = net.signers;
    net.inject(0, rcFrame(s[1]!, 1, 9));
    net.inject(0, rcFrame(s[2]!, 1, 5));
    assert.equal(net.replica(0).round, 0, 'f = 2 validators move nobody');
    net.inject(0, rcFrame(s[3]!, 1, 4));
    assert.equal(net.replica(0).round, 4, 'third largest of {9, 5, 4}');
    assert.equal(net.sentOf('ROUND-CHANGE', { from: 0, round: 4 }).length, 1, 'and announces its own RC(4)');
    assert.equal(net.replica(0).timerDeadlineMs, net.now + 8_000);
  });

  it('f Byzantine RCs, even for round 10^6, move nobody (§9 #8)', () => {
    const net = solo(0);
    net.inject(0, rcFrame(net.signers[1]!, 1, 1_000_000));
    assert.equal(net.replica(0).round, 0);
    net.inject(0, rcFrame(net.signers[2]!, 1, 3));
    assert.equal(net.replica(0).round, 3, 'with an honest RC the second largest (3) wins, not 10^6');
  });
});

describe('R7 DECIDED', () => {
  it('a DECIDED with a valid certificate is executed and committed; the replica sends nothing', () => {
    const net = solo(0);
    const b = blockFor(net, 1, 0);
    const cert = certificate(net.signers.slice(1, 4), 1, 0, port.hash(b));
    const ready = net.inject(0, decidedFrame(b, cert));
    assert.equal(ready.execute.length, 1);
    assert.equal(net.logs[0]!.commits.length, 1);
    assert.deepEqual(net.logs[0]!.commits[0]!.cert, cert);
    assert.equal(net.sent.filter((x) => x.from === 0 && x.kind === 'DECIDED').length, 0);
  });

  it('drops DECIDED with a forged or undersized certificate, or on another parent (§9 #15)', () => {
    const net = solo(0);
    const s = net.signers;
    const b = blockFor(net, 1, 0);
    const d = port.hash(b);
    const bad = [
      certificate(s.slice(1, 3), 1, 0, d),
      { round: 0, sigs: certificate(s.slice(1, 4), 1, 1, d).sigs },
      certificate(s.slice(1, 4), 1, 0, new Uint8Array(32)),
    ];
    for (const cert of bad) net.inject(0, decidedFrame(b, cert));
    const other = { ...b, parentHash: new Uint8Array(32).fill(3) };
    net.inject(0, decidedFrame(other, certificate(s.slice(1, 4), 1, 0, port.hash(other))));
    assert.equal(dropped(net, 0, 'bad-decided'), 4);
    assert.equal(net.logs[0]!.commits.length, 0);
  });
});

describe('sync (§4)', () => {
  it('blocks delivered by sync ahead of the current height are kept and committed in order', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    for (let h = 0; h < 3; h++) {
      net.deliver();
      net.advance(200);
    }
    const source = net.logs[0]!.commits;
    assert.ok(source.length >= 3, 'expected source.length >= 3');
    const lagging = new Net({ n: 4, pendingTxs: true });
    lagging.boot(3);
    // The driver fetched three blocks with certificates and steps them at once, newest first even.
    for (const c of [source[2]!, source[1]!, source[0]!])
      lagging.step(3, { type: 'decided', nowMs: lagging.now, block: c.block, cert: c.cert });
    assert.deepEqual(
      lagging.logs[3]!.commits.map((c) => c.height),
      [1, 2, 3],
    );
    assert.equal(lagging.replica(3).height, 4);
  });
});

describe('V-RC on receipt (Synod, §2.3, §9 #11)', () => {
  const cases: [string, (net: Net) => Uint8Array][] = [
    ['an RC for round 0', (net) => rcFrame(net.signers[1]!, 1, 0)],
    [
      'preparedRound not below the round',
      (net) => {
        const b = blockFor(net, 1, 2);
        return rcFrame(net.signers[1]!, 1, 2, {
          round: 2,
          block: b,
          cert: prepareCert(net.signers.slice(0, 3), 1, 2, port.hash(b)),
        });
      },
    ],
    [
      'a prepared claim with neither block nor certificate',
      (net) =>
        encodeMessage<SimBlock>({
          kind: 'ROUND-CHANGE',
          item: rcItem(net.signers[1]!, 1, 2, { round: 0, digest: new Uint8Array(32) }),
        }),
    ],
    [
      'a block that does not hash to preparedDigest',
      (net) => {
        const b = blockFor(net, 1, 0);
        const item = rcItem(net.signers[1]!, 1, 2, { round: 0, digest: new Uint8Array(32).fill(1) });
        return encodeMessage<SimBlock>({
          kind: 'ROUND-CHANGE',
          item,
          preparedBlock: { block: b, bytes: encodeSimBlock(b) },
          prepareCert: prepareCert(net.signers.slice(0, 3), 1, 0, port.hash(b)),
        });
      },
    ],
    [
      'a certificate below the quorum',
      (net) => {
        const b = blockFor(net, 1, 0);
        return rcFrame(net.signers[1]!, 1, 2, {
          round: 0,
          block: b,
          cert: prepareCert(net.signers.slice(0, 2), 1, 0, port.hash(b)),
        });
      },
    ],
    [
      'a certificate of another round',
      (net) => {
        const b = blockFor(net, 1, 0);
        const item = rcItem(net.signers[1]!, 1, 2, { round: 1, digest: port.hash(b) });
        return encodeMessage<SimBlock>({
          kind: 'ROUND-CHANGE',
          item,
          preparedBlock: { block: b, bytes: encodeSimBlock(b) },
          prepareCert: prepareCert(net.signers.slice(0, 3), 1, 0, port.hash(b)),
        });
      },
    ],
    [
      'a certificate signed by a non-member',
      (net) => {
        const b = blockFor(net, 1, 0);
        return rcFrame(net.signers[1]!, 1, 2, {
          round: 0,
          block: b,
          cert: prepareCert([net.signers[0]!, net.signers[1]!, net.signers[4]!], 1, 0, port.hash(b)),
        });
      },
    ],
    [
      'an unprepared RC that carries a block anyway',
      (net) => {
        const b = blockFor(net, 1, 0);
        return encodeMessage<SimBlock>({
          kind: 'ROUND-CHANGE',
          item: rcItem(net.signers[1]!, 1, 2),
          preparedBlock: { block: b, bytes: encodeSimBlock(b) },
        });
      },
    ],
  ];
  for (const [what, frame] of cases) {
    it(`drops ${what}`, () => {
      const net = solo(0, { observers: 1 });
      net.inject(0, frame(net));
      assert.equal(dropped(net, 0, 'bad-round-change'), 1);
      // A valid RC from another validator would now reach f+1 = 2 and move us; the dropped one must not count.
      net.inject(0, rcFrame(net.signers[2]!, 1, 2));
      assert.equal(net.replica(0).round, 0);
    });
  }
});

describe('V-PROPOSAL justification for round r > 0 (§2.3.4, §9 #10)', () => {
  // Round 1 at height 1: proposer is signers[2]; replica 0 is at round 1 after its timeout.
  function setup() {
    const net = solo(0, { observers: 1 });
    net.advance(1_000);
    const s = net.signers;
    const fresh = blockFor(net, 1, 1);
    const b0 = blockFor(net, 1, 0, { txs: ['b0'] });
    const bLow = blockFor(net, 1, 0, { txs: ['low'] });
    return { net, s, fresh, b0, bLow };
  }
  const cases: [string, DropReason, (x: ReturnType<typeof setup>) => Uint8Array][] = [
    [
      'fewer than q round changes',
      'bad-proposal',
      ({ s, fresh }) => proposalFrame(s[2]!, fresh, 1, [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1)]),
    ],
    [
      'the same author twice',
      'bad-proposal',
      ({ s, fresh }) =>
        proposalFrame(s[2]!, fresh, 1, [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1), rcItem(s[1]!, 1, 1)]),
    ],
    [
      'an RC for another round',
      'bad-proposal',
      ({ s, fresh }) =>
        proposalFrame(s[2]!, fresh, 1, [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1), rcItem(s[3]!, 1, 2)]),
    ],
    [
      'an RC for another height',
      'bad-proposal',
      ({ s, fresh }) =>
        proposalFrame(s[2]!, fresh, 1, [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1), rcItem(s[3]!, 2, 1)]),
    ],
    [
      'an RC by a non-member',
      'bad-proposal',
      ({ s, fresh }) =>
        proposalFrame(s[2]!, fresh, 1, [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1), rcItem(s[4]!, 1, 1)]),
    ],
    [
      'an RC with a forged signature',
      'bad-proposal',
      ({ s, fresh }) => {
        const forged = { ...rcItem(s[3]!, 1, 1), signature: rcItem(s[1]!, 1, 1).signature };
        return proposalFrame(s[2]!, fresh, 1, [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1), forged]);
      },
    ],
    [
      'preparedRound not below r',
      'bad-proposal',
      ({ s, b0 }) =>
        proposalFrame(
          s[2]!,
          b0,
          1,
          [
            rcItem(s[0]!, 1, 1, { round: 1, digest: port.hash(b0) }),
            rcItem(s[1]!, 1, 1),
            rcItem(s[3]!, 1, 1),
          ],
          prepareCert(s.slice(0, 3), 1, 1, port.hash(b0)),
        ),
    ],
    [
      'a fresh block while an RC reports a prepared value',
      'bad-proposal',
      ({ s, fresh, b0 }) =>
        proposalFrame(s[2]!, fresh, 1, [
          rcItem(s[0]!, 1, 1, { round: 0, digest: port.hash(b0) }),
          rcItem(s[1]!, 1, 1),
          rcItem(s[3]!, 1, 1),
        ]),
    ],
    [
      'a value other than the highest prepared',
      'bad-proposal',
      ({ net, s, b0, bLow }) => {
        // Round 2 (proposer 3): RCs report b0 at round 1 and bLow at round 0; bLow is proposed.
        net.advance(2_000);
        return proposalFrame(
          s[3]!,
          bLow,
          2,
          [
            rcItem(s[0]!, 1, 2, { round: 1, digest: port.hash(b0) }),
            rcItem(s[1]!, 1, 2, { round: 0, digest: port.hash(bLow) }),
            rcItem(s[2]!, 1, 2),
          ],
          prepareCert(s.slice(0, 3), 1, 0, port.hash(bLow)),
        );
      },
    ],
    [
      'a certificate for a lower round than the highest prepared',
      'bad-proposal',
      ({ net, s, b0 }) => {
        net.advance(2_000);
        return proposalFrame(
          s[3]!,
          b0,
          2,
          [
            rcItem(s[0]!, 1, 2, { round: 1, digest: port.hash(b0) }),
            rcItem(s[1]!, 1, 2),
            rcItem(s[2]!, 1, 2),
          ],
          prepareCert(s.slice(0, 3), 1, 0, port.hash(b0)),
        );
      },
    ],
    [
      'a certificate signed by a non-member',
      'bad-proposal',
      ({ s, b0 }) =>
        proposalFrame(
          s[2]!,
          b0,
          1,
          [
            rcItem(s[0]!, 1, 1, { round: 0, digest: port.hash(b0) }),
            rcItem(s[1]!, 1, 1),
            rcItem(s[3]!, 1, 1),
          ],
          prepareCert([s[0]!, s[1]!, s[4]!], 1, 0, port.hash(b0)),
        ),
    ],
    [
      'a certificate below the quorum',
      'bad-proposal',
      ({ s, b0 }) =>
        proposalFrame(
          s[2]!,
          b0,
          1,
          [
            rcItem(s[0]!, 1, 1, { round: 0, digest: port.hash(b0) }),
            rcItem(s[1]!, 1, 1),
            rcItem(s[3]!, 1, 1),
          ],
          prepareCert([s[0]!, s[1]!], 1, 0, port.hash(b0)),
        ),
    ],
    [
      'a fresh block with B.view != r',
      'bad-block',
      ({ s, fresh }) =>
        proposalFrame(s[2]!, { ...fresh, view: 0 }, 1, [
          rcItem(s[0]!, 1, 1),
          rcItem(s[1]!, 1, 1),
          rcItem(s[3]!, 1, 1),
        ]),
    ],
    [
      'prepares attached to a fresh block',
      'bad-proposal',
      ({ s, fresh }) =>
        proposalFrame(
          s[2]!,
          fresh,
          1,
          [rcItem(s[0]!, 1, 1), rcItem(s[1]!, 1, 1), rcItem(s[3]!, 1, 1)],
          prepareCert(s.slice(0, 3), 1, 0, port.hash(fresh)),
        ),
    ],
  ];
  for (const [what, reason, frame] of cases) {
    it(`rejects ${what}`, () => {
      const x = setup();
      x.net.inject(0, frame(x));
      assert.equal(x.net.sentOf('PREPARE').length, 0, 'no PREPARE');
      assert.equal(dropped(x.net, 0, reason), 1, reason);
    });
  }

  it('accepts the two legal forms: a fresh block (4a) and the highest prepared value with its quorum (4b)', () => {
    const a = setup();
    a.net.inject(
      0,
      proposalFrame(a.s[2]!, a.fresh, 1, [
        rcItem(a.s[0]!, 1, 1),
        rcItem(a.s[1]!, 1, 1),
        rcItem(a.s[3]!, 1, 1),
      ]),
    );
    assert.equal(a.net.sentOf('PREPARE', { from: 0, round: 1 }).length, 1);
    const b = setup();
    const d = port.hash(b.b0);
    b.net.inject(
      0,
      proposalFrame(
        b.s[2]!,
        b.b0,
        1,
        [rcItem(b.s[0]!, 1, 1, { round: 0, digest: d }), rcItem(b.s[1]!, 1, 1), rcItem(b.s[3]!, 1, 1)],
        prepareCert(b.s.slice(0, 3), 1, 0, d),
      ),
    );
    assert.equal(
      b.net.sentOf('PREPARE', { from: 0, round: 1 }).length,
      1,
      'no FRESH check on a re-proposal: B.view = 0 is fine',
    );
  });
});

describe('messages outside the current height (§4, §9 #13, #18)', () => {
  it('past heights are dropped and the sender is answered with a rate-limited DECIDED request', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    net.deliver();
    assert.equal(net.replica(0).height, 2);
    const stale = prepareFrame(net.signers[1]!, 1, 3, new Uint8Array(32));
    const r1 = net.inject(0, stale, 'laggard');
    assert.deepEqual(r1.serveDecided, [{ to: 'laggard', height: 1 }]);
    assert.deepEqual(
      net.inject(0, rcFrame(net.signers[1]!, 1, 4), 'laggard').serveDecided,
      [],
      'rate-limited per peer',
    );
    net.advance(500);
    assert.equal(net.inject(0, rcFrame(net.signers[1]!, 1, 5), 'laggard').serveDecided.length, 1);
    assert.ok(
      net.replica(0).counters.dropped['past-height'] >= 3,
      'expected net.replica(0).counters.dropped["past-height"] >= 3',
    );
  });

  it('future heights within futureHeightsMax are buffered and replayed at R0; further ones are dropped', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    const s = net.signers;
    // Replica 0 misses height 1 entirely except what we inject.
    net.crash(0);
    net.deliver();
    assert.equal(net.replica(1).height, 2);
    net.boot(0);
    const h1 = net.logs[1]!.commits[0]!;
    const h2Block = makeBlock({
      height: 2,
      view: 0,
      proposer: s[net.proposerIndex(2, 0)]!.address,
      parentHash: h1.digest,
      timestampMs: net.now + 1,
    });
    const d2 = port.hash(h2Block);
    net.inject(0, proposalFrame(s[net.proposerIndex(2, 0)]!, h2Block, 0), 'p');
    net.inject(0, prepareFrame(s[1]!, 2, 0, d2), 'n1');
    net.inject(0, prepareFrame(s[1]!, 4, 0, d2), 'n1');
    assert.equal(net.replica(0).futureBufferSize, 2);
    assert.equal(net.replica(0).counters.dropped['future-too-far'], 1);
    // Block 1 arrives by DECIDED: the replica commits it and replays the buffered height-2 messages.
    net.inject(0, decidedFrame(h1.block, h1.cert));
    assert.equal(net.replica(0).height, 2);
    assert.equal(net.replica(0).futureBufferSize, 0);
    assert.equal(
      net.sentOf('PREPARE', { from: 0, height: 2 }).length,
      1,
      'the replayed proposal was PREPAREd',
    );
  });

  it('the buffer is bounded per peer: a flooding peer evicts only its own messages (§9 #18)', () => {
    const net = solo(0);
    const s = net.signers;
    net.inject(0, prepareFrame(s[2]!, 2, 0, new Uint8Array(32).fill(2)), 'honest');
    for (let k = 0; k < 50; k++)
      net.inject(0, prepareFrame(s[1]!, 2 + (k % 2), k, new Uint8Array(32).fill(k)), 'flooder');
    const r = net.replica(0);
    assert.equal(r.futureBufferSizeOf('flooder'), 8, 'bufferedMessagesPerPeerMax');
    assert.equal(r.futureBufferSizeOf('honest'), 1, 'the honest peer kept its message');
    assert.equal(r.counters.dropped['future-evicted'], 42);
  });

  it('asks to sync when f+1 members of V(h) sign above h, or on a DECIDED above h', () => {
    const net = solo(0);
    const s = net.signers;
    const a = net.inject(0, prepareFrame(s[1]!, 2, 0, new Uint8Array(32)), 'n1');
    assert.equal(a.requestSync.length, 0, 'one validator ahead proves nothing');
    const b = net.inject(0, prepareFrame(s[2]!, 3, 0, new Uint8Array(32)), 'n2');
    assert.deepEqual(b.requestSync, [{ height: 1, reason: 'validators-ahead' }]);
    net.advance(1_000);
    const blk = makeBlock({ height: 2, view: 0, proposer: s[2]!.address });
    const c = net.inject(0, decidedFrame(blk, certificate(s.slice(1, 4), 2, 0, port.hash(blk))), 'n3');
    assert.deepEqual(c.requestSync, [{ height: 1, reason: 'decided-ahead' }]);
  });

  it('keeps votes at most roundsAheadMax rounds ahead per author, but always the highest RC', () => {
    const net = solo(0);
    const s = net.signers;
    net.inject(0, prepareFrame(s[1]!, 1, 5, new Uint8Array(32)));
    assert.equal(net.replica(0).counters.dropped['round-too-far'], 1);
    net.inject(0, rcFrame(s[1]!, 1, 50));
    net.inject(0, rcFrame(s[1]!, 1, 40));
    assert.equal(
      net.replica(0).counters.dropped['round-too-far'],
      2,
      'a lower far RC of the same author is dropped',
    );
    net.inject(0, rcFrame(s[2]!, 1, 60));
    assert.equal(net.replica(0).round, 50, 'R6 still sees the far RCs: (f+1)-th largest of {50, 60}');
  });
});

describe('validator-set changes (§7, §9 #16)', () => {
  it('height 2 uses the new set: new n, f, q and proposer; a removed validator counts at 1 and is dropped at 2', () => {
    // V(1) = signers 0..3; V(2) = signers 1..4 (0 removed, 4 added).
    const net = new Net({
      n: 4,
      observers: 1,
      pendingTxs: true,
      validatorsAt: (h, s) => setOf(h === 1 ? s.slice(0, 4) : s.slice(1, 5)),
    }).start();
    // Height 1 with the old set: replica 0 votes and its COMMIT may be in certificates.
    net.deliver();
    for (let i = 0; i < 5; i++) assert.equal(net.replica(i).height, 2, `replica ${i} decided height 1`);
    const c1 = net.logs[1]!.commits[0]!;
    verifyCommitCertificate(CHAIN, 1, c1.digest, c1.cert, setOf(net.signers.slice(0, 4)));
    assert.ok(!net.replica(0).isMember, 'removed at height 2');
    assert.ok(net.replica(4).isMember, 'added at height 2');
    const v2 = net.validatorsAt(2);
    assert.deepEqual([v2.size, v2.f, v2.quorum], [4, 1, 3]);
    // The new proposer builds; everyone decides height 2 with the new set.
    net.advance(200);
    net.deliver();
    const c2 = net.logs[4]!.commits.find((c) => c.height === 2)!;
    assert.ok(c2, 'the added validator decided height 2');
    assert.deepEqual(c2.block.proposer, v2.proposer(2, 0));
    verifyCommitCertificate(CHAIN, 2, c2.digest, c2.cert, v2);
    assert.equal(
      net.sentOf('PREPARE', { from: 0, height: 2 }).length,
      0,
      'the removed validator signs nothing at 2',
    );
  });

  it("a removed validator's messages for its last height still count; at the next height they are dropped", () => {
    const net = new Net({
      n: 4,
      observers: 1,
      pendingTxs: true,
      validatorsAt: (h, s) => setOf(h === 1 ? s.slice(0, 4) : s.slice(1, 5)),
    });
    net.boot(2);
    const s = net.signers;
    assert.equal(net.proposerIndex(1, 0), 1);
    const b = blockFor(net, 1, 0);
    net.inject(2, proposalFrame(s[1]!, b, 0));
    const d = port.hash(b);
    for (const k of [0, 1]) net.inject(2, prepareFrame(s[k]!, 1, 0, d));
    for (const k of [0, 1]) net.inject(2, commitFrame(s[k]!, 1, 0, d));
    const c = net.logs[2]!.commits[0]!;
    assert.ok(c, 'decided with the COMMITs of 0, 1 and its own');
    assert.ok(
      c.cert.sigs.some((x) => hexOf(x.author) === hexOf(s[0]!.address)),
      "signer 0's COMMIT counted at height 1",
    );
    net.inject(2, prepareFrame(s[0]!, 2, 0, new Uint8Array(32)));
    assert.equal(net.replica(2).counters.dropped['not-validator'], 1, 'signer 0 is not in V(2)');
    net.inject(2, prepareFrame(s[4]!, 2, 0, new Uint8Array(32)));
    assert.equal(net.replica(2).counters.dropped['not-validator'], 1, 'the added validator counts at 2');
  });
});

describe('persist before send (§3.3)', () => {
  it('every Ready that sends signed messages persists, in the same Ready, a WAL record holding them', async () => {
    const { decodeWalRecord } = await import('../../consensus/wal.js');
    const net = new Net({ n: 4, pendingTxs: true }).start();
    for (let k = 0; k < 4; k++) {
      net.deliver();
      net.advance(1_000);
    }
    let checked = 0;
    for (const log of net.logs) {
      for (const ready of log.readies) {
        const signed = ready.messages.filter((m) => m.kind !== 'DECIDED');
        if (signed.length === 0) continue;
        assert.ok(ready.persist, 'a Ready with signed messages carries persist');
        const rec = decodeWalRecord(ready.persist);
        for (const m of signed) {
          assert.ok(
            rec.sent.some((f) => Buffer.compare(Buffer.from(f), Buffer.from(m.bytes)) === 0),
            `${m.kind} is in the WAL`,
          );
          assert.equal(rec.round, m.round);
        }
        checked++;
      }
    }
    assert.ok(checked > 10, 'expected checked > 10');
    assert.ok(net.logs[0]!.commits.length >= 4, 'expected net.logs[0]!.commits.length >= 4');
  });

  it('GENESIS parent: height 1 proposals name the genesis hash', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    const [prop] = net.sentOf('PROPOSAL');
    assert.ok(prop && prop.msg.kind === 'PROPOSAL', 'expected prop && prop.msg.kind === "PROPOSAL"');
    assert.equal(hexOf(prop.msg.block.parentHash), hexOf(GENESIS));
  });
});

describe('robustness and accounting', () => {
  it('arbitrary bytes and corrupted frames never throw out of step; they are counted as dropped', async () => {
    const fc = (await import('fast-check')).default;
    const net = solo(0);
    const valid = [prepareFrame(net.signers[1]!, 1, 0, new Uint8Array(32)), rcFrame(net.signers[2]!, 1, 3)];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.tuple(fc.nat(1), fc.nat(), fc.integer({ min: 1, max: 255 })),
        ),
        (x) => {
          let bytes: Uint8Array;
          if (x instanceof Uint8Array) bytes = x;
          else {
            bytes = valid[x[0]]!.slice();
            bytes[x[1] % bytes.length] = bytes[x[1] % bytes.length]! ^ x[2];
          }
          net.inject(0, bytes, 'fuzz');
        },
      ),
      { numRuns: 500, seed: 3 },
    );
    const c = net.replica(0).counters;
    const droppedTotal = Object.values(c.dropped).reduce((a, b) => a + b, 0);
    assert.ok(c.dropped.malformed > 0, 'expected c.dropped.malformed > 0');
    assert.ok(droppedTotal > 400, `${droppedTotal} dropped`);
    assert.equal(net.replica(0).status, 'running');
  });

  it('its own messages echoed back by the network are not used (own-echo), even a conflicting one', () => {
    const net = solo(0);
    const me = net.signers[0]!;
    net.inject(0, prepareFrame(me, 1, 0, new Uint8Array(32).fill(1)), 'replayer');
    net.inject(0, rcFrame(me, 1, 2), 'replayer');
    assert.equal(net.replica(0).counters.dropped['own-echo'], 2);
    assert.equal(net.replica(0).round, 0);
    // Its real PREPARE later is unaffected.
    acceptRoundZero(net);
  });

  it('E2: two different ROUND-CHANGEs of one validator for one round are evidence; the first stays', () => {
    const net = solo(0);
    const s = net.signers;
    const b = blockFor(net, 1, 0);
    net.inject(0, rcFrame(s[1]!, 1, 2));
    net.inject(
      0,
      rcFrame(s[1]!, 1, 2, { round: 0, block: b, cert: prepareCert(s.slice(0, 3), 1, 0, port.hash(b)) }),
    );
    net.inject(
      0,
      rcFrame(s[1]!, 1, 2, { round: 1, block: b, cert: prepareCert(s.slice(0, 3), 1, 1, port.hash(b)) }),
    );
    const ev = net.logs[0]!.evidence;
    assert.equal(ev.length, 1, 'one record per (type, height, round, validator)');
    assert.equal(ev[0]!.kind, 'ROUND-CHANGE');
    assert.equal(
      net.replica(0).counters.dropped['equivocation-excess'],
      1,
      'a third version is dropped unverified',
    );
    assert.equal(net.replica(0).counters.dropped.conflicting, 1);
  });
});
