/**
 * Block sync over `/synod/sync/1`: a node that is behind (restarted, wiped, new, observer)
 * fetches blocks with their commit certificates from a peer and hands each to the consensus
 * core as a decided block; the core checks the certificate against V(h) (the set of that
 * height, from the state after h−1), the chain re-executes the block, and only then does the
 * next one follow.
 *
 * Every peer's answer is hostile input: a status is a claim, a response is bounded by what was
 * asked (frames and bytes, checked as they arrive), each block must be the next height asked for
 * and carry a certificate of V(h) before consensus sees it. A peer that breaks any of that is
 * reported to the misbehaviour scorer and backed off, and the next candidate is tried, so a liar
 * claiming 2^53-1 or streaming stale blocks neither stalls the sync nor keeps it spinning.
 *
 * Requests (canonical encoding):
 *   {type: "status"}                 → one frame {height, hash}
 *   {type: "blocks", from, limit}    → one frame per block {block, cert}, ascending, up to limit
 */

import { verifyCommitCertificate } from '../consensus/certificate.js';
import { ValidatorSet } from '../consensus/validators.js';
import { asBytes, asMap, asNumber, asString, decode, encode } from '../crypto/encoding.js';
import { toHex } from '../crypto/hash.js';
import { blockHash, decodeBlock, decodeCert, encodeBlock, encodeCert } from '../ledger/codec.js';
import { toConsensusCert } from './block-port.js';
import { NODE_BOUNDS } from './bounds.js';
import type { Chain } from './chain.js';
import type { Logger } from './log.js';
import { type P2PHost, type PeerInfo, SyncResponseLimitError } from './p2p/index.js';

/** Blocks per request, and the most a server sends for one request. */
export const SYNC_BATCH_BLOCKS = NODE_BOUNDS.syncBatchBlocks;
/** How long one synced block may take to commit before the peer is given up. */
const COMMIT_WAIT_MS = 30_000;
const STATUS_TIMEOUT_MS = 5_000;
const BLOCKS_TIMEOUT_MS = 30_000;
/** A status frame is {height, hash}: a few dozen bytes; anything much larger is not one. */
const STATUS_BYTES_MAX = 256;
/**
 * A peer that failed a request is left alone for BACKOFF_BASE_MS, doubling per failure in a row;
 * one whose answer was provably wrong (a claim no block backs, unasked or uncertified blocks, an
 * oversize response) four times as long, up to BACKOFF_MAX_MS. A success clears it.
 */
const BACKOFF_BASE_MS = NODE_BOUNDS.syncBackoffBaseMs;
const BACKOFF_MAX_MS = NODE_BOUNDS.syncBackoffMaxMs;
const BACKOFF_ENTRIES_MAX = NODE_BOUNDS.syncBackoffEntriesMax;

/** Takes a fetched block to consensus (which verifies its certificate and commits it). */
export type SyncedBlockListener = (
  block: ReturnType<typeof decodeBlock>,
  cert: ReturnType<typeof decodeCert>,
) => void;

export class SyncError extends Error {
  override readonly name = 'SyncError';
}

/** Serves sync requests from the local store. */
export function createSyncHandler(chain: Chain, log: Logger) {
  return async function* serve(
    peer: PeerInfo,
    request: Uint8Array,
    signal: AbortSignal,
  ): AsyncIterable<Uint8Array> {
    let req: ReturnType<typeof asMap>;
    try {
      req = asMap(decode(request), 'request');
    } catch {
      throw new SyncError('malformed sync request');
    }
    const type = asString(req.type, 'type');
    if (type === 'status') {
      yield encode({ height: chain.height, hash: chain.hash });
      return;
    }
    if (type !== 'blocks') throw new SyncError(`unknown sync request '${type}'`);
    const from = asNumber(req.from, 'from');
    const limit = Math.min(asNumber(req.limit, 'limit'), SYNC_BATCH_BLOCKS);
    const to = Math.min(chain.height, from + limit - 1);
    log.debug({ peer: peer.peerId, from, to }, 'serving blocks');
    for (let h = Math.max(1, from); h <= to; h++) {
      if (signal.aborted) return;
      const [block, cert] = await Promise.all([chain.store.getBlock(h), chain.store.getCert(h)]);
      if (!block || !cert) return;
      yield encode({ block: encodeBlock(block), cert: encodeCert(cert) });
    }
  };
}

export class Syncer {
  private running = false;
  private wanted = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff = new Map<string, { untilMs: number; failures: number }>();
  blocksSynced = 0;
  private readonly log: Logger;

  private readonly listeners: SyncedBlockListener[] = [];

  constructor(
    private readonly chain: Chain,
    private readonly p2p: P2PHost,
    log: Logger,
    private readonly pollIntervalMs = 3_000,
  ) {
    this.log = log.child({ module: 'sync' });
  }

  /** Every fetched block goes to each listener (the driver, wired by the composition root). */
  onBlock(listener: SyncedBlockListener): void {
    this.listeners.push(listener);
  }

  get syncing(): boolean {
    return this.running;
  }

  /** Polls a peer's height now and then, so a node behind an idle chain still catches up. */
  start(): void {
    const poll = () => {
      if (this.stopped) return;
      this.trigger(this.chain.height + 1);
      this.pollTimer = setTimeout(poll, this.pollIntervalMs);
      this.pollTimer.unref();
    };
    this.pollTimer = setTimeout(poll, 500);
    this.pollTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
  }

  /** Asks for blocks from `height` on (repeated calls while a sync runs are merged). */
  trigger(height: number): void {
    this.wanted = Math.max(this.wanted, height);
    if (this.running || this.stopped) return;
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
    });
  }

  private async run(): Promise<void> {
    const peers = this.p2p.connectedPeers().filter((p) => !this.backedOff(p.peerId));
    if (peers.length === 0) return;
    // Ask every connected peer (not backed off) for its height; try the highest first. A claim is
    // only a claim: a peer whose blocks do not back it is reported and backed off, and the next
    // candidate is tried, so one liar at 2^53-1 neither stalls the sync nor makes it spin.
    const statuses = await Promise.all(peers.map((peer) => this.statusOf(peer)));
    const candidates = statuses
      .filter((s): s is NonNullable<typeof s> => s !== undefined && s.height > this.chain.height)
      .sort((a, b) => b.height - a.height);
    for (const c of candidates) {
      if (this.stopped || this.chain.height >= c.height) break;
      if (await this.syncFrom(c.peer.peerId, c.height)) {
        this.backoff.delete(c.peer.peerId);
        this.log.info({ height: this.chain.height, hash: toHex(this.chain.hash) }, 'sync done');
        return;
      }
    }
  }

  private async statusOf(peer: PeerInfo): Promise<{ peer: PeerInfo; height: number } | undefined> {
    try {
      const [frame] = await this.p2p.request(peer.peerId, encode({ type: 'status' }), {
        timeoutMs: STATUS_TIMEOUT_MS,
        framesMax: 1,
        bytesMax: STATUS_BYTES_MAX,
      });
      if (!frame) return undefined;
      const m = asMap(decode(frame), 'status');
      asBytes(m.hash, 'hash', 32);
      return { peer, height: asNumber(m.height, 'height') };
    } catch (err) {
      if (err instanceof SyncResponseLimitError)
        this.fault(peer.peerId, 'sync-oversize-response', err.message);
      return undefined;
    }
  }

  /** Follows `peerId` up to the height it claimed; false (peer backed off) when it stops short. */
  private async syncFrom(peerId: string, claimed: number): Promise<boolean> {
    this.log.info({ from: this.chain.height + 1, to: claimed, peer: peerId }, 'syncing');
    while (!this.stopped && this.chain.height < claimed) {
      const from = this.chain.height + 1;
      let frames: Uint8Array[];
      try {
        frames = await this.p2p.request(peerId, encode({ type: 'blocks', from, limit: SYNC_BATCH_BLOCKS }), {
          timeoutMs: BLOCKS_TIMEOUT_MS,
          framesMax: SYNC_BATCH_BLOCKS,
        });
      } catch (err) {
        if (err instanceof SyncResponseLimitError) this.fault(peerId, 'sync-oversize-response', err.message);
        else this.pause(peerId, (err as Error).message);
        return false;
      }
      // A peer that claimed more than we have must send at least block `from`.
      if (frames.length === 0) {
        if (this.chain.height >= from) continue; // consensus committed it meanwhile
        this.fault(peerId, 'sync-lie', `claimed height ${claimed} but sent no block from ${from}`);
        return false;
      }
      for (let i = 0; i < frames.length; i++) {
        if (this.stopped) return false;
        const expected = from + i;
        let block: ReturnType<typeof decodeBlock>;
        let cert: ReturnType<typeof decodeCert>;
        try {
          const m = asMap(decode(frames[i]!), 'frame');
          block = decodeBlock(asBytes(m.block, 'block'));
          cert = decodeCert(asBytes(m.cert, 'cert'));
        } catch (err) {
          this.fault(peerId, 'bad-sync-frame', (err as Error).message);
          return false;
        }
        const h = block.header.height;
        if (h !== expected || block.header.chainId !== this.chain.chainId) {
          this.fault(
            peerId,
            'sync-unasked-block',
            `sent block ${h} of '${block.header.chainId}' where ${expected} was asked`,
          );
          return false;
        }
        if (h <= this.chain.height) continue; // committed by consensus while this batch was read
        const problem = this.certificateProblem(block, cert);
        if (problem !== undefined) {
          this.fault(peerId, 'sync-bad-block', `block ${h}: ${problem}`);
          return false;
        }
        for (const l of this.listeners) l(block, cert);
        if (!(await this.waitForHeight(h))) {
          this.fault(peerId, 'bad-sync-block', `synced block ${h} did not commit`);
          return false;
        }
        this.blocksSynced++;
      }
    }
    return !this.stopped;
  }

  /**
   * Why `cert` does not certify `block` for V(h), the set the chain names for its next height;
   * checked here (bytes before work) so that a forged block is refused, and its sender named,
   * before consensus and execution see it.
   */
  private certificateProblem(
    block: ReturnType<typeof decodeBlock>,
    cert: ReturnType<typeof decodeCert>,
  ): string | undefined {
    try {
      const set = ValidatorSet.fromPublicKeys(this.chain.nextValidators.map((v) => v.publicKey));
      verifyCommitCertificate(
        this.chain.chainId,
        block.header.height,
        blockHash(block.header),
        toConsensusCert(cert),
        set,
      );
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Reports provable misbehaviour and backs the peer off (doubling, up to BACKOFF_MAX_MS). */
  private fault(peerId: string, reason: string, detail: string): void {
    this.p2p.reportMisbehaviour(peerId, reason);
    this.log.warn({ peer: peerId, reason, err: detail }, 'sync peer misbehaved; backing off');
    this.pause(peerId, detail, true);
  }

  /** Leaves a peer alone for a while: after a failure (timeout, refused) or an offence. */
  private pause(peerId: string, detail: string, offence = false): void {
    const failures = (this.backoff.get(peerId)?.failures ?? 0) + 1;
    const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1) * (offence ? 4 : 1));
    this.backoff.set(peerId, { untilMs: Date.now() + ms, failures });
    if (!offence) this.log.warn({ peer: peerId, err: detail, backoffMs: ms }, 'sync request failed');
    if (this.backoff.size > BACKOFF_ENTRIES_MAX) {
      for (const [id, b] of this.backoff) if (b.untilMs <= Date.now()) this.backoff.delete(id);
    }
  }

  private backedOff(peerId: string): boolean {
    const b = this.backoff.get(peerId);
    return b !== undefined && b.untilMs > Date.now();
  }

  private waitForHeight(height: number): Promise<boolean> {
    if (this.chain.height >= height) return Promise.resolve(true);
    return new Promise((resolve) => {
      const deadline = Date.now() + COMMIT_WAIT_MS;
      const check = () => {
        if (this.chain.height >= height) return resolve(true);
        if (this.stopped || Date.now() > deadline) return resolve(false);
        setTimeout(check, 5);
      };
      check();
    });
  }
}
