/**
 * Passphrases come from files (--passphrase-file), never from the command line, where they
 * would show in the process list and the shell history.
 */
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.js';

/** Size far above any passphrase: a larger file is almost certainly the wrong one. */
const PASSPHRASE_FILE_BYTES_MAX = 4096;

/** Reads a passphrase file; one trailing newline (as editors and `echo` add) is not part of it. */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read passphrase file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  if (text.length > PASSPHRASE_FILE_BYTES_MAX) {
    throw new CliError(`passphrase file ${path} is larger than ${PASSPHRASE_FILE_BYTES_MAX} bytes`);
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (passphrase.length === 0) throw new CliError(`passphrase file ${path} is empty`);
  return passphrase;
}
