/**
 * The node's consensus driver: the one Ready interpreter (consensus/driver.ts) bound to this
 * process's I/O. The ports are libp2p (network), the file WAL, the chain and mempool (ledger:
 * LevelDB commits, block building with the proposal sizer, execution), the system clock and
 * Node timers; the fatal sink stops the node. The simulator binds the same driver to its
 * virtual world, so what it checks is what runs here.
 */
import { appendFileSync, statSync } from 'node:fs';
import { Driver, type DriverStats, type LedgerPort, type TimePort } from '../consensus/driver.js';
import type { Ready } from '../consensus/events.js';
import { type Evidence, encodeEvidence } from '../consensus/evidence.js';
import type { Replica } from '../consensus/replica.js';
import { ValidatorSet } from '../consensus/validators.js';
import { toHex } from '../crypto/hash.js';
import { buildBlock } from '../ledger/block.js';
import { heightLimitsOf } from '../ledger/params.js';
import type { Block, CommitCertificate as LedgerCert } from '../ledger/types.js';
import { ledgerBlockPort, toConsensusCert, toLedgerCert } from './block-port.js';
import { NODE_BOUNDS } from './bounds.js';
import type { Chain } from './chain.js';
import type { Logger } from './log.js';
import type { Mempool } from './mempool.js';
import type { P2PHost } from './p2p/index.js';
import { ProposalSizer } from './proposal-size.js';
import type { VerifyFn } from './verifier.js';
import type { Wal } from './wal.js';

export type { DriverStats } from '../consensus/driver.js';

const EVIDENCE_FILE_BYTES_MAX = NODE_BOUNDS.evidenceFileBytesMax;
const EVIDENCE_KEPT_MAX = NODE_BOUNDS.evidenceKeptMax;

export interface DriverHooks {
  /** Test only: exit right after persisting a record that covers a message of this kind. */
  crashAfterPersist?: string;
  crashAfterPersistHeight?: number;
}

export interface DriverDeps {
  replica: Replica<Block>;
  chain: Chain;
  wal: Wal;
  mempool: Mempool;
  p2p: P2PHost;
  verify: VerifyFn;
  /** This validator's address (absent for an observer). */
  self?: Uint8Array;
  log: Logger;
  evidenceFile: string;
  hooks?: DriverHooks;
  /** Called when the core asks for blocks from `height` on. */
  onSyncRequest: (height: number) => void;
  /** Called before a proposal is built (the node sends the transactions it holds for forwarding). */
  beforeBuild?: () => void;
  /** Called before a proposed block is executed (the node admits the forwarded transactions queued). */
  beforeExecute?: () => void;
  /** Called on a fatal alarm: continuing could fork, so the node must stop. */
  onFatal: (message: string) => void;
}

/** Whether the WAL record of this Ready covers a message of the hook's kind (crash tests). */
function coversHook(ready: Ready<Block>, hooks: DriverHooks | undefined): boolean {
  const kind = hooks?.crashAfterPersist;
  if (!kind || !ready.persist) return false;
  return ready.messages.some((m) => m.kind === kind && m.height >= (hooks?.crashAfterPersistHeight ?? 0));
}

export class ConsensusDriver {
  private readonly driver: Driver<Block>;
  private evidenceFileFull = false;
  private timer: NodeJS.Timeout | undefined;
  /** Sizes this validator's proposals from how long recent heights took. */
  readonly proposalSizer = new ProposalSizer();
  /** The current height as this validator saw it, for the sizer. */
  private heightSeen: { height: number; busySinceMs: number | undefined; round0Txs: number | undefined } = {
    height: -1,
    busySinceMs: undefined,
    round0Txs: undefined,
  };
  readonly evidence: Evidence[] = [];
  private readonly log: Logger;

  constructor(private readonly d: DriverDeps) {
    this.log = d.log.child({ module: 'consensus' });
    const log = this.log;
    this.driver = new Driver<Block>({
      replica: d.replica,
      blocks: ledgerBlockPort,
      ledger: this.ledgerPort(),
      network: {
        broadcast: (m) => d.p2p.broadcast('consensus', m.bytes),
        send: (to, bytes) => d.p2p.send(to, 'consensus', bytes),
        report: (peer, reason) => d.p2p.reportMisbehaviour(peer, reason),
      },
      wal: { load: () => d.wal.load(), save: (record) => d.wal.save(record) },
      time: this.timePort(),
      sync: (req) => d.onSyncRequest(req.height),
      evidence: (ev) => this.recordEvidence(ev),
      fatal: (f) => {
        if (f.alarm) log.fatal({ ...f.alarm, digest: toHex(f.alarm.digest) }, 'consensus fatal alarm');
        else log.fatal({ err: f.error }, 'consensus driver failed');
        d.onFatal(f.message);
      },
      log,
      queue: NODE_BOUNDS.driverQueue,
      probe: (point, ready) => {
        if (point !== 'after-persist' || !coversHook(ready, d.hooks)) return;
        log.warn(
          { kind: d.hooks?.crashAfterPersist },
          'test hook: crashing after persisting, before sending',
        );
        process.exit(137);
      },
    });
  }

  get stats(): DriverStats {
    return this.driver.stats;
  }

  /** Starts the height after the latest committed block, restoring the WAL record if any. */
  start(): void {
    this.driver.start();
  }

  stop(): void {
    this.driver.stop();
  }

  /** A consensus frame from a peer. */
  onMessage(from: string, bytes: Uint8Array): void {
    this.driver.onMessage(from, bytes);
  }

  /** A block with its certificate fetched by sync (treated like a DECIDED message). */
  onSyncedBlock(block: Block, cert: LedgerCert): void {
    this.driver.onSyncedBlock(block, toConsensusCert(cert));
  }

  /** Tells the core whether transactions are waiting (arms the round-0 timer, docs/protocol.md §1.3). */
  setPending(pending: boolean): void {
    if (pending) this.heightSeen.busySinceMs ??= Date.now();
    this.driver.setPending(pending);
  }

  private timePort(): TimePort {
    return {
      nowMs: () => Date.now(),
      wakeAt: (atMs, wake) => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(wake, Math.max(0, atMs - Date.now()));
      },
      cancelWake: () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
      },
      later: (_kind, job) => {
        setImmediate(job);
      },
      // Yield to I/O now and then so a flood of frames cannot starve the event loop.
      pause: () => new Promise<void>((r) => setImmediate(r)),
    };
  }

  private ledgerPort(): LedgerPort<Block> {
    const d = this.d;
    return {
      nextHeight: (pending) => {
        const chain = d.chain;
        this.heightSeen = {
          height: chain.height + 1,
          busySinceMs: pending ? Date.now() : undefined,
          round0Txs: undefined,
        };
        return {
          height: chain.height + 1,
          validators: ValidatorSet.fromPublicKeys(chain.nextValidators.map((v) => v.publicKey)),
          parentHash: chain.hash,
          parentTimestampMs: chain.header.timestamp,
          // Like the validators: the parameters in force at this height (the state after the
          // parent), so a passed param.set reaches the core's timers and freshness rule at once.
          limits: heightLimitsOf(chain.params),
        };
      },
      hasPending: () => d.mempool.hasReady(),
      commit: async (c) => {
        const started = Date.now();
        await d.chain.commit(c.block, c.digest, toLedgerCert(c.cert));
        this.learnProposalSize(c.height, c.cert.round, c.block.txs.length);
        this.log.info(
          {
            height: c.height,
            round: c.cert.round,
            hash: toHex(c.digest),
            txs: c.block.txs.length,
            signers: c.cert.sigs.length,
            ms: Date.now() - started,
          },
          'committed block',
        );
      },
      execute: (block) => {
        this.noteProposal(block);
        d.beforeExecute?.();
        // No clock here: the replica judged a proposal's timestamp when it arrived (checkFresh),
        // and a certified block (DECIDED, synced, or named by a COMMIT quorum) is final whatever
        // this node's clock says. Passing the clock made a node 3 s behind halt on the first block.
        d.chain.execute(block);
      },
      build: (req) => this.build(req.height, req.round, req.minTimestampMs),
      decided: async (height) => {
        const found = await d.chain.decidedBlock(height);
        return found ? { block: found.block, cert: toConsensusCert(found.cert) } : undefined;
      },
    };
  }

  private learnProposalSize(height: number, round: number, txs: number): void {
    const seen = this.heightSeen;
    if (seen.height !== height) return;
    const params = this.d.chain.params;
    const change = this.proposalSizer.observe(
      {
        round,
        txs,
        elapsedMs: seen.busySinceMs === undefined ? undefined : Date.now() - seen.busySinceMs,
        round0Txs: seen.round0Txs,
      },
      params.blockTxsMax,
      params.roundTimeoutMsBase,
    );
    if (!change) return;
    const log =
      change.reason === 'quick height' ? this.log.debug.bind(this.log) : this.log.info.bind(this.log);
    log(
      { height, round, txs, round0Txs: seen.round0Txs, from: change.from ?? null, to: change.to ?? null },
      `proposal size limit moved: ${change.reason}`,
    );
  }

  /** Remembers the largest round-0 proposal of the current height (the sizer's evidence). */
  private noteProposal(block: Block): void {
    const seen = this.heightSeen;
    if (block.header.height !== seen.height || block.header.view !== 0) return;
    seen.round0Txs = Math.max(seen.round0Txs ?? 0, block.txs.length);
  }

  private build(height: number, round: number, minTimestampMs: number): Block | undefined {
    const d = this.d;
    if (!d.self || height !== d.chain.height + 1) return undefined;
    d.beforeBuild?.();
    const params = d.chain.params;
    const txsMax = this.proposalSizer.limit(params.blockTxsMax);
    // At least one transaction's worth: the parameter rule lets blockBytesMax go down to
    // txBytesMax plus a header, and a pool that offers nothing then would leave governance unable
    // to vote a larger block back. buildBlock enforces the exact size.
    const ready = d.mempool.ready(txsMax, Math.max(params.txBytesMax, params.blockBytesMax - 64 * 1024));
    const built = buildBlock(d.chain.state, d.chain.header, {
      // With their hashes and sizes, and known verified: the mempool checked them at admission.
      txs: ready.map((e) => ({ stx: e.tx, meta: { hash: e.hash, size: e.bytes.length } })),
      isVerified: d.mempool.holds,
      proposer: d.self,
      view: round,
      timestamp: Math.max(Date.now(), minTimestampMs),
      verify: d.verify,
    });
    if (built.rejected.length > 0) {
      d.mempool.removeCommitted(built.rejected.map((r) => r.stx));
      this.log.debug(
        { height, rejected: built.rejected.length },
        'left out transactions that can never be included',
      );
    }
    d.chain.remember(built);
    this.noteProposal(built.block);
    this.log.debug({ height, round, txs: built.block.txs.length }, 'built a proposal');
    return built.block;
  }

  private recordEvidence(ev: Evidence): void {
    if (this.evidence.length >= EVIDENCE_KEPT_MAX) this.evidence.shift();
    this.evidence.push(ev);
    const record = {
      kind: ev.kind,
      chainId: ev.chainId,
      height: ev.height,
      round: ev.round,
      validator: toHex(ev.validator),
    };
    this.log.warn(record, 'equivocation evidence');
    if (this.evidenceFileFull) return;
    try {
      // JSON lines, each with the canonical bytes of the pair so anyone can re-verify it.
      const line = { ...record, at: new Date().toISOString(), evidence: toHex(encodeEvidence(ev)) };
      const size = statSync(this.d.evidenceFile, { throwIfNoEntry: false })?.size ?? 0;
      if (size + line.evidence.length > EVIDENCE_FILE_BYTES_MAX) {
        this.evidenceFileFull = true;
        this.log.warn(
          { file: this.d.evidenceFile, bytesMax: EVIDENCE_FILE_BYTES_MAX },
          'evidence file is full: later evidence is kept in memory and on RPC only',
        );
        return;
      }
      appendFileSync(this.d.evidenceFile, `${JSON.stringify(line)}\n`);
    } catch (err) {
      this.log.error({ err }, 'could not persist evidence');
    }
  }
}
