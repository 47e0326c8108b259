/**
 * CLI errors and exit codes. A command reports a problem the user can fix by throwing; the
 * runner (run.ts) prints its message on stderr without a stack trace and exits 1.
 */

export const EXIT_OK = 0;
/** The command ran and failed for a reason the user can fix (bad file, wrong passphrase…). */
export const EXIT_USER_ERROR = 1;
/** The command line itself was wrong (unknown option, missing argument). */
export const EXIT_USAGE = 2;

/** A user error raised by the CLI itself (other modules' typed errors are shown the same way). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly code = 'CLI_ERROR',
  ) {
    super(message);
  }
}
