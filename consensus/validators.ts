/**
 * A validator set V(h) (docs/protocol.md §1, §7): members ordered by address bytes ascending, with their
 * consensus public keys, the sizes n, f, q, and the round-robin proposer rule.
 */
import { ADDRESS_LENGTH, addressOf, PUBLIC_KEY_LENGTH } from '../crypto/ed25519.js';
import { bytesEqual, compareBytes, hexOf } from '../crypto/hash.js';
import { ValidatorSetError } from './errors.js';
import { faultsTolerated, quorumSize } from './quorum.js';

/** Map key for an address (lower-case hex, no prefix): addresses are compared by bytes, keyed by this. */
export function addressKey(address: Uint8Array): string {
  return hexOf(address);
}

export class ValidatorSet {
  /** Member addresses, strictly ascending by bytes. */
  readonly addresses: readonly Uint8Array[];
  /** Public keys, aligned with `addresses`. */
  readonly publicKeys: readonly Uint8Array[];
  readonly size: number;
  readonly f: number;
  readonly quorum: number;
  private readonly index: Map<string, number>;

  private constructor(members: { address: Uint8Array; publicKey: Uint8Array }[]) {
    this.addresses = members.map((m) => m.address);
    this.publicKeys = members.map((m) => m.publicKey);
    this.size = members.length;
    this.f = faultsTolerated(this.size);
    this.quorum = quorumSize(this.size);
    this.index = new Map(members.map((m, i) => [addressKey(m.address), i]));
  }

  /**
   * The set of these consensus public keys. Order of the input does not matter; duplicates and an
   * empty set are refused (§7: the ledger must never leave V empty).
   */
  static fromPublicKeys(
    publicKeys: readonly Uint8Array[],
    validatorsMax = Number.MAX_SAFE_INTEGER,
  ): ValidatorSet {
    if (publicKeys.length === 0) throw new ValidatorSetError('a validator set cannot be empty');
    if (publicKeys.length > validatorsMax) {
      throw new ValidatorSetError(`${publicKeys.length} validators exceed validatorsMax ${validatorsMax}`);
    }
    const members = publicKeys.map((pk) => {
      if (!(pk instanceof Uint8Array) || pk.length !== PUBLIC_KEY_LENGTH) {
        throw new ValidatorSetError('a validator public key must be 32 bytes');
      }
      return { address: addressOf(pk), publicKey: pk.slice() };
    });
    members.sort((a, b) => compareBytes(a.address, b.address));
    for (let i = 1; i < members.length; i++) {
      if (bytesEqual(members[i - 1]!.address, members[i]!.address)) {
        throw new ValidatorSetError('duplicate validator');
      }
    }
    return new ValidatorSet(members);
  }

  indexOf(address: Uint8Array): number {
    if (address.length !== ADDRESS_LENGTH) return -1;
    return this.index.get(addressKey(address)) ?? -1;
  }

  has(address: Uint8Array): boolean {
    return this.indexOf(address) >= 0;
  }

  hasKey(key: string): boolean {
    return this.index.has(key);
  }

  publicKeyOf(address: Uint8Array): Uint8Array | undefined {
    const i = this.indexOf(address);
    return i < 0 ? undefined : this.publicKeys[i];
  }

  /** proposer(h, r) = S[(h + r) mod n] with S sorted by address (docs/protocol.md §1.2, Synod rule). */
  proposer(height: number, round: number): Uint8Array {
    const n = this.size;
    return this.addresses[((height % n) + (round % n)) % n]!;
  }

  equals(other: ValidatorSet): boolean {
    if (other.size !== this.size) return false;
    for (let i = 0; i < this.size; i++)
      if (!bytesEqual(this.publicKeys[i]!, other.publicKeys[i]!)) return false;
    return true;
  }
}
