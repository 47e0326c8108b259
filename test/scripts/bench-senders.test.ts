import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SenderSchedule, type SubmitAnswer } from '../../scripts/bench-senders.js';

interface Tx {
  sender: number;
  nonce: number;
}
const opts = { retryBaseMs: 100, retryMaxMs: 800 };

describe('bench sender schedule', () => {
  test('a sender with nothing refused sends at once', () => {
    const s = new SenderSchedule<Tx>(opts);
    assert.equal(s.offer({ sender: 1, nonce: 0 }), true);
    s.answer({ sender: 1, nonce: 0 }, 'accepted', 0);
    assert.equal(s.offer({ sender: 1, nonce: 1 }), true);
    assert.deepEqual(s.pending(), []);
    assert.equal(s.refusals, 0);
  });

  test('a retryable refusal holds the sender, then resends in nonce order after the back-off', () => {
    const s = new SenderSchedule<Tx>(opts);
    for (let n = 0; n < 3; n++) assert.equal(s.offer({ sender: 7, nonce: n }), true);
    // Answers in any order: nonce 2 refused first, then 1; nonce 0 accepted.
    s.answer({ sender: 7, nonce: 2 }, 'retry', 1_000);
    s.answer({ sender: 7, nonce: 0 }, 'accepted', 1_000);
    s.answer({ sender: 7, nonce: 1 }, 'retry', 1_010);
    assert.equal(s.offer({ sender: 7, nonce: 3 }), false, 'waits behind its refused nonces');
    assert.equal(s.offer({ sender: 8, nonce: 0 }), true, 'other senders are not held');
    assert.equal(s.lowestUnaccepted(7), 1);
    assert.deepEqual(s.due(1_099), [], 'not before the pause (100 ms from the first refusal)');
    assert.deepEqual(
      s.due(1_100).map((t) => t.nonce),
      [1, 2, 3],
    );
    assert.equal(s.offer({ sender: 7, nonce: 4 }), true, 'free again once resent');
    assert.equal(s.refusals, 2);
  });

  test('the pause doubles for refusals in a row, up to the cap, and resets after an acceptance', () => {
    const s = new SenderSchedule<Tx>(opts);
    let now = 0;
    const pauses: number[] = [];
    for (let round = 0; round < 6; round++) {
      s.answer({ sender: 1, nonce: 0 }, 'retry', now);
      let waited = 0;
      while (s.due(now + waited).length === 0) waited += 10;
      pauses.push(waited);
      now += waited;
    }
    assert.deepEqual(pauses, [100, 200, 400, 800, 800, 800]);
    s.answer({ sender: 1, nonce: 0 }, 'accepted', now);
    s.answer({ sender: 1, nonce: 1 }, 'retry', now);
    assert.equal(s.due(now + 99).length, 0);
    assert.equal(s.due(now + 100).length, 1);
  });

  test('a refusal for good stops the sender: nothing of it is sent again', () => {
    const s = new SenderSchedule<Tx>(opts);
    s.offer({ sender: 3, nonce: 0 });
    s.offer({ sender: 3, nonce: 1 });
    s.answer({ sender: 3, nonce: 1 }, 'retry', 0);
    s.answer({ sender: 3, nonce: 0 }, 'refused', 0);
    assert.equal(s.offer({ sender: 3, nonce: 2 }), false);
    assert.deepEqual(s.due(1_000_000), []);
    assert.deepEqual(
      s.pending().map((t) => t.nonce),
      [0, 1, 2],
    );
    assert.equal(s.lowestUnaccepted(3), 0);
  });

  test('property: nonce order, nothing lost or sent twice, stopped senders stay silent', () => {
    const answerArb = fc.constantFrom<SubmitAnswer>(
      'accepted',
      'accepted',
      'accepted',
      'retry',
      'retry',
      'refused',
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), answerArb, fc.integer({ min: 0, max: 300 })), {
          minLength: 1,
          maxLength: 120,
        }),
        (senders, script) => {
          const s = new SenderSchedule<Tx>(opts);
          const nextNonce = new Array<number>(senders).fill(0);
          const accepted = new Set<string>();
          const stopped = new Set<number>();
          const inflight: Tx[] = [];
          let now = 0;
          const key = (t: Tx) => `${t.sender}:${t.nonce}`;
          const send = (t: Tx) => {
            assert.ok(!stopped.has(t.sender), 'a stopped sender sends nothing');
            assert.ok(!accepted.has(key(t)), 'an accepted tx is not sent again');
            assert.ok(!inflight.some((x) => key(x) === key(t)), 'not sent while in flight');
            const low = s.lowestUnaccepted(t.sender);
            assert.ok(low === undefined || low > t.nonce, 'never ahead of a waiting lower nonce');
            inflight.push(t);
          };
          for (const [who, answer, advance] of script) {
            now += advance;
            for (const t of s.due(now)) send(t);
            const sender = who % senders;
            const tx = { sender, nonce: nextNonce[sender]!++ };
            if (s.offer(tx)) send(tx);
            // The node answers the oldest send in flight.
            const t = inflight.shift();
            if (t === undefined) continue;
            s.answer(t, answer, now);
            if (answer === 'accepted') accepted.add(key(t));
            if (answer === 'refused') stopped.add(t.sender);
          }
          for (const t of inflight.splice(0)) s.answer(t, 'retry', now);
          // Every offered transaction is accepted or pending, exactly once.
          const pending = s.pending().map(key);
          assert.equal(new Set(pending).size, pending.length);
          for (const p of pending) assert.ok(!accepted.has(p));
          assert.equal(
            accepted.size + pending.length,
            nextNonce.reduce((a, b) => a + b, 0),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
