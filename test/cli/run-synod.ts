/**
 * Runs the `synod` CLI as a child process, as an operator would, for the CLI tests. tsx is
 * passed by URL: the CLI may run in a temporary folder, where a bare `--import tsx` resolves
 * nothing. The child is always gone when `runSynod` returns.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'node', 'cli', 'main.ts');
const TSX = import.meta.resolve('tsx');
const RUN_TIMEOUT_MS = 60_000;

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `unset` names environment variables the child must not inherit. */
export async function runSynod(args: string[], cwd: string, unset: string[] = []): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NODE_TEST_CONTEXT', ...unset]) delete env[name];
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  try {
    const code = await exited;
    // 'exit' can come before the pipes are drained.
    await Promise.all([
      new Promise((r) => (child.stdout.readableEnded ? r(null) : child.stdout.once('end', r))),
      new Promise((r) => (child.stderr.readableEnded ? r(null) : child.stderr.once('end', r))),
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}
