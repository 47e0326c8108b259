/**
 * Point-to-point throughput of the p2p layer: two hosts on 127.0.0.1, one long-lived consensus
 * stream. Phase 1 sends 200-byte messages, phase 2 1 MiB frames, each for about DURATION_MS;
 * the figures count what the receiver got. The sender keeps the outbound queue topped up to a
 * fixed window so the queue never overflows (nothing is dropped) and the stream never idles.
 *
 *   node --import tsx scripts/bench-p2p.ts [seconds-per-phase]
 */
import { randomBytes } from 'node:crypto';
import { publicKeyFromSecret } from '../crypto/ed25519.js';
import { createP2PHost, type P2PHost } from '../node/p2p/index.js';

const DURATION_MS = Math.max(1, Number(process.argv[2] ?? 5)) * 1000;
const MiB = 1024 * 1024;

function key() {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Phase {
  name: string;
  size: number;
  /** Messages kept in flight (queued at the sender but not yet received). */
  window: number;
}

async function runPhase(a: P2PHost, bKey: Uint8Array, received: { n: number; bytes: number }, p: Phase) {
  const payload = new Uint8Array(randomBytes(p.size));
  let sent = 0;
  const startN = received.n;
  const startBytes = received.bytes;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + DURATION_MS;
  while (Date.now() < deadline) {
    // Top up to the window, then yield so the stream and the receiver can run.
    while (sent - (received.n - startN) < p.window) {
      a.send(bKey, 'consensus', payload);
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = received.n - startN;
  const bytes = received.bytes - startBytes;
  // Let the tail drain before the next phase.
  await waitFor(() => received.n - startN >= sent, 30_000, `${p.name} drain`);
  return { n, bytes, secs };
}

async function main() {
  const ka = key();
  const kb = key();
  const received = { n: 0, bytes: 0 };
  const common = {
    maxFrameBytes: { consensus: 2 * MiB },
    queue: { consensus: { maxMessages: 100_000, maxBytes: 256 * MiB } },
  };
  const b = await createP2PHost({
    secretKey: kb.secretKey,
    ...common,
    handlers: {
      consensus: (_peer, bytes) => {
        received.n++;
        received.bytes += bytes.length;
      },
    },
  });
  const a = await createP2PHost({ secretKey: ka.secretKey, ...common });
  try {
    b.setAllowedPeers([{ publicKey: ka.publicKey }]);
    a.setAllowedPeers([{ publicKey: kb.publicKey, addrs: b.multiaddrs() }]);
    await waitFor(() => a.isConnected(kb.publicKey), 10_000, 'connection');
    // Warm-up: opens the stream and lets the JIT settle.
    for (let i = 0; i < 2000; i++) a.send(kb.publicKey, 'consensus', new Uint8Array(200));
    await waitFor(() => received.n >= 2000, 10_000, 'warm-up');

    const small = await runPhase(a, kb.publicKey, received, { name: 'small', size: 200, window: 20_000 });
    console.log(
      `200-byte messages: ${Math.round(small.n / small.secs).toLocaleString('en-US')} msg/s ` +
        `(${(small.bytes / small.secs / MiB).toFixed(1)} MiB/s payload, ${small.n} messages in ${small.secs.toFixed(1)} s)`,
    );
    const large = await runPhase(a, kb.publicKey, received, { name: 'large', size: MiB, window: 16 });
    console.log(
      `1 MiB frames: ${(large.bytes / large.secs / MiB).toFixed(1)} MiB/s ` +
        `(${(large.n / large.secs).toFixed(1)} frames/s, ${large.n} frames in ${large.secs.toFixed(1)} s)`,
    );
    const s = a.stats().protocols.consensus;
    console.log(
      `sender: framesOut ${s.framesOut}, dropped ${s.dropped}, streams opened ${s.streamsOpened}, errors ${s.streamErrors}`,
    );
  } finally {
    await a.stop();
    await b.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
