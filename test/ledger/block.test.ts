/**
 * Blocks: genesis, building within limits, validation of every header field and transaction,
 * build/validate agreement (property), and deterministic replay.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { bytesEqual, sha256 } from '../../crypto/hash.js';
import { merkleRoot } from '../../crypto/merkle.js';
import {
  type BuiltBlock,
  buildBlock,
  decodeBlockWithMeta,
  encodedBlockLength,
  validateBlock,
  validateBlockBytes,
} from '../../ledger/block.js';
import { measureTx } from '../../ledger/checks.js';
import {
  blockHash,
  encodeBlock,
  encodeHeader,
  encodeSignedTx,
  txHash,
  validatorsHash,
} from '../../ledger/codec.js';
import { LedgerError } from '../../ledger/errors.js';
import { applyBlock } from '../../ledger/execute.js';
import { genesisState } from '../../ledger/genesis-state.js';
import { DEFAULT_PARAMS } from '../../ledger/params.js';
import { getValidators, type LedgerState, stateRoot } from '../../ledger/state.js';
import { signTx, transferTx } from '../../ledger/tx-builder.js';
import type { Block, BlockHeader, SignedTransaction } from '../../ledger/types.js';
import { Chain, fixtureGenesis, GENESIS_TIME, key, wallet } from './helpers.js';

function errorOf(f: () => unknown): LedgerError {
  try {
    f();
  } catch (e) {
    if (e instanceof LedgerError) return e;
    throw e;
  }
  assert.fail('expected a LedgerError');
}

const clientDoc = fixtureGenesis({
  accounts: [
    { label: 'c0', member: 'alpha', roles: ['transfer', 'data'], balance: 1_000n },
    { label: 'c1', member: 'beta', roles: ['transfer'], balance: 1_000n },
  ],
});

describe('genesis', () => {
  test('block 0 has the documented header and a hash that depends only on the document', () => {
    const a = genesisState(clientDoc);
    const b = genesisState(structuredClone(clientDoc));
    assert.deepEqual(a.hash, b.hash);
    assert.deepEqual(a.hash, blockHash(a.header));
    const h = a.header;
    assert.equal(h.height, 0);
    assert.equal(h.view, 0);
    assert.equal(h.timestamp, GENESIS_TIME);
    assert.deepEqual(h.parentHash, new Uint8Array(32));
    assert.deepEqual(h.proposer, new Uint8Array(20));
    assert.deepEqual(h.txRoot, merkleRoot([]));
    assert.deepEqual(h.receiptsRoot, merkleRoot([]));
    assert.deepEqual(h.stateRoot, stateRoot(a.state));
    assert.deepEqual(h.validatorsHash, validatorsHash(getValidators(a.state)));
    assert.deepEqual(h.nextValidatorsHash, h.validatorsHash);
    // Any change to the document changes the hash.
    const c = genesisState({ ...clientDoc, genesisTime: GENESIS_TIME + 1 });
    const d = genesisState({ ...clientDoc, params: { ...clientDoc.params, blockPeriodMs: 201 } });
    assert.ok(!bytesEqual(c.hash, a.hash));
    assert.ok(!bytesEqual(d.hash, a.hash));
    assert.ok(!bytesEqual(d.header.stateRoot, a.header.stateRoot));
  });

  test('inconsistent documents are INVALID_GENESIS', () => {
    const bad = [
      { ...clientDoc, members: [...clientDoc.members, clientDoc.members[0]!] },
      { ...clientDoc, accounts: [...clientDoc.accounts, clientDoc.accounts[0]!] },
      { ...clientDoc, accounts: [{ ...clientDoc.accounts[0]!, memberId: 'nobody' }] },
      { ...clientDoc, accounts: [{ ...clientDoc.accounts[0]!, roles: ['root'] }] },
      { ...clientDoc, validators: [] },
      { ...clientDoc, validators: [{ ...clientDoc.validators[0]!, memberId: 'nobody' }] },
      { ...clientDoc, params: { ...clientDoc.params, blockTxsMax: 0 } },
      {
        ...clientDoc,
        accounts: [
          { ...clientDoc.accounts[0]!, balance: 2n ** 255n },
          { ...clientDoc.accounts[1]!, balance: 2n ** 255n },
        ],
      },
    ];
    for (const doc of bad) assert.equal(errorOf(() => genesisState(doc)).code, 'INVALID_GENESIS');
  });
});

/** One built block on the client genesis, with a few kinds of transaction. */
function sampleBlock(): { parent: Chain; built: BuiltBlock } {
  const parent = new Chain(clientDoc);
  const built = buildBlock(parent.state, parent.header, {
    txs: [
      wallet('c0').transfer(key('c1').address, 10n),
      wallet('c0', 1).dataPut('k', Uint8Array.of(1)),
      wallet('c1').transfer(key('c0').address, 5000n), // fails: a receipt
      wallet('alpha-admin').propose(
        { type: 'validator.add', publicKey: key('new-val').publicKey, memberId: 'alpha', p2p: [] },
        'one more',
      ),
    ],
    proposer: getValidators(parent.state)[1]!.address,
    view: 2,
    timestamp: GENESIS_TIME + 500,
  });
  assert.equal(built.block.txs.length, 4);
  return { parent, built };
}

describe('validateBlock', () => {
  test('re-execution reproduces every root, from objects and from bytes', () => {
    const { parent, built } = sampleBlock();
    const v = validateBlock(parent.state, parent.header, built.block, {
      now: GENESIS_TIME + 500,
      expectedProposer: built.block.header.proposer,
      expectedView: 2,
    });
    for (const k of ['txRoot', 'receiptsRoot', 'stateRoot', 'nextValidatorsHash'] as const) {
      assert.deepEqual(v[k], built[k], k);
      assert.deepEqual(v[k], built.block.header[k], k);
    }
    assert.deepEqual(v.hash, built.hash);
    assert.deepEqual(v.diff, built.diff);
    assert.deepEqual(v.receipts, built.receipts);
    const fromBytes = validateBlockBytes(parent.state, parent.header, encodeBlock(built.block));
    assert.deepEqual(fromBytes.stateRoot, built.stateRoot);
    assert.deepEqual(fromBytes.hash, built.hash);
    assert.equal(built.receipts[2]!.code, 'INSUFFICIENT_BALANCE');
    assert.deepEqual(built.receipts[3]!.result, { proposalId: 1, status: 'open' });
  });

  const headerCases: [string, (h: BlockHeader) => BlockHeader, string][] = [
    ['chainId', (h) => ({ ...h, chainId: 'other' }), 'WRONG_CHAIN_ID'],
    ['height', (h) => ({ ...h, height: h.height + 1 }), 'BAD_HEIGHT'],
    ['parentHash', (h) => ({ ...h, parentHash: sha256(h.parentHash) }), 'BAD_PARENT_HASH'],
    ['timestamp = parent', (h) => ({ ...h, timestamp: GENESIS_TIME }), 'BAD_TIMESTAMP'],
    ['timestamp far ahead', (h) => ({ ...h, timestamp: GENESIS_TIME + 60_000 }), 'TIMESTAMP_TOO_FAR'],
    ['proposer not a validator', (h) => ({ ...h, proposer: key('stranger').address }), 'BAD_PROPOSER'],
    ['proposer not the expected one', (h) => ({ ...h, proposer: key('alpha-val').address }), 'BAD_PROPOSER'],
    ['view', (h) => ({ ...h, view: 3 }), 'BAD_VIEW'],
    ['txRoot', (h) => ({ ...h, txRoot: sha256(h.txRoot) }), 'BAD_TX_ROOT'],
    ['receiptsRoot', (h) => ({ ...h, receiptsRoot: sha256(h.receiptsRoot) }), 'BAD_RECEIPTS_ROOT'],
    ['stateRoot', (h) => ({ ...h, stateRoot: sha256(h.stateRoot) }), 'BAD_STATE_ROOT'],
    ['validatorsHash', (h) => ({ ...h, validatorsHash: sha256(h.validatorsHash) }), 'BAD_VALIDATORS_HASH'],
    [
      'nextValidatorsHash',
      (h) => ({ ...h, nextValidatorsHash: sha256(h.nextValidatorsHash) }),
      'BAD_NEXT_VALIDATORS_HASH',
    ],
  ];
  for (const [name, tamper, code] of headerCases) {
    test(`a tampered ${name} is ${code}`, () => {
      const { parent, built } = sampleBlock();
      const block = { ...built.block, header: tamper(built.block.header) };
      const opts = {
        now: GENESIS_TIME + 1000,
        expectedProposer: built.block.header.proposer,
        expectedView: 2,
      };
      assert.equal(errorOf(() => validateBlock(parent.state, parent.header, block, opts)).code, code);
      assert.doesNotThrow(() => validateBlock(parent.state, parent.header, built.block, opts));
    });
  }

  /** A block with its txs replaced and its txRoot recomputed, so execution is reached. */
  function withTxs(b: Block, txs: SignedTransaction[]): Block {
    return { header: { ...b.header, txRoot: merkleRoot(txs.map(txHash)) }, txs };
  }

  const txCases: [string, (txs: SignedTransaction[]) => Block | SignedTransaction[], string, number?][] = [
    [
      'flipped signature bit',
      (t) => {
        const sig = t[1]!.signature.slice();
        sig[0]! ^= 1;
        return t.map((x, i) => (i === 1 ? { ...x, signature: sig } : x));
      },
      'BAD_SIGNATURE',
      1,
    ],
    [
      'changed amount',
      (t) =>
        t.map((x, i) =>
          i === 0
            ? ({ ...x, tx: { ...x.tx, body: { to: key('c1').address, amount: 11n } } } as SignedTransaction)
            : x,
        ),
      'BAD_SIGNATURE',
      0,
    ],
    ['last tx dropped', (t) => t.slice(0, 3), 'BAD_TX_ROOT'],
    ['two txs swapped', (t) => [t[1]!, t[0]!, t[2]!, t[3]!], 'BAD_TX_ROOT'],
    [
      'wrong chain id (re-signed)',
      (t) => [
        ...t,
        signTx(
          transferTx({ chainId: 'other', from: key('c1').address, nonce: 1 }, key('c0').address, 1n),
          key('c1'),
        ),
      ],
      'WRONG_CHAIN_ID',
      4,
    ],
  ];
  for (const [name, tamper, code, index] of txCases) {
    test(`a block with a ${name} is ${code}`, () => {
      const { parent, built } = sampleBlock();
      const t = tamper(built.block.txs);
      const block = Array.isArray(t) ? { ...built.block, txs: t } : t;
      const e = errorOf(() => validateBlock(parent.state, parent.header, block));
      assert.equal(e.code, code);
      if (index !== undefined) assert.equal(e.details.txIndex, index);
    });
  }

  test('with the txRoot recomputed, execution catches nonce, sender, duplicate and receipt problems', () => {
    const { parent, built } = sampleBlock();
    const txs = built.block.txs;
    const cases: [SignedTransaction[], string, number?][] = [
      [[...txs, wallet('c0', 5).transfer(key('c1').address, 1n)], 'BAD_NONCE', 4],
      [[...txs, wallet('c0', 0).transfer(key('c1').address, 2n)], 'BAD_NONCE', 4],
      [[...txs, wallet('stranger').transfer(key('c1').address, 1n)], 'UNKNOWN_ACCOUNT', 4],
      [[...txs, txs[0]!], 'DUPLICATE_TX', 4],
      // A valid extra transaction: everything checks but the receipts (and state) differ.
      [[...txs, wallet('c1', 1).transfer(key('c0').address, 1n)], 'BAD_RECEIPTS_ROOT'],
    ];
    for (const [t, code, index] of cases) {
      const e = errorOf(() => validateBlock(parent.state, parent.header, withTxs(built.block, t)));
      assert.equal(e.code, code, e.message);
      if (index !== undefined) assert.equal(e.details.txIndex, index);
    }
  });

  test('limits: TOO_MANY_TXS and BLOCK_TOO_LARGE', () => {
    const doc = {
      ...clientDoc,
      params: { ...DEFAULT_PARAMS, blockTxsMax: 2, blockBytesMax: 1024, txBytesMax: 512 },
    };
    const parent = new Chain(doc);
    const three = [0, 1, 2].map((n) => wallet('c0', n).transfer(key('c1').address, 1n));
    const built = buildBlock(parent.state, parent.header, {
      txs: three,
      proposer: getValidators(parent.state)[0]!.address,
      view: 0,
      timestamp: GENESIS_TIME + 1,
    });
    assert.equal(built.block.txs.length, 2);
    assert.equal(
      errorOf(() => validateBlock(parent.state, parent.header, withTxs(built.block, three))).code,
      'TOO_MANY_TXS',
    );
    const big = [0, 1].map((n) => wallet('c0', n).dataPut(`k${n}`, new Uint8Array(250)));
    for (const t of big) assert.ok(encodeSignedTx(t).length <= 512);
    assert.equal(
      errorOf(() => validateBlock(parent.state, parent.header, withTxs(built.block, big))).code,
      'BLOCK_TOO_LARGE',
    );
  });
});

describe('buildBlock', () => {
  test('skips what would make the block invalid, and reorders nonces that arrive early', () => {
    const parent = new Chain(clientDoc);
    const good0 = wallet('c0').transfer(key('c1').address, 1n);
    const good1 = wallet('c0', 1).transfer(key('c1').address, 2n);
    const badSig = { ...wallet('c1').transfer(key('c0').address, 1n), signature: new Uint8Array(64) };
    const built = buildBlock(parent.state, parent.header, {
      txs: [
        good1, // held until nonce 0 is in
        badSig,
        wallet('stranger').transfer(key('c0').address, 1n),
        signTx(
          transferTx({ chainId: 'x', from: key('c1').address, nonce: 0 }, key('c0').address, 1n),
          key('c1'),
        ),
        good0,
        good0, // duplicate
        wallet('c1', 3).transfer(key('c0').address, 1n), // gap that never fills: left out, not rejected
      ],
      proposer: getValidators(parent.state)[0]!.address,
      view: 0,
      timestamp: GENESIS_TIME + 1,
    });
    assert.deepEqual(
      built.block.txs.map((t) => t.tx.nonce),
      [0, 1],
    );
    assert.deepEqual(built.block.txs[0], good0);
    assert.deepEqual(
      built.rejected.map((r) => r.error.code),
      ['BAD_SIGNATURE', 'UNKNOWN_ACCOUNT', 'WRONG_CHAIN_ID', 'DUPLICATE_TX'],
    );
    assert.doesNotThrow(() => validateBlock(parent.state, parent.header, built.block));
  });

  test('respects the byte limit exactly, and encodedBlockLength is the encoded length', () => {
    const parent = new Chain(clientDoc);
    const txs = [0, 1, 2, 3].map((n) => wallet('c0', n).dataPut(`k${n}`, new Uint8Array(300)));
    const sizes = txs.map((t) => encodeSignedTx(t).length);
    const headerLength = encodeHeader(parent.header).length + 0; // same shape as a height-1 header
    const twoFit = encodedBlockLength(headerLength, 2, sizes[0]! + sizes[1]!);
    const built = buildBlock(parent.state, parent.header, {
      txs,
      proposer: getValidators(parent.state)[0]!.address,
      view: 0,
      timestamp: GENESIS_TIME + 1,
      limits: { bytesMax: twoFit },
    });
    assert.equal(built.block.txs.length, 2);
    assert.equal(encodeBlock(built.block).length, twoFit);
    assert.equal(
      encodedBlockLength(encodeHeader(built.block.header).length, 2, sizes[0]! + sizes[1]!),
      encodeBlock(built.block).length,
    );
    const big = buildBlock(parent.state, parent.header, {
      txs,
      proposer: getValidators(parent.state)[0]!.address,
      view: 0,
      timestamp: GENESIS_TIME + 1,
      limits: { txsMax: 3 },
    });
    assert.equal(big.block.txs.length, 3);
  });

  test('refuses a timestamp not above the parent and a proposer outside the set', () => {
    const parent = new Chain(clientDoc);
    const base = {
      txs: [],
      proposer: getValidators(parent.state)[0]!.address,
      view: 0,
      timestamp: GENESIS_TIME + 1,
    };
    assert.equal(
      errorOf(() => buildBlock(parent.state, parent.header, { ...base, timestamp: GENESIS_TIME })).code,
      'BAD_TIMESTAMP',
    );
    assert.equal(
      errorOf(() => buildBlock(parent.state, parent.header, { ...base, proposer: key('x').address })).code,
      'BAD_PROPOSER',
    );
  });

  test('decodeBlockWithMeta gives each tx its canonical size and hash', () => {
    const { built } = sampleBlock();
    const bytes = encodeBlock(built.block);
    const { block, txMeta } = decodeBlockWithMeta(bytes);
    assert.deepEqual(block, built.block);
    txMeta.forEach((m, i) => {
      const c = measureTx(built.block.txs[i]!);
      assert.deepEqual(m, { hash: c.hash, size: c.size });
    });
    assert.equal(errorOf(() => decodeBlockWithMeta(bytes.subarray(1))).code, 'MALFORMED');
  });
});

describe('build/validate agreement and replay', () => {
  const labels = ['c0', 'c1', 'alpha-admin', 'stranger'];
  const candidate = fc.record({
    who: fc.integer({ min: 0, max: labels.length - 1 }),
    kind: fc.constantFrom('transfer', 'data', 'vote', 'register'),
    nonceSkew: fc.constantFrom(0, 0, 0, 0, -1, 1, 2),
    amount: fc.bigInt({ min: 0n, max: 1_500n }),
    corrupt: fc.constantFrom(false, false, false, false, false, false, true),
  });

  function materialise(
    cands: { who: number; kind: string; nonceSkew: number; amount: bigint; corrupt: boolean }[],
    nonces: Map<string, number>,
  ): SignedTransaction[] {
    return cands.map((c, i) => {
      const label = labels[c.who]!;
      const nonce = Math.max(0, (nonces.get(label) ?? 0) + c.nonceSkew);
      if (c.nonceSkew === 0) nonces.set(label, nonce + 1);
      const w = wallet(label, nonce);
      let stx: SignedTransaction;
      if (c.kind === 'transfer')
        stx = w.transfer(key(labels[(c.who + 1) % labels.length]!).address, c.amount);
      else if (c.kind === 'data') stx = w.dataPut(`k${i}`, Uint8Array.of(i & 255));
      else if (c.kind === 'vote') stx = w.vote(1 + (i % 2), c.amount % 2n === 0n);
      else stx = w.register(key(`reg${i}`).publicKey, ['transfer']);
      if (!c.corrupt) return stx;
      const sig = stx.signature.slice();
      sig[i % 64]! ^= 0x40;
      return { ...stx, signature: sig };
    });
  }

  test('every block the builder makes validates with the same roots, also after a byte round trip (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(candidate, { maxLength: 10 }), { minLength: 1, maxLength: 3 }),
        (rounds) => {
          const chain = new Chain(clientDoc);
          // Two open proposals for the votes to land on.
          chain.produce([
            wallet('beta-admin').propose({ type: 'param.set', name: 'blockPeriodMs', value: 300 }, 'a'),
            wallet('gamma-admin').propose({ type: 'param.set', name: 'blockPeriodMs', value: 400 }, 'b'),
          ]);
          const nonces = new Map<string, number>();
          for (const cands of rounds) {
            const txs = materialise(cands, nonces);
            const built = buildBlock(chain.state, chain.header, {
              txs,
              proposer: getValidators(chain.state)[0]!.address,
              view: 0,
              timestamp: chain.header.timestamp + 1,
            });
            const v = validateBlockBytes(chain.state, chain.header, encodeBlock(built.block));
            assert.deepEqual(v.hash, built.hash);
            assert.deepEqual(v.stateRoot, built.stateRoot);
            assert.deepEqual(v.receipts, built.receipts);
            // Every candidate is either in the block, rejected with a reason, or held for a gap.
            assert.ok(built.block.txs.length + built.rejected.length <= txs.length);
            for (const r of built.rejected) assert.ok(r.error instanceof LedgerError);
            chain.state = built.state;
            chain.header = built.block.header;
            // Re-sync the nonce model with what actually went in.
            for (const l of labels) {
              const a = chain.account(l);
              if (a) nonces.set(l, a.nonce);
            }
          }
        },
      ),
      { numRuns: 25, seed: 4242 },
    );
  });

  test('replaying the same blocks on a fresh genesis state gives the same roots at every height', () => {
    const chain = new Chain(clientDoc);
    chain.produce([
      wallet('c0').transfer(key('c1').address, 10n),
      wallet('alpha-admin').propose(
        { type: 'validator.add', publicKey: key('v9').publicKey, memberId: 'alpha', p2p: [] },
        'add',
      ),
    ]);
    chain.produce([wallet('beta-admin').vote(1, true), wallet('c1').dataPut('x', Uint8Array.of(1))]);
    chain.produce([
      wallet('gamma-admin').vote(1, true),
      wallet('alpha-admin', 1).register(key('r').publicKey, []),
    ]);
    chain.produce([]);
    assert.equal(getValidators(chain.state).length, 4);

    const fresh = genesisState(clientDoc);
    let state: LedgerState = fresh.state;
    let header = fresh.header;
    for (const b of chain.blocks) {
      const v = validateBlock(state, header, b.block);
      assert.deepEqual(v.stateRoot, b.block.header.stateRoot);
      const again = applyBlock(state, b.block);
      assert.deepEqual(again.stateRoot, v.stateRoot);
      assert.deepEqual(again.diff, v.diff);
      state = v.state;
      header = b.block.header;
    }
    assert.deepEqual(stateRoot(state), stateRoot(chain.state));
    assert.equal(header.height, 4);
  });
});
