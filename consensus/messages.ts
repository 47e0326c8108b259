/**
 * Consensus wire messages (docs/protocol.md §2.2) and their canonical encoding. A frame is the canonical
 * encoding of one map:
 *
 * | kind         | fields                                                                     |
 * |--------------|----------------------------------------------------------------------------|
 * | PROPOSAL     | item, block, roundChanges (signed RC items), prepares (signed PREPAREs)    |
 * | PREPARE      | item                                                                       |
 * | COMMIT       | item                                                                       |
 * | ROUND-CHANGE | item, preparedBlock?, prepareCert? (signed PREPAREs)                       |
 * | DECIDED      | block, cert ({round, sigs: [[author, signature]...]})                      |
 *
 * where `item` is [payloadBytes, signature] (payload.ts). Decoding checks shape, sizes and that
 * every signed item has the type its slot requires; it verifies no signature and knows no
 * validator set: those checks belong to the replica, which knows the height's set.
 */
import {
  asBytes,
  asList,
  asMap,
  asString,
  decode,
  encode,
  expectKeys,
  type Value,
  type ValueMap,
} from '../crypto/encoding.js';
import type { CommitCertificate } from './certificate.js';
import { commitCertificateFromValue, commitCertificateValue } from './certificate.js';
import { CertificateError, MessageError } from './errors.js';
import { type ConsensusLimits, DEFAULT_LIMITS } from './limits.js';
import {
  decodeSignedItem,
  type RoundChangePayload,
  type SignedItem,
  type SignedType,
  signedItemValue,
  type VotePayload,
} from './payload.js';
import type { BlockPort } from './port.js';

export type MessageKind = SignedType | 'DECIDED';

export interface ProposalMessage<B> {
  kind: 'PROPOSAL';
  item: SignedItem<VotePayload>;
  block: B;
  blockBytes: Uint8Array;
  /** Signed RC payloads justifying a round > 0 (empty for round 0). */
  roundChanges: SignedItem<RoundChangePayload>[];
  /** Signed PREPAREs for the re-proposed value (empty unless re-proposing). */
  prepares: SignedItem<VotePayload>[];
}

export interface VoteMessage {
  kind: 'PREPARE' | 'COMMIT';
  item: SignedItem<VotePayload>;
}

export interface RoundChangeMessage<B> {
  kind: 'ROUND-CHANGE';
  item: SignedItem<RoundChangePayload>;
  preparedBlock?: { block: B; bytes: Uint8Array };
  prepareCert?: SignedItem<VotePayload>[];
}

export interface DecidedMessage<B> {
  kind: 'DECIDED';
  block: B;
  blockBytes: Uint8Array;
  cert: CommitCertificate;
}

export type SignedMessage<B> = ProposalMessage<B> | VoteMessage | RoundChangeMessage<B>;
export type Message<B> = SignedMessage<B> | DecidedMessage<B>;

export type DecodeLimits = Pick<
  ConsensusLimits,
  'messageBytesMax' | 'blockBytesMax' | 'validatorsMax' | 'chainIdBytesMax'
>;

export function encodeMessage<B>(m: Message<B>): Uint8Array {
  let v: ValueMap;
  switch (m.kind) {
    case 'PROPOSAL':
      v = {
        kind: m.kind,
        item: signedItemValue(m.item),
        block: m.blockBytes,
        roundChanges: m.roundChanges.map(signedItemValue),
        prepares: m.prepares.map(signedItemValue),
      };
      break;
    case 'PREPARE':
    case 'COMMIT':
      v = { kind: m.kind, item: signedItemValue(m.item) };
      break;
    case 'ROUND-CHANGE':
      v = {
        kind: m.kind,
        item: signedItemValue(m.item),
        preparedBlock: m.preparedBlock?.bytes,
        prepareCert: m.prepareCert?.map(signedItemValue),
      };
      break;
    case 'DECIDED':
      v = { kind: m.kind, block: m.blockBytes, cert: commitCertificateValue(m.cert) };
      break;
  }
  return encode(v);
}

function malformed(e: unknown): never {
  if (e instanceof MessageError) throw e;
  throw new MessageError('malformed', (e as Error).message);
}

export interface DecodeOptions {
  /**
   * A DECIDED whose block height (by `port.peekHeight`) is at or below this is refused with
   * MessageError 'stale' before its block is decoded: the caller has already left that height.
   */
  staleDecidedAtOrBelow?: number;
}

/**
 * A decoded frame whose blocks are still bytes. The replica authenticates an envelope (author in
 * the set, signature, certificate) before it pays for decoding a block of up to blockBytesMax
 * (`openEnvelope`): bytes before work, and authentication before buffering.
 */
export type Envelope =
  | {
      kind: 'PROPOSAL';
      item: SignedItem<VotePayload>;
      blockBytes: Uint8Array;
      roundChanges: SignedItem<RoundChangePayload>[];
      prepares: SignedItem<VotePayload>[];
    }
  | { kind: 'PREPARE' | 'COMMIT'; item: SignedItem<VotePayload> }
  | {
      kind: 'ROUND-CHANGE';
      item: SignedItem<RoundChangePayload>;
      preparedBlockBytes?: Uint8Array;
      prepareCert?: SignedItem<VotePayload>[];
    }
  | { kind: 'DECIDED'; blockBytes: Uint8Array; cert: CommitCertificate };

/**
 * Decodes one frame's structure and signed items, leaving blocks undecoded. Throws MessageError
 * (with a stable `code`) for anything that is not well-formed within the limits; never throws
 * anything else for bad input.
 */
export function decodeEnvelope(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): Envelope {
  if (bytes.length > limits.messageBytesMax) {
    throw new MessageError('too-large', `frame of ${bytes.length} bytes exceeds ${limits.messageBytesMax}`);
  }
  let m: ValueMap;
  let kind: string;
  try {
    m = asMap(decode(bytes), 'message');
    kind = asString(m.kind, 'message.kind');
  } catch (e) {
    malformed(e);
  }
  const blockBytes = (v: Value | undefined, what: string): Uint8Array => {
    let b: Uint8Array;
    try {
      b = asBytes(v, what);
    } catch (e) {
      malformed(e);
    }
    if (b.length > limits.blockBytesMax) throw new MessageError('too-large', `${what}: ${b.length} bytes`);
    return b;
  };
  const item = <T extends SignedType>(v: Value | undefined, what: string, type: T) => {
    const it = decodeSignedItem(v, what, limits.chainIdBytesMax);
    if (it.payload.type !== type)
      throw new MessageError('bad-kind', `${what}: expected a ${type}, got ${it.payload.type}`);
    return it as SignedItem<T extends 'ROUND-CHANGE' ? RoundChangePayload : VotePayload>;
  };
  const items = <T extends SignedType>(v: Value | undefined, what: string, type: T) => {
    let list: Value[];
    try {
      list = asList(v, what);
    } catch (e) {
      malformed(e);
    }
    if (list.length > limits.validatorsMax) {
      throw new MessageError(
        'too-many-items',
        `${what}: ${list.length} items exceed ${limits.validatorsMax}`,
      );
    }
    return list.map((x, i) => item(x, `${what}[${i}]`, type));
  };
  const keys = (required: string[], optional: string[] = []) => {
    try {
      expectKeys(m, required, optional, kind);
    } catch (e) {
      malformed(e);
    }
  };
  switch (kind) {
    case 'PROPOSAL': {
      keys(['kind', 'item', 'block', 'roundChanges', 'prepares']);
      return {
        kind,
        item: item(m.item, 'PROPOSAL.item', 'PROPOSAL'),
        blockBytes: blockBytes(m.block, 'PROPOSAL.block'),
        roundChanges: items(m.roundChanges, 'PROPOSAL.roundChanges', 'ROUND-CHANGE'),
        prepares: items(m.prepares, 'PROPOSAL.prepares', 'PREPARE'),
      };
    }
    case 'PREPARE':
    case 'COMMIT':
      keys(['kind', 'item']);
      return { kind, item: item(m.item, `${kind}.item`, kind) };
    case 'ROUND-CHANGE': {
      keys(['kind', 'item'], ['preparedBlock', 'prepareCert']);
      const out: Envelope = { kind, item: item(m.item, 'ROUND-CHANGE.item', 'ROUND-CHANGE') };
      if (m.preparedBlock !== undefined)
        out.preparedBlockBytes = blockBytes(m.preparedBlock, 'ROUND-CHANGE.preparedBlock');
      if (m.prepareCert !== undefined)
        out.prepareCert = items(m.prepareCert, 'ROUND-CHANGE.prepareCert', 'PREPARE');
      return out;
    }
    case 'DECIDED': {
      keys(['kind', 'block', 'cert']);
      const b = blockBytes(m.block, 'DECIDED.block');
      let cert: CommitCertificate;
      try {
        cert = commitCertificateFromValue(m.cert, limits.validatorsMax);
      } catch (e) {
        if (e instanceof CertificateError) throw new MessageError('malformed', e.message);
        throw e;
      }
      return { kind, blockBytes: b, cert };
    }
    default:
      throw new MessageError('bad-kind', `unknown message kind ${JSON.stringify(kind)}`);
  }
}

/** Decodes an envelope's blocks: MessageError 'bad-block' when one is not a canonical block. */
export function openEnvelope<B>(env: Envelope, port: BlockPort<B>): Message<B> {
  const block = (bytes: Uint8Array, what: string): { block: B; bytes: Uint8Array } => {
    try {
      return { block: port.decode(bytes), bytes };
    } catch (e) {
      throw new MessageError('bad-block', `${what}: ${(e as Error).message}`);
    }
  };
  switch (env.kind) {
    case 'PROPOSAL': {
      const b = block(env.blockBytes, 'PROPOSAL.block');
      return {
        kind: env.kind,
        item: env.item,
        block: b.block,
        blockBytes: b.bytes,
        roundChanges: env.roundChanges,
        prepares: env.prepares,
      };
    }
    case 'PREPARE':
    case 'COMMIT':
      return env;
    case 'ROUND-CHANGE': {
      const out: RoundChangeMessage<B> = { kind: env.kind, item: env.item };
      if (env.preparedBlockBytes !== undefined)
        out.preparedBlock = block(env.preparedBlockBytes, 'ROUND-CHANGE.preparedBlock');
      if (env.prepareCert !== undefined) out.prepareCert = env.prepareCert;
      return out;
    }
    case 'DECIDED': {
      const b = block(env.blockBytes, 'DECIDED.block');
      return { kind: env.kind, block: b.block, blockBytes: b.bytes, cert: env.cert };
    }
  }
}

/**
 * Decodes one frame whole (envelope, then blocks). Throws MessageError (with a stable `code`) for
 * anything that is not a well-formed message within the limits; never throws anything else for
 * bad input. The replica itself decodes in two stages (decodeEnvelope, authenticate, then
 * openEnvelope); this is for tools, tests and the simulator.
 */
export function decodeMessage<B>(
  bytes: Uint8Array,
  port: BlockPort<B>,
  limits: DecodeLimits = DEFAULT_LIMITS,
  options: DecodeOptions = {},
): Message<B> {
  const env = decodeEnvelope(bytes, limits);
  const floor = options.staleDecidedAtOrBelow;
  if (env.kind === 'DECIDED' && floor !== undefined && port.peekHeight) {
    const height = port.peekHeight(env.blockBytes);
    if (height !== undefined && height <= floor) {
      throw new MessageError('stale', `DECIDED for height ${height}, at or below ${floor}`);
    }
  }
  return openEnvelope(env, port);
}

/** The DECIDED frame for a committed block: what the driver sends to answer a `serveDecided` request. */
export function encodeDecidedMessage<B>(port: BlockPort<B>, block: B, cert: CommitCertificate): Uint8Array {
  return encodeMessage<B>({ kind: 'DECIDED', block, blockBytes: port.encode(block), cert });
}

/** The height a message is about: the payload's, or the block's for DECIDED. */
export function messageHeight<B>(m: Message<B>, port: BlockPort<B>): number {
  return m.kind === 'DECIDED' ? port.height(m.block) : m.item.payload.height;
}
