import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { publicKeyFromSecret } from '../../crypto/ed25519.js';
import { AllowList } from '../../node/p2p/allowlist.js';
import { FrameTooLargeError, FramingError } from '../../node/p2p/errors.js';
import { encodeFrame, encodeFrames, FrameDecoder, readFrames, varintLength } from '../../node/p2p/framing.js';
import { libp2pPrivateKey, peerIdFromPublicKey, publicKeyFromPeerId } from '../../node/p2p/identity.js';
import { Misbehaviour } from '../../node/p2p/misbehaviour.js';
import { DropOldestQueue } from '../../node/p2p/queue.js';

function key() {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

/** Splits `buf` at the given cut points (sorted, deduplicated, inside the buffer). */
function split(buf: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('p2p framing', () => {
  it('round-trips any frames however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (payloads, cuts) => {
          const wire = encodeFrames(payloads);
          const dec = new FrameDecoder(1000);
          const got: Uint8Array[] = [];
          for (const chunk of split(wire, cuts)) got.push(...dec.push(chunk));
          assert.equal(dec.midFrame, false);
          assert.deepEqual(got, payloads);
        },
      ),
    );
  });

  it('encodes lengths as minimal unsigned varints', () => {
    assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0]);
    assert.deepEqual([...encodeFrame(new Uint8Array(300)).subarray(0, 2)], [0xac, 0x02]);
    assert.equal(varintLength(127), 1);
    assert.equal(varintLength(128), 2);
    assert.equal(varintLength(16 * 1024 * 1024), 4);
  });

  it('rejects an oversize length as soon as the prefix shows it, before any payload', () => {
    const dec = new FrameDecoder(1024);
    const header = encodeFrame(new Uint8Array(1025)).subarray(0, 2);
    assert.throws(() => dec.push(header), FrameTooLargeError);
    // A prefix whose first byte alone already exceeds the limit fails on that byte.
    assert.throws(() => new FrameDecoder(10).push(Uint8Array.of(0x8b)), FrameTooLargeError);
  });

  it('rejects broken framing', () => {
    assert.throws(
      () => new FrameDecoder(2 ** 40).push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80)),
      FramingError,
    );
    assert.throws(() => new FrameDecoder(1000).push(Uint8Array.of(0x81, 0x00)), FramingError, 'non-minimal');
  });

  it('readFrames reports a stream cut inside a frame', async () => {
    async function* source() {
      yield encodeFrame(Uint8Array.of(1, 2, 3)).subarray(0, 2);
    }
    await assert.rejects(
      async () => {
        for await (const _ of readFrames(source(), 100)) {
          /* drain */
        }
      },
      (err: unknown) => err instanceof FramingError && err.truncated,
    );
  });

  it('returns payloads that do not alias the input chunks', () => {
    const wire = encodeFrames([Uint8Array.of(1, 2, 3)]);
    const [frame] = new FrameDecoder(10).push(wire);
    wire[1] = 99;
    assert.deepEqual([...frame!], [1, 2, 3]);
  });
});

describe('p2p drop-oldest queue', () => {
  it('evicts the oldest items to respect the count bound', () => {
    const q = new DropOldestQueue(3, 1000);
    let evicted = 0;
    for (let i = 0; i < 5; i++) evicted += q.push(Uint8Array.of(i));
    assert.equal(evicted, 2);
    assert.deepEqual([q.shift()![0], q.shift()![0], q.shift()![0]], [2, 3, 4]);
    assert.equal(q.shift(), undefined);
  });

  it('evicts to respect the byte bound and tracks bytes', () => {
    const q = new DropOldestQueue(100, 10);
    q.push(new Uint8Array(4));
    q.push(new Uint8Array(4));
    assert.equal(q.push(new Uint8Array(4)), 1);
    assert.equal(q.bytes, 8);
    assert.equal(q.length, 2);
    assert.equal(q.clear(), 2);
    assert.equal(q.bytes, 0);
  });

  it('stays FIFO through many pushes and shifts (compaction)', () => {
    const q = new DropOldestQueue(5000, 1e9);
    let next = 0;
    let expect = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 3000; i++) {
        const item = new Uint8Array(4);
        new DataView(item.buffer).setUint32(0, next++);
        q.push(item);
      }
      while (q.length > 100) {
        const item = q.shift()!;
        const v = new DataView(item.buffer).getUint32(0);
        // Oldest-first eviction may skip values, never reorder them.
        assert.ok(v >= expect);
        expect = v + 1;
      }
    }
  });
});

describe('p2p misbehaviour', () => {
  it('bans at the threshold within the window, and bans expire', () => {
    let now = 1_000_000;
    const m = new Misbehaviour({ threshold: 3, windowMs: 1000, banMs: 5000 }, () => now);
    assert.equal(m.report('a'), false);
    now += 2000; // the first report leaves the window
    assert.equal(m.report('a'), false);
    assert.equal(m.report('a'), false);
    assert.equal(m.report('a'), true);
    m.ban('a');
    assert.equal(m.isBanned('a'), true);
    assert.equal(m.bannedCount(), 1);
    now += 5001;
    assert.equal(m.isBanned('a'), false);
    assert.equal(m.bannedCount(), 0);
  });

  it('clamps the ban length to a bounded range', () => {
    assert.equal(new Misbehaviour({ banMs: 10 }).banMs, 1000);
    assert.equal(new Misbehaviour({ banMs: 1e12 }).banMs, 60 * 60 * 1000);
  });
});

describe('p2p identity and allow-list', () => {
  it('maps Ed25519 keys to peer ids and back', async () => {
    const k = key();
    const id = peerIdFromPublicKey(k.publicKey);
    assert.match(id, /^12D3KooW/);
    assert.deepEqual(publicKeyFromPeerId(id), k.publicKey);
    const priv = await libp2pPrivateKey(k.secretKey, k.publicKey);
    assert.deepEqual(priv.publicKey.raw, k.publicKey);
    await assert.rejects(libp2pPrivateKey(k.secretKey, key().publicKey), TypeError);
    assert.equal(publicKeyFromPeerId('not a peer id'), undefined);
  });

  it('reports additions, removals and address changes, skipping ourselves', () => {
    const [self, a, b] = [key(), key(), key()];
    const selfId = peerIdFromPublicKey(self.publicKey);
    const list = new AllowList();
    let d = list.replace(
      [
        { publicKey: self.publicKey },
        { publicKey: a.publicKey, addrs: ['/ip4/127.0.0.1/tcp/1'] },
        { publicKey: b.publicKey },
      ],
      selfId,
    );
    assert.equal(list.size, 2);
    assert.equal(d.added.length, 2);
    const entryA = list.get(peerIdFromPublicKey(a.publicKey))!;
    assert.equal(entryA.addrs[0]!.toString(), `/ip4/127.0.0.1/tcp/1/p2p/${entryA.peerId}`);
    d = list.replace([{ publicKey: a.publicKey, addrs: ['/ip4/127.0.0.1/tcp/2'] }], selfId);
    assert.deepEqual(
      [d.added.length, d.removed.length, d.readdressed.length, d.removed[0]!.peerId],
      [0, 1, 1, peerIdFromPublicKey(b.publicKey)],
    );
  });

  it('rejects a bad entry without changing the list', () => {
    const [a, b] = [key(), key()];
    const list = new AllowList();
    list.replace([{ publicKey: a.publicKey }], 'self');
    const wrongId = peerIdFromPublicKey(b.publicKey);
    assert.throws(
      () =>
        list.replace([{ publicKey: a.publicKey, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${wrongId}`] }], 'self'),
      TypeError,
    );
    assert.throws(() => list.replace([{ publicKey: new Uint8Array(31) }], 'self'), TypeError);
    assert.throws(() => list.replace([{ publicKey: b.publicKey, addrs: ['not an address'] }], 'self'));
    assert.equal(list.has(peerIdFromPublicKey(a.publicKey)), true);
    assert.equal(list.size, 1);
  });
});
