/**
 * Node configuration: `HOME/config.json`. Every option has a default; the file (and any
 * command-line overrides) are validated once at start with errors that name the option.
 *
 * A node home holds:
 *   config.json          this file (optional: all defaults apply without it)
 *   genesis.json         the network's genesis file (path configurable)
 *   validator-key.json   the validator's Ed25519 key; absent → the node runs as an observer
 *   data/ledger/         LevelDB: blocks, certificates, receipts, indexes, state
 *   data/wal             the consensus write-ahead log
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { originHostProblems } from '../rpc/origin-host.js';

const port = z.number().int().min(0).max(65_535);
const hexKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x + 64 hex (an Ed25519 public key)');

export const ConfigSchema = z
  .object({
    genesisFile: z.string().min(1).default('genesis.json'),
    /** Validator key file; when the file does not exist the node runs as an observer. */
    validatorKeyFile: z.string().min(1).default('validator-key.json'),
    /** File holding the key file's passphrase, if it is encrypted. */
    keyPassphraseFile: z.string().min(1).optional(),
    dataDir: z.string().min(1).default('data'),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(26_600),
      })
      .strict()
      .prefault({}),
    p2p: z
      .object({
        /** libp2p listen address. */
        listen: z.string().min(1).default('/ip4/127.0.0.1/tcp/26700'),
        /**
         * Where to find peers that are not validators with addresses in the state, e.g. the
         * validators an observer follows: multiaddrs ending in /p2p/<peer id>.
         */
        peers: z.array(z.string().min(1)).max(256).default([]),
        /** Public keys of observers that validators admit (besides the validator set). */
        observers: z.array(hexKey).max(256).default([]),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
    mempool: z
      .object({
        /**
         * Pending transactions held at most. Past it clients get MEMPOOL_FULL before any
         * decoding or signature check, so an overloaded node spends its CPU on committing what
         * it holds (10,000 is two full blocks, seconds of backlog at this node's rates).
         */
        txsMax: z.number().int().min(1).max(1_000_000).default(10_000),
        bytesMax: z
          .number()
          .int()
          .min(1024)
          .max(4 * 1024 * 1024 * 1024)
          .default(128 * 1024 * 1024),
        /** How many nonces past an account's next nonce the mempool holds. */
        futureNoncesMax: z.number().int().min(0).max(10_000).default(256),
        /** Forwarding: a batch leaves when it holds this many txs or after forwardDelayMs. */
        forwardBatchTxsMax: z.number().int().min(1).max(10_000).default(500),
        forwardDelayMs: z.number().int().min(0).max(10_000).default(20),
        /**
         * Forwarded transactions are admitted in slices of at most this many milliseconds, one
         * per turn of the event loop, so consensus never waits behind a backlog of intake.
         */
        intakeSliceMs: z.number().min(0.5).max(1_000).default(4),
        /** Forwarded transactions waiting for admission at most; a batch beyond it is dropped. */
        intakeQueuedTxsMax: z.number().int().min(1).max(1_000_000).default(10_000),
        /**
         * A transaction held behind a nonce gap (its sender's earlier nonce is missing) is
         * dropped after this long, so a client that never fills the gap cannot hold pool space
         * for ever. Ready transactions never expire.
         */
        gappedTtlMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
        /** Share (%) of txsMax and bytesMax that transactions behind a nonce gap may hold in all. */
        gappedPercentMax: z.number().int().min(1).max(100).default(10),
        /** Transactions behind a nonce gap one sender may hold (SENDER_QUOTA past it). */
        senderGappedTxsMax: z.number().int().min(1).max(10_000).default(64),
        /** Floor (%) of a member's share of the executable transactions (MEMBER_QUOTA past it). */
        memberPercentMin: z.number().int().min(1).max(100).default(25),
      })
      .strict()
      .prefault({}),
    rpc: z
      .object({
        bodyBytesMax: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        batchMax: z.number().int().min(1).max(10_000).default(100),
        timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        connectionsPerIpMax: z.number().int().min(1).max(100_000).default(64),
        /** Folder served at `/` (the explorer); default: the explorer shipped with Synod. */
        staticDir: z.string().optional(),
        /**
         * Host header values served besides loopback names (DNS rebinding): `name`, `name:port`
         * or '*'. Absent: loopback names only when http.host is a loopback address, else any.
         */
        allowedHosts: z.array(z.string().min(1)).max(256).optional(),
        /** Browser origins served besides the node's own (WebSocket upgrades included), or '*'. */
        allowedOrigins: z.array(z.string().min(1)).max(256).optional(),
      })
      .strict()
      .superRefine((rpc, ctx) => {
        for (const message of originHostProblems(rpc)) ctx.addIssue({ code: 'custom', message });
      })
      .prefault({}),
    memory: z
      .object({
        /**
         * V8 lets the old generation grow to (1 + this/100) times what the last full GC left
         * live before collecting again. 0 keeps V8's own factor (up to 4x), which under load
         * held 100-400 MB of garbage per validator on a live heap of about 45 MB. Measured
         * over 60 s at 1,580 tx/s: largest RSS 235-258 MB at 100 vs 310-509 MB at 0, CPU
         * within noise; 50 went lower (190-230 MB) but cost 4-6 points of CPU per node
         * (docs/benchmarks.md). A process-wide setting: the `start` command applies it.
         */
        heapGrowingPercent: z.number().int().min(0).max(1000).default(100),
      })
      .strict()
      .prefault({}),
    /** Test-only fault injection; never set in production. */
    testHooks: z
      .object({
        /** Exit with code 137 right after the WAL holds a vote of this type, before sending it. */
        crashAfterPersist: z.enum(['PROPOSAL', 'PREPARE', 'COMMIT', 'ROUND-CHANGE']).optional(),
        crashAfterPersistHeight: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type NodeConfig = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function describeIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return `invalid configuration in ${source}:\n${lines.join('\n')}`;
}

/** Validates a raw config object (from the file, merged with overrides). */
export function parseConfig(raw: unknown, source = 'config'): NodeConfig {
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(describeIssues(result.error, source));
  return result.data;
}

/** Reads HOME/config.json (if present) and applies `overrides` on top, then validates. */
export function loadConfig(home: string, overrides: Record<string, unknown> = {}): NodeConfig {
  const path = join(home, 'config.json');
  let raw: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(`${path}: expected a JSON object`);
    }
  }
  return parseConfig(deepMerge(raw, overrides), path);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = deepMerge(b as Record<string, unknown>, v as Record<string, unknown>);
    } else if (v !== undefined) {
      out[k] = v;
    }
  }
  return out;
}

/** Resolves a path from the config against the node home. */
export function homePath(home: string, p: string): string {
  return isAbsolute(p) ? p : resolve(home, p);
}
