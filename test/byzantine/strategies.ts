/**
 * Hostile strategies for the Byzantine e2e suite (test only: never imported by the shipped node).
 *
 * Each strategy takes a running, real SynodNode (node/node.ts) and rewires it from the outside:
 * it replaces the driver's `build`, wraps the p2p host's `broadcast`, swaps the sync handler or
 * the libp2p stream handlers. Everything else (consensus core, ledger, store, p2p) is the real
 * code, so the attacker speaks the protocol exactly as far as it chooses to.
 *
 * Every loop here is bounded in count and in time (HOSTILE_DURATION_MS) and stops by itself.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { encodeMessage } from '../../consensus/messages.js';
import {
  decodeSignedItem,
  encodePayload,
  type RoundChangePayload,
  type SignedItem,
  type VotePayload,
} from '../../consensus/payload.js';
import { Signer } from '../../crypto/ed25519.js';
import { asList, asMap, asString, decode, encode, type ValueMap } from '../../crypto/encoding.js';
import { type BuiltBlock, buildBlock } from '../../ledger/block.js';
import { encodeBlock, encodeCert, encodeSignedTx } from '../../ledger/codec.js';
import { getAccount } from '../../ledger/state.js';
import { dataPutTx, signTx } from '../../ledger/tx-builder.js';
import type { Block, SignedTransaction } from '../../ledger/types.js';
import { ledgerBlockPort } from '../../node/block-port.js';
import { readKeyFile } from '../../node/keyfile.js';
import type { Logger } from '../../node/log.js';
import type { SynodNode } from '../../node/node.js';
import { FrameTooLargeError } from '../../node/p2p/errors.js';
import type { ResolvedOptions } from '../../node/p2p/options.js';
import { type OneWayProtocol, PROTOCOLS } from '../../node/p2p/protocols.js';
import type { PeerInfo } from '../../node/p2p/types.js';
import { SynodClient } from '../../rpc/client.js';

export const STRATEGY_NAMES = [
  'none',
  'oversize-proposer',
  'oversize-round-change',
  'timestamps',
  'equivocation',
  'flood',
  'sync-liar',
  'tx-flood',
  'slow-reader',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface HostileContext {
  node: SynodNode;
  /** This node's index in the devnet (node-<i>). */
  index: number;
  /** The devnet folder (genesis.json, keys/). */
  devnetDir: string;
  log: Logger;
  /** How long the attack may run at most. */
  durationMs: number;
}

/** What the driver's private `build` looks like (node/consensus-driver.ts). */
type BuildFn = (height: number, round: number, minTimestampMs: number) => void;
interface DriverInternals {
  build: BuildFn;
  enqueue(event: unknown): void;
}

function internals(node: SynodNode): DriverInternals {
  return node.driver as unknown as DriverInternals;
}

/** The frame limits the running host enforces (private in P2PHost; read, never written). */
export function frameMax(node: SynodNode, protocol: 'consensus' | 'tx' | 'sync'): number {
  return (node.p2p as unknown as { opts: ResolvedOptions }).opts.maxFrame[protocol];
}

/** Resolves once the chain reaches `height` (or the deadline passes). */
async function untilHeight(node: SynodNode, height: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (node.chain.height < height && Date.now() < deadline) await sleep(100);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Logs "hostile attack started" once: the harness measures time to ban from this line. */
function started(ctx: HostileContext, what: string): void {
  const flag = ctx as HostileContext & { startedLogged?: boolean };
  if (flag.startedLogged) return;
  flag.startedLogged = true;
  ctx.log.warn({ what }, 'hostile attack started');
}

async function adminSigner(ctx: HostileContext): Promise<Signer> {
  const key = await readKeyFile(join(ctx.devnetDir, 'keys', `member-${ctx.index}.json`));
  return new Signer(key.secretKey);
}

/** The original send/broadcast, before any strategy wraps them; a too-large frame is dropped. */
function rawOut(node: SynodNode, log: Logger) {
  const p2p = node.p2p;
  const send = p2p.send.bind(p2p);
  const broadcast = p2p.broadcast.bind(p2p);
  const guard = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        log.info({ err: err.message }, 'hostile: own frame too large for the limit; dropped');
        return fallback;
      }
      throw err;
    }
  };
  return {
    send: (peer: string, protocol: OneWayProtocol, bytes: Uint8Array) =>
      guard(() => send(peer, protocol, bytes), false),
    broadcast: (protocol: OneWayProtocol, bytes: Uint8Array) => guard(() => broadcast(protocol, bytes), 0),
  };
}

/** kind, and the signed payload of a consensus frame (undefined for DECIDED or garbage). */
function peekConsensus(bytes: Uint8Array): { kind: string; item?: SignedItem; map: ValueMap } | undefined {
  try {
    const map = asMap(decode(bytes), 'message');
    const kind = asString(map.kind, 'kind');
    if (kind === 'DECIDED') return { kind, map };
    return { kind, item: decodeSignedItem(map.item, 'item'), map };
  } catch {
    return undefined;
  }
}

// ---- Padded blocks ---------------------------------------------------------------------------

/**
 * Builds a block for the next height padded with the attacker's own signed data.put
 * transactions (values above dataValueBytesMax fail with FIELD_TOO_LARGE: included, with a
 * failure receipt) to exactly `targetBytes` of encoded block, or a few bytes under.
 */
function buildPadded(
  node: SynodNode,
  admin: Signer,
  round: number,
  timestamp: number,
  targetBytes: number,
): BuiltBlock {
  const chain = node.chain;
  const params = chain.params;
  const account = getAccount(chain.state, admin.address);
  const nonce0 = account?.nonce ?? 0;
  const head = (i: number) => ({ chainId: chain.chainId, from: admin.address, nonce: nonce0 + i });
  const key = (i: number) => `pad-${chain.height + 1}-${round}-${i}`;
  const tx = (i: number, valueBytes: number): SignedTransaction =>
    signTx(dataPutTx(head(i), key(i), new Uint8Array(Math.max(0, valueBytes)).fill(0x61)), admin);
  // Size of a transaction besides its value (same varint widths for values of one magnitude).
  const probe = 32 * 1024;
  const overhead = encodeSignedTx(tx(0, probe)).length - probe;
  const fullValue = params.txBytesMax - overhead - 8;
  const txs: SignedTransaction[] = [];
  const build = (list: SignedTransaction[]) =>
    buildBlock(chain.state, chain.header, {
      txs: list,
      proposer: node.signer!.address,
      view: round,
      timestamp,
      limits: { bytesMax: targetBytes },
      // Our own signatures: no need to check them.
      isVerified: () => true,
    });
  // Full transactions while they fit, then one filler tuned to the remaining bytes.
  let built = build([]);
  let size = encodeBlock(built.block).length;
  const fullSize = encodeSignedTx(tx(0, fullValue)).length + 4;
  while (size + fullSize <= targetBytes && txs.length < 10_000) {
    txs.push(tx(txs.length, fullValue));
    size += fullSize;
  }
  built = build(txs);
  size = encodeBlock(built.block).length;
  let filler = targetBytes - size - overhead - 8;
  for (let attempt = 0; attempt < 8 && filler > 0; attempt++) {
    const candidate = build([...txs, tx(txs.length, filler)]);
    const got = encodeBlock(candidate.block).length;
    if (candidate.block.txs.length === txs.length + 1 && got <= targetBytes) {
      built = candidate;
      size = got;
      if (targetBytes - got <= 8) break;
      filler += targetBytes - got;
    } else {
      filler -= Math.max(1, got - targetBytes);
    }
  }
  return built;
}

/**
 * The largest block a PROPOSAL frame of round 0 can carry: the chain's blockBytesMax, or less
 * when the consensus frame limit leaves less room once the proposal's envelope is added.
 */
function largestProposableBlock(node: SynodNode): number {
  const limit = frameMax(node, 'consensus');
  const blockMax = node.chain.params.blockBytesMax;
  const sample = Math.min(blockMax, limit);
  const dummyItem = [new Uint8Array(160), new Uint8Array(64)];
  const envelope =
    encode({
      kind: 'PROPOSAL',
      item: dummyItem,
      block: new Uint8Array(sample),
      roundChanges: [],
      prepares: [],
    }).length - sample;
  return Math.min(blockMax, limit - envelope - 16);
}

/**
 * Replaces the driver's build with one that proposes `make(height, round, minTimestampMs)`; the
 * block goes the same way as an honest one (remembered as executed, then `proposalBuilt`).
 */
function replaceBuild(
  ctx: HostileContext,
  make: (height: number, round: number, minTimestampMs: number) => BuiltBlock | undefined,
): void {
  const d = internals(ctx.node);
  const honest = d.build.bind(d);
  d.build = (height, round, minTimestampMs) => {
    const node = ctx.node;
    if (height !== node.chain.height + 1) return;
    let built: BuiltBlock | undefined;
    try {
      built = make(height, round, minTimestampMs);
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message }, 'hostile: build failed; building honestly');
    }
    if (!built) return honest(height, round, minTimestampMs);
    node.chain.remember(built);
    ctx.log.info(
      {
        height,
        round,
        txs: built.block.txs.length,
        bytes: encodeBlock(built.block).length,
        timestamp: built.block.header.timestamp,
      },
      'hostile: proposing',
    );
    d.enqueue({ type: 'proposalBuilt', nowMs: Date.now(), height, round, block: built.block });
  };
}

// ---- 1. Oversized blocks ---------------------------------------------------------------------

/**
 * Proposes blocks padded to the largest size a PROPOSAL frame allows. `roundChange`: the
 * proposal and our PREPARE go to two honest peers only and our COMMIT is withheld, so those two
 * prepare the block but cannot decide: at the timeout they send ROUND-CHANGEs carrying it.
 */
async function oversize(ctx: HostileContext, roundChange: boolean): Promise<void> {
  const admin = await adminSigner(ctx);
  const out = rawOut(ctx.node, ctx.log);
  const deadline = Date.now() + ctx.durationMs;
  const withheld = new Set<string>();
  const chosen = new Map<string, string[]>();
  replaceBuild(ctx, (height, round, minTs) => {
    if (round !== 0 || Date.now() > deadline || ctx.node.chain.height < 2) return undefined;
    const target = largestProposableBlock(ctx.node);
    const built = buildPadded(ctx.node, admin, round, Math.max(Date.now(), minTs), target);
    started(ctx, roundChange ? 'oversize-round-change' : 'oversize-proposer');
    if (roundChange) withheld.add(`${height}/${round}`);
    return built;
  });
  ctx.node.p2p.broadcast = (protocol, bytes) => {
    if (protocol !== 'consensus') return out.broadcast(protocol, bytes);
    const m = peekConsensus(bytes);
    const p = m?.item?.payload;
    const key = p ? `${p.height}/${p.round}` : '';
    if (!m || !p || !withheld.has(key)) return out.broadcast(protocol, bytes);
    if (m.kind === 'COMMIT') return 0;
    if (m.kind !== 'PROPOSAL' && m.kind !== 'PREPARE') return out.broadcast(protocol, bytes);
    let two = chosen.get(key);
    if (!two) {
      two = ctx.node.p2p
        .connectedPeers()
        .map((x) => x.peerId)
        .sort()
        .slice(0, 2);
      chosen.set(key, two);
    }
    for (const peer of two) out.send(peer, protocol, bytes);
    return two.length;
  };
}

// ---- 2. Timestamps -----------------------------------------------------------------------------

/** Alternates proposals stamped now + clockSkewMsMax - 1 (valid, at the edge) and + skew + 500. */
async function timestamps(ctx: HostileContext): Promise<void> {
  let n = 0;
  const deadline = Date.now() + ctx.durationMs;
  replaceBuild(ctx, (_height, round, minTs) => {
    const node = ctx.node;
    if (Date.now() > deadline || node.chain.height < 2) return undefined;
    const skew = node.chain.params.clockSkewMsMax;
    const beyond = n++ % 2 === 1;
    const timestamp = Math.max(Date.now() + (beyond ? skew + 500 : skew - 1), minTs);
    started(ctx, 'timestamps');
    return buildBlock(node.chain.state, node.chain.header, {
      txs: [],
      proposer: node.signer!.address,
      view: round,
      timestamp,
    });
  });
}

// ---- 3. Equivocation ---------------------------------------------------------------------------

function signVote(
  node: SynodNode,
  type: 'PROPOSAL' | 'PREPARE' | 'COMMIT',
  height: number,
  round: number,
  digest: Uint8Array,
): SignedItem<VotePayload> {
  const payload: VotePayload = {
    type,
    chainId: node.chain.chainId,
    height,
    round,
    author: node.signer!.address,
    digest,
  };
  const signed = encodePayload(payload);
  return { payload, signed, signature: node.signer!.sign(signed) };
}

/**
 * Our PROPOSAL goes as built to one peer and as a second, different block (timestamp + 1) to
 * the others; each PREPARE and COMMIT we send is followed by a second one for another digest.
 */
async function equivocation(ctx: HostileContext): Promise<void> {
  const node = ctx.node;
  const out = rawOut(node, ctx.log);
  const deadline = Date.now() + ctx.durationMs;
  const twins = new Map<string, Block>();
  replaceBuild(ctx, (height, round, minTs) => {
    if (Date.now() > deadline || node.chain.height < 2) return undefined;
    const ts = Math.max(Date.now(), minTs);
    const make = (timestamp: number) =>
      buildBlock(node.chain.state, node.chain.header, {
        txs: [],
        proposer: node.signer!.address,
        view: round,
        timestamp,
      });
    twins.set(`${height}/${round}`, make(ts + 1).block);
    if (twins.size > 64) twins.delete(twins.keys().next().value!);
    return make(ts);
  });
  node.p2p.broadcast = (protocol, bytes) => {
    if (protocol !== 'consensus' || Date.now() > deadline) return out.broadcast(protocol, bytes);
    const m = peekConsensus(bytes);
    const p = m?.item?.payload;
    if (!m || !p || p.type === 'ROUND-CHANGE') return out.broadcast(protocol, bytes);
    const { height, round } = p;
    if (m.kind === 'PROPOSAL') {
      const twin = twins.get(`${height}/${round}`);
      if (!twin) return out.broadcast(protocol, bytes);
      started(ctx, 'equivocation');
      const original = decodeMessageLoose(bytes);
      const twinBytes = encodeMessage<Block>({
        kind: 'PROPOSAL',
        item: signVote(node, 'PROPOSAL', height, round, ledgerBlockPort.hash(twin)),
        block: twin,
        blockBytes: ledgerBlockPort.encode(twin),
        roundChanges: (original?.roundChanges ?? []) as SignedItem<RoundChangePayload>[],
        prepares: (original?.prepares ?? []) as SignedItem<VotePayload>[],
      });
      const peers = node.p2p
        .connectedPeers()
        .map((x) => x.peerId)
        .sort();
      for (const [i, peer] of peers.entries()) out.send(peer, protocol, i === 0 ? bytes : twinBytes);
      ctx.log.info({ height, round, peers: peers.length }, 'hostile: sent two proposals');
      return peers.length;
    }
    const n = out.broadcast(protocol, bytes);
    if (m.kind === 'PREPARE' || m.kind === 'COMMIT') {
      started(ctx, 'equivocation');
      const other = signVote(node, m.kind, height, round, randomBytes(32));
      out.broadcast(protocol, encodeMessage<Block>({ kind: m.kind, item: other }));
    }
    return n;
  };
}

/** The round changes and prepares of one of our own PROPOSAL frames. */
function decodeMessageLoose(
  bytes: Uint8Array,
): { roundChanges: SignedItem[]; prepares: SignedItem[] } | undefined {
  try {
    const m = asMap(decode(bytes), 'message');
    return {
      roundChanges: asList(m.roundChanges, 'rc').map((v) => decodeSignedItem(v, 'rc')),
      prepares: asList(m.prepares, 'prepares').map((v) => decodeSignedItem(v, 'prepares')),
    };
  } catch {
    return undefined;
  }
}

// ---- 4. Floods of garbage-signed and future-height frames ---------------------------------------

/**
 * Every 50 ms per peer: a PROPOSAL for height h+1 (h: the height being decided) carrying a
 * block padded to the frame limit, signed with random bytes; one in four is instead a
 * current-height PROPOSAL with a bad signature. Each frame differs (round numbers), so no
 * dedup can fold them. Bounded: FLOOD_FRAMES_MAX frames per peer, and the duration.
 */
const FLOOD_FRAMES_MAX = 1_500;
async function flood(ctx: HostileContext): Promise<void> {
  const node = ctx.node;
  const out = rawOut(node, ctx.log);
  const admin = await adminSigner(ctx);
  await untilHeight(node, 3);
  started(ctx, 'flood');
  const deadline = Date.now() + ctx.durationMs;
  let blockBytes: Uint8Array | undefined;
  let blockAt = -1;
  let sent = 0;
  let round = 0;
  while (Date.now() < deadline && sent < FLOOD_FRAMES_MAX * 4) {
    const h = node.chain.height + 1;
    if (blockAt !== h || !blockBytes) {
      // A well-formed block (decodes) for a height we do not know the parent of.
      const built = buildPadded(node, admin, 0, Date.now(), largestProposableBlock(node));
      const block = { ...built.block, header: { ...built.block.header, height: h + 1 } };
      blockBytes = encodeBlock(block);
      blockAt = h;
    }
    const peers = node.p2p.connectedPeers();
    for (const peer of peers) {
      round++;
      const future = round % 4 !== 0;
      const payload: VotePayload = {
        type: 'PROPOSAL',
        chainId: node.chain.chainId,
        height: future ? h + 1 : h,
        round,
        author: node.signer!.address,
        digest: randomBytes(32),
      };
      const frame = encode({
        kind: 'PROPOSAL',
        item: [encodePayload(payload), randomBytes(64)],
        block: blockBytes,
        roundChanges: [],
        prepares: [],
      });
      if (out.send(peer.peerId, 'consensus', frame)) sent++;
    }
    if (round % 100 === 0) ctx.log.info({ sent, round }, 'hostile: flooding');
    await sleep(50);
  }
  ctx.log.info({ sent }, 'hostile: flood over');
}

// ---- 5. A lying sync server --------------------------------------------------------------------

/**
 * Status claims height 2^53-1; block requests are answered, in turn, with 9,000 stale blocks,
 * with 10,001 frames (more than a requester accepts), and with blocks for heights nobody asked.
 */
async function syncLiar(ctx: HostileContext): Promise<void> {
  const node = ctx.node;
  const deadline = Date.now() + ctx.durationMs;
  let served = 0;
  let stale: Uint8Array[] = [];
  const staleFrames = async (): Promise<Uint8Array[]> => {
    if (stale.length >= 4) return stale;
    const list: Uint8Array[] = [];
    for (let h = 1; h <= Math.min(node.chain.height, 16); h++) {
      const [block, cert] = await Promise.all([node.chain.store.getBlock(h), node.chain.store.getCert(h)]);
      if (block && cert) list.push(encode({ block: encodeBlock(block), cert: encodeCert(cert) }));
    }
    stale = list;
    return list;
  };
  const honest = (node.p2p as unknown as { syncHandler: Parameters<typeof node.p2p.setSyncHandler>[0] })
    .syncHandler;
  node.p2p.setSyncHandler((peer: PeerInfo, request: Uint8Array, signal: AbortSignal) => {
    if (Date.now() > deadline || node.chain.height < 3) return honest!(peer, request, signal);
    let type = '';
    let from = 0;
    try {
      const m = asMap(decode(request), 'request');
      type = asString(m.type, 'type');
      from = typeof m.from === 'bigint' || typeof m.from === 'number' ? Number(m.from) : 0;
    } catch {
      return honest!(peer, request, signal);
    }
    started(ctx, 'sync-liar');
    if (type === 'status') {
      return [encode({ height: 2 ** 53 - 1, hash: randomBytes(32) })];
    }
    const mode = served++ % 3;
    return (async function* () {
      const frames = await staleFrames();
      if (frames.length === 0) return;
      if (mode === 2) {
        // Well-formed blocks for heights far above the one asked for.
        for (let i = 0; i < 64 && !signal.aborted; i++) {
          const b = await node.chain.store.getBlock(1);
          const c = await node.chain.store.getCert(1);
          if (!b || !c) return;
          const moved = { ...b, header: { ...b.header, height: from + 1_000 + i } };
          yield encode({ block: encodeBlock(moved), cert: encodeCert(c) });
        }
        return;
      }
      const count = mode === 0 ? 9_000 : 10_001;
      for (let i = 0; i < count && !signal.aborted; i++) yield frames[i % frames.length]!;
    })();
  });
}

// ---- 6. Oversized forward batches on the tx protocol ------------------------------------------------

/**
 * Every 250 ms per peer, a tx frame at the frame limit: random garbage; a list header claiming
 * 2^31 items; a well-formed list of one item of the whole frame; a well-formed list of 10,000
 * small junk items. Then, as a client, a burst of large data.put transactions to honest node 0's
 * RPC (forwarded batches of these exceed the frame limit unless the node bounds them in bytes).
 */
const TX_FRAMES_MAX = 400;
async function txFlood(ctx: HostileContext): Promise<void> {
  const node = ctx.node;
  const out = rawOut(node, ctx.log);
  await untilHeight(node, 3);
  started(ctx, 'tx-flood');
  const deadline = Date.now() + ctx.durationMs;
  const limit = frameMax(node, 'tx');
  const garbage = randomBytes(limit - 16);
  // TAG_LIST, count 2^31 as LEB128, then junk.
  const hugeCount = new Uint8Array(limit - 16);
  hugeCount.set([0x06, 0x80, 0x80, 0x80, 0x80, 0x08]);
  const one = encode([randomBytes(limit - 64)]);
  const many = encode(
    Array.from({ length: 10_000 }, () => randomBytes(Math.floor((limit - 64 * 1024) / 10_000))),
  );
  const variants = [garbage, hugeCount, one, many];
  void clientBurst(ctx, deadline);
  let sent = 0;
  for (let i = 0; i < TX_FRAMES_MAX * 4 && Date.now() < deadline; i++) {
    for (const peer of node.p2p.connectedPeers()) {
      if (out.send(peer.peerId, 'tx', variants[i % variants.length]!)) sent++;
    }
    await sleep(250);
  }
  ctx.log.info({ sent }, 'hostile: tx flood over');
}

/** 400 data.put transactions of about txBytesMax each, 16 at a time, to node 0's RPC. */
async function clientBurst(ctx: HostileContext, deadline: number): Promise<void> {
  try {
    const node = ctx.node;
    const admin = await adminSigner(ctx);
    const port = node.config.http.port - ctx.index;
    const client = new SynodClient(`http://127.0.0.1:${port}/rpc`, { timeoutMs: 10_000 });
    const nonce0 = await client.nextNonce(admin.address);
    const params = node.chain.params;
    const value = new Uint8Array(params.txBytesMax - 512).fill(0x62);
    const txs = Array.from({ length: 400 }, (_, i) =>
      signTx(
        dataPutTx({ chainId: node.chain.chainId, from: admin.address, nonce: nonce0 + i }, `big-${i}`, value),
        admin,
      ),
    );
    let next = 0;
    let ok = 0;
    let failed = 0;
    const worker = async () => {
      while (next < txs.length && Date.now() < deadline) {
        const tx = txs[next++]!;
        try {
          await client.submitTx(tx);
          ok++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    ctx.log.info({ ok, failed }, 'hostile: client burst of large transactions done');
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'hostile: client burst failed');
  }
}

// ---- 7. A slow reader -----------------------------------------------------------------------------

/**
 * Accepts inbound consensus and tx streams and never reads them (the honest senders' writes
 * then stall on flow control); hangs up once so every peer reopens its streams under the new
 * handler. Its own outbound traffic and sync stay as they were.
 */
async function slowReader(ctx: HostileContext): Promise<void> {
  const node = ctx.node;
  const libp2p = node.p2p.libp2p;
  const held: unknown[] = [];
  for (const p of ['consensus', 'tx'] as const) {
    await libp2p.unhandle(PROTOCOLS[p]);
    await libp2p.handle(
      PROTOCOLS[p],
      ({ stream }) => {
        // Bounded: beyond this, streams are reset (the host would cap them at 8 anyway).
        if (held.length < 256) held.push(stream);
        else stream.abort(new Error('hostile: enough held'));
      },
      { maxInboundStreams: 8, maxOutboundStreams: 8 },
    );
  }
  await untilHeight(node, 3);
  started(ctx, 'slow-reader');
  for (const c of libp2p.getConnections()) await c.close().catch(() => {});
  const deadline = Date.now() + ctx.durationMs;
  while (Date.now() < deadline) {
    await sleep(5_000);
    ctx.log.info({ held: held.length }, 'hostile: holding unread streams');
  }
}

export async function arm(name: StrategyName, ctx: HostileContext): Promise<void> {
  ctx.log.warn({ strategy: name }, 'hostile node armed');
  switch (name) {
    case 'none':
      return;
    case 'oversize-proposer':
      return oversize(ctx, false);
    case 'oversize-round-change':
      return oversize(ctx, true);
    case 'timestamps':
      return timestamps(ctx);
    case 'equivocation':
      return equivocation(ctx);
    case 'flood':
      return flood(ctx);
    case 'sync-liar':
      return syncLiar(ctx);
    case 'tx-flood':
      return txFlood(ctx);
    case 'slow-reader':
      return slowReader(ctx);
  }
}
