/**
 * Byzantine behaviour for simulated replicas. A Byzantine node runs an honest core; this class
 * rewrites what the core sends and adds messages of its own, signed with the node's real key, so
 * every attack is one a real faulty validator could mount (it cannot forge others' signatures).
 */

import type { ConsensusLimits } from '../limits.js';
import { decodeMessage, encodeMessage, type Message, type ProposalMessage } from '../messages.js';
import { type RoundChangePayload, type SignFn, signPayload, type VotePayload } from '../payload.js';
import type { BlockPort } from '../port.js';
import { encodeSimBlock, type SimBlock } from './block.js';
import type { Prng } from './prng.js';
import type { ByzantineBehavior } from './scenario.js';

export interface AdversaryContext {
  chainId: string;
  port: BlockPort<SimBlock>;
  limits: Readonly<ConsensusLimits>;
  address: Uint8Array;
  sign: SignFn;
  /** Indices of every other node. */
  peers: () => number[];
  /** Addresses of the validators of a height (to impersonate proposers in bad blocks). */
  addressesAt: (height: number) => Uint8Array[];
  /** The node's current height and round, from its own core. */
  height: () => number;
  round: () => number;
  /** Hash and timestamp of the node's latest committed block. */
  head: () => { hash: Uint8Array; timestampMs: number };
  localNow: () => number;
  /** The fastest honest node's clock (timestamp-games aims proposals at its skew edge). */
  honestNowMax: () => number;
  /** The frame limit the network enforces: padded frames are made to fit it exactly. */
  frameBytesMax: number;
}

export interface Packet {
  to: number[];
  bytes: Uint8Array;
}

const HISTORY_MAX = 256;

export class Adversary {
  readonly behaviors: ReadonlySet<ByzantineBehavior>;
  private readonly history: Uint8Array[] = [];
  /** Digest of the alternative block sent per (height, round), so double votes can back it. */
  private readonly equivocated = new Map<string, Uint8Array>();
  private flood: { height: number; frames: Uint8Array[] } | undefined;
  private floodBytes: { height: number; frames: Uint8Array[] } | undefined;

  constructor(
    private readonly ctx: AdversaryContext,
    behaviors: readonly ByzantineBehavior[],
    private readonly rng: Prng,
  ) {
    this.behaviors = new Set(behaviors);
  }

  get silent(): boolean {
    return this.behaviors.has('silent');
  }

  /** Remembers a received frame for later replay. */
  observe(frame: Uint8Array): void {
    if (!this.behaviors.has('replay')) return;
    if (this.history.length >= HISTORY_MAX) this.history.splice(this.rng.int(HISTORY_MAX), 1);
    this.history.push(frame);
  }

  /** Rewrites the frames the honest core wants to broadcast. */
  outbound(frames: readonly Uint8Array[]): Packet[] {
    if (this.silent) return [];
    const out: Packet[] = [];
    const all = this.ctx.peers();
    for (const frame of frames) {
      const msg = decodeMessage(frame, this.ctx.port, this.ctx.limits);
      if (msg.kind === 'PROPOSAL' && msg.prepares.length === 0) {
        if (this.behaviors.has('timestamp-games') && this.rng.chance(0.7)) {
          const block = this.edgeTimestamp(msg.block);
          if (block) {
            out.push({ to: all, bytes: this.resignProposal(msg, block) });
            continue;
          }
        }
        if (this.behaviors.has('oversize-block') && this.rng.chance(0.7)) {
          out.push({ to: all, bytes: this.paddedProposal(msg) });
          continue;
        }
        if (this.behaviors.has('invalid-block') && this.rng.chance(0.7)) {
          out.push({ to: all, bytes: this.resignProposal(msg, this.invalidVariant(msg.block)) });
          continue;
        }
        if (this.behaviors.has('equivocate') && this.rng.chance(0.7)) {
          const alt: SimBlock = { ...msg.block, timestampMs: msg.block.timestampMs + 1 + this.rng.int(5) };
          const p = msg.item.payload;
          this.equivocated.set(`${p.height}/${p.round}`, this.ctx.port.hash(alt));
          const [a, b] = this.split(all);
          out.push({ to: a, bytes: frame }, { to: b, bytes: this.resignProposal(msg, alt) });
          continue;
        }
      }
      if (
        (msg.kind === 'PREPARE' || msg.kind === 'COMMIT') &&
        this.behaviors.has('double-vote') &&
        this.rng.chance(0.6)
      ) {
        const p = msg.item.payload;
        const other = this.equivocated.get(`${p.height}/${p.round}`) ?? this.rng.bytes(32);
        const item = signPayload<VotePayload>({ ...p, digest: other }, this.ctx.sign);
        const [a, b] = this.split(all);
        out.push({ to: a, bytes: frame }, { to: b, bytes: encodeMessage({ kind: msg.kind, item }) });
        continue;
      }
      out.push({ to: all, bytes: frame });
    }
    return out;
  }

  /** One burst of unsolicited misbehaviour; called periodically by the simulator. */
  periodic(): Packet[] {
    if (this.silent) return [];
    const out: Packet[] = [];
    const all = this.ctx.peers();
    const h = this.ctx.height();
    const r = this.ctx.round();
    if (this.behaviors.has('replay') && this.history.length > 0) {
      for (let i = 0; i < this.rng.range(1, 5); i++) {
        out.push({ to: [this.rng.pick(all)], bytes: this.rng.pick(this.history) });
      }
      // A vote signed for another chain must never count here.
      out.push({
        to: all,
        bytes: this.vote('PREPARE', h, r, this.rng.bytes(32), `${this.ctx.chainId}-other`),
      });
    }
    if (this.behaviors.has('flood-future')) {
      // Just over the per-peer bound, so every burst forces evictions (of this peer's own messages).
      // Signed once per height and re-sent: the buffer keeps unverified copies, so repeats count.
      if (this.flood?.height !== h) {
        const frames: Uint8Array[] = [];
        for (let i = 0; i < this.ctx.limits.bufferedMessagesPerPeerMax + 8; i++) {
          const height = h + 1 + (i % this.ctx.limits.futureHeightsMax);
          frames.push(this.vote(i % 2 ? 'PREPARE' : 'COMMIT', height, i, this.rng.bytes(32)));
        }
        for (let i = 0; i < 4; i++) frames.push(this.vote('PREPARE', h + 100 + i, 0, this.rng.bytes(32)));
        this.flood = { height: h, frames };
      }
      for (const bytes of this.flood.frames) out.push({ to: all, bytes });
    }
    if (this.behaviors.has('flood-bytes')) {
      // Built once per height (signing and padding cost), re-sent every burst: the buffer must
      // hold them in bytes, not count them as small messages.
      if (this.floodBytes?.height !== h) this.floodBytes = { height: h, frames: this.byteFlood(h) };
      for (const bytes of this.floodBytes.frames) out.push({ to: all, bytes });
    }
    if (this.behaviors.has('bogus-round-change')) {
      out.push({ to: all, bytes: this.bogusRoundChange(h, r) });
    }
    if (this.behaviors.has('forge-decided')) {
      out.push({ to: all, bytes: this.forgedDecided(h, r) });
    }
    if (this.behaviors.has('garbage')) {
      out.push({ to: [this.rng.pick(all)], bytes: this.garbage(h, r) });
    }
    return out;
  }

  private split(peers: number[]): [number[], number[]] {
    const shuffled = this.rng.shuffle([...peers]);
    const cut = 1 + this.rng.int(Math.max(1, shuffled.length - 1));
    return [shuffled.slice(0, cut), shuffled.slice(cut)];
  }

  private vote(
    type: 'PREPARE' | 'COMMIT',
    height: number,
    round: number,
    digest: Uint8Array,
    chainId = this.ctx.chainId,
  ): Uint8Array {
    const item = signPayload<VotePayload>(
      { type, chainId, height, round, author: this.ctx.address, digest },
      this.ctx.sign,
    );
    return encodeMessage({ kind: type, item });
  }

  /** The proposal re-signed for `block`; unsigned (a dummy signature of the same size) only to measure. */
  private resignProposal(msg: ProposalMessage<SimBlock>, block: SimBlock, signed = true): Uint8Array {
    const payload = { ...msg.item.payload, digest: this.ctx.port.hash(block) };
    const item = signPayload<VotePayload>(payload, signed ? this.ctx.sign : () => new Uint8Array(64));
    return encodeMessage<SimBlock>({ ...msg, item, block, blockBytes: encodeSimBlock(block) });
  }

  /**
   * The block with a timestamp at an edge of FRESH: some valid for every honest node, some for
   * only part of them (the skew edge of this clock or of the fastest honest one), some for none.
   * Undefined when the block is not on this node's head (its parent timestamp is unknown).
   */
  private edgeTimestamp(b: SimBlock): SimBlock | undefined {
    const head = this.ctx.head();
    if (!b.parentHash.every((x, i) => x === head.hash[i])) return undefined;
    const skew = this.ctx.limits.clockSkewMsMax;
    const now = this.ctx.localNow();
    const choices = [
      head.timestampMs + 1,
      now + skew,
      now + skew + 1,
      this.ctx.honestNowMax() + skew,
      now + 1_000 * skew,
      head.timestampMs,
    ];
    const ts = this.rng.pick(choices);
    return ts === b.timestampMs ? undefined : { ...b, timestampMs: ts };
  }

  /** Largest padding that keeps a block within blockBytesMax and `frame(block)` within the frame limit. */
  private pad(b: SimBlock, frame: (block: SimBlock) => Uint8Array): SimBlock {
    let size = Math.max(0, this.ctx.limits.blockBytesMax - encodeSimBlock(b).length - 8);
    // Shrink until both fit; the length prefix of the padding varies, so measure, do not compute.
    for (let i = 0; i < 8; i++) {
      const block: SimBlock = { ...b, padding: new Uint8Array(size) };
      const over = Math.max(
        encodeSimBlock(block).length - this.ctx.limits.blockBytesMax,
        frame(block).length - this.ctx.frameBytesMax,
      );
      if (over <= 0) return block;
      size = Math.max(0, size - over - (i > 3 ? 16 : 0));
    }
    return { ...b, padding: new Uint8Array(0) };
  }

  /** The proposal's block padded as far as the block and the PROPOSAL frame allow. */
  private paddedProposal(msg: ProposalMessage<SimBlock>): Uint8Array {
    const block = this.pad(msg.block, (x) => this.resignProposal(msg, x, false));
    return this.resignProposal(msg, block);
  }

  /**
   * Large frames for h+1 and h+2: proposals signed by this node (authenticated, so buffered),
   * round changes carrying a padded prepared block, DECIDEDs with padded blocks and bogus
   * certificates, and proposals under other validators' names with signatures they never made.
   */
  private byteFlood(h: number): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const others = this.ctx.addressesAt(h).filter((a) => !a.every((x, i) => x === this.ctx.address[i]));
    for (let d = 1; d <= this.ctx.limits.futureHeightsMax; d++) {
      const height = h + d;
      for (let round = 0; round < 2; round++) {
        const base = { ...this.junkBlock(height, round), timestampMs: this.ctx.localNow() };
        const proposal = (block: SimBlock, signed = true) => {
          const payload: VotePayload = {
            type: 'PROPOSAL',
            chainId: this.ctx.chainId,
            height,
            round,
            author: this.ctx.address,
            digest: this.ctx.port.hash(block),
          };
          const item = signPayload<VotePayload>(payload, signed ? this.ctx.sign : () => new Uint8Array(64));
          return encodeMessage<SimBlock>({
            kind: 'PROPOSAL',
            item,
            block,
            blockBytes: encodeSimBlock(block),
            roundChanges: [],
            prepares: [],
          });
        };
        const block = this.pad(base, (x) => proposal(x, false));
        frames.push(proposal(block));
        const rc = signPayload<RoundChangePayload>(
          {
            type: 'ROUND-CHANGE',
            chainId: this.ctx.chainId,
            height,
            round: round + 1,
            author: this.ctx.address,
            prepared: { round, digest: this.ctx.port.hash(block) },
          },
          this.ctx.sign,
        );
        frames.push(
          encodeMessage<SimBlock>({
            kind: 'ROUND-CHANGE',
            item: rc,
            preparedBlock: { block, bytes: encodeSimBlock(block) },
            prepareCert: [],
          }),
        );
        frames.push(
          encodeMessage<SimBlock>({
            kind: 'DECIDED',
            block,
            blockBytes: encodeSimBlock(block),
            cert: { round, sigs: [] },
          }),
        );
        if (others.length > 0) {
          // Another validator's name on a signature it never made (this node's own, re-used).
          const name = this.rng.pick(others);
          const forged = this.pad(base, (x) => proposal(x, false));
          const own = signPayload<VotePayload>(
            {
              type: 'PROPOSAL',
              chainId: this.ctx.chainId,
              height,
              round,
              author: this.ctx.address,
              digest: this.ctx.port.hash(forged),
            },
            this.ctx.sign,
          );
          const item = signPayload<VotePayload>({ ...own.payload, author: name }, () => own.signature);
          frames.push(
            encodeMessage<SimBlock>({
              kind: 'PROPOSAL',
              item,
              block: forged,
              blockBytes: encodeSimBlock(forged),
              roundChanges: [],
              prepares: [],
            }),
          );
        }
      }
    }
    return frames;
  }

  /** A block that fails FRESH in one of the ways of docs/protocol.md §9 #19. */
  private invalidVariant(b: SimBlock): SimBlock {
    switch (this.rng.int(6)) {
      case 0:
        return { ...b, stateRoot: this.rng.bytes(32) };
      case 1:
        return { ...b, txs: [...b.txs, `forged-${this.rng.u32()}`] };
      case 2:
        return { ...b, timestampMs: this.ctx.localNow() + 50 * this.ctx.limits.clockSkewMsMax };
      case 3:
        return { ...b, view: b.view + 1 };
      case 4: {
        const others = this.ctx
          .addressesAt(b.height)
          .filter((a) => !a.every((x, i) => x === this.ctx.address[i]));
        return { ...b, proposer: others.length > 0 ? this.rng.pick(others) : this.rng.bytes(20) };
      }
      default:
        return { ...b, txs: b.txs.length > 0 ? [...b.txs, b.txs[0]!] : [`forged-${this.rng.u32()}`] };
    }
  }

  private bogusRoundChange(h: number, r: number): Uint8Array {
    const base: RoundChangePayload = {
      type: 'ROUND-CHANGE',
      chainId: this.ctx.chainId,
      height: h,
      round: r + 1,
      author: this.ctx.address,
    };
    switch (this.rng.int(4)) {
      case 0: {
        // A prepared claim with no block and no certificate (§9 #11).
        const item = signPayload(
          { ...base, prepared: { round: r, digest: this.rng.bytes(32) } },
          this.ctx.sign,
        );
        return encodeMessage<SimBlock>({ kind: 'ROUND-CHANGE', item });
      }
      case 1: {
        // A prepared claim backed only by its own PREPARE: far below a quorum.
        const block = this.junkBlock(h, r);
        const digest = this.ctx.port.hash(block);
        const prepare = signPayload<VotePayload>(
          {
            type: 'PREPARE',
            chainId: this.ctx.chainId,
            height: h,
            round: r,
            author: this.ctx.address,
            digest,
          },
          this.ctx.sign,
        );
        const item = signPayload({ ...base, prepared: { round: r, digest } }, this.ctx.sign);
        return encodeMessage<SimBlock>({
          kind: 'ROUND-CHANGE',
          item,
          preparedBlock: { block, bytes: encodeSimBlock(block) },
          prepareCert: [prepare],
        });
      }
      case 2: {
        // An absurd round: f of these must move nobody (R6, §9 #8).
        const item = signPayload({ ...base, round: 1_000_000 + this.rng.int(1000) }, this.ctx.sign);
        return encodeMessage<SimBlock>({ kind: 'ROUND-CHANGE', item });
      }
      default: {
        // preparedRound not below the round.
        const item = signPayload(
          { ...base, prepared: { round: r + 1, digest: this.rng.bytes(32) } },
          this.ctx.sign,
        );
        return encodeMessage<SimBlock>({ kind: 'ROUND-CHANGE', item });
      }
    }
  }

  /** A well-formed block of this adversary's for (h, r) whose roots are random: valid nowhere. */
  private junkBlock(h: number, r: number): SimBlock {
    const head = this.ctx.head();
    return {
      height: h,
      view: r,
      parentHash: head.hash,
      timestampMs: head.timestampMs + 1,
      proposer: this.ctx.address,
      txs: [],
      stateRoot: this.rng.bytes(32),
      nextValidatorsHash: this.rng.bytes(32),
    };
  }

  private forgedDecided(h: number, r: number): Uint8Array {
    const block = this.junkBlock(h, r);
    const digest = this.ctx.port.hash(block);
    const own = signPayload<VotePayload>(
      { type: 'COMMIT', chainId: this.ctx.chainId, height: h, round: r, author: this.ctx.address, digest },
      this.ctx.sign,
    );
    const sig = { author: this.ctx.address, signature: own.signature };
    const others = this.ctx.addressesAt(h).filter((a) => !a.every((x, i) => x === this.ctx.address[i]));
    let sigs: { author: Uint8Array; signature: Uint8Array }[];
    switch (this.rng.int(3)) {
      case 0:
        sigs = [sig]; // too few signers
        break;
      case 1:
        sigs = Array.from({ length: others.length + 1 }, () => sig); // one signer, many times
        break;
      default:
        // Others' names with signatures they never made.
        sigs = [sig, ...others.map((author) => ({ author, signature: this.rng.bytes(64) }))].sort((x, y) =>
          Buffer.compare(Buffer.from(x.author), Buffer.from(y.author)),
        );
    }
    const msg: Message<SimBlock> = {
      kind: 'DECIDED',
      block,
      blockBytes: encodeSimBlock(block),
      cert: { round: r, sigs },
    };
    return encodeMessage(msg);
  }

  private garbage(h: number, r: number): Uint8Array {
    switch (this.rng.int(3)) {
      case 0:
        return this.rng.bytes(this.rng.range(0, 200));
      case 1: {
        const f = this.vote('PREPARE', h, r, this.rng.bytes(32));
        return f.subarray(0, this.rng.int(f.length));
      }
      default: {
        const f = this.vote('COMMIT', h, r, this.rng.bytes(32)).slice();
        const i = this.rng.int(f.length);
        f[i] = f[i]! ^ (1 + this.rng.int(255));
        return f;
      }
    }
  }
}
