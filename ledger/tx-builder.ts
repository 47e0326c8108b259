/**
 * Building and signing transactions (tests, the SDK, the CLI, benchmarks).
 *
 * `signTx` signs any Transaction; the builders make each kind; `Wallet` keeps an account's
 * chain id and next nonce so a sequence of transactions is a sequence of calls.
 */
import type { Address } from '../crypto/ed25519.js';
import { txSigningBytes } from './codec.js';
import type { GovAction, SignedTransaction, Transaction } from './types.js';

/** Anything that signs with an Ed25519 key (crypto/ed25519 Signer fits). */
export interface TxSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function signTx(tx: Transaction, signer: TxSigner): SignedTransaction {
  return { tx, publicKey: signer.publicKey, signature: signer.sign(txSigningBytes(tx)) };
}

/** The fields every transaction has. */
export interface TxHead {
  chainId: string;
  from: Address;
  nonce: number;
}

export function transferTx(h: TxHead, to: Address, amount: bigint, memo?: string): Transaction {
  return { ...h, kind: 'asset.transfer', body: memo === undefined ? { to, amount } : { to, amount, memo } };
}

/** An empty value deletes the key. */
export function dataPutTx(h: TxHead, key: string, value: Uint8Array): Transaction {
  return { ...h, kind: 'data.put', body: { key, value } };
}

export function registerTx(h: TxHead, publicKey: Uint8Array, roles: string[]): Transaction {
  return { ...h, kind: 'identity.register', body: { publicKey, roles } };
}

export function revokeTx(h: TxHead, address: Address): Transaction {
  return { ...h, kind: 'identity.revoke', body: { address } };
}

export function proposeTx(h: TxHead, action: GovAction, title: string): Transaction {
  return { ...h, kind: 'gov.propose', body: { action, title } };
}

export function voteTx(h: TxHead, proposalId: number, approve: boolean): Transaction {
  return { ...h, kind: 'gov.vote', body: { proposalId, approve } };
}

/** The account moves itself to `newPublicKey` (and so to its address). */
export function rotateKeyTx(h: TxHead, newPublicKey: Uint8Array): Transaction {
  return { ...h, kind: 'identity.rotate', body: { newPublicKey } };
}

/** A member admin gives its validator `address` a new consensus key (from the next height). */
export function rotateValidatorTx(
  h: TxHead,
  address: Address,
  newPublicKey: Uint8Array,
  p2p: string[],
): Transaction {
  return { ...h, kind: 'validator.rotate', body: { address, newPublicKey, p2p } };
}

/** Equivocation evidence bytes (consensus/evidence.ts `encodeEvidence`). */
export function evidenceTx(h: TxHead, evidence: Uint8Array): Transaction {
  return { ...h, kind: 'evidence.submit', body: { evidence } };
}

/**
 * An account that signs a sequence of transactions: each builder uses the next nonce and
 * advances it. Set `nonce` to resynchronise (e.g. from state_getAccount).
 */
export class Wallet {
  nonce: number;
  readonly address: Address;

  constructor(
    readonly signer: TxSigner & { readonly address: Address },
    readonly chainId: string,
    nonce = 0,
  ) {
    this.nonce = nonce;
    this.address = signer.address;
  }

  private head(): TxHead {
    return { chainId: this.chainId, from: this.address, nonce: this.nonce++ };
  }

  sign(tx: Transaction): SignedTransaction {
    return signTx(tx, this.signer);
  }

  transfer(to: Address, amount: bigint, memo?: string): SignedTransaction {
    return this.sign(transferTx(this.head(), to, amount, memo));
  }

  dataPut(key: string, value: Uint8Array): SignedTransaction {
    return this.sign(dataPutTx(this.head(), key, value));
  }

  register(publicKey: Uint8Array, roles: string[]): SignedTransaction {
    return this.sign(registerTx(this.head(), publicKey, roles));
  }

  revoke(address: Address): SignedTransaction {
    return this.sign(revokeTx(this.head(), address));
  }

  propose(action: GovAction, title: string): SignedTransaction {
    return this.sign(proposeTx(this.head(), action, title));
  }

  vote(proposalId: number, approve: boolean): SignedTransaction {
    return this.sign(voteTx(this.head(), proposalId, approve));
  }

  rotateKey(newPublicKey: Uint8Array): SignedTransaction {
    return this.sign(rotateKeyTx(this.head(), newPublicKey));
  }

  rotateValidator(address: Address, newPublicKey: Uint8Array, p2p: string[]): SignedTransaction {
    return this.sign(rotateValidatorTx(this.head(), address, newPublicKey, p2p));
  }

  submitEvidence(evidence: Uint8Array): SignedTransaction {
    return this.sign(evidenceTx(this.head(), evidence));
  }
}
