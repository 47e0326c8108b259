/**
 * Entry point of the `synod` CLI (bin/synod.js, `npm start`). Each command lives in its own
 * module under node/cli/ and is listed here; adding a command is one import and one entry.
 */
import { registerDevnet } from './devnet-command.js';
import { registerGenesis } from './genesis.js';
import { registerGov } from './gov.js';
import { registerIdentity } from './identity.js';
import { registerKeys } from './keys.js';
import { registerQuery } from './query.js';
import { type RegisterCommand, runCli } from './run.js';
import { registerStart } from './start.js';
import { registerTx } from './tx.js';
import { registerVerify } from './verify.js';

export const COMMANDS: readonly RegisterCommand[] = [
  registerKeys,
  registerGenesis,
  registerStart,
  registerDevnet,
  registerTx,
  registerIdentity,
  registerGov,
  registerQuery,
  registerVerify,
];

// A command may set process.exitCode itself (e.g. 1 for a failed receipt): keep the higher code.
const code = await runCli(process.argv, COMMANDS);
process.exitCode = Math.max(code, Number(process.exitCode ?? 0));
