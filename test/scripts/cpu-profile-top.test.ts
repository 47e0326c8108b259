/**
 * scripts/cpu-profile-top.ts on a synthetic profile: self and inclusive shares, the time
 * window, --under, and a stall (a gap between samples far longer than the sampling interval),
 * which is reported as such instead of being charged to the frame sampled before it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'synod-prof-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const frame = (id: number, functionName: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url: id > 1 ? `file:///app/${functionName}.ts` : '', lineNumber: 0 },
  children,
});

/**
 * root → work → hash, root → idle. Samples 1 ms apart: 60 in `work`, 20 in `hash` (under work),
 * 20 idle; then one `hash` sample followed by a 500 ms gap, then one last idle sample (which
 * stands for no time, having no successor).
 */
function writeProfile(): string {
  const nodes = [frame(1, '(root)', [2, 4]), frame(2, 'work', [3]), frame(3, 'hash'), frame(4, '(idle)')];
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  const push = (id: number, delta: number) => {
    samples.push(id);
    timeDeltas.push(delta);
  };
  for (let i = 0; i < 60; i++) push(2, 1000);
  for (let i = 0; i < 20; i++) push(3, 1000);
  for (let i = 0; i < 20; i++) push(4, 1000);
  push(3, 1000);
  push(4, 500_000);
  const total = timeDeltas.reduce((a, b) => a + b, 0);
  const file = join(dir, 'synthetic.cpuprofile');
  writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: total, samples, timeDeltas }));
  return file;
}

function top(...args: string[]): Map<string, number> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/cpu-profile-top.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const inclusive = r.stdout.split('-- inclusive')[1] ?? '';
  const out = new Map<string, number>();
  for (const line of inclusive.split('\n')) {
    const m = /^\s*([\d.]+)\s+(\S+)/.exec(line);
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

describe('cpu-profile-top', () => {
  const file = writeProfile();

  it('charges a stall to "(no samples: stalled)", not to the frame sampled before it', () => {
    const m = top(file);
    // A sample stands for the time until the next: 600 ms in all, 500 of them the stall.
    assert.equal(m.get('(root)'), 100);
    assert.ok(Math.abs((m.get('(no') ?? 0) - (500 / 600) * 100) < 0.06, 'the stall');
    assert.ok(Math.abs((m.get('hash') ?? 0) - (20 / 600) * 100) < 0.06, 'hash: its 20 samples only');
    assert.ok(Math.abs((m.get('work') ?? 0) - (80 / 600) * 100) < 0.06, 'work includes hash');
  });

  it('--gap-ms above the stall charges it to the frame, as a plain sample profile would', () => {
    const m = top(file, '--gap-ms', '1000');
    assert.equal(m.get('(no'), undefined);
    assert.ok(Math.abs((m.get('hash') ?? 0) - (520 / 600) * 100) < 0.06);
  });

  it('--under keeps only the time inside a function', () => {
    const m = top(file, '--under', 'work');
    assert.equal(m.get('(root)'), undefined);
    assert.ok(Math.abs((m.get('work') ?? 0) - (80 / 600) * 100) < 0.06);
  });
});
