/**
 * Node 20's AbortSignal.any leaks when one of its inputs lives long (nodejs/node#54614): each
 * call leaves an entry on that signal that is never removed, about 50 bytes per call. A node's
 * stop signal lives as long as the process, and sync requests and dials combine it with a
 * per-call signal, so the code uses `anySignal` from the any-signal package, whose `clear()`
 * unlinks the combination. This test keeps AbortSignal.any from coming back.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { anySignal } from 'any-signal';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['node', 'consensus', 'crypto', 'ledger', 'rpc', 'genesis', 'scripts', 'explorer'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('combined abort signals', () => {
  it('no source file calls AbortSignal.any', () => {
    const offenders: string[] = [];
    for (const d of SOURCE_DIRS) {
      let files: string[];
      try {
        files = sourceFiles(join(ROOT, d));
      } catch {
        continue; // a folder this checkout does not have
      }
      for (const f of files) {
        const code = readFileSync(f, 'utf8')
          .split('\n')
          .filter((line) => !/^\s*(\/\/|\*)/.test(line))
          .join('\n');
        if (/AbortSignal\.any\s*\(/.test(code)) offenders.push(f.slice(ROOT.length + 1));
      }
    }
    assert.deepEqual(offenders, [], 'use anySignal from any-signal and clear() it when done');
  });

  it('anySignal follows its inputs and clear() leaves a long-lived input untouched', () => {
    const long = new AbortController();
    const local = new AbortController();
    const s = anySignal([local.signal, long.signal]);
    local.abort(new Error('local'));
    assert.equal(s.aborted, true);
    assert.equal((s.reason as Error).message, 'local');

    const again = anySignal([new AbortController().signal, long.signal]);
    again.clear();
    long.abort(new Error('stop'));
    assert.equal(again.aborted, false, 'a cleared combination no longer follows its inputs');

    const live = anySignal([new AbortController().signal, AbortSignal.abort(new Error('already'))]);
    assert.equal(live.aborted, true, 'an input aborted before combining aborts at once');
  });
});
