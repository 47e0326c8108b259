import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { scanWal, Wal, WalCorruptError } from '../../node/wal.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'synod-wal-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const rec = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('consensus WAL', () => {
  test('a new log is empty; the newest saved record survives reopening', () => {
    const path = join(tempDir(), 'wal');
    const w = Wal.open(path);
    assert.equal(w.load(), undefined);
    w.save(rec('round 0'));
    w.save(rec('round 1, prepared'));
    w.close();
    const again = Wal.open(path);
    assert.equal(str(again.load()), 'round 1, prepared');
    again.close();
  });

  test('a torn tail is ignored and cut off, so later appends are readable', () => {
    const path = join(tempDir(), 'wal');
    const w = Wal.open(path);
    w.save(rec('durable'));
    w.close();
    // Half a frame: a header announcing 100 bytes, then only 3 of them.
    const torn = Buffer.alloc(11);
    torn.writeUInt32BE(100, 0);
    appendFileSync(path, torn);
    const reopened = Wal.open(path);
    assert.equal(str(reopened.load()), 'durable');
    reopened.save(rec('after the tear'));
    reopened.close();
    assert.equal(str(Wal.open(path).load()), 'after the tear');
  });

  test('a bad checksum on the last frame (a torn append) cuts that frame only', () => {
    const path = join(tempDir(), 'wal');
    const w = Wal.open(path);
    w.save(rec('first'));
    w.save(rec('second'));
    w.close();
    const data = readFileSync(path);
    data[data.length - 1] = data[data.length - 1]! ^ 0xff; // corrupt the last body byte of "second"
    writeFileSync(path, data);
    assert.equal(str(scanWal(data).last), 'first');
    assert.equal(str(Wal.open(path).load()), 'first');
  });

  /** Saves `records` to a fresh log and returns its path, its bytes and each frame's start. */
  function written(records: readonly string[]): { path: string; data: Buffer; starts: number[] } {
    const path = join(tempDir(), 'wal');
    const w = Wal.open(path);
    const starts: number[] = [];
    for (const r of records) {
      starts.push(statSync(path).size);
      w.save(rec(r));
    }
    w.close();
    return { path, data: readFileSync(path), starts };
  }

  function assertRefuses(path: string, offset: number): void {
    const before = readFileSync(path);
    assert.throws(
      () => Wal.open(path),
      (e: unknown) => {
        assert.ok(e instanceof WalCorruptError, `expected WalCorruptError, got ${String(e)}`);
        assert.equal(e.code, 'WAL_CORRUPT');
        assert.equal(e.path, path);
        assert.equal(e.offsetBytes, offset);
        assert.match(e.message, new RegExp(`byte ${offset}\\b`));
        assert.ok(e.message.includes(path), 'the message names the file');
        assert.match(e.message, /backup/);
        assert.match(e.message, /double-sign/);
        return true;
      },
    );
    assert.deepEqual(readFileSync(path), before, 'a refused log is left as it was');
  }

  test('a bad checksum in the middle refuses to open, naming the file, the offset and the way out', () => {
    const { path, data, starts } = written(['first', 'second', 'third']);
    data[starts[1]! + 8]! ^= 0x01; // the first body byte of "second"; "third" is intact after it
    writeFileSync(path, data);
    assertRefuses(path, starts[1]!);
  });

  test('an impossible length followed by more bytes refuses', () => {
    const { path, data, starts } = written(['first', 'second']);
    data.writeUInt32BE(0xffffffff, starts[1]!);
    writeFileSync(path, data);
    assertRefuses(path, starts[1]!);
    // A zero length is impossible too: save() never writes an empty record.
    data.writeUInt32BE(0, starts[1]!);
    writeFileSync(path, data);
    assertRefuses(path, starts[1]!);
  });

  test('a length damaged to run past the end refuses when an intact frame follows', () => {
    const { path, data, starts } = written(['first', 'second', 'third']);
    data.writeUInt32BE(1000, starts[1]!); // "second" now claims to run past the end; "third" is intact
    writeFileSync(path, data);
    assertRefuses(path, starts[1]!);
  });

  test('a bad checksum followed by bytes that hold no intact frame still refuses', () => {
    const { path, data, starts } = written(['first', 'second']);
    data.writeUInt32BE(3, starts[1]!); // "second" now ends 3 bytes into its body, more bytes follow
    writeFileSync(path, data);
    assertRefuses(path, starts[1]!);
  });

  test('a torn last frame is cut and the newest intact record before it is returned', () => {
    const { path, data, starts } = written(['first', 'second', 'third']);
    for (const cut of [starts[2]! + 3, starts[2]! + 8, data.length - 1]) {
      writeFileSync(path, data.subarray(0, cut));
      const w = Wal.open(path);
      assert.equal(str(w.load()), 'second', `cut at ${cut}`);
      w.close();
      const after = scanWal(readFileSync(path));
      assert.equal(after.corrupt, undefined, 'the torn frame is gone from the file');
      assert.equal(after.validBytes, statSync(path).size, 'the torn frame is gone from the file');
      assert.equal(str(after.last), 'second');
    }
  });

  test('save refuses an empty record (a zero length marks damage)', () => {
    const w = Wal.open(join(tempDir(), 'wal'));
    assert.throws(() => w.save(new Uint8Array(0)), /empty/);
    w.close();
  });

  test('property: after one damage, open returns the newest fully written record or refuses', () => {
    const path = join(tempDir(), 'wal-prop');
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        mask: fc.integer({ min: 1, max: 255 }),
      }),
      fc.record({
        kind: fc.constant('overwrite' as const),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 40 })),
      }),
      fc.record({
        kind: fc.constant('append' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 80 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 8 }),
        damage,
        (records, d) => {
          rmSync(path, { force: true });
          const w = Wal.open(path);
          const ends: number[] = [];
          for (const r of records) {
            w.save(r);
            ends.push(statSync(path).size);
          }
          w.close();
          let data = readFileSync(path);
          const size = data.length;
          const frameOf = (offset: number) => ends.findIndex((end) => offset < end);
          // `exact`: the record open must return; `allowed`: what it may return instead of refusing.
          let exact: Uint8Array | undefined | null = null;
          let allowed: (Uint8Array | undefined)[] = [];
          const newestBefore = (k: number) => (k === 0 ? undefined : records[k - 1]);
          if (d.kind === 'truncate') {
            const cut = Math.floor(d.at * size);
            data = data.subarray(0, cut);
            const whole = ends.filter((end) => end <= cut).length;
            exact = newestBefore(whole);
          } else if (d.kind === 'flip') {
            const at = Math.min(size - 1, Math.floor(d.at * size));
            data[at]! ^= d.mask;
            const k = frameOf(at);
            if (k === records.length - 1) allowed = [newestBefore(k)];
          } else if (d.kind === 'overwrite') {
            // Within one frame, so a damaged frame is never mistaken for a torn append of all that follows.
            const at = Math.min(size - 1, Math.floor(d.at * size));
            const k = frameOf(at);
            const end = ends[k]!;
            const fill = typeof d.bytes === 'number' ? new Uint8Array(d.bytes) : d.bytes;
            const n = Math.min(fill.length, end - at);
            const before = Buffer.from(data.subarray(at, at + n));
            data.set(fill.subarray(0, n), at);
            if (before.equals(data.subarray(at, at + n))) exact = records.at(-1);
            else if (k === records.length - 1) allowed = [newestBefore(k)];
          } else {
            data = Buffer.concat([data, d.bytes]);
            allowed = [records.at(-1)];
          }
          writeFileSync(path, data);
          let got: Uint8Array | undefined;
          try {
            const opened = Wal.open(path);
            got = opened.load();
            opened.close();
          } catch (e) {
            if (!(e instanceof WalCorruptError)) throw e;
            assert.equal(exact, null, `refused where ${str(exact ?? undefined)} was expected: ${e.message}`);
            return;
          }
          if (exact !== null) assert.deepEqual(got, exact);
          else
            assert.ok(
              allowed.some((a) =>
                a === undefined ? got === undefined : got !== undefined && Buffer.from(a).equals(got),
              ),
              `returned an older record silently (damage ${JSON.stringify(d)})`,
            );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('compaction keeps only the newest record and stays correct', () => {
    const path = join(tempDir(), 'wal');
    const w = Wal.open(path, { compactBytesMax: 200 });
    for (let i = 0; i < 50; i++) w.save(rec(`record ${i} ${'x'.repeat(20)}`));
    assert.ok(statSync(path).size <= 200);
    w.close();
    assert.equal(str(Wal.open(path).load()), `record 49 ${'x'.repeat(20)}`);
  });

  test('clear drops every record', () => {
    const path = join(tempDir(), 'wal');
    const w = Wal.open(path);
    w.save(rec('height 7'));
    w.clear();
    assert.equal(w.load(), undefined);
    w.close();
    assert.equal(Wal.open(path).load(), undefined);
  });

  test('kill -9 while saving leaves the newest acknowledged record or a later one', async () => {
    const path = join(tempDir(), 'wal');
    const walUrl = new URL('../../node/wal.ts', import.meta.url).href;
    // The child saves numbered records forever and prints each number once save() returned.
    const script = `
      import { Wal } from ${JSON.stringify(walUrl)};
      const w = Wal.open(${JSON.stringify(path)}, { compactBytesMax: 4096 });
      for (let i = 0; ; i++) { w.save(new TextEncoder().encode('n=' + i + ' ' + 'p'.repeat(i % 300))); process.stdout.write(i + '\\n'); }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acknowledged = -1;
    let buf = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('child made no progress in 20 s')), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const l of lines) acknowledged = Number(l);
          if (acknowledged >= 300) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error('child exited early')));
      });
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
    }
    const last = str(Wal.open(path).load());
    assert.ok(last, 'a record survives');
    const n = Number(/^n=(\d+)/.exec(last)![1]);
    assert.ok(n >= acknowledged, `newest durable record ${n} is older than acknowledged ${acknowledged}`);
  });
});
