/**
 * The set of peers we talk to: validators of the current set plus configured observers, keyed
 * by peer id. Replaced wholesale when the validator set changes; `replace` reports the
 * difference so the host can hang up on removed peers and dial new ones.
 */
import type { PeerId } from '@libp2p/interface';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { ED25519_KEY_LENGTH, peerIdObjectFromPublicKey } from './identity.js';

/** One allowed peer as the node describes it. */
export interface AllowedPeer {
  /** 32-byte Ed25519 public key (the validator or observer key). */
  publicKey: Uint8Array;
  /**
   * Where to dial it, e.g. `/ip4/10.0.0.5/tcp/7000` (a trailing `/p2p/<id>` must match the key).
   * Empty or absent: we accept its connections but never dial it (typical for observers).
   */
  addrs?: readonly string[];
}

export interface AllowEntry {
  peerId: string;
  id: PeerId;
  publicKey: Uint8Array;
  /** Dialable addresses, each ending in `/p2p/<peerId>` so libp2p checks whom it reached. */
  addrs: Multiaddr[];
}

export interface AllowListDiff {
  added: AllowEntry[];
  removed: AllowEntry[];
  /** Still allowed, but with different addresses. */
  readdressed: AllowEntry[];
}

/** `/p2p` protocol code in multiaddrs. */
const P2P_CODE = 421;

function parseAddrs(addrs: readonly string[], peerId: string): Multiaddr[] {
  const out: Multiaddr[] = [];
  const seen = new Set<string>();
  for (const a of addrs) {
    const ma = multiaddr(a);
    const embedded = ma.getPeerId();
    if (embedded !== null && embedded !== peerId) {
      throw new TypeError(`address ${a} names peer ${embedded}, but the key is ${peerId}`);
    }
    const full = ma.decapsulateCode(P2P_CODE).encapsulate(`/p2p/${peerId}`);
    const key = full.toString();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(full);
    }
  }
  return out;
}

function sameAddrs(a: Multiaddr[], b: Multiaddr[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
}

export class AllowList {
  private entries = new Map<string, AllowEntry>();

  get size(): number {
    return this.entries.size;
  }

  get(peerId: string): AllowEntry | undefined {
    return this.entries.get(peerId);
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  values(): IterableIterator<AllowEntry> {
    return this.entries.values();
  }

  /**
   * Replaces the list. Validates everything before changing anything, so a bad entry leaves the
   * old list in force. Our own key (`selfPeerId`) is skipped: a validator set includes us.
   */
  replace(list: readonly AllowedPeer[], selfPeerId: string): AllowListDiff {
    const next = new Map<string, AllowEntry>();
    for (const p of list) {
      if (!(p.publicKey instanceof Uint8Array) || p.publicKey.length !== ED25519_KEY_LENGTH) {
        throw new TypeError('allowed peer public key must be 32 bytes');
      }
      const id = peerIdObjectFromPublicKey(p.publicKey);
      const peerId = id.toString();
      if (peerId === selfPeerId) continue;
      const addrs = parseAddrs(p.addrs ?? [], peerId);
      const prev = next.get(peerId);
      // The same key listed twice (validator and observer, say): merge the addresses.
      next.set(peerId, {
        peerId,
        id,
        publicKey: p.publicKey.slice(),
        addrs: prev === undefined ? addrs : parseAddrs([...prev.addrs, ...addrs].map(String), peerId),
      });
    }
    const diff: AllowListDiff = { added: [], removed: [], readdressed: [] };
    for (const [id, e] of next) {
      const old = this.entries.get(id);
      if (old === undefined) diff.added.push(e);
      else if (!sameAddrs(old.addrs, e.addrs)) diff.readdressed.push(e);
    }
    for (const [id, e] of this.entries) if (!next.has(id)) diff.removed.push(e);
    this.entries = next;
    return diff;
  }
}
