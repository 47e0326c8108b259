/**
 * Mapping between Synod's Ed25519 keys and libp2p identities. A libp2p Ed25519 peer id embeds
 * the 32-byte public key (identity multihash), so peer id <-> validator key is a pure function
 * both ways and needs no lookup table or identify round trip.
 */
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPublicKey as peerIdFromLibp2pKey, peerIdFromString } from '@libp2p/peer-id';
import { bytesEqual, toHex } from '../../crypto/hash.js';

export const ED25519_KEY_LENGTH = 32;

/**
 * The libp2p private key for our 32-byte Ed25519 seed. When `publicKey` is given it must match
 * the key derived from the seed: a mismatch means a corrupt key file, and we would otherwise
 * join the network under an identity no allow-list knows.
 */
export async function libp2pPrivateKey(
  secretKey: Uint8Array,
  publicKey?: Uint8Array,
): Promise<Ed25519PrivateKey> {
  if (secretKey.length !== ED25519_KEY_LENGTH) throw new TypeError('secret key must be 32 bytes');
  const key = await generateKeyPairFromSeed('Ed25519', secretKey);
  if (publicKey !== undefined && !bytesEqual(key.publicKey.raw, publicKey)) {
    throw new TypeError('public key does not match the secret key');
  }
  return key;
}

/** The libp2p PeerId object of a 32-byte Ed25519 public key. */
export function peerIdObjectFromPublicKey(publicKey: Uint8Array): PeerId {
  if (publicKey.length !== ED25519_KEY_LENGTH) throw new TypeError('public key must be 32 bytes');
  return peerIdFromLibp2pKey(publicKeyFromRaw(publicKey));
}

const cache = new Map<string, string>();
const CACHE_LIMIT = 4096;

/**
 * The peer id string ("12D3KooW...") of a validator's 32-byte Ed25519 public key. Cached,
 * because the node resolves keys to peers on every send.
 */
export function peerIdFromPublicKey(publicKey: Uint8Array): string {
  const hex = toHex(publicKey);
  let id = cache.get(hex);
  if (id === undefined) {
    id = peerIdObjectFromPublicKey(publicKey).toString();
    // Bounded: validator sets are small, but the cache must not grow with untrusted input.
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(hex, id);
  }
  return id;
}

/** The 32-byte Ed25519 public key inside a peer id, or undefined for other key types. */
export function publicKeyFromPeerId(peerId: string | PeerId): Uint8Array | undefined {
  let id: PeerId;
  try {
    id = typeof peerId === 'string' ? peerIdFromString(peerId) : peerId;
  } catch {
    return undefined;
  }
  return id.type === 'Ed25519' ? id.publicKey.raw : undefined;
}
