/**
 * `synod devnet` (and `npm start`): a local devnet of N validators, each its own process on
 * 127.0.0.1. Prints each node's RPC URL; Ctrl-C (SIGINT/SIGTERM) stops every node cleanly.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  type DevnetNode,
  prepareDevnet,
  startNodeProcess,
  stopNodeProcess,
  waitForHealth,
} from '../devnet.js';
import { CliError } from './errors.js';

interface DevnetFlags {
  validators: string;
  dir: string;
  basePort: string;
  fresh?: boolean;
  logLevel: string;
}

function positiveInt(v: string, what: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CliError(`${what}: expected an integer in 1..${max}, got '${v}'`);
  return n;
}

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description('run a local devnet: N validators as separate processes on 127.0.0.1')
    .option('--validators <n>', 'number of validators', '4')
    .option('--dir <dir>', 'data folder (genesis, keys, node homes)', '.synod/devnet')
    .option('--base-port <port>', 'node i serves HTTP on base+i and libp2p on base+100+i', '26600')
    .option('--fresh', 'delete the data folder first and start a new chain')
    .option('--log-level <level>', 'log level of the nodes', 'info')
    .action(async (flags: DevnetFlags) => {
      const validators = positiveInt(flags.validators, '--validators', 50);
      const basePort = positiveInt(flags.basePort, '--base-port', 65_000);
      const nodes = await prepareDevnet({
        validators,
        dir: flags.dir,
        basePort,
        fresh: flags.fresh === true,
        logLevel: flags.logLevel,
      });
      let stopping = false;
      const stopAll = async () => {
        stopping = true;
        await Promise.all(nodes.map((n) => stopNodeProcess(n)));
      };
      for (const node of nodes) {
        const child = startNodeProcess(node);
        child.on('exit', (code, signal) => {
          if (!stopping) {
            console.error(
              `node-${node.index} exited (${signal ?? `code ${code}`}); its log: ${join(node.home, 'node.log')}`,
            );
          }
        });
      }
      try {
        await Promise.all(nodes.map((n) => waitForHealth(n, 60_000)));
      } catch (err) {
        await stopAll();
        throw new CliError((err as Error).message);
      }
      printNodes(nodes, flags.dir);
      await new Promise<void>((resolve) => {
        const shutdown = () => {
          console.log('\nstopping the devnet…');
          void stopAll().then(resolve, resolve);
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
      console.log('devnet stopped');
    });
}

function printNodes(nodes: DevnetNode[], dir: string): void {
  console.log(`Synod devnet: ${nodes.length} validators, data in ${dir}`);
  for (const n of nodes) {
    console.log(
      `  node-${n.index}  RPC ${n.rpcUrl}  explorer http://127.0.0.1:${n.httpPort}/  log ${join(n.home, 'node.log')}`,
    );
  }
  console.log(`Funded member keys: ${join(dir, 'keys', 'member-<i>.json')}`);
  console.log('Press Ctrl-C to stop.');
}
