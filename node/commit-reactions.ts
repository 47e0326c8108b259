/**
 * What the node does once a block is committed, in order: the mempool forgets what committed,
 * the peer list follows the registry, revoked senders' transactions go, long-gapped ones
 * expire, the driver learns whether a transaction is ready, and RPC clients are told (the
 * backend's indexes, newBlocks, tx and governance events).
 */
import { bytesEqual, toHex } from '../crypto/hash.js';
import type { RpcServer } from '../rpc/server.js';
import type { Chain, CommittedBlock } from './chain.js';
import type { GapExpiry } from './gap-expiry.js';
import { headerJson, receiptJson, txJson } from './json.js';
import type { Logger } from './log.js';
import type { Mempool } from './mempool.js';
import type { AllowedPeer, P2PHost } from './p2p/index.js';
import type { NodeRpcBackend } from './rpc-backend.js';

export interface CommitReactionsOptions {
  chain: Chain;
  mempool: Mempool;
  p2p: Pick<P2PHost, 'setAllowedPeers'>;
  /** The peers to admit, derived from the latest state and the config. */
  allowedPeers: () => AllowedPeer[];
  gapExpiry: GapExpiry;
  backend: NodeRpcBackend;
  rpc: Pick<RpcServer, 'publish' | 'watchesAnyTx' | 'watchesTx'>;
  /** The driver's pending signal. */
  setPending: (pending: boolean) => void;
  onTxsCommitted?: (count: number) => void;
  log: Logger;
}

export class CommitReactions {
  private lastNextValidatorsHash: Uint8Array;

  constructor(private readonly o: CommitReactionsOptions) {
    this.lastNextValidatorsHash = o.chain.header.nextValidatorsHash;
  }

  onCommitted(c: CommittedBlock): void {
    const o = this.o;
    o.onTxsCommitted?.(c.block.txs.length);
    o.mempool.removeCommitted(c.block.txs, c.execution.txHashes);
    const setChanged = !bytesEqual(c.block.header.nextValidatorsHash, this.lastNextValidatorsHash);
    // The peer list is derived from the registry, so any block that may have changed it
    // (a set change, a node identity registered, revoked or rotated, a member added or removed)
    // re-derives it. setAllowedPeers applies only the difference: it hangs up on peers that
    // left (e.g. a removed validator, from the height it leaves) and dials new ones at once.
    const registryTouched = c.block.txs.some(
      (t) => t.tx.kind.startsWith('identity.') || t.tx.kind.startsWith('gov.'),
    );
    if (setChanged || registryTouched) o.p2p.setAllowedPeers(o.allowedPeers());
    if (setChanged) {
      this.lastNextValidatorsHash = c.block.header.nextValidatorsHash;
      o.log.info(
        { height: c.block.header.height, validators: o.chain.nextValidators.length },
        'validator set changed',
      );
    }
    // Revoked accounts and removed members can no longer transact: drop what they have pending.
    if (registryTouched) o.mempool.pruneAll();
    o.gapExpiry.run(Date.now());
    // Ready, not merely held: a tx behind a nonce gap cannot go into the next block.
    o.setPending(o.mempool.hasReady());
    o.backend.onCommitted(c);
    o.rpc.publish('newBlocks', headerJson(c.block.header, c.hash));
    if (o.rpc.watchesAnyTx()) this.publishTxEvents(c);
    // Once per commit, in height order: the backend tracks which proposals it has seen open.
    for (const event of o.backend.governanceEvents(c)) o.rpc.publish('governance', event);
  }

  /** A `tx` event for each committed transaction someone waits for. */
  private publishTxEvents(c: CommittedBlock): void {
    const rpc = this.o.rpc;
    c.block.txs.forEach((t, index) => {
      const hash = c.execution.txHashes[index]!;
      const hashHex = toHex(hash);
      // Only waited-for transactions get an event: building one per tx is JSON on the hot path.
      if (!rpc.watchesTx(hashHex)) return;
      rpc.publish('tx', {
        ...txJson(t, hash),
        hash: hashHex,
        height: c.block.header.height,
        index,
        receipt: receiptJson(c.execution.receipts[index]!),
      });
    });
  }
}
