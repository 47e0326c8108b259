/**
 * Signature verification with a memory of what already verified, for what is seen more than
 * once: consensus votes (a COMMIT, then the same signature in a certificate) and transactions
 * a proposal brought in before the pool held them. The mempool does not use it (it admits
 * each hash once, and blocks skip verifying what the pool holds).
 *
 * The cache key is SHA-256(publicKey || signature || message), so a signature remembered for
 * one message never vouches for another. Only successes are remembered (a failure is cheap to
 * repeat and must not let an attacker evict good entries). Bounded: the oldest entries go
 * first once `entriesMax` is reached.
 */
import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';

export type VerifyFn = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

export class CachedVerifier {
  private readonly seen = new Set<string>();
  hits = 0;
  misses = 0;

  constructor(
    // Mempool-held transactions are known verified without it (Chain.isVerified), so this holds
    // votes and the transactions of proposals that arrived before their forwarded copies: a
    // few blocks' worth (about 5 MB at 50,000).
    private readonly entriesMax = 50_000,
    private readonly inner: VerifyFn = ed25519Verify,
  ) {}

  /** Same contract as crypto/ed25519 `verify`. */
  readonly verify: VerifyFn = (signature, message, publicKey) => {
    const key = Buffer.from(sha256(publicKey, signature, message)).toString('base64');
    if (this.seen.has(key)) {
      this.hits++;
      return true;
    }
    this.misses++;
    if (!this.inner(signature, message, publicKey)) return false;
    if (this.seen.size >= this.entriesMax) {
      // A Set iterates in insertion order: the first key is the oldest.
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(key);
    return true;
  };

  get size(): number {
    return this.seen.size;
  }
}
