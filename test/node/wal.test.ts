import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { scanWal, Wal } from '../../node/wal.js';

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

  test('a frame with a bad checksum ends the log there', () => {
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
