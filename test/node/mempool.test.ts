import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { generateKeyPair, Signer, verify } from '../../crypto/ed25519.js';
import { sha256, toHex } from '../../crypto/hash.js';
import { encodeSignedTx, txSigningBytes } from '../../ledger/codec.js';
import type { SignedTransaction, Transaction } from '../../ledger/types.js';
import { type AccountView, Mempool, MempoolError, type MempoolOptions } from '../../node/mempool.js';
import { CachedVerifier } from '../../node/verifier.js';

const CHAIN = 'synod-test';

function makeSigner(): Signer {
  return new Signer(generateKeyPair().secretKey);
}

function transfer(s: Signer, nonce: number, amount = 1n, chainId = CHAIN): SignedTransaction {
  const tx: Transaction = {
    chainId,
    from: s.address,
    nonce,
    kind: 'asset.transfer',
    body: { to: new Uint8Array(20), amount },
  };
  return { tx, publicKey: s.publicKey, signature: s.sign(txSigningBytes(tx)) };
}

function setup(over: Partial<MempoolOptions> = {}) {
  const accounts = new Map<string, AccountView>();
  const pool = new Mempool({
    chainId: CHAIN,
    txBytesMax: 4096,
    txsMax: 100,
    bytesMax: 1_000_000,
    futureNoncesMax: 4,
    gappedTtlMs: 30_000,
    verify,
    account: (a) => accounts.get(toHex(a)),
    ...over,
  });
  const open = (s: Signer, nextNonce = 0) => accounts.set(toHex(s.address), { nextNonce, canTransact: true });
  return { pool, accounts, open };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MempoolError, `expected MempoolError, got ${err}`);
    return err.code;
  }
  assert.fail('expected an error');
}

describe('mempool admission', () => {
  test("a tx is ready only at its sender's next nonce; one behind a gap is held, not ready", () => {
    const { pool, open } = setup();
    const s = makeSigner();
    open(s, 5);
    const ahead = pool.add(encodeSignedTx(transfer(s, 7)));
    assert.equal(ahead.added, true);
    assert.equal(ahead.ready, false);
    assert.equal(pool.hasReady(), false, 'a gapped tx must not make consensus think a block is due');
    const head = pool.add(encodeSignedTx(transfer(s, 5)));
    assert.equal(head.ready, true);
    assert.equal(pool.hasReady(), true);
    assert.equal(pool.add(encodeSignedTx(transfer(s, 5))).ready, false, 'already held');
  });

  test('reads an account once between commits, and again after one', () => {
    const accounts = new Map<string, AccountView>();
    let reads = 0;
    const { pool } = setup({
      account: (a) => {
        reads++;
        return accounts.get(toHex(a));
      },
    });
    const s = makeSigner();
    accounts.set(toHex(s.address), { nextNonce: 0, canTransact: true });
    const first = transfer(s, 0);
    pool.add(encodeSignedTx(first));
    pool.add(encodeSignedTx(transfer(s, 1)));
    assert.equal(pool.hasReady(), true);
    assert.equal(reads, 1, 'one state read for the sender until the next commit');
    // Block with nonce 0 commits: the state moves on, then the pool is told.
    accounts.set(toHex(s.address), { nextNonce: 1, canTransact: true });
    pool.removeCommitted([first]);
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 0, 2n)))),
      'BAD_NONCE',
      'the committed nonce is seen at once',
    );
    assert.equal(pool.add(encodeSignedTx(transfer(s, 2))).ready, false, 'behind nonce 1, which is held');
    // A revocation commits (no tx of this sender in the block): pruneAll re-reads every sender.
    accounts.set(toHex(s.address), { nextNonce: 1, canTransact: false });
    pool.removeCommitted([]);
    pool.pruneAll();
    assert.equal(pool.size, 0);
  });

  test('a tx waiting behind a nonce gap expires after gappedTtlMs; ready ones never do', () => {
    let now = 1_000_000;
    // The gapped budget is not what this test is about: let gapped ones use the whole pool.
    const { pool, open } = setup({ gappedTtlMs: 30_000, now: () => now, txsMax: 3, gappedPercentMax: 100 });
    const s = makeSigner();
    const t = makeSigner();
    open(s, 0);
    open(t, 0);
    pool.add(encodeSignedTx(transfer(s, 0))); // ready
    pool.add(encodeSignedTx(transfer(s, 2))); // behind the missing nonce 1
    pool.add(encodeSignedTx(transfer(t, 1))); // behind t's missing nonce 0
    assert.equal(pool.gappedTxs, 2);
    now += 29_999;
    assert.equal(pool.expireGapped(), 0, 'not yet');
    now += 1;
    assert.equal(pool.expireGapped(), 2);
    assert.equal(pool.size, 1, 'the ready tx stays however old it is');
    // A gap that fills in time saves what waits behind it.
    pool.add(encodeSignedTx(transfer(s, 2)));
    pool.add(encodeSignedTx(transfer(s, 1)));
    assert.equal(pool.gappedTxs, 0);
    now += 60_000;
    assert.equal(pool.expireGapped(), 0);
    assert.equal(pool.size, 3);
  });

  test("a full pool admits the tx that fills a sender's first nonce gap into a bounded reserve, evicting nothing", () => {
    // txsMax 10: a reserve of 1 transaction above it, for gap fillers only.
    let now = 1_000_000;
    const { pool, open } = setup({ txsMax: 10, futureNoncesMax: 10, now: () => now, gappedPercentMax: 100 });
    const a = makeSigner();
    const b = makeSigner();
    const c = makeSigner();
    for (const s of [a, b, c]) open(s, 0);
    // a: nonces 2 and 3 wait behind its missing 0 and 1; b: 1 behind its missing 0.
    pool.add(encodeSignedTx(transfer(a, 2)));
    pool.add(encodeSignedTx(transfer(a, 3)));
    pool.add(encodeSignedTx(transfer(b, 1)));
    for (let n = 0; n < 7; n++) pool.add(encodeSignedTx(transfer(c, n)));
    assert.equal(pool.size, 10);
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(a, 1)))),
      'MEMPOOL_FULL',
      "a's 1 is behind its missing 0: a gapped tx of the heaviest member takes no one's place",
    );
    const filler = pool.add(encodeSignedTx(transfer(b, 0)));
    assert.equal(filler.added, true);
    assert.equal(filler.ready, true);
    assert.equal(pool.size, 11, 'into the reserve: nothing evicted');
    assert.equal(pool.gapFillersOverBound, 1);
    assert.equal(pool.evictedGapped, 0);
    assert.deepEqual(
      pool
        .ready(100, 1_000_000)
        .filter((e) => e.fromHex === toHex(b.address))
        .map((e) => e.nonce),
      [0, 1],
      'the filler made the tx behind it includable',
    );
    // Once the gapped ones expire, no tx can fill a gap: a full pool refuses before decoding.
    now += 30_000;
    assert.equal(pool.expireGapped(), 2, "a's 2 and 3");
    assert.equal(pool.size, 9);
    pool.add(encodeSignedTx(transfer(c, 7)));
    assert.equal(pool.size, 10);
    assert.equal(
      code(() => pool.add(Uint8Array.of(1, 2, 3))),
      'MEMPOOL_FULL',
    );
  });

  test('past its bound an executable tx takes the place of a gapped one; a full pool of executable ones refuses', () => {
    const { pool, open } = setup({ txsMax: 10, futureNoncesMax: 10, gappedPercentMax: 100 });
    const a = makeSigner();
    const c = makeSigner();
    const d = makeSigner();
    for (const s of [a, c, d]) open(s, 0);
    pool.add(encodeSignedTx(transfer(a, 2)));
    pool.add(encodeSignedTx(transfer(a, 3)));
    for (let n = 0; n < 8; n++) pool.add(encodeSignedTx(transfer(c, n)));
    assert.equal(pool.size, 10);
    assert.equal(pool.add(encodeSignedTx(transfer(d, 0))).added, true, 'an ordinary executable tx');
    assert.equal(pool.size, 10);
    assert.equal(pool.evictedGapped, 1, "a's newest gap (3) made room");
    assert.equal(pool.add(encodeSignedTx(transfer(c, 8))).added, true);
    assert.equal(pool.gappedTxs, 0);
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(d, 1)))),
      'MEMPOOL_FULL',
      'nothing gapped is left to make room, and executable ones are never dropped',
    );
  });

  test('a full pool with no nonce gap refuses before decoding: garbage gets MEMPOOL_FULL, not MALFORMED_TX', () => {
    const { pool, open } = setup({ txsMax: 1 });
    const s = makeSigner();
    open(s);
    pool.add(encodeSignedTx(transfer(s, 0)));
    assert.equal(
      code(() => pool.add(Uint8Array.of(1, 2, 3))),
      'MEMPOOL_FULL',
    );
  });

  test('admits a valid tx once; the same bytes again are idempotent', () => {
    const { pool, open } = setup();
    const s = makeSigner();
    open(s);
    const bytes = encodeSignedTx(transfer(s, 0));
    assert.equal(pool.add(bytes).added, true);
    assert.equal(pool.add(bytes).added, false);
    assert.equal(pool.size, 1);
  });

  test('each bad input gets its typed code and leaves the pool unchanged', () => {
    const { pool, open } = setup({ txBytesMax: 300 });
    const s = makeSigner();
    open(s, 5);
    assert.equal(
      code(() => pool.add(new Uint8Array(301))),
      'TOO_LARGE',
    );
    assert.equal(
      code(() => pool.add(Uint8Array.of(0x07, 0x01))),
      'MALFORMED_TX',
    );
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 5, 1n, 'other-chain')))),
      'WRONG_CHAIN_ID',
    );
    const forged = transfer(s, 5);
    forged.signature = forged.signature.slice();
    forged.signature[3] = forged.signature[3]! ^ 1;
    assert.equal(
      code(() => pool.add(encodeSignedTx(forged))),
      'INVALID_SIGNATURE',
    );
    const other = makeSigner();
    const wrongKey = { ...transfer(s, 5), publicKey: other.publicKey };
    assert.equal(
      code(() => pool.add(encodeSignedTx(wrongKey))),
      'INVALID_SIGNATURE',
    );
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(makeSigner(), 0)))),
      'UNKNOWN_ACCOUNT',
    );
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 4)))),
      'BAD_NONCE',
    ); // replayed
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 10)))),
      'BAD_NONCE',
    ); // too far ahead
    assert.equal(pool.size, 0);
    assert.equal(pool.bytes, 0);
  });

  test('a second tx with a pending nonce is refused, not swapped in', () => {
    const { pool, open } = setup();
    const s = makeSigner();
    open(s);
    pool.add(encodeSignedTx(transfer(s, 0, 1n)));
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 0, 2n)))),
      'BAD_NONCE',
    );
  });

  test('revoked accounts cannot submit', () => {
    const { pool, accounts } = setup();
    const s = makeSigner();
    accounts.set(toHex(s.address), { nextNonce: 0, canTransact: false });
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 0)))),
      'NOT_PERMITTED',
    );
  });

  test('a full pool says so and keeps what it accepted', () => {
    const { pool, open } = setup({ txsMax: 2 });
    const s = makeSigner();
    open(s);
    pool.add(encodeSignedTx(transfer(s, 0)));
    pool.add(encodeSignedTx(transfer(s, 1)));
    assert.equal(
      code(() => pool.add(encodeSignedTx(transfer(s, 2)))),
      'MEMPOOL_FULL',
    );
    assert.equal(pool.size, 2);
  });

  test('signatures are verified once per node through the cache', () => {
    const verifier = new CachedVerifier(10);
    const { pool, open } = setup({ verify: verifier.verify });
    const s = makeSigner();
    open(s);
    const stx = transfer(s, 0);
    pool.add(encodeSignedTx(stx));
    assert.equal(verifier.misses, 1);
    assert.equal(verifier.verify(stx.signature, txSigningBytes(stx.tx), stx.publicKey), true);
    assert.equal(verifier.hits, 1);
    // A cached signature does not vouch for another message.
    const other = transfer(s, 1);
    assert.equal(verifier.verify(stx.signature, txSigningBytes(other.tx), stx.publicKey), false);
  });
});

describe('mempool selection and eviction', () => {
  test('ready() gives consecutive nonces from the next one, round-robin across senders', () => {
    const { pool, open } = setup();
    const a = makeSigner();
    const b = makeSigner();
    open(a, 0);
    open(b, 3);
    for (const n of [0, 1, 3]) pool.add(encodeSignedTx(transfer(a, n))); // 2 missing: 3 must wait
    for (const n of [3, 4]) pool.add(encodeSignedTx(transfer(b, n)));
    const ready = pool.ready(100, 1_000_000);
    const picked = ready.map((e) => `${e.fromHex === toHex(a.address) ? 'a' : 'b'}${e.nonce}`);
    assert.deepEqual(picked.sort(), ['a0', 'a1', 'b3', 'b4']);
    assert.equal(pool.ready(3, 1_000_000).length, 3);
    assert.equal(pool.hasReady(), true);
  });

  test('a committed block removes its txs and what it made stale', () => {
    const { pool, accounts, open } = setup();
    const a = makeSigner();
    open(a, 0);
    const t0 = transfer(a, 0);
    const t1 = transfer(a, 1);
    pool.add(encodeSignedTx(t0));
    pool.add(encodeSignedTx(t1));
    pool.add(encodeSignedTx(transfer(a, 2)));
    // The block carried t0 and (from another node's pool) a different nonce-1 tx.
    accounts.set(toHex(a.address), { nextNonce: 2, canTransact: true });
    pool.removeCommitted([t0, transfer(a, 1, 7n)]);
    assert.deepEqual(
      pool.ready(10, 1e9).map((e) => e.nonce),
      [2],
    );
    assert.equal(pool.size, 1);
  });

  test("a block of the pool's own transaction objects is checked and removed by identity", () => {
    const { pool, accounts, open } = setup();
    const a = makeSigner();
    const b = makeSigner();
    open(a, 0);
    open(b, 0);
    for (const t of [transfer(a, 0), transfer(a, 1), transfer(b, 0)]) pool.add(encodeSignedTx(t));
    const held = pool.ready(10, 1e9);
    assert.equal(held.length, 3);
    const [a0, a1, b0] = [
      held.find((e) => e.fromHex === toHex(a.address) && e.nonce === 0)!,
      held.find((e) => e.nonce === 1)!,
      held.find((e) => e.fromHex === toHex(b.address))!,
    ];
    // Held: verified, found from the object or (any other object of the same bytes) from the hash.
    assert.equal(pool.holds(a0.hash, a0.tx), true);
    assert.equal(pool.holds(a0.hash, transfer(a, 0)), true);
    assert.equal(pool.holds(a0.hash), true);
    // A block (built here, so carrying the pool's objects) with a0 and b0, no hashes given.
    accounts.set(toHex(a.address), { nextNonce: 1, canTransact: true });
    accounts.set(toHex(b.address), { nextNonce: 1, canTransact: true });
    pool.removeCommitted([a0.tx, b0.tx]);
    assert.deepEqual(
      pool.ready(10, 1e9).map((e) => e.hashHex),
      [a1.hashHex],
    );
    assert.equal(pool.holds(a0.hash, a0.tx), false, 'removed: no longer vouched for');
    assert.equal(pool.holds(a1.hash, a1.tx), true);
    assert.deepEqual(
      pool.addForwarded(encodeSignedTx(a0.tx)),
      { added: false, ready: false },
      'remembered as committed',
    );
    assert.equal(pool.forwardedCommittedSkipped, 1);
    // Another pool's objects: their hex strings describe the same bytes, so they work here too.
    const other = setup();
    other.open(a, 1);
    other.pool.add(encodeSignedTx(transfer(a, 1)));
    const foreign = other.pool.ready(10, 1e9)[0]!;
    assert.equal(pool.holds(foreign.hash, foreign.tx), true);
    accounts.set(toHex(a.address), { nextNonce: 2, canTransact: true });
    pool.removeCommitted([foreign.tx]);
    assert.equal(pool.size, 0);
  });

  test('a forwarded copy of a tx that just committed is skipped without an error; a client still gets one', () => {
    const { pool, accounts, open } = setup({ txsMax: 2 });
    const a = makeSigner();
    open(a, 0);
    const committed = [transfer(a, 0), transfer(a, 1), transfer(a, 2)];
    for (const t of committed) {
      pool.add(encodeSignedTx(t));
      accounts.set(toHex(a.address), { nextNonce: t.tx.nonce + 1, canTransact: true });
      pool.removeCommitted([t]);
    }
    assert.equal(pool.size, 0);
    // It remembers 2 x txsMax = 4 hashes, so all three are known.
    for (const t of committed) {
      assert.deepEqual(pool.addForwarded(encodeSignedTx(t)), { added: false, ready: false });
    }
    assert.equal(pool.forwardedCommittedSkipped, 3);
    assert.equal(
      code(() => pool.add(encodeSignedTx(committed[0]!))),
      'BAD_NONCE',
      'clients are told why',
    );
    // A forwarded tx that did not commit is admitted as usual, and bad ones still throw.
    assert.deepEqual(pool.addForwarded(encodeSignedTx(transfer(a, 3))), { added: true, ready: true });
    assert.equal(
      code(() => pool.addForwarded(encodeSignedTx(transfer(a, 9)))),
      'BAD_NONCE',
    );
    const forged = transfer(a, 4);
    forged.signature = new Uint8Array(64);
    assert.equal(
      code(() => pool.addForwarded(encodeSignedTx(forged))),
      'INVALID_SIGNATURE',
    );
  });

  test('the memory of committed hashes is bounded: the oldest are forgotten first', () => {
    const { pool, accounts, open } = setup({ txsMax: 2 });
    const a = makeSigner();
    open(a, 0);
    const txs = [0, 1, 2, 3, 4].map((n) => transfer(a, n));
    for (const t of txs) {
      accounts.set(toHex(a.address), { nextNonce: t.tx.nonce + 1, canTransact: true });
      pool.removeCommitted([t]);
    }
    // Capacity 4: the first hash is forgotten, so its copy goes through admission (and its
    // nonce is used), the last four are skipped.
    assert.equal(
      code(() => pool.addForwarded(encodeSignedTx(txs[0]!))),
      'BAD_NONCE',
    );
    for (const t of txs.slice(1)) assert.equal(pool.addForwarded(encodeSignedTx(t)).added, false);
    assert.equal(pool.forwardedCommittedSkipped, 4);
  });

  test('pruneAll drops the txs of accounts that can no longer transact', () => {
    const { pool, accounts, open } = setup();
    const a = makeSigner();
    open(a, 0);
    pool.add(encodeSignedTx(transfer(a, 0)));
    accounts.set(toHex(a.address), { nextNonce: 0, canTransact: false });
    pool.pruneAll();
    assert.equal(pool.size, 0);
    assert.equal(pool.bytes, 0);
  });
});

describe('mempool bounds under random traffic (property)', () => {
  const SENDERS = 3;
  const NONCES = 10;
  const TXS_MAX = 5;
  const RESERVE = 1; // ceil(TXS_MAX / 10)
  const GAPPED_MAX = 2; // 40 % of TXS_MAX
  const signers = Array.from({ length: SENDERS }, makeSigner);
  const signed = signers.map((s) => Array.from({ length: NONCES }, (_, n) => encodeSignedTx(transfer(s, n))));

  type Op = { add: [number, number] } | { commit: number } | { wait: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.nat(SENDERS - 1), fc.nat(NONCES - 1)).map((add) => ({ add })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((commit) => ({ commit })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 40_000 }).map((wait) => ({ wait })) },
  );

  test('never above txsMax plus the reserve nor the gapped budget; an executable tx is refused full only when nothing gapped could make room', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 60 }), (ops) => {
        let now = 0;
        const { pool, accounts, open } = setup({
          txsMax: TXS_MAX,
          futureNoncesMax: NONCES,
          now: () => now,
          gappedPercentMax: 40,
        });
        for (const s of signers) open(s, 0);
        const nextOf = (i: number) => accounts.get(toHex(signers[i]!.address))!.nextNonce;
        const held = (i: number, n: number) => {
          const bytes = signed[i]![n];
          return bytes !== undefined && pool.has(toHex(sha256(bytes)));
        };
        for (const o of ops) {
          if ('add' in o) {
            const [i, n] = o.add;
            const next = nextOf(i);
            const fresh = n >= next && !held(i, n);
            let executable = fresh;
            for (let k = next; k < n; k++) if (!held(i, k)) executable = false;
            const gappedBefore = pool.gappedTxs;
            const sizeBefore = pool.size;
            const readyBefore = sizeBefore - gappedBefore;
            let admitted = false;
            let refusal: string | undefined;
            try {
              admitted = pool.add(signed[i]![n]!).added;
            } catch (err) {
              assert.ok(err instanceof MempoolError);
              refusal = err.code;
            }
            if (executable) {
              // One member per sender, one active member: the member quota is txsMax.
              const mine = signed[i]!.filter((_, k) => k >= next && held(i, k)).length;
              if (refusal === 'MEMPOOL_FULL') {
                assert.equal(gappedBefore, 0, 'refused full while a gapped tx could make room');
                assert.ok(sizeBefore >= TXS_MAX);
              } else if (refusal === 'MEMBER_QUOTA') assert.ok(mine >= TXS_MAX);
              else assert.equal(admitted, true, `executable ${i}/${n}: ${refusal}`);
            } else if (!fresh) {
              assert.equal(admitted, false);
            }
            // Executable transactions are never dropped to make room.
            assert.ok(pool.size - pool.gappedTxs >= readyBefore, 'an executable tx was evicted');
          } else if ('commit' in o) {
            const block = pool.ready(o.commit, 1_000_000);
            for (const e of block) {
              const i = signers.findIndex((s) => toHex(s.address) === e.fromHex);
              accounts.set(e.fromHex, { nextNonce: Math.max(nextOf(i), e.nonce + 1), canTransact: true });
            }
            pool.removeCommitted(block.map((e) => e.tx));
          } else {
            now += o.wait;
            pool.expireGapped();
          }
          assert.ok(pool.size <= TXS_MAX + RESERVE, `size ${pool.size}`);
          assert.ok(pool.gappedTxs <= GAPPED_MAX, `gapped ${pool.gappedTxs}`);
        }
      }),
      { numRuns: 150 },
    );
  });
});
