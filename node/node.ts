/**
 * The composition root: builds a Synod node from its home folder, in order, and closes it in
 * reverse. Parts: chain (store + state), WAL, mempool, libp2p host, consensus replica and its
 * driver, sync, RPC server, metrics.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { Replica } from '../consensus/replica.js';
import { generateKeyPair, Signer, verify } from '../crypto/ed25519.js';
import { decodeBytesList } from '../crypto/encoding.js';
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js';
import { loadGenesisFile } from '../genesis/genesis.js';
import { type ChainParams, heightLimitsOf, paramProblems } from '../ledger/params.js';
import { activeMemberIds, activeNodeAccounts, getAccount, getMember } from '../ledger/state.js';
import type { Block } from '../ledger/types.js';
import type { JsonObject } from '../rpc/backend.js';
import { RpcServer } from '../rpc/server.js';
import { createLedgerBlockPort } from './block-port.js';
import { Chain, type CommittedBlock } from './chain.js';
import { homePath, loadConfig, type NodeConfig } from './config.js';
import { ConsensusDriver } from './consensus-driver.js';
import { ForwardBatcher } from './forward-batcher.js';
import { ForwardedTxIntake } from './intake.js';
import { headerJson, receiptJson, txJson } from './json.js';
import { readKeyFile, writeKeyFile } from './keyfile.js';
import { createLogger, type Logger } from './log.js';
import { Mempool, MempoolError, type PoolEntry } from './mempool.js';
import { createMetrics, type NodeMetrics } from './metrics.js';
import { type AllowedPeer, P2PHost, peerIdFromPublicKey, publicKeyFromPeerId } from './p2p/index.js';
import { DEFAULT_MAX_FRAME_BYTES } from './p2p/protocols.js';
import { NodeRpcBackend } from './rpc-backend.js';
import { createSyncHandler, Syncer } from './sync.js';
import { CachedVerifier } from './verifier.js';
import { Wal } from './wal.js';

export const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  .version as string;
/** Transactions in one forwarded batch frame at most (the receiver refuses larger batches). */
const FORWARD_BATCH_TXS_MAX = 10_000;
const EXPLORER_DIR = new URL('../explorer/', import.meta.url).pathname;

export interface StartOptions {
  home: string;
  /** Config values that override the file (CLI flags). */
  overrides?: Record<string, unknown>;
  logger?: Logger;
}

export class SynodNode {
  /** Client transactions on their way to the other validators, in batches that fit a tx frame. */
  private readonly forwarder: ForwardBatcher;
  private stopping: Promise<void> | undefined;
  private lastExpiryMs = 0;
  private lastNextValidatorsHash: Uint8Array;
  /** Forwarded transactions wait here and are admitted in slices behind consensus work. */
  private readonly intake: ForwardedTxIntake;
  readonly metrics: NodeMetrics;

  private constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly chain: Chain,
    readonly wal: Wal,
    readonly mempool: Mempool,
    readonly p2p: P2PHost,
    readonly replica: Replica<Block>,
    readonly driver: ConsensusDriver,
    readonly syncer: Syncer,
    readonly rpc: RpcServer,
    readonly backend: NodeRpcBackend,
    readonly verifier: CachedVerifier,
    readonly signer: Signer | undefined,
    private readonly identity: Signer,
  ) {
    this.lastNextValidatorsHash = chain.header.nextValidatorsHash;
    this.forwarder = new ForwardBatcher({
      // The host is built with the default frame limits, which every peer enforces too.
      frameBytesMax: DEFAULT_MAX_FRAME_BYTES.tx,
      batchTxsMax: Math.min(config.mempool.forwardBatchTxsMax, FORWARD_BATCH_TXS_MAX),
      delayMs: config.mempool.forwardDelayMs,
      send: (frame) => p2p.broadcast('tx', frame),
      log: log.child({ module: 'forward' }),
    });
    this.intake = new ForwardedTxIntake({
      sliceMs: config.mempool.intakeSliceMs,
      queuedTxsMax: config.mempool.intakeQueuedTxsMax,
      admit: (peerId, tx) => this.admitForwarded(peerId, tx),
      onReady: () => this.driver.setPending(true),
    });
    const intake = this.intake.stats;
    this.metrics = createMetrics({ chain, mempool, replica, driver, p2p, syncer, verifier, intake });
  }

  get role(): 'validator' | 'observer' {
    return this.signer ? 'validator' : 'observer';
  }

  static async start(opts: StartOptions): Promise<SynodNode> {
    const home = opts.home;
    const config = loadConfig(home, opts.overrides);
    const log =
      opts.logger ??
      createLogger({
        level: config.log.level,
        ...(config.log.pretty === undefined ? {} : { pretty: config.log.pretty }),
        base: { node: basename(home) },
      });
    const dataDir = homePath(home, config.dataDir);
    mkdirSync(dataDir, { recursive: true });

    const doc = await loadGenesisFile(homePath(home, config.genesisFile));
    const passphrase = config.keyPassphraseFile
      ? readFileSync(homePath(home, config.keyPassphraseFile), 'utf8').trim()
      : undefined;
    const keyPath = homePath(home, config.validatorKeyFile);
    let signer: Signer | undefined;
    let identitySecret: Uint8Array;
    if (existsSync(keyPath)) {
      identitySecret = (await readKeyFile(keyPath, passphrase === undefined ? {} : { passphrase })).secretKey;
      signer = new Signer(identitySecret);
    } else {
      // An observer still needs a stable network identity, so validators can admit it by key.
      const idPath = join(home, 'node-key.json');
      if (!existsSync(idPath))
        await writeKeyFile(idPath, generateKeyPair().secretKey, { label: 'observer identity' });
      identitySecret = (await readKeyFile(idPath)).secretKey;
    }
    const identity = signer ?? new Signer(identitySecret);

    const verifier = new CachedVerifier();
    const chain = await Chain.open(
      join(dataDir, 'ledger'),
      doc,
      verifier.verify,
      log.child({ module: 'chain' }),
    );
    const wal = Wal.open(join(dataDir, 'wal'));
    const params = chain.params;
    const mempool = new Mempool({
      chainId: chain.chainId,
      txBytesMax: params.txBytesMax,
      txsMax: config.mempool.txsMax,
      bytesMax: config.mempool.bytesMax,
      futureNoncesMax: config.mempool.futureNoncesMax,
      gappedTtlMs: config.mempool.gappedTtlMs,
      gappedPercentMax: config.mempool.gappedPercentMax,
      senderGappedTxsMax: config.mempool.senderGappedTxsMax,
      memberPercentMin: config.mempool.memberPercentMin,
      // Not the cache: the pool admits each tx hash once, so remembering (a SHA-256 key and a
      // set entry per tx) would cost more than it saves; blocks skip what the pool holds.
      verify,
      account: (address) => {
        const state = chain.state;
        const a = getAccount(state, address);
        if (!a) return undefined;
        return {
          nextNonce: a.nonce,
          canTransact: a.status === 'active' && getMember(state, a.memberId)?.status === 'active',
          memberId: a.memberId,
        };
      },
      // Read once per commit (the pool caches the member quota until removeCommitted).
      activeMembers: () => activeMemberIds(chain.state).length,
    });
    chain.isVerified = mempool.holds;
    const p2p = new P2PHost({
      secretKey: identitySecret,
      publicKey: identity.publicKey,
      listen: [config.p2p.listen],
      logger: log,
      allowedPeers: allowedPeers(chain, config, identity.publicKey),
    });
    const replica = new Replica<Block>({
      chainId: chain.chainId,
      port: createLedgerBlockPort(mempool.lookup),
      ...(signer ? { signer: { address: signer.address, sign: (m: Uint8Array) => signer.sign(m) } } : {}),
      verify: verifier.verify,
      // The parameters in force now; every startHeight then brings those of its height.
      limits: heightLimitsOf(checkedParams(chain.params)),
    });
    let node: SynodNode | undefined;
    const driver = new ConsensusDriver({
      replica,
      chain,
      wal,
      mempool,
      p2p,
      verify: verifier.verify,
      ...(signer ? { self: signer.address } : {}),
      log,
      evidenceFile: join(dataDir, 'evidence.jsonl'),
      hooks: config.testHooks ?? {},
      onSyncRequest: (height) => node?.syncer.trigger(height),
      beforeBuild: () => node?.flushForward(),
      beforeExecute: () => node?.drainIntake(),
      onFatal: (message) => {
        log.fatal({ message }, 'stopping: continuing could fork the chain');
        void node?.stop().finally(() => process.exit(70));
      },
    });
    const syncer = new Syncer(chain, p2p, { deliver: (b, c) => driver.onSyncedBlock(b, c) }, log);
    const backend = new NodeRpcBackend({
      chain,
      mempool,
      submit: (bytes) => node!.submit(bytes),
      status: () => node!.status(),
    });
    const rpc = new RpcServer({
      backend,
      logger: log,
      host: config.http.host,
      port: config.http.port,
      health: () => ({ ok: true, height: chain.height, syncing: syncer.syncing }),
      metrics: () => node!.metrics.registry.metrics(),
      ...(config.rpc.staticDir
        ? { staticDir: homePath(home, config.rpc.staticDir) }
        : existsSync(join(EXPLORER_DIR, 'index.html'))
          ? { staticDir: EXPLORER_DIR }
          : {}),
      ...(config.rpc.allowedHosts ? { allowedHosts: config.rpc.allowedHosts } : {}),
      ...(config.rpc.allowedOrigins ? { allowedOrigins: config.rpc.allowedOrigins } : {}),
      limits: {
        maxBodyBytes: config.rpc.bodyBytesMax,
        maxBatch: config.rpc.batchMax,
        handlerTimeoutMs: config.rpc.timeoutMs,
        maxConnectionsPerIp: config.rpc.connectionsPerIpMax,
      },
    });
    node = new SynodNode(
      config,
      log,
      chain,
      wal,
      mempool,
      p2p,
      replica,
      driver,
      syncer,
      rpc,
      backend,
      verifier,
      signer,
      identity,
    );
    chain.onCommit((c) => node!.onCommitted(c));
    p2p.setMessageHandler('consensus', (peer, bytes) => driver.onMessage(peer.peerId, bytes));
    p2p.setMessageHandler('tx', (peer, bytes) => node!.onForwardedTxs(peer.peerId, bytes));
    p2p.setSyncHandler(createSyncHandler(chain, log));

    await p2p.start();
    const address = await rpc.start();
    driver.start();
    syncer.start();
    log.info(
      {
        role: node.role,
        address: toHex(identity.address),
        peerId: p2p.peerId,
        height: chain.height,
        rpc: address.url,
        p2p: p2p.multiaddrs(),
        chainId: chain.chainId,
      },
      'node started',
    );
    return node;
  }

  /** Admits a transaction from a client and queues it for forwarding to the other validators. */
  submit(bytes: Uint8Array): PoolEntry {
    let result: ReturnType<Mempool['add']>;
    try {
      result = this.mempool.add(bytes);
    } catch (err) {
      if (err instanceof MempoolError) this.metrics.txsRejected.inc({ code: err.code });
      throw err;
    }
    if (result.added) {
      this.forward(result.entry.bytes);
      if (result.ready) this.driver.setPending(true);
    }
    return result.entry;
  }

  /** Batches are bounded in count and in encoded bytes (node/forward-batcher.ts); never throws. */
  private forward(bytes: Uint8Array): void {
    this.forwarder.push(bytes);
  }

  /**
   * Admits every forwarded transaction still queued. The driver calls it before executing a
   * proposal: transactions that arrived before the proposal are then checked at admission, as
   * they arrived, rather than inside the block's validation and again when their copies come up.
   */
  drainIntake(): void {
    this.intake.drain();
  }

  /**
   * Sends the transactions waiting to be forwarded now. The driver calls it before building a
   * proposal, so the peers receive a transaction before the proposal that carries it; a proposal
   * overtaking the forwarded copy made the peers verify it inside the block's validation, on the
   * path every block waits for.
   */
  flushForward(): void {
    this.forwarder.flush();
  }

  /**
   * A batch of transactions forwarded by a peer: checked for shape here, queued, and admitted
   * later in slices (node/intake.ts); never forwarded again. Bytes before work: the p2p layer
   * refuses a frame above the tx limit from its length prefix, before buffering it (and bans the
   * peer); here the count is read and refused above FORWARD_BATCH_TXS_MAX before any item is
   * walked, each item is a view of the frame, and admission checks each size before hashing.
   */
  onForwardedTxs(peerId: string, bytes: Uint8Array): void {
    let list: Uint8Array[];
    try {
      // Views into the frame, not copies: admission copies each transaction it keeps.
      list = decodeBytesList(bytes, FORWARD_BATCH_TXS_MAX);
    } catch {
      this.p2p.reportMisbehaviour(peerId, 'malformed-tx-batch');
      return;
    }
    if (!this.intake.push(peerId, list)) {
      this.log.debug({ peer: peerId, txs: list.length }, 'admission queue full: dropped a forwarded batch');
    }
  }

  /** Admits one forwarded transaction; true when it is ready for a block. */
  private admitForwarded(peerId: string, tx: Uint8Array): boolean {
    try {
      return this.mempool.addForwarded(tx).ready;
    } catch (err) {
      // Expected in normal operation (a tx that just committed, a full pool); only a bad
      // signature says the peer is misbehaving, since it must have checked it too.
      if (err instanceof MempoolError && err.code === 'INVALID_SIGNATURE') {
        this.p2p.reportMisbehaviour(peerId, 'invalid-tx-signature');
      }
      return false;
    }
  }

  private onCommitted(c: CommittedBlock): void {
    this.metrics.txsCommitted.inc(c.block.txs.length);
    this.mempool.removeCommitted(c.block.txs, c.execution.txHashes);
    const setChanged = !bytesEqual(c.block.header.nextValidatorsHash, this.lastNextValidatorsHash);
    // The peer list is derived from the registry, so any block that may have changed it
    // (a set change, a node identity registered, revoked or rotated, a member added or removed)
    // re-derives it. setAllowedPeers applies only the difference: it hangs up on peers that
    // left (e.g. a removed validator, from the height it leaves) and dials new ones at once.
    const registryTouched = c.block.txs.some(
      (t) => t.tx.kind.startsWith('identity.') || t.tx.kind.startsWith('gov.'),
    );
    if (setChanged || registryTouched) {
      this.p2p.setAllowedPeers(allowedPeers(this.chain, this.config, this.identity.publicKey));
    }
    if (setChanged) {
      this.lastNextValidatorsHash = c.block.header.nextValidatorsHash;
      this.log.info(
        { height: c.block.header.height, validators: this.chain.nextValidators.length },
        'validator set changed',
      );
    }
    // Revoked accounts and removed members can no longer transact: drop what they have pending.
    if (registryTouched) this.mempool.pruneAll();
    this.expireGapped();
    // Ready, not merely held: a tx behind a nonce gap cannot go into the next block.
    this.driver.setPending(this.mempool.hasReady());
    this.backend.onCommitted(c);
    this.rpc.publish('newBlocks', headerJson(c.block.header, c.hash));
    if (this.rpc.watchesAnyTx()) this.publishTxEvents(c);
    // Once per commit, in height order: the backend tracks which proposals it has seen open.
    for (const event of this.backend.governanceEvents(c)) this.rpc.publish('governance', event);
  }

  /** A `tx` event for each committed transaction someone waits for. */
  private publishTxEvents(c: CommittedBlock): void {
    c.block.txs.forEach((t, index) => {
      const hash = c.execution.txHashes[index]!;
      const hashHex = toHex(hash);
      // Only waited-for transactions get an event: building one per tx is JSON on the hot path.
      if (!this.rpc.watchesTx(hashHex)) return;
      this.rpc.publish('tx', {
        ...txJson(t, hash),
        hash: hashHex,
        height: c.block.header.height,
        index,
        receipt: receiptJson(c.execution.receipts[index]!),
      });
    });
  }

  /** At most once a second (it walks the whole pool): drops what waited too long behind a gap. */
  private expireGapped(): void {
    const now = Date.now();
    if (now - this.lastExpiryMs < 1_000) return;
    this.lastExpiryMs = now;
    const dropped = this.mempool.expireGapped();
    if (dropped > 0) {
      this.metrics.txsExpired.inc(dropped);
      this.log.info(
        { dropped, ttlMs: this.config.mempool.gappedTtlMs },
        'dropped transactions held behind a nonce gap',
      );
    }
  }

  status(): JsonObject {
    return {
      nodeId: this.p2p.peerId,
      address: toHex(this.identity.address),
      role: this.role,
      version: VERSION,
      chainId: this.chain.chainId,
      height: this.chain.height,
      latestHash: toHex(this.chain.hash),
      round: this.replica.round,
      view: this.replica.round,
      consensusStatus: this.replica.status,
      isValidator: this.replica.isMember,
      syncing: this.syncer.syncing,
      peers: this.p2p.connectedPeers().map((p) => p.peerId),
      mempool: { txs: this.mempool.size, bytes: this.mempool.bytes },
    };
  }

  /** Stops every part in reverse order of start; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping');
      this.syncer.stop();
      this.driver.stop();
      this.forwarder.stop();
      this.intake.stop();
      await this.rpc.stop().catch((err) => this.log.warn({ err }, 'rpc stop failed'));
      await this.p2p.stop().catch((err) => this.log.warn({ err }, 'p2p stop failed'));
      this.wal.close();
      await this.chain.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}

/**
 * The peers this node admits, all derived from the latest state plus its own config, so that a
 * passed proposal or a registration changes every node's gater with no file edit:
 * - validators of the next height, dialled at the addresses registered with them;
 * - node identities: accounts with the role "node" whose account and member are active (a
 *   joining organisation's node, registered by its admin before it is voted in). The ledger
 *   holds no addresses for them: they dial us, or we dial them at addresses from p2p.peers;
 * - observers listed in p2p.observers, and peers listed in p2p.peers (their addresses merged).
 * Addresses that libp2p cannot use (malformed, or naming another peer id) are left out here,
 * because one bad address registered on chain must not stop the list from applying.
 */
/**
 * The chain's parameters, checked at start by the same rule the ledger applies to every
 * param.set (ledger/params.ts paramProblems), so a store whose parameters break it says so here,
 * naming each problem, instead of failing later inside a module.
 */
function checkedParams(params: ChainParams): ChainParams {
  const problems = paramProblems(params);
  if (problems.length > 0) {
    throw new Error(`the chain parameters in the stored state are inconsistent: ${problems.join('; ')}`);
  }
  return params;
}

function allowedPeers(chain: Chain, config: NodeConfig, self: Uint8Array): AllowedPeer[] {
  const out = new Map<string, AllowedPeer>();
  const admit = (publicKey: Uint8Array, addrs: readonly string[]) => {
    if (bytesEqual(publicKey, self)) return;
    const key = toHex(publicKey);
    const peerId = peerIdFromPublicKey(publicKey);
    const usable = addrs.filter((a) => dialable(a, peerId));
    out.set(key, { publicKey, addrs: [...new Set([...(out.get(key)?.addrs ?? []), ...usable])] });
  };
  for (const v of chain.nextValidators) admit(v.publicKey, v.p2p);
  for (const a of activeNodeAccounts(chain.state)) admit(a.publicKey, []);
  for (const o of config.p2p.observers) admit(fromHex(o, 32, 'p2p.observers'), []);
  for (const addr of config.p2p.peers) {
    const id = /\/p2p\/([^/]+)$/.exec(addr)?.[1];
    const pk = id ? publicKeyFromPeerId(id) : undefined;
    if (pk) admit(pk, [addr.replace(/\/p2p\/[^/]+$/, '')]);
  }
  return [...out.values()];
}

/** Whether libp2p can dial `addr` as `peerId` (a multiaddr, naming no other peer). */
function dialable(addr: string, peerId: string): boolean {
  try {
    const embedded = multiaddr(addr).getPeerId();
    return embedded === null || embedded === peerId;
  } catch {
    return false;
  }
}
