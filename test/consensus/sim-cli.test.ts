/** The simulator's command line: the summary line, replay commands, argument checks. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

function sim(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/sim.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, lines, last: lines.at(-1) ?? '', stderr: r.stderr };
}

describe('npm run sim', () => {
  it('--seeds N ends with "N passed, M failed" alone on the last line', () => {
    const r = sim('--seeds', '2', '--validators', '4', '--byzantine', '1', '--ticks', '1500');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.last, '2 passed, 0 failed');
    assert.match(r.lines.at(-2)!, /seeds\/s, \d+ ticks\/s/);
  });

  it('a failing seed prints the command that replays it, and the exit status is 1', () => {
    const r = sim('--seeds', '1', '--validators', '4', '--broken', 'quorum-f-plus-1');
    assert.equal(r.status, 1);
    assert.equal(r.last, '0 passed, 1 failed');
    assert.ok(
      r.lines.some((l) =>
        l.includes('replay: npm run sim -- --seed 1 --validators 4 --broken quorum-f-plus-1 --trace'),
      ),
      r.lines.join('\n'),
    );
  });

  it('--seed S --trace replays one seed with its event trace', () => {
    const r = sim('--seed', '5', '--validators', '4', '--ticks', '1500', '--trace');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      r.lines.some((l) => l.startsWith('t=0 scenario n=4')),
      'the trace starts with the scenario',
    );
    assert.ok(
      r.lines.some((l) => / COMMIT h=1 /.test(l)),
      'and shows commits',
    );
    assert.equal(r.last, '1 passed, 0 failed');
  });

  it('refuses more Byzantine validators than f', () => {
    const r = sim('--seeds', '1', '--validators', '4', '--byzantine', '2');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /exceeds f = 1/);
  });
});
