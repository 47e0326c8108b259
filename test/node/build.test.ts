import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureNodeBuild } from '../../bin/build.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repository, as the real build: packages resolve from its node_modules.
const root = mkdtempSync(join(REPO, '.build-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('the transpiled node (bin/build.js)', () => {
  test('runs the CLI with plain node, without the tsx loader', () => {
    const main = ensureNodeBuild(root);
    assert.ok(main.endsWith(join('node', 'cli', 'main.js')));
    const version = execFileSync(process.execPath, [main, '--version'], { encoding: 'utf8' }).trim();
    assert.match(version, /^\d+\.\d+\.\d+/);
    const help = execFileSync(process.execPath, [main, 'start', '--help'], { encoding: 'utf8' });
    assert.match(help, /--home/);
  });

  test('bin/synod.js runs the build, or the sources through tsx with SYNOD_NO_BUILD=1', () => {
    const cli = join(REPO, 'bin', 'synod.js');
    for (const env of [{}, { SYNOD_NO_BUILD: '1' }]) {
      const out = execFileSync(process.execPath, [cli, '--version'], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      assert.match(out.trim(), /^\d+\.\d+\.\d+/);
    }
  });

  test('the same sources give the same build; the linked files are there', () => {
    const a = ensureNodeBuild(root);
    const b = ensureNodeBuild(root);
    assert.equal(a, b);
    assert.deepEqual(
      readdirSync(root).filter((n) => !n.includes('.tmp-')),
      [a.split('/').at(-4)],
      'one build folder, no leftover scratch folders',
    );
    const dir = join(root, a.split('/').at(-4)!);
    assert.ok(lstatSync(join(dir, 'package.json')).isSymbolicLink());
    assert.ok(existsSync(join(dir, 'explorer', 'index.html')));
  });
});
