/**
 * A devnet of real node processes on 127.0.0.1 for multi-process tests: start, kill -9,
 * restart, wipe, query over JSON-RPC. Every wait is bounded; `close()` kills what it started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DevnetNode,
  prepareDevnet,
  startNodeProcess,
  stopNodeProcess,
  waitForHealth,
} from '../../node/devnet.js';
import { RpcCallError, SynodClient } from '../../rpc/client.js';

/** Short timeouts so view changes and empty blocks happen within a test's patience. */
export const FAST_PARAMS = {
  blockPeriodMs: 100,
  emptyBlockIntervalMs: 1_000,
  roundTimeoutMsBase: 1_000,
  roundTimeoutMsMax: 4_000,
};

export interface ClusterOptions {
  validators?: number;
  /**
   * Node i serves HTTP on basePort + i and libp2p on basePort + 100 + i. Keep the ports below
   * 32768, where Linux's ephemeral range starts: a fixed port inside it can be held at that
   * moment by any outgoing connection (another test's client), and the node fails with
   * EADDRINUSE.
   */
  basePort: number;
  params?: Record<string, number>;
  nodeConfig?: Record<string, unknown>;
}

export class Cluster {
  readonly dir: string;
  nodes: DevnetNode[] = [];
  clients: SynodClient[] = [];

  constructor(readonly opts: ClusterOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'synod-e2e-'));
  }

  async start(): Promise<void> {
    this.nodes = await prepareDevnet({
      validators: this.opts.validators ?? 4,
      dir: this.dir,
      basePort: this.opts.basePort,
      fresh: false,
      params: this.opts.params ?? FAST_PARAMS,
      nodeConfig: this.opts.nodeConfig ?? {},
      logLevel: 'debug',
    });
    this.clients = this.nodes.map((n) => new SynodClient(n.rpcUrl, { timeoutMs: 10_000 }));
    for (const n of this.nodes) startNodeProcess(n);
    await Promise.all(this.nodes.map((n) => waitForHealth(n, 60_000)));
  }

  node(i: number): DevnetNode {
    return this.nodes[i]!;
  }

  async height(i: number): Promise<number> {
    const info = await this.clients[i]!.getInfo();
    return Number(info.height);
  }

  /** Waits until node i reports at least `height`; returns the height seen. */
  async waitForHeight(i: number, height: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
      try {
        last = await this.height(i);
        if (last >= height) return last;
      } catch {
        // node restarting
      }
      await sleep(100);
    }
    throw new Error(
      `node-${i} reached height ${last}, not ${height}, within ${timeoutMs} ms (logs in ${this.dir})`,
    );
  }

  /** kill -9 */
  async kill(i: number): Promise<void> {
    const child = this.nodes[i]!.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(i: number): Promise<void> {
    await stopNodeProcess(this.nodes[i]!);
  }

  async restart(i: number): Promise<void> {
    startNodeProcess(this.nodes[i]!);
    await waitForHealth(this.nodes[i]!, 60_000);
  }

  /** Deletes node i's data folder (ledger and WAL); keeps its config and key. */
  wipe(i: number): void {
    rmSync(join(this.nodes[i]!.home, 'data'), { recursive: true, force: true });
  }

  /** Block hash at `height` as node i stores it. */
  async hashAt(i: number, height: number): Promise<string | undefined> {
    const b = await this.clients[i]!.getBlock({ height });
    return b ? String((b.header as { hash: string }).hash) : undefined;
  }

  /** Asserts that nodes `which` store identical block hashes for heights 1..upTo. */
  async sameChain(which: number[], upTo: number): Promise<void> {
    for (let h = 1; h <= upTo; h++) {
      const hashes = await Promise.all(which.map((i) => this.hashAt(i, h)));
      const distinct = new Set(hashes);
      if (distinct.size !== 1 || hashes[0] === undefined) {
        throw new Error(`height ${h}: nodes ${which.join(',')} hold ${hashes.join(' / ')}`);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.killQuietly(n)));
    if (process.env.SYNOD_KEEP_TEST_DATA !== '1') rmSync(this.dir, { recursive: true, force: true });
  }

  private async killQuietly(n: DevnetNode): Promise<void> {
    const child = n.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { RpcCallError };
