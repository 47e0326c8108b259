/**
 * The WAL record and restarts (docs/protocol.md §3.3, §9 #12): crash just before and just after each kind of
 * send; the restarted replica resumes at the persisted (height, round) with `prepared`, re-sends the
 * same bytes, and never signs a different payload for a key it already signed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WalError } from '../../consensus/errors.js';
import type { SignedMessage } from '../../consensus/messages.js';
import type { SimBlock } from '../../consensus/sim/block.js';
import { decodeWalRecord, encodeWalRecord, type WalRecord } from '../../consensus/wal.js';
import {
  GENESIS,
  hexOf,
  makeBlock,
  Net,
  port,
  prepareFrame,
  proposalFrame,
  rcItem,
  support,
  vote,
} from './harness.js';

/** I1 over everything a replica ever sent: one payload per (height, round, type). */
function assertNoConflictingSignatures(net: Net): void {
  const seen = new Map<string, string>();
  for (const s of net.sent) {
    if (s.msg.kind === 'DECIDED') continue;
    const p = (s.msg as SignedMessage<SimBlock>).item.payload;
    const key = `${hexOf(p.author)}/${p.height}/${p.round}/${p.type}`;
    const payload = hexOf((s.msg as SignedMessage<SimBlock>).item.signed);
    const prev = seen.get(key);
    if (prev !== undefined)
      assert.equal(payload, prev, `two different ${p.type} for (h=${p.height}, r=${p.round})`);
    seen.set(key, payload);
  }
}

function blockAt(net: Net, round: number, tag: string): SimBlock {
  const p = net.proposerIndex(1, round);
  return makeBlock({
    height: 1,
    view: round,
    proposer: net.signers[p]!.address,
    timestampMs: net.now,
    txs: [tag],
  });
}

/** Restarts replica i from its WAL; returns the frames it re-sent on restart. */
function restart(net: Net, i: number): Uint8Array[] {
  net.crash(i);
  const before = net.sent.length;
  net.boot(i, true);
  return net.sent
    .slice(before)
    .filter((x) => x.from === i)
    .map((x) => x.bytes);
}

function framesOf(net: Net, i: number, kind: string): string[] {
  return net.sent.filter((x) => x.from === i && x.kind === kind).map((x) => hexOf(x.bytes));
}

describe('WAL record codec', () => {
  it('round-trips every field and refuses malformed records', () => {
    const d = new Uint8Array(32).fill(7);
    const rec: WalRecord = {
      chainId: 'c',
      height: 9,
      round: 3,
      accepted: { round: 3, digest: d, block: new Uint8Array([1, 2]) },
      prepared: {
        round: 2,
        digest: d,
        block: new Uint8Array([3]),
        cert: [vote(new Net({ n: 1 }).signers[0]!, 'PREPARE', 9, 2, d)],
      },
      sent: [new Uint8Array([9, 9])],
    };
    const bytes = encodeWalRecord(rec);
    assert.deepEqual(encodeWalRecord(decodeWalRecord(bytes)), bytes);
    assert.deepEqual(decodeWalRecord(bytes).prepared!.round, 2);
    const bad = [
      new Uint8Array([1, 2, 3]),
      encodeWalRecord({ ...rec, accepted: { ...rec.accepted!, round: 2 } }),
      encodeWalRecord({ ...rec, prepared: { ...rec.prepared!, round: 4 } }),
      encodeWalRecord({
        ...rec,
        sent: [rec.sent[0]!, rec.sent[0]!, rec.sent[0]!, rec.sent[0]!, rec.sent[0]!],
      }),
    ];
    for (const b of bad)
      assert.throws(
        () => decodeWalRecord(b),
        (e: unknown) => e instanceof WalError && e.code === 'malformed',
      );
  });
});

describe('crash and restart around each send (§9 #12)', () => {
  it('PROPOSAL: after the send, the restarted proposer re-sends the same bytes and proposes nothing else for (h, 0)', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    const p = net.proposerIndex(1, 0);
    net.boot(p);
    const sentProposal = framesOf(net, p, 'PROPOSAL');
    assert.equal(sentProposal.length, 1);
    const resent = restart(net, p).map(hexOf);
    assert.ok(resent.includes(sentProposal[0]!), 'the same PROPOSAL bytes again');
    net.advance(200); // a new build would be due: none happens for (1, 0)
    assert.deepEqual([...new Set(framesOf(net, p, 'PROPOSAL'))], sentProposal);
    assertNoConflictingSignatures(net);
  });

  it('PREPARE: after the send, a conflicting proposal of the same round gets no PREPARE; the restored accepted block still commits', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    net.boot(0);
    const s = net.signers;
    const b = blockAt(net, 0, 'b');
    net.inject(0, proposalFrame(s[1]!, b, 0));
    const prep = framesOf(net, 0, 'PREPARE');
    assert.equal(prep.length, 1);
    assert.ok(restart(net, 0).map(hexOf).includes(prep[0]!), 're-sent the same PREPARE');
    assert.equal(net.replica(0).round, 0);
    // The equivocating proposer's other block arrives first now: no second PREPARE for round 0.
    const other = blockAt(net, 0, 'other');
    net.inject(0, proposalFrame(s[1]!, other, 0));
    assert.deepEqual([...new Set(framesOf(net, 0, 'PREPARE'))], prep);
    // R2 still works from the restored `accepted`.
    const d = port.hash(b);
    for (const k of [1, 2]) net.inject(0, prepareFrame(s[k]!, 1, 0, d));
    assert.equal(net.sentOf('COMMIT', { from: 0 }).length, 1);
    assertNoConflictingSignatures(net);
  });

  it('COMMIT: after the send, prepared survives the restart and the next RC reports it', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    net.boot(0);
    const s = net.signers;
    const b = blockAt(net, 0, 'b');
    const d = port.hash(b);
    net.inject(0, proposalFrame(s[1]!, b, 0));
    for (const k of [1, 2]) net.inject(0, prepareFrame(s[k]!, 1, 0, d));
    const commit = framesOf(net, 0, 'COMMIT');
    assert.equal(commit.length, 1);
    assert.ok(
      restart(net, 0).map(hexOf).includes(commit[0]!),
      'expected restart(net, 0).map(hexOf).includes(commit[0]!)',
    );
    const r = net.replica(0);
    assert.equal(r.preparedRound, 0);
    net.advance(1_000);
    const [rc] = net.sentOf('ROUND-CHANGE', { from: 0, round: 1 });
    assert.ok(rc && rc.msg.kind === 'ROUND-CHANGE', 'expected rc && rc.msg.kind === "ROUND-CHANGE"');
    assert.deepEqual(rc.msg.item.payload.prepared, { round: 0, digest: d });
    assertNoConflictingSignatures(net);
  });

  it('ROUND-CHANGE: after the send, the replica restarts in that round (never back to 0) and re-sends the same RC', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    net.boot(0);
    net.advance(1_000);
    support(net, 0);
    net.advance(2_000);
    const rcs = framesOf(net, 0, 'ROUND-CHANGE');
    assert.equal(rcs.length, 2);
    const resent = restart(net, 0).map(hexOf);
    assert.ok(resent.includes(rcs[1]!), 'expected resent.includes(rcs[1]!)');
    const r = net.replica(0);
    assert.equal(r.round, 2, 'resumes at the persisted round');
    assert.equal(r.timerDeadlineMs, net.now + 4_000, 'a fresh timer(2)');
    // An honest proposal of round 1 is now below our round: no PREPARE for it (I2).
    net.inject(
      0,
      proposalFrame(
        net.signers[2]!,
        blockAt(net, 1, 'late'),
        1,
        [1, 2, 3].map((k) => rcItem(net.signers[k]!, 1, 1)),
      ),
    );
    assert.equal(net.replica(0).counters.dropped['old-round'], 1);
    assert.equal(net.sentOf('PREPARE', { from: 0, round: 1 }).length, 0);
    assertNoConflictingSignatures(net);
  });

  for (const what of ['PREPARE', 'COMMIT', 'ROUND-CHANGE'] as const) {
    it(`${what}: a crash before the fsync loses the message unsent, and what is signed later is consistent`, () => {
      const net = new Net({ n: 4, pendingTxs: true });
      net.boot(0);
      const s = net.signers;
      const b = blockAt(net, 0, 'b');
      const d = port.hash(b);
      const walBefore = () => net.logs[0]!.wal;
      let saved = walBefore();
      const stepThenLose = (f: () => void) => {
        saved = walBefore();
        const before = net.sent.length;
        f();
        // The crash came before the fsync: the record on disk is the old one and nothing left.
        net.logs[0]!.wal = saved;
        net.sent.splice(before);
        net.crash(0);
        net.boot(0, true);
      };
      if (what === 'PREPARE') {
        stepThenLose(() => net.inject(0, proposalFrame(s[1]!, b, 0)));
        assert.equal(framesOf(net, 0, 'PREPARE').length, 0);
        net.inject(0, proposalFrame(s[1]!, b, 0));
        assert.equal(framesOf(net, 0, 'PREPARE').length, 1, 'signs again, now durably');
      } else if (what === 'COMMIT') {
        net.inject(0, proposalFrame(s[1]!, b, 0));
        stepThenLose(() => {
          for (const k of [1, 2]) net.inject(0, prepareFrame(s[k]!, 1, 0, d));
        });
        assert.equal(framesOf(net, 0, 'COMMIT').length, 0);
        assert.equal(
          net.replica(0).preparedRound,
          undefined,
          'prepared was never durable, and no COMMIT left',
        );
        for (const k of [1, 2]) net.inject(0, prepareFrame(s[k]!, 1, 0, d));
        assert.equal(framesOf(net, 0, 'COMMIT').length, 1);
      } else {
        stepThenLose(() => net.advance(1_000));
        assert.equal(net.replica(0).round, 0);
        net.advance(1_000);
        assert.equal(net.replica(0).round, 1);
        assert.equal(framesOf(net, 0, 'ROUND-CHANGE').length, 1);
      }
      assertNoConflictingSignatures(net);
    });
  }

  it('a record of a height the ledger already holds is discarded: start at h+1, round 0', () => {
    const net = new Net({ n: 4, pendingTxs: true }).start();
    net.deliver();
    assert.equal(net.logs[0]!.ledger.length, 1);
    // The WAL still holds height 1's record (nothing was signed at 2 yet).
    assert.equal(decodeWalRecord(net.logs[0]!.wal!).height, 1);
    restart(net, 0);
    assert.deepEqual([net.replica(0).height, net.replica(0).round], [2, 0]);
  });

  it('refuses a record of another chain or above the ledger', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    const r = net.newReplica(0);
    const base = {
      type: 'startHeight',
      nowMs: 1,
      height: 1,
      validators: net.validatorsAt(1),
      parentHash: GENESIS,
      parentTimestampMs: 0,
    } as const;
    const other = encodeWalRecord({ chainId: 'other', height: 1, round: 0, sent: [] });
    assert.throws(
      () => r.step({ ...base, wal: other }),
      (e: unknown) => e instanceof WalError && e.code === 'wrong-chain',
    );
    const ahead = encodeWalRecord({ chainId: 'synod-test', height: 3, round: 0, sent: [] });
    assert.throws(
      () => net.newReplica(0).step({ ...base, wal: ahead }),
      (e: unknown) => e instanceof WalError && e.code === 'ahead-of-ledger',
    );
    assert.throws(
      () => net.newReplica(0).step({ ...base, wal: new Uint8Array([0xff]) }),
      (e: unknown) => e instanceof WalError && e.code === 'malformed',
    );
  });

  it('a restored prepared value is carried into the next round change even after many rounds', () => {
    const net = new Net({ n: 4, pendingTxs: true });
    net.boot(3);
    const s = net.signers;
    const b = blockAt(net, 0, 'b');
    const d = port.hash(b);
    net.inject(3, proposalFrame(s[1]!, b, 0));
    for (const k of [0, 1]) net.inject(3, prepareFrame(s[k]!, 1, 0, d));
    for (let k = 0; k < 3; k++) {
      if (net.replica(3).round > 0) support(net, 3);
      net.advance(net.replica(3).timerDeadlineMs! - net.now);
      restart(net, 3);
    }
    support(net, 3);
    net.advance(net.replica(3).timerDeadlineMs! - net.now);
    const last = net.sentOf('ROUND-CHANGE', { from: 3 }).at(-1)!;
    assert.equal(last.round, 4);
    assert.ok(last.msg.kind === 'ROUND-CHANGE', 'expected last.msg.kind === "ROUND-CHANGE"');
    assert.deepEqual(last.msg.item.payload.prepared, { round: 0, digest: d });
    assert.equal(last.msg.prepareCert!.length, 3);
    assertNoConflictingSignatures(net);
  });
});
