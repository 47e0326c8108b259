/**
 * Signed consensus payloads (docs/protocol.md §2.1): what a validator signs, and nothing else.
 *
 * A payload is the canonical encoding (crypto/encoding.ts) of the list
 *   [domainTag, chainId, type, height, round, author, ...type-specific]
 * with domainTag = "synod/consensus/v1", so these signatures can never pass as transaction
 * signatures, and `type` keeps a PREPARE signature from passing as a COMMIT. Type-specific fields:
 *   PROPOSAL, PREPARE, COMMIT: digest (32 bytes)
 *   ROUND-CHANGE: nothing, or preparedRound and preparedDigest (both or neither: V-RC 2)
 * Blocks and justifications travel beside the payload, outside the signature (§2.1).
 */
import { ADDRESS_LENGTH, SIGNATURE_LENGTH } from '../crypto/ed25519.js';
import {
  asBytes,
  asList,
  asNumber,
  asString,
  decode,
  EncodingError,
  encode,
  type Value,
} from '../crypto/encoding.js';
import { MessageError } from './errors.js';

export const DOMAIN_TAG = 'synod/consensus/v1';
export const DIGEST_LENGTH = 32;

export type VoteType = 'PROPOSAL' | 'PREPARE' | 'COMMIT';
export type SignedType = VoteType | 'ROUND-CHANGE';
export const SIGNED_TYPES: readonly SignedType[] = ['PROPOSAL', 'PREPARE', 'COMMIT', 'ROUND-CHANGE'];

interface PayloadBase {
  chainId: string;
  height: number;
  round: number;
  /** 20-byte address of the signer. */
  author: Uint8Array;
}

export interface VotePayload extends PayloadBase {
  type: VoteType;
  digest: Uint8Array;
}

/** The (round, digest) a ROUND-CHANGE reports as prepared. */
export interface PreparedRef {
  round: number;
  digest: Uint8Array;
}

export interface RoundChangePayload extends PayloadBase {
  type: 'ROUND-CHANGE';
  prepared?: PreparedRef;
}

export type Payload = VotePayload | RoundChangePayload;

/** A payload with its canonical bytes (what was signed) and the author's Ed25519 signature. */
export interface SignedItem<P extends Payload = Payload> {
  readonly payload: P;
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

/** Ed25519 verification, pluggable so the node can put a cache or a worker pool in front. */
export type VerifyFn = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
export type SignFn = (message: Uint8Array) => Uint8Array;

export function encodePayload(p: Payload): Uint8Array {
  const head: Value[] = [DOMAIN_TAG, p.chainId, p.type, p.height, p.round, p.author];
  if (p.type === 'ROUND-CHANGE') {
    if (p.prepared) head.push(p.prepared.round, p.prepared.digest);
  } else {
    head.push(p.digest);
  }
  return encode(head);
}

const utf8 = new TextEncoder();

/** Parses payload bytes; anything but a canonical, well-typed payload throws MessageError. */
export function decodePayload(bytes: Uint8Array, chainIdBytesMax = 64): Payload {
  let v: Value;
  try {
    v = decode(bytes);
  } catch (e) {
    throw new MessageError('malformed', `payload: ${(e as Error).message}`);
  }
  try {
    const items = asList(v, 'payload');
    if (items.length < 6) throw new EncodingError('payload: too few fields');
    if (items[0] !== DOMAIN_TAG)
      throw new MessageError('bad-domain', 'payload lacks the consensus domain tag');
    const chainId = asString(items[1], 'payload.chainId');
    if (utf8.encode(chainId).length > chainIdBytesMax) throw new EncodingError('payload.chainId: too long');
    const type = asString(items[2], 'payload.type');
    const height = asNumber(items[3], 'payload.height');
    const round = asNumber(items[4], 'payload.round');
    const author = asBytes(items[5], 'payload.author', ADDRESS_LENGTH);
    if (type === 'ROUND-CHANGE') {
      if (items.length === 6) return { type, chainId, height, round, author };
      if (items.length !== 8) throw new EncodingError('payload: a round change has 6 or 8 fields');
      const prepared = {
        round: asNumber(items[6], 'payload.preparedRound'),
        digest: asBytes(items[7], 'payload.preparedDigest', DIGEST_LENGTH),
      };
      return { type, chainId, height, round, author, prepared };
    }
    if (type !== 'PROPOSAL' && type !== 'PREPARE' && type !== 'COMMIT') {
      throw new MessageError('bad-kind', `unknown payload type ${JSON.stringify(type)}`);
    }
    if (items.length !== 7) throw new EncodingError(`payload: a ${type} has 7 fields`);
    return {
      type,
      chainId,
      height,
      round,
      author,
      digest: asBytes(items[6], 'payload.digest', DIGEST_LENGTH),
    };
  } catch (e) {
    if (e instanceof MessageError) throw e;
    throw new MessageError('malformed', (e as Error).message);
  }
}

/** Signs `payload` (its canonical bytes) with `sign`. */
export function signPayload<P extends Payload>(payload: P, sign: SignFn): SignedItem<P> {
  const signed = encodePayload(payload);
  return { payload, signed, signature: sign(signed) };
}

/** The wire form of a signed item inside a larger message: [payloadBytes, signature]. */
export function signedItemValue(item: SignedItem): Value {
  return [item.signed, item.signature];
}

export function decodeSignedItem(v: Value | undefined, what: string, chainIdBytesMax?: number): SignedItem {
  let signed: Uint8Array;
  let signature: Uint8Array;
  try {
    const pair = asList(v, what);
    if (pair.length !== 2) throw new EncodingError(`${what}: expected [payload, signature]`);
    signed = asBytes(pair[0], `${what}.payload`);
    signature = asBytes(pair[1], `${what}.signature`, SIGNATURE_LENGTH);
  } catch (e) {
    throw new MessageError('malformed', (e as Error).message);
  }
  return { payload: decodePayload(signed, chainIdBytesMax), signed, signature };
}

/** Encodes a standalone signed item (as stored in a WAL record or evidence). */
export function encodeSignedItem(item: SignedItem): Uint8Array {
  return encode(signedItemValue(item));
}

export function decodeSignedItemBytes(bytes: Uint8Array, what = 'item'): SignedItem {
  let v: Value;
  try {
    v = decode(bytes);
  } catch (e) {
    throw new MessageError('malformed', `${what}: ${(e as Error).message}`);
  }
  return decodeSignedItem(v, what);
}

export function isVote(item: SignedItem): item is SignedItem<VotePayload> {
  return item.payload.type !== 'ROUND-CHANGE';
}

export function isRoundChange(item: SignedItem): item is SignedItem<RoundChangePayload> {
  return item.payload.type === 'ROUND-CHANGE';
}
