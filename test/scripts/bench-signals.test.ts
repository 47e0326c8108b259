/**
 * `npm run bench` stopped by SIGTERM (what `timeout` and service managers send) or SIGHUP stops
 * its validator processes and removes their folder, as Ctrl-C does. Before, SIGTERM killed the
 * harness alone and left four validators running.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

/** PIDs of processes whose command line mentions `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Run folders of the harnesses this file started. */
const runDirs: string[] = [];
const outDir = mkdtempSync(join(tmpdir(), 'synod-bench-signals-'));
after(() => {
  rmSync(outDir, { recursive: true, force: true });
  // Only if a test failed: end the validators still running under this file's run folders
  // (looked up again, so a PID reused since by another process is never touched).
  for (const dir of runDirs) {
    for (const pid of processesWith(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [signal, basePort, status] of [
  ['SIGTERM', 29_700, 143],
  ['SIGHUP', 29_720, 129],
] as const) {
  describe(`bench stopped by ${signal}`, () => {
    it('stops its validators and removes their folder', { timeout: 240_000 }, async () => {
      // --base-port keeps these validators clear of other tests' ports, and below Linux's
      // ephemeral range (32768 up), where any outgoing connection may hold a port.
      const out1 = join(outDir, `${signal}.json`);
      const args = ['--rates', '50', '--duration', '60', '--senders', '4', '--base-port', String(basePort)];
      args.push('--out', out1);
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', ...args], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const dir = join(tmpdir(), `synod-bench-${child.pid}`);
      runDirs.push(dir);
      // Wait until the load runs: the validators are up and serving.
      const started = Date.now();
      while (!/offered\s+committed/.test(out) && Date.now() - started < 180_000) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(out, /offered\s+committed/, `the load never started:\n${out}`);
      const validators = processesWith(dir);
      assert.equal(validators.length, 4, 'four validator processes under the run folder');

      child.kill(signal);
      const code = await exited;
      assert.equal(code, status, out);
      assert.match(out, new RegExp(`${signal}: stopping the run`));
      assert.match(out, /cut short: not counted/);
      assert.match(out, new RegExp(`interrupted by ${signal} before a step completed: no results written`));
      assert.equal(existsSync(out1), false);
      assert.deepEqual(processesWith(dir), [], 'no validator left running');
      assert.equal(existsSync(dir), false, 'the run folder is removed');
    });
  });
}
