/**
 * The composition root: builds a Synod node from its home folder, in dependency order, and
 * closes it in reverse. It only composes: chain (store + state), WAL, mempool, libp2p host,
 * replica, sync, transaction ingress (forwarding and intake), the consensus driver, metrics, the
 * RPC backend and server, and the reactions to a commit each live in a module of their own. The
 * two cycles (sync and intake both feed consensus, which asks them for work) are closed here by
 * subscription; a fatal alarm aborts one signal, which stops the node.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { Replica } from '../consensus/replica.js';
import { generateKeyPair, Signer, verify } from '../crypto/ed25519.js';
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js';
import { loadGenesisFile } from '../genesis/genesis.js';
import { type ChainParams, heightLimitsOf, paramProblems } from '../ledger/params.js';
import { activeMemberIds, activeNodeAccounts, getAccount, getMember } from '../ledger/state.js';
import type { Block } from '../ledger/types.js';
import type { JsonObject } from '../rpc/backend.js';
import { RpcServer } from '../rpc/server.js';
import { createLedgerBlockPort } from './block-port.js';
import { Chain } from './chain.js';
import { CommitReactions } from './commit-reactions.js';
import { homePath, loadConfig, type NodeConfig } from './config.js';
import { ConsensusDriver } from './consensus-driver.js';
import { GapExpiry } from './gap-expiry.js';
import { readKeyFile, writeKeyFile } from './keyfile.js';
import { createLogger, type Logger } from './log.js';
import { Mempool, type PoolEntry } from './mempool.js';
import { createMetrics, type NodeMetrics } from './metrics.js';
import { type AllowedPeer, P2PHost, peerIdFromPublicKey, publicKeyFromPeerId } from './p2p/index.js';
import { NodeRpcBackend } from './rpc-backend.js';
import { createSyncHandler, Syncer } from './sync.js';
import { TxIngress } from './tx-ingress.js';
import { CachedVerifier } from './verifier.js';
import { Wal } from './wal.js';

export const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  .version as string;
const EXPLORER_DIR = new URL('../explorer/', import.meta.url).pathname;

export interface StartOptions {
  home: string;
  /** Config values that override the file (CLI flags). */
  overrides?: Record<string, unknown>;
  logger?: Logger;
}

/** The parts of a running node, built by `SynodNode.start` in dependency order. */
export interface NodeParts {
  config: NodeConfig;
  log: Logger;
  chain: Chain;
  wal: Wal;
  mempool: Mempool;
  p2p: P2PHost;
  replica: Replica<Block>;
  driver: ConsensusDriver;
  syncer: Syncer;
  ingress: TxIngress;
  metrics: NodeMetrics;
  rpc: RpcServer;
  backend: NodeRpcBackend;
  verifier: CachedVerifier;
  signer: Signer | undefined;
  identity: Signer;
}

export class SynodNode {
  private stopping: Promise<void> | undefined;
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly chain: Chain;
  readonly wal: Wal;
  readonly mempool: Mempool;
  readonly p2p: P2PHost;
  readonly replica: Replica<Block>;
  readonly driver: ConsensusDriver;
  readonly syncer: Syncer;
  readonly ingress: TxIngress;
  readonly metrics: NodeMetrics;
  readonly rpc: RpcServer;
  readonly backend: NodeRpcBackend;
  readonly verifier: CachedVerifier;
  readonly signer: Signer | undefined;
  readonly identity: Signer;

  private constructor(p: NodeParts) {
    this.config = p.config;
    this.log = p.log;
    this.chain = p.chain;
    this.wal = p.wal;
    this.mempool = p.mempool;
    this.p2p = p.p2p;
    this.replica = p.replica;
    this.driver = p.driver;
    this.syncer = p.syncer;
    this.ingress = p.ingress;
    this.metrics = p.metrics;
    this.rpc = p.rpc;
    this.backend = p.backend;
    this.verifier = p.verifier;
    this.signer = p.signer;
    this.identity = p.identity;
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
    const syncer = new Syncer(chain, p2p, log);
    const ingress = new TxIngress({ mempool, p2p, config: config.mempool, log });
    // Continuing after a fatal alarm could fork the chain: the node stops (exit code 70).
    const fatal = new AbortController();
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
      onSyncRequest: (height) => syncer.trigger(height),
      beforeBuild: () => ingress.flushForward(),
      beforeExecute: () => ingress.drainIntake(),
      onFatal: (message) => fatal.abort(message),
    });
    // The two cycles (sync <-> consensus, intake <-> consensus) are closed here, by subscription.
    syncer.onBlock((b, c) => driver.onSyncedBlock(b, c));
    ingress.onReady(() => driver.setPending(true));
    const metrics = createMetrics({
      chain,
      mempool,
      replica,
      driver,
      p2p,
      syncer,
      verifier,
      intake: ingress.intakeStats,
    });
    ingress.onRejected((code) => metrics.txsRejected.inc({ code }));
    const backend = new NodeRpcBackend({
      chain,
      mempool,
      submit: (bytes) => ingress.submit(bytes),
      status: () => nodeStatus({ p2p, identity, signer, chain, replica, syncer, mempool }),
    });
    const rpc = new RpcServer({
      backend,
      logger: log,
      host: config.http.host,
      port: config.http.port,
      health: () => ({ ok: true, height: chain.height, syncing: syncer.syncing }),
      metrics: () => metrics.registry.metrics(),
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
    const reactions = new CommitReactions({
      chain,
      mempool,
      p2p,
      allowedPeers: () => allowedPeers(chain, config, identity.publicKey),
      gapExpiry: new GapExpiry({
        mempool,
        ttlMs: config.mempool.gappedTtlMs,
        log,
        onExpired: (dropped) => metrics.txsExpired.inc(dropped),
      }),
      backend,
      rpc,
      setPending: (pending) => driver.setPending(pending),
      onTxsCommitted: (count) => metrics.txsCommitted.inc(count),
      log,
    });
    const node = new SynodNode({
      config,
      log,
      chain,
      wal,
      mempool,
      p2p,
      replica,
      driver,
      syncer,
      ingress,
      metrics,
      rpc,
      backend,
      verifier,
      signer,
      identity,
    });
    fatal.signal.addEventListener('abort', () => {
      log.fatal({ message: String(fatal.signal.reason) }, 'stopping: continuing could fork the chain');
      void node.stop().finally(() => process.exit(70));
    });
    chain.onCommit((c) => reactions.onCommitted(c));
    p2p.setMessageHandler('consensus', (peer, bytes) => driver.onMessage(peer.peerId, bytes));
    p2p.setMessageHandler('tx', (peer, bytes) => ingress.onForwardedTxs(peer.peerId, bytes));
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

  /** Admits a transaction from a client (as tx_submit does); see TxIngress. */
  submit(bytes: Uint8Array): PoolEntry {
    return this.ingress.submit(bytes);
  }

  status(): JsonObject {
    return nodeStatus(this);
  }

  /** Stops every part in reverse order of start; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping');
      this.syncer.stop();
      this.driver.stop();
      this.ingress.stop();
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
/** node_getStatus: who this node is and where it stands. */
function nodeStatus(n: {
  p2p: P2PHost;
  identity: Signer;
  signer: Signer | undefined;
  chain: Chain;
  replica: Replica<Block>;
  syncer: Syncer;
  mempool: Mempool;
}): JsonObject {
  return {
    nodeId: n.p2p.peerId,
    address: toHex(n.identity.address),
    role: n.signer ? 'validator' : 'observer',
    version: VERSION,
    chainId: n.chain.chainId,
    height: n.chain.height,
    latestHash: toHex(n.chain.hash),
    round: n.replica.round,
    view: n.replica.round,
    consensusStatus: n.replica.status,
    isValidator: n.replica.isMember,
    syncing: n.syncer.syncing,
    peers: n.p2p.connectedPeers().map((p) => p.peerId),
    mempool: { txs: n.mempool.size, bytes: n.mempool.bytes },
  };
}

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
