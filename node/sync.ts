/**
 * Block sync over `/synod/sync/1`: a node that is behind (restarted, wiped, new, observer)
 * fetches blocks with their commit certificates from a peer and hands each to the consensus
 * core as a decided block; the core checks the certificate against V(h) (the set of that
 * height, from the state after h−1), the chain re-executes the block, and only then does the
 * next one follow. A peer whose block or certificate fails is reported as misbehaving.
 *
 * Requests (canonical encoding):
 *   {type: "status"}                 → one frame {height, hash}
 *   {type: "blocks", from, limit}    → one frame per block {block, cert}, ascending, up to limit
 */
import { asBytes, asMap, asNumber, asString, decode, encode } from '../crypto/encoding.js';
import { toHex } from '../crypto/hash.js';
import { decodeBlock, decodeCert, encodeBlock, encodeCert } from '../ledger/codec.js';
import type { Chain } from './chain.js';
import type { Logger } from './log.js';
import type { P2PHost, PeerInfo } from './p2p/index.js';

/** Blocks per request, and the most a server sends for one request. */
export const SYNC_BATCH_BLOCKS = 64;
/** How long one synced block may take to commit before the peer is given up. */
const COMMIT_WAIT_MS = 30_000;

export interface SyncTarget {
  /** Hands a fetched block to consensus (which verifies its certificate and commits it). */
  deliver(block: ReturnType<typeof decodeBlock>, cert: ReturnType<typeof decodeCert>): void;
}

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
  blocksSynced = 0;
  private readonly log: Logger;

  constructor(
    private readonly chain: Chain,
    private readonly p2p: P2PHost,
    private readonly target: SyncTarget,
    log: Logger,
    private readonly pollIntervalMs = 3_000,
  ) {
    this.log = log.child({ module: 'sync' });
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
    const peers = this.p2p.connectedPeers();
    if (peers.length === 0) return;
    // Ask every connected peer for its height; sync from the highest.
    const statuses = await Promise.all(
      peers.map(async (peer) => {
        try {
          const [frame] = await this.p2p.request(peer.peerId, encode({ type: 'status' }), {
            timeoutMs: 5_000,
          });
          if (!frame) return undefined;
          const m = asMap(decode(frame), 'status');
          return { peer, height: asNumber(m.height, 'height'), hash: asBytes(m.hash, 'hash', 32) };
        } catch {
          return undefined;
        }
      }),
    );
    const best = statuses
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .sort((a, b) => b.height - a.height)[0];
    if (!best || best.height <= this.chain.height) return;
    this.log.info({ from: this.chain.height + 1, to: best.height, peer: best.peer.peerId }, 'syncing');
    while (!this.stopped && this.chain.height < best.height) {
      const from = this.chain.height + 1;
      let frames: Uint8Array[];
      try {
        frames = await this.p2p.request(
          best.peer.peerId,
          encode({ type: 'blocks', from, limit: SYNC_BATCH_BLOCKS }),
          { timeoutMs: 30_000 },
        );
      } catch (err) {
        this.log.warn({ peer: best.peer.peerId, err: (err as Error).message }, 'sync request failed');
        return;
      }
      if (frames.length === 0) return;
      for (const frame of frames) {
        if (this.stopped) return;
        let block: ReturnType<typeof decodeBlock>;
        let cert: ReturnType<typeof decodeCert>;
        try {
          const m = asMap(decode(frame), 'frame');
          block = decodeBlock(asBytes(m.block, 'block'));
          cert = decodeCert(asBytes(m.cert, 'cert'));
        } catch (err) {
          this.p2p.reportMisbehaviour(best.peer.peerId, 'bad-sync-frame');
          this.log.warn({ peer: best.peer.peerId, err: (err as Error).message }, 'malformed sync frame');
          return;
        }
        const h = block.header.height;
        if (h <= this.chain.height) continue;
        if (h !== this.chain.height + 1) return;
        this.target.deliver(block, cert);
        if (!(await this.waitForHeight(h))) {
          this.log.warn(
            { height: h, peer: best.peer.peerId },
            'a synced block did not commit; giving up on this peer',
          );
          this.p2p.reportMisbehaviour(best.peer.peerId, 'bad-sync-block');
          return;
        }
        this.blocksSynced++;
      }
    }
    this.log.info({ height: this.chain.height, hash: toHex(this.chain.hash) }, 'sync done');
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
