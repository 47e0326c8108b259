/**
 * The transfer fast path (ledger/transfer-decode.ts) must accept only bytes the generic decoder
 * accepts and build the same value from them; anything else it leaves to the generic decoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateKeyPair, Signer } from '../../crypto/ed25519.js';
import { decode } from '../../crypto/encoding.js';
import { decodeSignedTx, encodeSignedTx, signedTxFromValue } from '../../ledger/codec.js';
import { decodeSignedTransfer } from '../../ledger/transfer-decode.js';
import { dataPutTx, signTx, transferTx } from '../../ledger/tx-builder.js';

const signer = new Signer(generateKeyPair().secretKey);

/** What the generic decoder makes of `bytes`, or the error it throws. */
function generic(bytes: Uint8Array): unknown {
  try {
    return signedTxFromValue(decode(bytes));
  } catch (err) {
    return err;
  }
}

const transferBytes = fc
  .record({
    chainId: fc.oneof(
      fc.constantFrom('synod-devnet', 'c'),
      fc.string({ maxLength: 140 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    ),
    nonce: fc.oneof(
      fc.nat(),
      fc.constant(2 ** 49 - 1),
      fc.constant(2 ** 49),
      fc.constant(Number.MAX_SAFE_INTEGER),
    ),
    to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    amount: fc.oneof(fc.bigInt({ min: 0n, max: 1n << 60n }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })),
    memo: fc.option(fc.string(), { nil: undefined }),
  })
  .map(({ chainId, nonce, to, amount, memo }) =>
    encodeSignedTx(signTx(transferTx({ chainId, nonce, from: signer.address }, to, amount, memo), signer)),
  );

describe('transfer fast path', () => {
  it('takes a plain transfer and builds what the generic decoder builds', () => {
    const bytes = encodeSignedTx(
      signTx(
        transferTx(
          { chainId: 'synod-devnet', nonce: 7, from: signer.address },
          new Uint8Array(20).fill(1),
          5n,
        ),
        signer,
      ),
    );
    const fast = decodeSignedTransfer(new Uint8Array(bytes));
    assert.ok(fast, 'the common shape must not fall back');
    assert.deepEqual(fast, generic(bytes));
    assert.equal(fast.tx.kind === 'asset.transfer' && typeof fast.tx.body.amount, 'bigint');
  });

  it('leaves a memo, another kind, wide integers and non-ASCII chain ids to the generic decoder', () => {
    const head = { chainId: 'c', nonce: 1, from: signer.address };
    const to = new Uint8Array(20);
    const cases = [
      transferTx(head, to, 1n, 'a memo'),
      dataPutTx(head, 'k', new Uint8Array([1])),
      transferTx(head, to, 1n << 49n),
      transferTx({ ...head, nonce: 2 ** 49 }, to, 1n),
      transferTx({ ...head, chainId: 'chaîne' }, to, 1n),
      transferTx({ ...head, chainId: 'x'.repeat(128) }, to, 1n),
    ];
    for (const tx of cases) {
      const bytes = encodeSignedTx(signTx(tx, signer));
      assert.equal(decodeSignedTransfer(new Uint8Array(bytes)), undefined);
      assert.deepEqual(decodeSignedTx(bytes), generic(bytes), 'decoded generically');
    }
  });

  it('agrees with the generic decoder on varied transfers', () => {
    fc.assert(
      fc.property(transferBytes, (bytes) => {
        const fast = decodeSignedTransfer(new Uint8Array(bytes));
        if (fast !== undefined) assert.deepEqual(fast, generic(bytes));
        assert.deepEqual(decodeSignedTx(bytes), generic(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('accepts nothing the generic decoder refuses: flipped, cut, inserted bytes', () => {
    const mutated = fc
      .tuple(
        transferBytes,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('set', 'cut', 'insert', 'truncate', 'append'),
      )
      .map(([b, at, byte, how]) => {
        const i = at % b.length;
        const out = [...b];
        if (how === 'set') out[i] = byte;
        else if (how === 'cut') out.splice(i, 1);
        else if (how === 'insert') out.splice(i, 0, byte);
        else if (how === 'truncate') out.length = i;
        else out.push(byte);
        return Uint8Array.from(out);
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        const fast = decodeSignedTransfer(new Uint8Array(bytes));
        if (fast === undefined) return;
        const expected = generic(bytes);
        assert.ok(!(expected instanceof Error), `generic refuses what the fast path took: ${expected}`);
        assert.deepEqual(fast, expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves non-minimal integers to the generic decoder, which refuses them', () => {
    const bytes = encodeSignedTx(
      signTx(transferTx({ chainId: 'c', nonce: 7, from: signer.address }, new Uint8Array(20), 5n), signer),
    );
    const amountAt = Buffer.from(bytes).indexOf('amount') + 'amount'.length + 1; // after the uint tag
    assert.equal(bytes[amountAt], 5);
    assert.equal(bytes[bytes.length - 1], 7, 'the nonce is the last value');
    const wideAmount = Uint8Array.from([
      ...bytes.subarray(0, amountAt),
      0x85,
      0x00,
      ...bytes.subarray(amountAt + 1),
    ]);
    const wideNonce = Uint8Array.from([...bytes.subarray(0, -1), 0x87, 0x00]);
    for (const b of [wideAmount, wideNonce]) {
      assert.equal(decodeSignedTransfer(new Uint8Array(b)), undefined);
      assert.throws(() => decodeSignedTx(b), /non-minimal integer/);
    }
  });

  it('reads from a Buffer view the same as from its own copy', () => {
    const bytes = encodeSignedTx(
      signTx(transferTx({ chainId: 'c', nonce: 0, from: signer.address }, new Uint8Array(20), 0n), signer),
    );
    const pooled = Buffer.concat([Buffer.from([9, 9]), Buffer.from(bytes)]).subarray(2);
    const stx = decodeSignedTx(pooled);
    pooled.fill(0);
    assert.deepEqual(stx, generic(bytes), 'a private copy: changing the input afterwards changes nothing');
    assert.equal(Object.getPrototypeOf(stx.publicKey), Uint8Array.prototype);
  });

  it('keeps the byte fields as views of the bytes it remembers, not as copies', () => {
    const bytes = encodeSignedTx(
      signTx(
        transferTx({ chainId: 'c', nonce: 3, from: signer.address }, new Uint8Array(20).fill(7), 5n),
        signer,
      ),
    );
    const stx = decodeSignedTx(bytes);
    const own = encodeSignedTx(stx);
    assert.notEqual(own.buffer, bytes.buffer, 'its own copy of the input');
    const body = stx.tx.body as { to: Uint8Array };
    for (const field of [stx.publicKey, stx.signature, stx.tx.from, body.to]) {
      assert.equal(field.buffer, own.buffer);
      assert.deepEqual(own.subarray(field.byteOffset, field.byteOffset + field.length), field);
    }
    assert.deepEqual(stx, generic(bytes));
  });
});
