/**
 * Forward batches fit the tx frame limit by construction (issue 23, finding 5): a batch is
 * closed before the transaction that would make its encoding exceed the frame limit, so the
 * p2p layer is never handed a frame it refuses; a failing send is caught and logged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { generateKeyPair, Signer } from '../../crypto/ed25519.js';
import { decodeBytesList, encode } from '../../crypto/encoding.js';
import { encodeSignedTx } from '../../ledger/codec.js';
import { PARAM_BOUNDS } from '../../ledger/params.js';
import { dataPutTx, signTx } from '../../ledger/tx-builder.js';
import { prepareDevnet } from '../../node/devnet.js';
import { ForwardBatcher, singleTxBatchBytes } from '../../node/forward-batcher.js';
import { readKeyFile } from '../../node/keyfile.js';
import { type Logger, silentLogger } from '../../node/log.js';
import { SynodNode } from '../../node/node.js';
import { FrameTooLargeError, P2PHost } from '../../node/p2p/index.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../node/p2p/protocols.js';

const KiB = 1024;
const FRAME_TX_BYTES = DEFAULT_MAX_FRAME_BYTES.tx;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logger that keeps its JSON lines, to see what was logged. */
function recordingLogger(): { log: Logger; lines: () => { level: number; msg: string }[] } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => out.push(line) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

/** Distinct transactions of `bytes` bytes: the index in the first four bytes. */
function txs(count: number, bytes: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const tx = new Uint8Array(bytes);
    new DataView(tx.buffer).setUint32(0, i);
    return tx;
  });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('ForwardBatcher', () => {
  test('many 60 KiB transactions forwarded at once: every frame fits, none is lost, order is kept', () => {
    const frames: Uint8Array[] = [];
    const b = new ForwardBatcher({
      frameBytesMax: FRAME_TX_BYTES,
      batchTxsMax: 500,
      delayMs: 20,
      send: (f) => frames.push(f),
      log: silentLogger(),
    });
    const sent = txs(1_000, 60 * KiB);
    for (const tx of sent) b.push(tx);
    b.flush();
    assert.ok(frames.length >= 8, `${frames.length} frames`);
    for (const f of frames) assert.ok(f.length <= FRAME_TX_BYTES, `a frame of ${f.length} bytes`);
    // Each closed batch was full: one more transaction would not have fitted.
    for (const f of frames.slice(0, -1)) assert.ok(f.length + 60 * KiB + 4 > FRAME_TX_BYTES);
    assert.deepEqual(
      frames.flatMap((f) => decodeBytesList(f, 10_000)),
      sent,
    );
    b.stop();
  });

  test('the tracked size of a batch is its exact encoding, across varint boundaries of count and length', () => {
    const frames: Uint8Array[] = [];
    const b = new ForwardBatcher({
      frameBytesMax: 1 << 30,
      batchTxsMax: 10_000,
      delayMs: 1_000,
      send: (f) => frames.push(f),
      log: silentLogger(),
    });
    const sizes = [0, 1, 127, 128, 200, 16_383, 16_384, 70_000];
    const pushed: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const tx = new Uint8Array(sizes[i % sizes.length]!);
      b.push(tx);
      pushed.push(tx);
      assert.equal(b.pendingBytes, encode(pushed).length);
    }
    b.flush();
    assert.deepEqual(frames, [encode(pushed)]);
    assert.equal(singleTxBatchBytes(70_000), encode([new Uint8Array(70_000)]).length);
  });

  test('a batch of exactly the frame limit is sent whole; one byte more closes it first', () => {
    const frames: Uint8Array[] = [];
    const frameBytesMax = encode(txs(3, 1_000)).length;
    const b = new ForwardBatcher({
      frameBytesMax,
      batchTxsMax: 100,
      delayMs: 1_000,
      send: (f) => frames.push(f),
      log: silentLogger(),
    });
    for (const tx of txs(3, 1_000)) b.push(tx);
    assert.equal(frames.length, 0);
    b.push(new Uint8Array(1));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.length, frameBytesMax);
    b.stop();
  });

  test('a batch leaves at the count limit and after the delay', async () => {
    const frames: Uint8Array[] = [];
    const b = new ForwardBatcher({
      frameBytesMax: FRAME_TX_BYTES,
      batchTxsMax: 3,
      delayMs: 10,
      send: (f) => frames.push(f),
      log: silentLogger(),
    });
    for (const tx of txs(4, 10)) b.push(tx);
    assert.equal(frames.length, 1);
    assert.equal(decodeBytesList(frames[0]!, 10).length, 3);
    await until(() => frames.length === 2, 2_000, 'the timer flush');
    assert.equal(decodeBytesList(frames[1]!, 10).length, 1);
    b.stop();
  });

  test('a send that throws, from a push or from the timer, is caught, counted and logged', async () => {
    const { log, lines } = recordingLogger();
    let calls = 0;
    const b = new ForwardBatcher({
      frameBytesMax: FRAME_TX_BYTES,
      batchTxsMax: 2,
      delayMs: 5,
      send: () => {
        calls++;
        throw new Error('send failed');
      },
      log,
    });
    for (const tx of txs(3, 10)) assert.doesNotThrow(() => b.push(tx));
    await until(() => calls === 2, 2_000, 'the timer flush');
    assert.equal(b.stats.sendErrors, 2);
    assert.equal(lines().filter((l) => l.msg === 'forwarding a batch failed').length, 2);
    // Still working after the failures.
    b.push(new Uint8Array(1));
    b.flush();
    assert.equal(calls, 3);
    b.stop();
  });

  test('a transaction larger than any frame is logged and not forwarded; the others still are', () => {
    const { log, lines } = recordingLogger();
    const frames: Uint8Array[] = [];
    const b = new ForwardBatcher({
      frameBytesMax: 1_000,
      batchTxsMax: 10,
      delayMs: 1_000,
      send: (f) => frames.push(f),
      log,
    });
    b.push(new Uint8Array(10));
    b.push(new Uint8Array(2_000));
    b.push(new Uint8Array(20));
    b.flush();
    assert.equal(b.stats.oversizeTxs, 1);
    assert.equal(lines().filter((l) => l.msg.startsWith('transaction too large')).length, 1);
    assert.deepEqual(
      decodeBytesList(frames[0]!, 10).map((t) => t.length),
      [10, 20],
    );
  });

  test('through a real P2PHost with a 1 MiB tx frame limit, broadcast never throws where a count-only batch did', () => {
    const host = new P2PHost({ secretKey: generateKeyPair().secretKey, maxFrameBytes: { tx: 1024 * KiB } });
    const sent = txs(100, 60 * KiB);
    // What the node did before: one batch of up to 500 transactions, bounded in count only.
    assert.throws(() => host.broadcast('tx', encode(sent)), FrameTooLargeError);
    const sizes: number[] = [];
    const b = new ForwardBatcher({
      frameBytesMax: 1024 * KiB,
      batchTxsMax: 500,
      delayMs: 1_000,
      send: (f) => {
        sizes.push(f.length);
        host.broadcast('tx', f);
      },
      log: silentLogger(),
    });
    for (const tx of sent) b.push(tx);
    b.flush();
    assert.equal(b.stats.sendErrors, 0);
    assert.equal(b.stats.txsSent, 100);
    assert.ok(sizes.length >= 6 && sizes.every((n) => n <= 1024 * KiB), String(sizes));
  });
});

describe('the real node forwards large transactions in frames its peers accept', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'synod-forward-'));
  let node: SynodNode | undefined;
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('200 data.put transactions of about 60 KiB submitted at once: every frame fits, none lost, order kept', async () => {
    const [home] = await prepareDevnet({
      validators: 1,
      dir,
      basePort: 27_640,
      fresh: true,
      params: { blockPeriodMs: 100, emptyBlockIntervalMs: 1_000, roundTimeoutMsBase: 1_000 },
      logLevel: 'silent',
    });
    node = await SynodNode.start({ home: home!.home, logger: silentLogger() });
    const frames: Uint8Array[] = [];
    const broadcast = node.p2p.broadcast.bind(node.p2p);
    node.p2p.broadcast = (protocol, payload) => {
      if (protocol === 'tx') frames.push(payload);
      return broadcast(protocol, payload);
    };
    const signer = new Signer((await readKeyFile(join(dir, 'keys', 'member-0.json'))).secretKey);
    const value = new Uint8Array(60 * KiB).fill(7);
    const sent: Uint8Array[] = [];
    for (let nonce = 0; nonce < 200; nonce++) {
      const tx = dataPutTx({ chainId: node.chain.chainId, from: signer.address, nonce }, `k${nonce}`, value);
      const bytes = encodeSignedTx(signTx(tx, signer));
      node.submit(bytes);
      sent.push(bytes);
    }
    // 200 x 60 KiB is about 12 MiB, above the 8 MiB frame: the old code threw from its timer.
    const deadline = Date.now() + 10_000;
    while (frames.reduce((n, f) => n + decodeBytesList(f, 10_000).length, 0) < sent.length) {
      assert.ok(Date.now() < deadline, 'every transaction is forwarded within 10 s');
      await sleep(20);
    }
    assert.ok(frames.length >= 2, `${frames.length} frames`);
    for (const f of frames) assert.ok(f.length <= FRAME_TX_BYTES, `a frame of ${f.length} bytes`);
    const forwarded = frames.flatMap((f) => decodeBytesList(f, 10_000));
    assert.deepEqual(forwarded, sent);
  });
});

test('the largest transaction the parameters allow fits one tx frame', () => {
  const txBytesMax = PARAM_BOUNDS.txBytesMax[1];
  assert.ok(encode([new Uint8Array(txBytesMax)]).length <= FRAME_TX_BYTES);
});
