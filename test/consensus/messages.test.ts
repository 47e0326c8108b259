import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MessageError } from '../../consensus/errors.js';
import { DEFAULT_LIMITS } from '../../consensus/limits.js';
import { decodeMessage, encodeMessage } from '../../consensus/messages.js';
import { DOMAIN_TAG, decodePayload, encodePayload, type VotePayload } from '../../consensus/payload.js';
import { encodeSimBlock } from '../../consensus/sim/block.js';
import { verify } from '../../crypto/ed25519.js';
import { decode, encode } from '../../crypto/encoding.js';
import {
  CHAIN,
  certificate,
  decidedFrame,
  makeBlock,
  makeSigners,
  port,
  prepareCert,
  prepareFrame,
  proposalFrame,
  rcFrame,
  rcItem,
  vote,
} from './harness.js';

const signers = makeSigners(4, 'msg');
const [a, b, c] = signers as [(typeof signers)[0], (typeof signers)[0], (typeof signers)[0]];
const block = makeBlock({ height: 3, view: 1, proposer: a.address, txs: ['t1', 't2'] });
const digest = port.hash(block);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MessageError, `expected a MessageError, got ${e}`);
    return e.code;
  }
  assert.fail('expected a MessageError');
}

describe('signed payloads (docs/protocol.md §2.1)', () => {
  it('encode the tuple (domainTag, chainId, type, height, round, author, ...) and round-trip', () => {
    const p: VotePayload = {
      type: 'PREPARE',
      chainId: CHAIN,
      height: 3,
      round: 2,
      author: a.address,
      digest,
    };
    const bytes = encodePayload(p);
    assert.deepEqual(decode(bytes), [DOMAIN_TAG, CHAIN, 'PREPARE', 3, 2, a.address, digest]);
    assert.deepEqual(decodePayload(bytes), p);
    const rc = rcItem(a, 3, 2, { round: 1, digest });
    assert.deepEqual(decodePayload(rc.signed), rc.payload);
    const bare = rcItem(a, 3, 2);
    assert.equal((decode(bare.signed) as unknown[]).length, 6);
  });

  it('a signature is bound to its type, chain, height, round and digest', () => {
    const prep = vote(a, 'PREPARE', 3, 0, digest);
    assert.ok(
      verify(prep.signature, prep.signed, a.publicKey),
      'expected verify(prep.signature, prep.signed, a.publicKey)',
    );
    const asCommit = encodePayload({ ...prep.payload, type: 'COMMIT' });
    assert.ok(
      !verify(prep.signature, asCommit, a.publicKey),
      'a PREPARE signature must not pass as a COMMIT',
    );
    for (const change of [
      { chainId: 'other' },
      { height: 4 },
      { round: 1 },
      { digest: new Uint8Array(32) },
    ]) {
      assert.ok(
        !verify(prep.signature, encodePayload({ ...prep.payload, ...change }), a.publicKey),
        'expected !verify(prep.signature, encodePayload({ ...prep.payload, ...change }), a.publicKey)',
      );
    }
  });

  it('rejects payloads without the domain tag, of unknown type, or with a half-present prepared pair', () => {
    const good = decode(vote(a, 'COMMIT', 3, 0, digest).signed) as unknown[];
    assert.equal(
      code(() => decodePayload(encode(['synod/tx/v1', ...good.slice(1)] as never))),
      'bad-domain',
    );
    assert.equal(
      code(() => decodePayload(encode([...good.slice(0, 2), 'VOTE', ...good.slice(3)] as never))),
      'bad-kind',
    );
    const rc = decode(rcItem(a, 3, 2, { round: 1, digest }).signed) as unknown[];
    assert.equal(
      code(() => decodePayload(encode(rc.slice(0, 7) as never))),
      'malformed',
    );
    assert.equal(
      code(() => decodePayload(encode([...good, 1] as never))),
      'malformed',
    );
    assert.equal(
      code(() => decodePayload(new Uint8Array([0x06, 0x01]))),
      'malformed',
    );
  });
});

describe('wire messages (docs/protocol.md §2.2)', () => {
  const cert = prepareCert([a, b, c], 3, 0, digest);
  const frames: [string, Uint8Array][] = [
    ['PROPOSAL r=0', proposalFrame(a, { ...block, view: 0 }, 0)],
    [
      'PROPOSAL r=1',
      proposalFrame(a, block, 1, [rcItem(a, 3, 1), rcItem(b, 3, 1, { round: 0, digest })], cert),
    ],
    ['PREPARE', prepareFrame(a, 3, 0, digest)],
    ['COMMIT', encodeMessage({ kind: 'COMMIT', item: vote(b, 'COMMIT', 3, 5, digest) })],
    ['ROUND-CHANGE unprepared', rcFrame(a, 3, 2)],
    ['ROUND-CHANGE prepared', rcFrame(a, 3, 2, { round: 0, block, cert })],
    ['DECIDED', decidedFrame(block, certificate([a, b, c], 3, 1, digest))],
  ];

  for (const [what, frame] of frames) {
    it(`${what}: decodes and re-encodes to the same bytes`, () => {
      const m = decodeMessage(frame, port);
      assert.deepEqual(encodeMessage(m), frame);
    });
  }

  it('rejects truncated frames, trailing bytes and flipped bytes with a typed error, never anything else', () => {
    for (const [, frame] of frames) {
      for (let cut = 0; cut < frame.length; cut += Math.max(1, Math.floor(frame.length / 40))) {
        assert.ok(
          ['malformed', 'bad-block', 'bad-kind', 'bad-domain'].includes(
            code(() => decodeMessage(frame.subarray(0, cut), port)),
          ),
          'a truncated frame fails with a decoding code',
        );
      }
      const trailing = new Uint8Array([...frame, 0]);
      assert.equal(
        code(() => decodeMessage(trailing, port)),
        'malformed',
      );
    }
  });

  it('property: arbitrary bytes either decode to a message that re-encodes identically or throw MessageError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const m = decodeMessage(bytes, port);
          assert.deepEqual(encodeMessage(m), bytes);
        } catch (e) {
          if (!(e instanceof MessageError)) throw e;
        }
      }),
      { numRuns: 2_000, seed: 42 },
    );
  });

  it('property: one corrupted byte in a valid frame never yields an error other than MessageError', () => {
    const all = frames.map(([, f]) => f);
    fc.assert(
      fc.property(fc.nat(all.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
        const f = all[which]!.slice();
        f[at % f.length] = f[at % f.length]! ^ x;
        try {
          decodeMessage(f, port);
        } catch (e) {
          if (!(e instanceof MessageError)) throw e;
        }
      }),
      { numRuns: 2_000, seed: 7 },
    );
  });

  it('refuses frames and blocks over the limits, and lists longer than validatorsMax', () => {
    const small = { ...DEFAULT_LIMITS, messageBytesMax: 100 };
    assert.equal(
      code(() => decodeMessage(frames[1]![1], port, small)),
      'too-large',
    );
    const tinyBlocks = { ...DEFAULT_LIMITS, blockBytesMax: 10 };
    assert.equal(
      code(() => decodeMessage(frames[0]![1], port, tinyBlocks)),
      'too-large',
    );
    const fewItems = { ...DEFAULT_LIMITS, validatorsMax: 2 };
    assert.equal(
      code(() => decodeMessage(frames[1]![1], port, fewItems)),
      'too-many-items',
    );
  });

  it('refuses unknown kinds, unknown fields, wrong item types per slot, and bad block bytes', () => {
    const item = [vote(a, 'PREPARE', 3, 0, digest).signed, vote(a, 'PREPARE', 3, 0, digest).signature];
    assert.equal(
      code(() => decodeMessage(encode({ kind: 'VIEW-CHANGE', item }), port)),
      'bad-kind',
    );
    assert.equal(
      code(() => decodeMessage(encode({ kind: 'PREPARE', item, extra: 1 }), port)),
      'malformed',
    );
    assert.equal(
      code(() => decodeMessage(encode({ kind: 'COMMIT', item }), port)),
      'bad-kind',
    );
    // A PREPARE where a round change must be, inside a proposal's justification.
    const bad = encode({
      kind: 'PROPOSAL',
      item: [vote(a, 'PROPOSAL', 3, 1, digest).signed, vote(a, 'PROPOSAL', 3, 1, digest).signature],
      block: encodeSimBlock(block),
      roundChanges: [item],
      prepares: [],
    });
    assert.equal(
      code(() => decodeMessage(bad, port)),
      'bad-kind',
    );
    const badBlock = encode({
      kind: 'DECIDED',
      block: new Uint8Array([1, 2, 3]),
      cert: { round: 0, sigs: [] },
    });
    assert.equal(
      code(() => decodeMessage(badBlock, port)),
      'bad-block',
    );
    const badSig = encode({ kind: 'PREPARE', item: [item[0]!, new Uint8Array(63)] });
    assert.equal(
      code(() => decodeMessage(badSig, port)),
      'malformed',
    );
    assert.equal(
      code(() => decodeMessage(encode(['PREPARE']), port)),
      'malformed',
    );
  });
});

describe('stale DECIDED frames', () => {
  const frame = decidedFrame(block, certificate([a, b, c], 3, 1, digest));
  /** The harness port, counting block decodes, with a height peek. */
  function peekingPort() {
    const counted = { decodes: 0 };
    const p = {
      ...port,
      decode(bytes: Uint8Array) {
        counted.decodes++;
        return port.decode(bytes);
      },
      peekHeight: (bytes: Uint8Array) => port.height(port.decode(bytes)),
    };
    return { p, counted };
  }

  it('are refused as stale before their block is decoded when at or below the floor', () => {
    const { p, counted } = peekingPort();
    assert.equal(
      code(() => decodeMessage(frame, p, DEFAULT_LIMITS, { staleDecidedAtOrBelow: 3 })),
      'stale',
    );
    assert.equal(counted.decodes, 0, 'the block was decoded');
  });

  it('decode as usual above the floor, or without a peek', () => {
    const { p, counted } = peekingPort();
    assert.equal(decodeMessage(frame, p, DEFAULT_LIMITS, { staleDecidedAtOrBelow: 2 }).kind, 'DECIDED');
    assert.equal(counted.decodes, 1);
    const noPeek = { ...port, peekHeight: undefined };
    assert.equal(decodeMessage(frame, noPeek, DEFAULT_LIMITS, { staleDecidedAtOrBelow: 3 }).kind, 'DECIDED');
  });
});
