/**
 * The fast block decoder (decodeBlockWithMeta: spans, hashes, reuse of known transactions)
 * must accept exactly the bytes the generic strict decoder accepts, and give the same block.
 * A disagreement between two validators' decoders would split them on a proposal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EncodingError } from '../../crypto/encoding.js';
import { bytesEqual, sha256, toHex } from '../../crypto/hash.js';
import { decodeBlockHeaderOnly, decodeBlockWithMeta } from '../../ledger/block.js';
import { decodeBlock, encodeBlock, encodeSignedTx, txHash } from '../../ledger/codec.js';
import { LedgerError } from '../../ledger/errors.js';
import type { Block, SignedTransaction } from '../../ledger/types.js';
import { CHAIN_ID, wallet } from './helpers.js';

function sampleBlock(txCount: number): Block {
  const w = wallet('decode-sender');
  const to = wallet('decode-receiver').address;
  const txs: SignedTransaction[] = [];
  for (let i = 0; i < txCount; i++) {
    txs.push(
      i % 3 === 2
        ? w.dataPut(`k${i}`, Uint8Array.of(i, 0xff))
        : w.transfer(to, BigInt(i + 1), i % 2 ? 'memo' : undefined),
    );
  }
  const h32 = (n: number) => new Uint8Array(32).fill(n);
  return {
    header: {
      chainId: CHAIN_ID,
      height: 7,
      view: 1,
      parentHash: h32(1),
      timestamp: 1_767_225_600_123,
      proposer: new Uint8Array(20).fill(9),
      txRoot: h32(2),
      receiptsRoot: h32(3),
      stateRoot: h32(4),
      validatorsHash: h32(5),
      nextValidatorsHash: h32(6),
    },
    txs,
  };
}

/** What the generic decoder makes of the bytes: the block, or 'refused'. */
function generic(bytes: Uint8Array): Block | 'refused' {
  try {
    return decodeBlock(bytes);
  } catch (e) {
    if (e instanceof EncodingError) return 'refused';
    throw e;
  }
}

function fast(bytes: Uint8Array, known?: Map<string, SignedTransaction>): Block | 'refused' {
  try {
    return decodeBlockWithMeta(bytes, known ? (h) => known.get(toHex(h)) : undefined).block;
  } catch (e) {
    if (e instanceof LedgerError && e.code === 'MALFORMED') return 'refused';
    throw e;
  }
}

const blocks = [0, 1, 4].map(sampleBlock);
const encoded = blocks.map(encodeBlock);

describe('decodeBlockWithMeta', () => {
  test('gives the block, each transaction hash and size from its span, and reuses known objects', () => {
    const block = blocks[2]!;
    const bytes = encoded[2]!;
    const known = new Map(block.txs.slice(0, 2).map((t) => [toHex(txHash(t)), t] as const));
    const { block: got, txMeta } = decodeBlockWithMeta(bytes, (h) => known.get(toHex(h)));
    assert.deepEqual(got, decodeBlock(bytes));
    assert.equal(got.txs[0], block.txs[0], 'a known transaction is reused, not decoded');
    assert.notEqual(got.txs[3], block.txs[3]);
    block.txs.forEach((t, i) => {
      assert.ok(bytesEqual(txMeta[i]!.hash, sha256(encodeSignedTx(t))));
      assert.equal(txMeta[i]!.size, encodeSignedTx(t).length);
    });
  });

  test('accepts exactly what the generic strict decoder accepts (mutated, cut and extended bytes)', () => {
    const edit = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({
        kind: fc.constant('append' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (which, edits, useKnown) => {
          let b = Array.from(encoded[which]!);
          for (const e of edits) {
            const at = e.at % (b.length + 1);
            if (e.kind === 'flip' && at < b.length) b[at] = e.value;
            else if (e.kind === 'cut') b = b.slice(0, at);
            else if (e.kind === 'append') b.push(e.value);
            else if (e.kind === 'insert') b.splice(at, 0, e.value);
          }
          const bytes = Uint8Array.from(b);
          const known = useKnown
            ? new Map(blocks[which]!.txs.map((t) => [toHex(txHash(t)), t] as const))
            : undefined;
          const want = generic(bytes);
          const got = fast(bytes, known);
          if (want === 'refused') assert.equal(got, 'refused');
          else assert.deepEqual(got, want);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('decodeBlockHeaderOnly reads the header alone, strictly', () => {
    assert.deepEqual(decodeBlockHeaderOnly(encoded[2]!), blocks[2]!.header);
    // Cut inside the transactions: the header still reads.
    assert.deepEqual(
      decodeBlockHeaderOnly(encoded[2]!.subarray(0, encoded[2]!.length - 10)),
      blocks[2]!.header,
    );
    for (const bad of [new Uint8Array(0), Uint8Array.of(0x07, 0x02), encoded[2]!.subarray(0, 40)]) {
      assert.throws(
        () => decodeBlockHeaderOnly(bad),
        (e) => e instanceof LedgerError && e.code === 'MALFORMED',
      );
    }
  });
});
