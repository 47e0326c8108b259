/**
 * The CLI runner: builds the `synod` program from command modules and maps every outcome to
 * an exit code (errors.ts): 0 success, 1 user error, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, EXIT_USER_ERROR } from './errors.js';

/** A command module adds its command(s) to the program. */
export type RegisterCommand = (program: Command) => void;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

export function buildProgram(commands: readonly RegisterCommand[]): Command {
  const program = new Command('synod')
    .description('Synod: a permissioned Byzantine-fault-tolerant blockchain node')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Subcommands inherit these two when created after them: commander throws instead of
    // exiting, and a usage error ends with a pointer to the help.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commands) register(program);
  return program;
}

/** Errors other modules throw for conditions the user can fix; shown without a stack. */
const USER_ERROR_NAMES = new Set([
  'CliError',
  'GenesisError',
  'DevnetError',
  'KeyFileError',
  'StoreError',
  'LedgerError',
]);

function describeError(err: unknown): string {
  if (err instanceof Error) {
    if (USER_ERROR_NAMES.has(err.name)) return err.message;
    // File-system errors (ENOENT, EACCES, EEXIST…) are about the user's paths.
    if (typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall) {
      return err.message;
    }
    const stack = process.env.SYNOD_DEBUG === '1' ? `\n${err.stack}` : ' (set SYNOD_DEBUG=1 for details)';
    return `${err.message}${stack}`;
  }
  return String(err);
}

/** Runs the CLI on `argv` (process.argv form: node, script, args…) and returns the exit code. */
export async function runCli(argv: readonly string[], commands: readonly RegisterCommand[]): Promise<number> {
  const program = buildProgram(commands);
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed the message (or the help / version).
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_USER_ERROR;
  }
}
