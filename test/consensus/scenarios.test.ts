/**
 * Readable transcripts of docs/protocol.md §9 scenarios, n = 4 (f = 1, q = 3), driven message by message.
 * Proposers at height 1: round 0 -> replica 1, round 1 -> 2, round 2 -> 3, round 3 -> 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyCommitCertificate } from '../../consensus/certificate.js';
import type { SimBlock } from '../../consensus/sim/block.js';
import {
  CHAIN,
  decidedFrame,
  hexOf,
  kindIs,
  makeBlock,
  Net,
  port,
  prepareCert,
  prepareFrame,
  proposalFrame,
  rcFrame,
  rcItem,
  type Sent,
} from './harness.js';

type P = { to: number; sent: Sent };
const from = (i: number) => (p: P) => p.sent.from === i;
const to =
  (...is: number[]) =>
  (p: P) =>
    is.includes(p.to);
const and =
  (...fs: ((p: P) => boolean)[]) =>
  (p: P) =>
    fs.every((f) => f(p));
const not = (f: (p: P) => boolean) => (p: P) => !f(p);

function block(net: Net, round: number, tag: string, height = 1): SimBlock {
  return makeBlock({
    height,
    view: round,
    proposer: net.signers[net.proposerIndex(height, round)]!.address,
    timestampMs: net.now,
    txs: [tag],
  });
}

function assertAgreement(net: Net, height: number, replicas: number[]): string {
  const digests = replicas.map((i) => net.committedDigest(i, height));
  assert.ok(
    digests.every((d) => d !== undefined),
    `all of ${replicas} decided height ${height}: ${digests}`,
  );
  assert.equal(new Set(digests).size, 1, `agreement at height ${height}: ${digests}`);
  for (const i of replicas) {
    const c = net.logs[i]!.commits.find((x) => x.height === height)!;
    verifyCommitCertificate(CHAIN, height, c.digest, c.cert, net.validatorsAt(height));
  }
  return digests[0]!;
}

describe('§9 scenario transcripts', () => {
  it('#1 happy path: 20 heights, each decided in round 0 with >= q distinct signers', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    for (let h = 1; h <= 20; h++) {
      net.deliver();
      net.advance(200);
    }
    for (let h = 1; h <= 20; h++) {
      assertAgreement(net, h, [0, 1, 2, 3]);
      for (let i = 0; i < 4; i++) {
        const c = net.logs[i]!.commits[h - 1]!;
        assert.deepEqual([c.height, c.cert.round, c.block.view], [h, 0, 0]);
        assert.ok(c.cert.sigs.length >= 3, 'expected c.cert.sigs.length >= 3');
        assert.deepEqual(c.block.proposer, net.validatorsAt(h).proposer(h, 0));
      }
    }
    assert.equal(net.sentOf('ROUND-CHANGE').length, 0, 'no round ever changed');
  });

  it('#4 silent round-0 proposer: timeout, RCs, the round-1 proposer builds a fresh block (B.view = 1), decide', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    for (const i of [0, 2, 3]) net.boot(i); // replica 1, proposer of round 0, never speaks
    net.deliver();
    assert.equal(net.sentOf('PROPOSAL').length, 0);
    net.advance(1_000); // timer(0) fires everywhere: RC(1, 1)
    assert.equal(net.sentOf('ROUND-CHANGE', { round: 1 }).length, 3);
    net.deliver();
    const [prop] = net.sentOf('PROPOSAL', { round: 1 });
    assert.ok(
      prop && prop.msg.kind === 'PROPOSAL' && prop.from === 2,
      'expected prop && prop.msg.kind === "PROPOSAL" && prop.from === 2',
    );
    assert.equal(prop.msg.block.view, 1);
    assert.equal(prop.msg.roundChanges.length, 3);
    const d = assertAgreement(net, 1, [0, 2, 3]);
    assert.equal(d, hexOf(port.hash(prop.msg.block)));
    assert.equal(net.logs[0]!.commits[0]!.cert.round, 1);
  });

  it("#5 equivocating proposer: B to two replicas, B' to one; E1 evidence; round 1 re-proposes the prepared B", () => {
    const net = new Net({ n: 4, pendingTxs: true });
    const s = net.signers;
    for (const i of [0, 2, 3]) net.boot(i); // replica 1 is Byzantine and scripted here
    const b = block(net, 0, 'B');
    const b2 = block(net, 0, "B'");
    const d = port.hash(b);
    net.inject(0, proposalFrame(s[1]!, b, 0), 'n1');
    net.inject(2, proposalFrame(s[1]!, b, 0), 'n1');
    net.inject(3, proposalFrame(s[1]!, b2, 0), 'n1');
    net.inject(0, proposalFrame(s[1]!, b2, 0), 'n1'); // replica 0 sees both
    assert.equal(net.logs[0]!.evidence.length, 1);
    const ev = net.logs[0]!.evidence[0]!;
    assert.deepEqual([ev.kind, ev.height, ev.round], ['PROPOSAL', 1, 0]);
    assert.equal(hexOf(ev.validator), hexOf(s[1]!.address));
    assert.equal(net.sentOf('PREPARE', { from: 0 }).length, 1, "no PREPARE for B'");
    // The Byzantine PREPARE for B reaches only replica 0: only 0 can prepare B.
    net.inject(0, prepareFrame(s[1]!, 1, 0, d), 'n1');
    net.deliver(kindIs('PREPARE'));
    assert.equal(net.replica(0).preparedRound, 0);
    assert.equal(net.replica(2).preparedRound, undefined);
    assert.equal(net.replica(3).preparedRound, undefined);
    net.drop(kindIs('COMMIT'));
    net.advance(1_000);
    net.deliver(kindIs('ROUND-CHANGE'));
    const [prop] = net.sentOf('PROPOSAL', { round: 1 });
    assert.ok(
      prop && prop.msg.kind === 'PROPOSAL' && prop.from === 2,
      'expected prop && prop.msg.kind === "PROPOSAL" && prop.from === 2',
    );
    assert.equal(
      hexOf(prop.msg.item.payload.digest),
      hexOf(d),
      'the RC quorum carries B as prepared: B is re-proposed',
    );
    net.deliver();
    assert.equal(assertAgreement(net, 1, [0, 2, 3]), hexOf(d));
  });

  function bug1(brokenRule?: 'round-change-forgets-prepared') {
    const net = new Net({ n: 4, pendingTxs: true, brokenRule }).start();
    // Round 0: everyone prepares B; only replica 0 receives the COMMITs, decides, and its DECIDED is lost.
    net.deliver(not(kindIs('COMMIT')));
    net.deliver(and(kindIs('COMMIT'), to(0)));
    net.drop(kindIs('COMMIT'));
    assert.equal(net.logs[0]!.commits.length, 1, 'replica 0 decided alone');
    const decided = hexOf(net.logs[0]!.commits[0]!.digest);
    net.drop(from(0));
    return { net, decided };
  }

  it('#6 IBFT bug 1: one replica decides B alone; the others time out and round 1 must carry B', () => {
    const { net, decided } = bug1();
    const s = net.signers;
    net.advance(1_000, [1, 2, 3]);
    const rcs = net.sentOf('ROUND-CHANGE', { round: 1 });
    assert.equal(rcs.length, 3);
    for (const rc of rcs)
      assert.ok(
        rc.msg.kind === 'ROUND-CHANGE' && rc.msg.item.payload.prepared?.round === 0,
        'RC reports B as prepared',
      );
    // A Byzantine round-1 proposer (replica 2's key) tries B' with RC payloads that hide B:
    const b2 = block(net, 1, "B'");
    const honestRcs = rcs.map((x) => (x.msg.kind === 'ROUND-CHANGE' ? x.msg.item : undefined)!);
    const attempts = [
      // the real RCs, which name B as prepared: a fresh block is not allowed
      proposalFrame(s[2]!, b2, 1, honestRcs),
      // "unprepared" RCs in the names of 1 and 3, which they never signed
      proposalFrame(
        s[2]!,
        b2,
        1,
        [1, 2, 3].map((k) => ({ ...rcItem(s[k]!, 1, 1), signature: rcItem(s[2]!, 1, 1).signature })),
      ),
      // B' backed by a forged certificate (signatures of replica 2 in everyone's name)
      proposalFrame(
        s[2]!,
        b2,
        1,
        [1, 2, 3].map((k) =>
          k === 2 ? rcItem(s[2]!, 1, 1, { round: 0, digest: port.hash(b2) }) : honestRcs[k - 1]!,
        ),
        prepareCert([s[0]!, s[1]!, s[2]!], 1, 0, port.hash(b2)).map((p) => ({
          ...p,
          signature: prepareCert([s[2]!], 1, 0, port.hash(b2))[0]!.signature,
        })),
      ),
    ];
    for (const f of attempts) net.inject(3, f, 'byzantine');
    assert.equal(net.replica(3).counters.dropped['bad-proposal'], 3);
    assert.equal(net.sentOf('PREPARE', { from: 3, round: 1 }).length, 0);
    // The honest round-1 proposer re-proposes B; the rest decide B: agreement holds.
    net.deliver(and(to(1, 2, 3), not(from(0))));
    const [prop] = net.sentOf('PROPOSAL', { round: 1 });
    assert.ok(prop && prop.msg.kind === 'PROPOSAL', 'expected prop && prop.msg.kind === "PROPOSAL"');
    assert.equal(hexOf(prop.msg.item.payload.digest), decided);
    assert.equal(assertAgreement(net, 1, [0, 1, 2, 3]), decided);
  });

  it('#6 with the broken rule (RC forgets prepared): the same schedule forks, so this transcript can fail', () => {
    const { net, decided } = bug1('round-change-forgets-prepared');
    net.advance(1_000, [1, 2, 3]);
    net.deliver(and(to(1, 2, 3), not(from(0))));
    const others = net.committedDigest(1, 1);
    assert.ok(others !== undefined, 'expected others !== undefined');
    assert.notEqual(others, decided, 'replicas 1-3 decided a different block: a fork');
  });

  it('#13 / §4: the laggards learn B from the DECIDED that replica 0 serves when their RCs reach it', () => {
    const { net, decided } = bug1();
    net.advance(1_000, [1, 2, 3]);
    const rc = net.pending.find((p) => p.to === 0 && p.sent.kind === 'ROUND-CHANGE')!;
    const ready = net.inject(0, rc.sent.bytes, `n${rc.sent.from}`);
    assert.deepEqual(ready.serveDecided, [{ to: `n${rc.sent.from}`, height: 1 }]);
    // The driver answers with the DECIDED from its ledger.
    const c = net.logs[0]!.commits[0]!;
    net.inject(rc.sent.from, decidedFrame(c.block, c.cert), 'n0');
    assert.equal(net.committedDigest(rc.sent.from, 1), decided);
    // And by sync: a DecidedEvent with the certificate, checked against V(1).
    const other = [1, 2, 3].find((i) => i !== rc.sent.from)!;
    net.step(other, { type: 'decided', nowMs: net.now, block: c.block, cert: c.cert });
    assert.equal(net.committedDigest(other, 1), decided);
  });

  it("#7 IBFT bug 2: X prepared B, Y prepared B'; round 2 re-proposes B' and X PREPAREs it; the height decides", () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    const X = 0;
    const Y = 3;
    // Round 0: all PREPARE B, only X sees the PREPARE quorum.
    net.deliver(kindIs('PROPOSAL'));
    net.deliver(and(kindIs('PREPARE'), to(X)));
    net.drop(kindIs('PREPARE'));
    net.drop(kindIs('COMMIT'));
    assert.equal(net.replica(X).preparedRound, 0);
    const dB = hexOf(net.replica(X).preparedDigest!);
    // Round 1: the RC quorum at the proposer (2) lacks X; a fresh B' is proposed; only Y sees its PREPAREs.
    net.advance(1_000);
    net.drop(and(kindIs('ROUND-CHANGE'), from(X)));
    net.deliver(and(kindIs('ROUND-CHANGE'), to(2)));
    const [p1] = net.sentOf('PROPOSAL', { round: 1 });
    assert.ok(p1 && p1.msg.kind === 'PROPOSAL' && p1.msg.block.view === 1, "a fresh B'");
    const dB2 = hexOf(p1.msg.item.payload.digest);
    assert.notEqual(dB2, dB);
    net.deliver(kindIs('PROPOSAL'));
    assert.equal(
      net.sentOf('PREPARE', { from: X, round: 1 }).length,
      1,
      "X PREPAREs B' in round 1: there is no lock",
    );
    net.deliver(and(kindIs('PREPARE'), to(Y)));
    net.drop(kindIs('PREPARE'));
    net.drop(kindIs('COMMIT'));
    net.drop(kindIs('ROUND-CHANGE'));
    assert.deepEqual([net.replica(X).preparedRound, net.replica(Y).preparedRound], [0, 1]);
    // Round 2 (proposer Y): the highest prepared value is B' (round 1) even though X prepared B.
    net.advance(2_000);
    net.deliver();
    const [p2] = net.sentOf('PROPOSAL', { round: 2 });
    assert.ok(
      p2 && p2.msg.kind === 'PROPOSAL' && p2.from === Y,
      'expected p2 && p2.msg.kind === "PROPOSAL" && p2.from === Y',
    );
    assert.equal(hexOf(p2.msg.item.payload.digest), dB2);
    const xPrep = net.sentOf('PREPARE', { from: X, round: 2 })[0]!;
    assert.ok(
      xPrep.msg.kind === 'PREPARE' && hexOf(xPrep.msg.item.payload.digest) === dB2,
      "X PREPAREs B' despite having prepared B",
    );
    assert.equal(assertAgreement(net, 1, [0, 1, 2, 3]), dB2);
  });

  it("#8 a partitioned replica jumps straight to the others' round 6 after f+1 RCs; f RCs for 10^6 move nobody", () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    const isolated = 3;
    net.drop(kindIs('PROPOSAL')); // round 0 fails
    for (let r = 1; r <= 6; r++) {
      net.advance(net.replica(0).timerDeadlineMs! - net.now, [0, 1, 2]);
      if (r < 6) net.drop(to(isolated)); // the partition loses everything sent to it before round 6
      net.drop(from(isolated));
      net.drop(kindIs('PROPOSAL'));
      net.deliver(and(kindIs('ROUND-CHANGE'), not(to(isolated))));
      net.drop(and(not(kindIs('ROUND-CHANGE')), not(to(isolated))));
    }
    assert.deepEqual(
      [0, 1, 2].map((i) => net.replica(i).round),
      [6, 6, 6],
    );
    assert.equal(net.replica(isolated).round, 0);
    // A Byzantine RC for round 10^6 (f = 1 of them) moves nobody.
    net.inject(isolated, rcFrame(net.signers[1]!, 1, 1_000_000), 'byzantine');
    assert.equal(net.replica(isolated).round, 0);
    // Heal: the first RC(6) makes f+1 = 2 authors above its round; the second largest is 6.
    const rc6 = net.pending.filter(
      (p) => p.to === isolated && p.sent.kind === 'ROUND-CHANGE' && p.sent.round === 6,
    );
    assert.equal(rc6.length, 3);
    net.inject(isolated, rc6[0]!.sent.bytes, 'n');
    assert.equal(net.replica(isolated).round, 6);
    assert.equal(net.replica(isolated).counters.roundSkips, 1, 'one jump, not one round at a time');
    assert.equal(net.replica(isolated).timerDeadlineMs, net.now + 8_000, 'timer(6) = min(1000 * 2^6, 8000)');
  });

  it('a replica alone in a round r >= 1 re-arms and re-sends its RC instead of running ahead (sim seed 58)', () => {
    // Without this guard, capped timeouts let one replica run a round ahead of the others forever:
    // it left every round just before they entered it (simulator seed 58, n = 4, one silent).
    const net = new Net({ n: 4, pendingTxs: true });
    for (const i of [0, 1, 2]) net.boot(i);
    net.drop(() => true);
    net.advance(1_000, [2]); // round 0 -> 1 needs no evidence
    const r = net.replica(2);
    assert.equal(r.round, 1);
    const [rc1] = net.sentOf('ROUND-CHANGE', { from: 2, round: 1 });
    net.drop(() => true);
    for (let k = 0; k < 3; k++) net.advance(2_000, [2]);
    assert.equal(r.round, 1, 'nobody else is known to be at round >= 1: it stays');
    assert.equal(r.counters.roundTimeoutsDeferred, 3);
    const resent = net.sentOf('ROUND-CHANGE', { from: 2, round: 1 });
    assert.equal(resent.length, 4);
    assert.ok(
      resent.every((x) => hexOf(x.bytes) === hexOf(rc1!.bytes)),
      'the same bytes, never a new signature',
    );
    // The Byzantine replica's RC alone is not enough (2 < q); with an honest one it is.
    net.inject(2, rcFrame(net.signers[3]!, 1, 1), 'n3');
    net.advance(2_000, [2]);
    assert.equal(r.round, 1);
    net.advance(0, [0, 1]);
    net.deliver(and(kindIs('ROUND-CHANGE'), from(0), to(2)));
    net.advance(2_000, [2]);
    assert.equal(r.round, 2, 'q validators (2, 3 and 0) have shown round >= 1: the timeout proceeds');
  });

  it('#17 double voter: PREPARE(d1) to some, PREPARE(d2) to others; E1 evidence; consensus unchanged', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    const s = net.signers;
    for (const i of [0, 1, 2]) net.boot(i); // replica 3 is the Byzantine double voter
    net.deliver(kindIs('PROPOSAL'));
    const d = port.hash((net.sentOf('PROPOSAL')[0]!.msg as { block: SimBlock }).block);
    const d2 = new Uint8Array(32).fill(0xd2);
    net.inject(0, prepareFrame(s[3]!, 1, 0, d), 'n3');
    net.inject(1, prepareFrame(s[3]!, 1, 0, d2), 'n3');
    net.inject(2, prepareFrame(s[3]!, 1, 0, d), 'n3');
    net.inject(2, prepareFrame(s[3]!, 1, 0, d2), 'n3');
    assert.equal(net.logs[2]!.evidence.length, 1);
    assert.equal(net.logs[2]!.evidence[0]!.kind, 'PREPARE');
    assert.equal(
      net.logs[0]!.evidence.length + net.logs[1]!.evidence.length,
      0,
      'only a replica that saw both has evidence',
    );
    assert.equal(net.replica(2).counters.dropped.conflicting, 1, 'the second vote is evidence only');
    net.deliver();
    assertAgreement(net, 1, [0, 1, 2]);
    assert.equal(hexOf(net.logs[0]!.commits[0]!.digest), hexOf(d));
  });

  it('#19 invalid proposal (bad state root): no PREPARE, round change, the next proposer decides', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    const s = net.signers;
    for (const i of [0, 2, 3]) net.boot(i); // replica 1, proposer of round 0, is Byzantine
    const bad = { ...block(net, 0, 'x'), stateRoot: new Uint8Array(32).fill(0xee) };
    net.invalid.add(hexOf(port.hash(bad))); // re-execution does not reproduce its state root
    for (const i of [0, 2, 3]) net.inject(i, proposalFrame(s[1]!, bad, 0), 'n1');
    assert.equal(net.sentOf('PREPARE').length, 0);
    net.advance(1_000);
    net.deliver();
    const d = assertAgreement(net, 1, [0, 2, 3]);
    assert.notEqual(d, hexOf(port.hash(bad)));
    assert.equal(net.logs[0]!.commits[0]!.cert.round, 1);
  });
});
