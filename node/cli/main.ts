/**
 * Entry point of the `synod` CLI (bin/synod.js, `npm start`). Each command lives in its own
 * module under node/cli/ and is listed here; adding a command is one import and one entry.
 */
import { registerDevnet } from './devnet-command.js';
import { registerGenesis } from './genesis.js';
import { registerKeys } from './keys.js';
import { type RegisterCommand, runCli } from './run.js';
import { registerStart } from './start.js';
import { registerTx } from './tx.js';

export const COMMANDS: readonly RegisterCommand[] = [
  registerKeys,
  registerGenesis,
  registerStart,
  registerDevnet,
  registerTx,
];

process.exitCode = await runCli(process.argv, COMMANDS);
