/**
 * Finding 8 of issue 23: the mempool could be squatted. About 40 accounts each submitting
 * nonces next+1 … next+256 (skipping next) filled the 10,000-entry pool with transactions that
 * could never be included, and every other client got MEMPOOL_FULL until they expired (30 s),
 * repeatably. These tests hold the rules that replace it: transactions behind a nonce gap live
 * in a small budget of their own and give way to executable ones; a member's executable
 * transactions are bounded by its share of the pool.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { generateKeyPair, Signer } from '../../crypto/ed25519.js';
import { sha256, toHex } from '../../crypto/hash.js';
import { encodeSignedTx } from '../../ledger/codec.js';
import type { Transaction } from '../../ledger/types.js';
import { type AccountView, Mempool, MempoolError, type MempoolOptions } from '../../node/mempool.js';

const CHAIN = 'synod-test';

/** Accounts without signing: these tests are about capacity, so `verify` accepts everything. */
interface Sender {
  address: Uint8Array;
  publicKey: Uint8Array;
  hex: string;
}

function makeSender(): Sender {
  const s = new Signer(generateKeyPair().secretKey);
  return { address: s.address, publicKey: s.publicKey, hex: toHex(s.address) };
}

function txBytes(s: Sender, nonce: number, amount = 1n): Uint8Array {
  const tx: Transaction = {
    chainId: CHAIN,
    from: s.address,
    nonce,
    kind: 'asset.transfer',
    body: { to: new Uint8Array(20), amount },
  };
  return encodeSignedTx({ tx, publicKey: s.publicKey, signature: new Uint8Array(64) });
}

function setup(over: Partial<MempoolOptions> = {}) {
  const accounts = new Map<string, AccountView>();
  const pool = new Mempool({
    chainId: CHAIN,
    txBytesMax: 4096,
    txsMax: 10_000,
    bytesMax: 128 * 1024 * 1024,
    futureNoncesMax: 256,
    gappedTtlMs: 30_000,
    verify: () => true,
    account: (a) => accounts.get(toHex(a)),
    ...over,
  });
  const open = (s: Sender, memberId: string, nextNonce = 0) =>
    accounts.set(s.hex, { nextNonce, canTransact: true, memberId });
  return { pool, accounts, open };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MempoolError, `expected MempoolError, got ${err}`);
    return err.code;
  }
  return undefined;
}

describe('mempool squatting (issue 23, finding 8)', () => {
  test('40 senders x 256 gapped nonces cannot keep an honest executable tx out of a 10,000 pool', () => {
    const { pool, open } = setup();
    const squatters = Array.from({ length: 40 }, makeSender);
    // One squatting member with 40 accounts, and the same again spread over 40 members: neither
    // may hold more than the gapped budget.
    squatters.forEach((s, i) => {
      open(s, i % 2 === 0 ? 'squat' : `squat-${i}`, 7);
    });
    let gappedAdmitted = 0;
    for (const s of squatters) {
      for (let n = 8; n <= 7 + 256; n++) {
        if (codeOf(() => pool.add(txBytes(s, n))) === undefined) gappedAdmitted++;
      }
    }
    assert.ok(gappedAdmitted >= 1_000, 'the gapped budget is used');
    assert.equal(pool.gappedTxs, 1_000, 'but never more than its 10% of txsMax');
    assert.equal(pool.size, 1_000);
    assert.equal(pool.hasReady(), false, 'nothing the squatters hold is includable');
    const honest = makeSender();
    open(honest, 'honest', 3);
    const r = pool.add(txBytes(honest, 3));
    assert.equal(r.added, true);
    assert.equal(r.ready, true);
    assert.deepEqual(
      pool.ready(100, 1_000_000).map((e) => [e.fromHex, e.nonce]),
      [[honest.hex, 3]],
    );
    // And a whole pool's worth of executable transactions from other clients still gets in.
    const clients = Array.from({ length: 40 }, makeSender);
    clients.forEach((s, i) => {
      open(s, `client-${i % 4}`);
    });
    let refused = 0;
    for (const s of clients)
      for (let n = 0; n < 200; n++) if (codeOf(() => pool.add(txBytes(s, n)))) refused++;
    assert.equal(refused, 0, 'no executable tx is refused while the pool holds gapped ones');
    assert.ok(pool.size <= 10_000);
  });

  test('a gapped tx never evicts an executable one; executable ones evict the newest gap of the heaviest member', () => {
    const { pool, open } = setup({ txsMax: 20, futureNoncesMax: 20, gappedPercentMax: 25 });
    // Gapped budget: 5.
    const heavy = makeSender();
    const light = makeSender();
    const ready = makeSender();
    open(heavy, 'h');
    open(light, 'l');
    open(ready, 'r');
    for (let n = 1; n <= 4; n++) pool.add(txBytes(heavy, n));
    pool.add(txBytes(light, 1));
    assert.equal(pool.gappedTxs, 5, 'the gapped budget is full');
    // A gapped tx of a member holding fewer takes the newest gap of the member holding most.
    pool.add(txBytes(light, 2));
    assert.equal(pool.has(toHex(sha256(txBytes(heavy, 4)))), false, "heavy's newest gap went");
    // The heaviest cannot take it back (no churn between equals, no self-eviction).
    assert.equal(
      codeOf(() => pool.add(txBytes(heavy, 4))),
      'MEMPOOL_FULL',
    );
    assert.equal(pool.gappedTxs, 5);
    for (let n = 0; n < 15; n++) pool.add(txBytes(ready, n));
    assert.equal(pool.size, 20);
    // A gapped tx never evicts an executable one: the pool and the gapped budget are full.
    const fresh = makeSender();
    open(fresh, 'f');
    assert.equal(
      codeOf(() => pool.add(txBytes(fresh, 5))),
      undefined,
      'takes the place of heavy 3',
    );
    assert.equal(pool.has(toHex(sha256(txBytes(heavy, 3)))), false);
    assert.equal(pool.ready(100, 1e9).length, 15, 'every executable tx is still held');
    // An executable tx at a full pool evicts the newest gap of the heaviest member (heavy, 2).
    pool.add(txBytes(ready, 15));
    assert.equal(pool.has(toHex(sha256(txBytes(heavy, 2)))), false);
    assert.equal(pool.size, 20);
    assert.equal(pool.ready(100, 1e9).length, 16);
    assert.equal(pool.evictedGapped, 3);
  });

  test("a member's executable transactions are bounded by its share of the pool (MEMBER_QUOTA)", () => {
    // 4 active members, a floor of 25%: each member holds at most 25 of 100 executable txs.
    const { pool, accounts, open } = setup({ txsMax: 100, activeMembers: () => 4, memberPercentMin: 10 });
    const a = Array.from({ length: 3 }, makeSender);
    const b = makeSender();
    for (const s of a) open(s, 'A');
    open(b, 'B');
    // Each sender sends in nonce order and stops at its first refusal, as a client does.
    let admitted = 0;
    const refusedAt: number[] = [];
    for (const s of a) {
      for (let n = 0; n < 10; n++) {
        const c = codeOf(() => pool.add(txBytes(s, n)));
        if (c !== undefined) {
          assert.equal(c, 'MEMBER_QUOTA');
          refusedAt.push(n);
          break;
        }
        admitted++;
      }
    }
    assert.equal(admitted, 25);
    assert.deepEqual(refusedAt, [5], "the third sender's nonce 5 is the member's 26th");
    // Another member is unaffected.
    for (let n = 0; n < 10; n++) assert.equal(pool.add(txBytes(b, n)).added, true);
    // A committed block frees member A's share again.
    const block = pool.ready(10, 1e9).filter((e) => e.fromHex === a[0]!.hex);
    accounts.set(a[0]!.hex, { nextNonce: 10, canTransact: true, memberId: 'A' });
    pool.removeCommitted(block.map((e) => e.tx));
    for (let n = 5; n < 10; n++) assert.equal(pool.add(txBytes(a[2]!, n)).added, true);
    for (let n = 10; n < 15; n++) assert.equal(pool.add(txBytes(a[0]!, n)).added, true);
    // The refusal carries what a client needs to understand it.
    try {
      pool.add(txBytes(a[0]!, 15));
      assert.fail('expected MEMBER_QUOTA');
    } catch (err) {
      assert.ok(err instanceof MempoolError);
      assert.equal(err.code, 'MEMBER_QUOTA');
      assert.equal(err.data.memberId, 'A');
      assert.equal(err.data.max, 25);
    }
  });

  test('a sender holds at most senderGappedTxsMax transactions behind a gap (SENDER_QUOTA)', () => {
    const { pool, open } = setup({ senderGappedTxsMax: 3 });
    const s = makeSender();
    open(s, 'm');
    for (let n = 2; n <= 4; n++) pool.add(txBytes(s, n));
    assert.equal(
      codeOf(() => pool.add(txBytes(s, 5))),
      'SENDER_QUOTA',
    );
    // Filling the gap makes them executable, and frees the sender's gapped quota.
    pool.add(txBytes(s, 0));
    pool.add(txBytes(s, 1));
    assert.equal(pool.gappedTxs, 0);
    assert.equal(pool.add(txBytes(s, 5)).ready, false);
    assert.equal(pool.ready(100, 1e9).length, 6);
  });
});

describe('gapped transactions never crowd out executable ones (property)', () => {
  const SENDERS = 5;
  const NONCES = 10;
  const TXS_MAX = 12;
  const RESERVE = 2; // ceil(TXS_MAX / 10)
  const members = ['m0', 'm0', 'm1', 'm1', 'm2'];
  const senders = Array.from({ length: SENDERS }, makeSender);
  const signed = senders.map((s) => Array.from({ length: NONCES }, (_, n) => txBytes(s, n)));
  const hashes = signed.map((row) => row.map((b) => toHex(sha256(b))));

  // `next` sends a sender's first nonce not held (an executable tx), so full pools are common.
  type Op = { add: [number, number] } | { next: number } | { commit: number } | { wait: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.nat(SENDERS - 1), fc.nat(NONCES - 1)).map((add) => ({ add })) },
    { weight: 4, arbitrary: fc.nat(SENDERS - 1).map((next) => ({ next })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }).map((commit) => ({ commit })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 40_000 }).map((wait) => ({ wait })) },
  );

  test('an executable tx under its quotas is never refused MEMPOOL_FULL while any gapped tx is held', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 20, maxLength: 80 }),
        fc.integer({ min: 10, max: 50 }),
        fc.integer({ min: 1, max: 3 }),
        (ops, gappedPercentMax, activeMembers) => {
          let now = 0;
          const { pool, accounts, open } = setup({
            txsMax: TXS_MAX,
            futureNoncesMax: NONCES,
            gappedPercentMax,
            activeMembers: () => activeMembers,
            memberPercentMin: 10,
            senderGappedTxsMax: 4,
            now: () => now,
          });
          senders.forEach((s, i) => {
            open(s, members[i]!);
          });
          const nextOf = (i: number) => accounts.get(senders[i]!.hex)!.nextNonce;
          const held = (i: number, n: number) => n < NONCES && pool.has(hashes[i]![n]!);
          const runEnd = (i: number) => {
            let n = nextOf(i);
            while (held(i, n)) n++;
            return n;
          };
          const gappedHeld = () => {
            let g = 0;
            for (let i = 0; i < SENDERS; i++) {
              const end = runEnd(i);
              for (let n = end + 1; n < NONCES; n++) if (held(i, n)) g++;
            }
            return g;
          };
          for (const o of ops) {
            if ('add' in o || 'next' in o) {
              const [i, n] = 'add' in o ? o.add : [o.next, runEnd(o.next)];
              if (n >= NONCES) continue;
              const executable = n === runEnd(i);
              const gappedBefore = gappedHeld();
              let err: MempoolError | undefined;
              try {
                pool.add(signed[i]![n]!);
              } catch (e) {
                assert.ok(e instanceof MempoolError);
                err = e;
              }
              if (executable && err?.code === 'MEMPOOL_FULL') {
                assert.equal(
                  gappedBefore,
                  0,
                  `sender ${i} nonce ${n} refused as full while gapped txs are held`,
                );
              }
            } else if ('commit' in o) {
              const block = pool.ready(o.commit, 1_000_000);
              for (const e of block) {
                const i = senders.findIndex((s) => s.hex === e.fromHex);
                accounts.set(e.fromHex, {
                  nextNonce: Math.max(nextOf(i), e.nonce + 1),
                  canTransact: true,
                  memberId: members[i]!,
                });
              }
              pool.removeCommitted(block.map((e) => e.tx));
            } else {
              now += o.wait;
              pool.expireGapped();
            }
            assert.ok(pool.size <= TXS_MAX + RESERVE, `size ${pool.size}`);
            assert.equal(pool.gappedTxs, gappedHeld(), 'the pool counts its gapped txs exactly');
            assert.ok(pool.gappedTxs <= Math.ceil((TXS_MAX * gappedPercentMax) / 100));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
