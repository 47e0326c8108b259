/**
 * `synod start --home DIR`: runs one node (validator when HOME holds a validator key, else an
 * observer) until SIGINT/SIGTERM, then stops it cleanly.
 */
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';

interface StartFlags {
  home: string;
  rpcPort?: string;
  p2pListen?: string;
  logLevel?: string;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run a node from its home folder (config.json, genesis, validator key, data)')
    .requiredOption('--home <dir>', 'node home folder')
    .option('--rpc-port <port>', 'HTTP port for JSON-RPC, explorer, /health and /metrics (overrides config)')
    .option('--p2p-listen <multiaddr>', 'libp2p listen address (overrides config)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (overrides config)')
    .action(async (flags: StartFlags) => {
      const overrides: Record<string, unknown> = {};
      if (flags.rpcPort !== undefined) overrides.http = { port: Number(flags.rpcPort) };
      if (flags.p2pListen !== undefined) overrides.p2p = { listen: flags.p2pListen };
      if (flags.logLevel !== undefined) overrides.log = { level: flags.logLevel };
      // Loaded here, not at the top: the node pulls in libp2p, which every other command can skip.
      const { SynodNode } = await import('../node.js');
      const node = await SynodNode.start({ home: flags.home, overrides });
      // Process-wide, so applied by the command that owns the process, not by SynodNode (tests
      // run several nodes in one process). V8 reads it at each old-generation sizing.
      setFlagsFromString(`--heap-growing-percent=${node.config.memory.heapGrowingPercent}`);
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          node.log.info({ signal }, 'shutting down');
          void node.stop().then(resolve, resolve);
        };
        process.once('SIGINT', () => shutdown('SIGINT'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
      });
    });
}
