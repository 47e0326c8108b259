/**
 * Multi-host tests of the p2p layer on 127.0.0.1. Every wait is bounded and every host is
 * stopped after each test, pass or fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { publicKeyFromSecret } from '../../crypto/ed25519.js';
import { bytesEqual } from '../../crypto/hash.js';
import {
  createP2PHost,
  type MessageHandler,
  P2PHost,
  type P2PHostOptions,
  PeerNotAllowedError,
  PROTOCOLS,
  SyncRequestError,
  SyncTimeoutError,
} from '../../node/p2p/index.js';

interface Key {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

interface Received {
  from: Uint8Array;
  bytes: Uint8Array;
}

function key(): Key {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Hosts made by the current test; afterEach stops them all. */
let live: P2PHost[] = [];
afterEach(async () => {
  const hosts = live;
  live = [];
  await Promise.all(hosts.map((h) => h.stop()));
});

/** Fast timers so reconnects and bans happen within the test budget. */
import { pino } from 'pino';

const FAST: Partial<P2PHostOptions> = {
  logger: process.env.P2P_DEBUG ? pino({ level: 'debug' }) : undefined,
  redial: { baseMs: 50, maxMs: 400, stableMs: 1000, dialTimeoutMs: 2000 },
  misbehaviour: { banMs: 1000 },
};

interface Node {
  key: Key;
  host: P2PHost;
  consensus: Received[];
  tx: Received[];
}

async function startNode(k: Key, extra: Partial<P2PHostOptions> = {}): Promise<Node> {
  const consensus: Received[] = [];
  const tx: Received[] = [];
  const record =
    (into: Received[]): MessageHandler =>
    (peer, bytes) =>
      into.push({ from: peer.publicKey, bytes });
  const host = await createP2PHost({
    secretKey: k.secretKey,
    ...FAST,
    ...extra,
    handlers: { consensus: record(consensus), tx: record(tx), ...extra.handlers },
  });
  live.push(host);
  return { key: k, host, consensus, tx };
}

/** `n` hosts that all allow each other, waited until fully connected. */
async function mesh(n: number, extra: Partial<P2PHostOptions> = {}): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) nodes.push(await startNode(key(), extra));
  const list = nodes.map((x) => ({ publicKey: x.key.publicKey, addrs: x.host.multiaddrs() }));
  for (const x of nodes) x.host.setAllowedPeers(list);
  await waitFor(() => nodes.every((x) => x.host.connectedPeers().length === n - 1), 'full mesh');
  return nodes;
}

function from(list: Received[], k: Key): string[] {
  return list.filter((r) => bytesEqual(r.from, k.publicKey)).map((r) => text(r.bytes));
}

describe('p2p host', { timeout: 60_000 }, () => {
  it('four hosts exchange consensus and tx messages; broadcast reaches all', {
    timeout: 15_000,
  }, async () => {
    const nodes = await mesh(4);
    const [a] = nodes as [Node];
    assert.equal(a.host.broadcast('consensus', utf8.encode('hello all')), 3);
    for (const x of nodes.slice(1)) {
      await waitFor(() => from(x.consensus, a.key).includes('hello all'), 'broadcast delivery');
    }
    // Point to point on both one-way protocols, addressed by key and by peer id, in order.
    for (const s of nodes) {
      for (const r of nodes) {
        if (s === r) continue;
        for (let i = 0; i < 50; i++) {
          assert.equal(s.host.send(r.key.publicKey, 'tx', utf8.encode(`tx ${i}`)), true);
        }
        assert.equal(s.host.send(r.host.peerId, 'consensus', utf8.encode('direct')), true);
      }
    }
    for (const r of nodes) {
      for (const s of nodes) {
        if (s === r) continue;
        await waitFor(() => from(r.tx, s.key).length === 50, 'tx delivery');
        assert.deepEqual(
          from(r.tx, s.key),
          Array.from({ length: 50 }, (_, i) => `tx ${i}`),
        );
        await waitFor(() => from(r.consensus, s.key).includes('direct'), 'direct consensus delivery');
      }
    }
    const st = a.host.stats();
    assert.equal(st.connectedPeers, 3);
    assert.equal(st.protocols.tx.framesOut, 150);
    assert.equal(st.protocols.tx.framesIn, 150);
    // One long-lived stream per (peer, protocol).
    assert.equal(st.protocols.tx.streamsOpened, 3);
    assert.equal(st.protocols.consensus.streamsOpened, 3);
    assert.equal(st.protocols.tx.dropped, 0);
  });

  it('serves sync requests with several frames, errors and timeouts', { timeout: 15_000 }, async () => {
    const slowStarted: AbortSignal[] = [];
    const [a, b] = (await mesh(2, {
      handlers: {
        sync: (peer, req, signal) => {
          const r = text(req);
          if (r === 'array') return Promise.resolve([utf8.encode('x'), utf8.encode('y')]);
          if (r === 'boom') throw new Error('handler failed');
          if (r === 'slow') {
            slowStarted.push(signal);
            return (async function* () {
              yield utf8.encode('first');
              await sleep(5000);
              yield utf8.encode('late');
            })();
          }
          return (async function* () {
            for (let i = 0; i < 5; i++) yield utf8.encode(`${r} ${i} for ${peer.peerId.slice(-4)}`);
          })();
        },
      },
      sync: { timeoutMs: 3000 },
    })) as [Node, Node];
    const tag = a.host.peerId.slice(-4);
    const frames = await b.host.request(a.key.publicKey, utf8.encode('blocks'));
    assert.deepEqual(frames.map(text).slice(0, 2), [
      'blocks 0 for ' + b.host.peerId.slice(-4),
      `blocks 1 for ${b.host.peerId.slice(-4)}`,
    ]);
    assert.equal(frames.length, 5);
    const back = await a.host.request(b.host.peerId, utf8.encode('h=7'));
    assert.equal(text(back[4]!), `h=7 4 for ${tag}`);
    assert.deepEqual((await a.host.request(b.key.publicKey, utf8.encode('array'))).map(text), ['x', 'y']);
    await assert.rejects(a.host.request(b.key.publicKey, utf8.encode('boom')), SyncRequestError);
    // A caller's long-lived signal is left as it was found: each request's combined signal
    // removes its listener when the request ends (else every request would add one for good).
    const keep = new AbortController();
    for (let i = 0; i < 3; i++)
      await a.host.request(b.key.publicKey, utf8.encode('array'), { signal: keep.signal });
    await assert.rejects(a.host.request(b.key.publicKey, utf8.encode('boom'), { signal: keep.signal }));
    assert.equal(getEventListeners(keep.signal, 'abort').length, 0);

    const t0 = Date.now();
    await assert.rejects(
      a.host.request(b.key.publicKey, utf8.encode('slow'), { timeoutMs: 300 }),
      SyncTimeoutError,
    );
    assert.ok(Date.now() - t0 < 3000, 'the per-request timeout applies');
    // The responder learns the requester went away.
    await waitFor(() => slowStarted[0]?.aborted === true, 'responder abort signal');

    const ac = new AbortController();
    const pending = a.host.request(b.key.publicKey, utf8.encode('slow'), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('caller gave up')), 100);
    await assert.rejects(pending, /caller gave up/);

    await assert.rejects(a.host.request(key().publicKey, utf8.encode('x')), PeerNotAllowedError);
    const st = a.host.stats().sync;
    assert.equal(st.timeouts, 1);
    assert.ok(st.responsesOk >= 2);
    assert.equal(b.host.stats().sync.served, 5);
    // The connection survived all of it.
    assert.equal(a.host.isConnected(b.key.publicKey), true);
  });

  it('fails a sync request whose response frame is over the limit, and bans the responder', {
    timeout: 10_000,
  }, async () => {
    const a = await startNode(key(), { maxFrameBytes: { sync: 1000 } });
    const b = await startNode(key(), {
      handlers: { sync: () => [new Uint8Array(10), new Uint8Array(5000)] },
    });
    a.host.setAllowedPeers([{ publicKey: b.key.publicKey, addrs: b.host.multiaddrs() }]);
    b.host.setAllowedPeers([{ publicKey: a.key.publicKey }]);
    await assert.rejects(a.host.request(b.key.publicKey, Uint8Array.of(1)), SyncRequestError);
    assert.equal(a.host.stats().misbehaviour['oversize-frame'], 1);
    await waitFor(() => !b.host.isConnected(a.key.publicKey), 'responder disconnected');
    await assert.rejects(a.host.request(b.key.publicKey, Uint8Array.of(1)), PeerNotAllowedError);
  });

  it('refuses a host that is not in the allow-list, when it dials and when it is dialled', {
    timeout: 15_000,
  }, async () => {
    const [a, b] = await mesh(2);
    const outsider = await startNode(key());
    // The outsider trusts A and knows its address, but A does not list the outsider.
    outsider.host.setAllowedPeers([{ publicKey: a!.key.publicKey, addrs: a!.host.multiaddrs() }]);
    for (let i = 0; i < 5; i++) outsider.host.send(a!.key.publicKey, 'consensus', utf8.encode('let me in'));
    await waitFor(() => a!.host.stats().connections.deniedInbound >= 1, 'inbound refusal');
    // A sees a bare address (no peer id) belonging to the outsider and dials it: the handshake
    // reveals the key and the gater refuses the connection.
    const bare = outsider.host.libp2p.getMultiaddrs()[0]!.decapsulateCode(421);
    await assert.rejects(a!.host.libp2p.dial(bare));
    assert.ok(a!.host.stats().connections.deniedOutbound >= 1);
    // A listed peer whose address leads to the outsider is not reachable either: the dial
    // expects the listed key, the outsider presents another.
    const ghost = key();
    a!.host.setAllowedPeers([
      { publicKey: b!.key.publicKey, addrs: b!.host.multiaddrs() },
      { publicKey: ghost.publicKey, addrs: outsider.host.multiaddrs() },
    ]);
    assert.equal(a!.host.send(ghost.publicKey, 'consensus', utf8.encode('to ghost')), true);
    await sleep(800);
    assert.deepEqual(from(a!.consensus, outsider.key), []);
    assert.equal(a!.host.isConnected(ghost.publicKey), false);
    assert.deepEqual(outsider.consensus, []);
    assert.equal(
      a!.host.libp2p.getConnections().some((c) => c.remotePeer.toString() === outsider.host.peerId),
      false,
    );
    // Sending to or requesting from a non-listed peer is refused locally.
    assert.equal(a!.host.send(outsider.key.publicKey, 'tx', utf8.encode('no')), false);
    assert.equal(a!.host.stats().protocols.tx.unroutable, 1);
    await assert.rejects(a!.host.request(outsider.key.publicKey, utf8.encode('no')), PeerNotAllowedError);
    // A and B are unaffected.
    a!.host.send(b!.key.publicKey, 'consensus', utf8.encode('still fine'));
    await waitFor(() => from(b!.consensus, a!.key).includes('still fine'), 'delivery between listed peers');
  });

  it('drops a peer removed from the allow-list and takes it back when re-added', {
    timeout: 15_000,
  }, async () => {
    const [a, b, c] = (await mesh(3)) as [Node, Node, Node];
    const list = [a, b, c].map((x) => ({ publicKey: x.key.publicKey, addrs: x.host.multiaddrs() }));
    const { removed } = a.host.setAllowedPeers(list.filter((_, i) => i !== 2));
    assert.deepEqual(removed, [c.host.peerId]);
    await waitFor(
      () => !a.host.isConnected(c.key.publicKey) && !c.host.isConnected(a.key.publicKey),
      'disconnect',
    );
    assert.equal(a.host.stats().disconnects.removed, 1);
    // C still lists A and keeps redialling; A refuses, and nothing from C gets through.
    c.host.send(a.key.publicKey, 'consensus', utf8.encode('from removed'));
    await waitFor(() => a.host.stats().connections.deniedInbound >= 1, 'C refused by A');
    await sleep(300);
    assert.deepEqual(from(a.consensus, c.key), []);
    assert.equal(a.host.isConnected(b.key.publicKey), true);
    // Re-adding C reconnects without any further action, and the queued message flows.
    a.host.setAllowedPeers(list);
    await waitFor(() => a.host.isConnected(c.key.publicKey), 'reconnect after re-adding');
    await waitFor(() => from(a.consensus, c.key).includes('from removed'), 'delivery after re-adding');
  });

  it('disconnects and bans a peer that sends an oversize frame; it returns after the ban', {
    timeout: 15_000,
  }, async () => {
    const a = await startNode(key(), { maxFrameBytes: { consensus: 1024 } });
    const b = await startNode(key());
    a.host.setAllowedPeers([{ publicKey: b.key.publicKey }]);
    b.host.setAllowedPeers([{ publicKey: a.key.publicKey, addrs: a.host.multiaddrs() }]);
    await waitFor(() => a.host.isConnected(b.key.publicKey), 'connection');
    b.host.send(a.key.publicKey, 'consensus', utf8.encode('small'));
    await waitFor(() => a.consensus.length === 1, 'small message');
    // B's limit is the default 4 MiB, so it sends what A's 1 KiB limit rejects.
    b.host.send(a.key.publicKey, 'consensus', new Uint8Array(4096));
    await waitFor(() => a.host.stats().misbehaviour['oversize-frame'] === 1, 'oversize detection');
    await waitFor(() => !b.host.isConnected(a.key.publicKey), 'sender disconnected');
    const st = a.host.stats();
    assert.equal(st.bans, 1);
    assert.equal(st.bannedPeers, 1);
    assert.equal(st.disconnects.misbehaviour, 1);
    assert.equal(a.consensus.length, 1);
    // The ban is bounded (1 s here): B's redial loop gets back in afterwards by itself.
    await waitFor(() => a.host.isConnected(b.key.publicKey), 'reconnect after the ban', 8000);
    b.host.send(a.key.publicKey, 'consensus', utf8.encode('behaving now'));
    await waitFor(() => from(a.consensus, b.key).includes('behaving now'), 'delivery after the ban');
  });

  it('disconnects a peer whose stream breaks the framing', { timeout: 15_000 }, async () => {
    const [a, b] = (await mesh(2)) as [Node, Node];
    // Write raw bytes on the tx protocol: a six-byte length prefix, which no valid frame has.
    const stream = await b.host.libp2p.dialProtocol(a.host.libp2p.peerId, PROTOCOLS.tx);
    await stream.sink([Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)]).catch(() => {});
    await waitFor(() => a.host.stats().misbehaviour['bad-framing'] === 1, 'framing violation');
    await waitFor(() => !a.host.isConnected(b.key.publicKey), 'disconnect');
    assert.deepEqual(a.tx, []);
  });

  it('bans a peer after repeated misbehaviour reports', { timeout: 15_000 }, async () => {
    const [a, b] = (await mesh(2, { misbehaviour: { threshold: 3, windowMs: 10_000, banMs: 60_000 } })) as [
      Node,
      Node,
    ];
    assert.equal(a.host.reportMisbehaviour(b.key.publicKey, 'bad-signature'), false);
    assert.equal(a.host.reportMisbehaviour(b.host.peerId, 'bad-signature'), false);
    assert.equal(a.host.isConnected(b.key.publicKey), true);
    assert.equal(a.host.reportMisbehaviour(b.key.publicKey, 'bad-signature'), true);
    await waitFor(() => !a.host.isConnected(b.key.publicKey), 'disconnect after the threshold');
    assert.equal(a.host.stats().misbehaviour['bad-signature'], 3);
    // While banned, B's redials are refused and A does not queue for B.
    await waitFor(() => a.host.stats().connections.deniedInbound >= 1, 'banned peer refused');
    assert.equal(a.host.send(b.key.publicKey, 'consensus', utf8.encode('x')), false);
    assert.equal(a.host.isConnected(b.key.publicKey), false);
  });

  it('bounds the queue for an unreachable peer by dropping the oldest messages', {
    timeout: 10_000,
  }, async () => {
    const a = await startNode(key(), { queue: { consensus: { maxMessages: 4 } } });
    const absent = key();
    // Allowed but with no address and never connecting: messages wait in the bounded queue.
    a.host.setAllowedPeers([{ publicKey: absent.publicKey }]);
    for (let i = 0; i < 10; i++)
      assert.equal(a.host.send(absent.publicKey, 'consensus', Uint8Array.of(i)), true);
    const st = a.host.stats().protocols.consensus;
    assert.equal(st.queued, 4);
    assert.equal(st.dropped, 6);
    assert.equal(
      a.host.broadcast('consensus', Uint8Array.of(1)),
      0,
      'broadcast only reaches connected peers',
    );
  });

  it('redials a stopped peer restarted on the same port; queued messages then flow', {
    timeout: 20_000,
  }, async () => {
    const nodes = (await mesh(3)) as [Node, Node, Node];
    const [a, b, c] = nodes;
    const addr = c.host.multiaddrs()[0]!;
    const list = nodes.map((x) => ({ publicKey: x.key.publicKey, addrs: x.host.multiaddrs() }));
    await c.host.stop();
    await waitFor(
      () => !a.host.isConnected(c.key.publicKey) && !b.host.isConnected(c.key.publicKey),
      'C gone',
    );
    // Sent while C is down: kept in A's queue.
    assert.equal(a.host.send(c.key.publicKey, 'consensus', utf8.encode('while you were away')), true);
    await sleep(600); // a few failed redials, so the back-off is engaged
    assert.ok(a.host.stats().dials.failures >= 1);

    const port = /\/tcp\/(\d+)/.exec(addr)![1];
    const c2 = await startNode(c.key, { listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    // C2 knows nobody's address: A and B must find it again by themselves.
    c2.host.setAllowedPeers(list.map((p) => ({ publicKey: p.publicKey })));
    await waitFor(
      () => a.host.isConnected(c.key.publicKey) && b.host.isConnected(c.key.publicKey),
      'automatic reconnection',
      10_000,
    );
    await waitFor(() => from(c2.consensus, a.key).includes('while you were away'), 'queued message delivery');
    b.host.send(c.key.publicKey, 'tx', utf8.encode('welcome back'));
    c2.host.send(a.key.publicKey, 'tx', utf8.encode('thanks'));
    await waitFor(() => from(c2.tx, b.key).includes('welcome back'), 'B -> C2');
    await waitFor(() => from(a.tx, c.key).includes('thanks'), 'C2 -> A');
  });

  it('stops cleanly and refuses use afterwards', { timeout: 10_000 }, async () => {
    const [a, b] = (await mesh(2)) as [Node, Node];
    await a.host.stop();
    await a.host.stop();
    assert.equal(a.host.running, false);
    assert.deepEqual(a.host.multiaddrs(), []);
    assert.equal(a.host.broadcast('consensus', Uint8Array.of(1)), 0);
    await assert.rejects(a.host.request(key().publicKey, Uint8Array.of(1)), { name: 'P2PNotRunningError' });
    await assert.rejects(a.host.start(), { name: 'P2PNotRunningError' });
    assert.throws(() => new P2PHost({ secretKey: new Uint8Array(31) }), TypeError);
    // A port already taken makes start() fail cleanly, leaving nothing running.
    const taken = b.host.multiaddrs()[0]!;
    const clash = new P2PHost({ secretKey: key().secretKey, listen: [taken] });
    await assert.rejects(clash.start());
    assert.equal(clash.running, false);
    await clash.stop();
  });
});
