/**
 * The narrow port through which the consensus core sees blocks. The core is generic over the block
 * type `B`; the ledger implements this interface for its blocks, the simulator for its own.
 *
 * Everything here must be pure and deterministic. Full validity of a fresh block (re-execution,
 * transaction signatures, state root: FRESH in docs/protocol.md §2.3.5) is NOT part of the port: it is
 * asynchronous, so the core asks for it with an `execute` action and continues on a
 * `blockExecuted` event. The core itself checks only what these accessors expose (height, parent
 * hash, view, proposer, timestamp) against the height it is deciding.
 */
export interface BlockPort<B> {
  /** blockHash(B): the 32-byte SHA-256 of the canonical header (commits to txRoot and stateRoot, excludes the certificate). */
  hash(block: B): Uint8Array;
  /** Canonical bytes of the whole block, as carried in PROPOSAL, ROUND-CHANGE and DECIDED. */
  encode(block: B): Uint8Array;
  /** Inverse of `encode`. Must throw (any error) on bytes that are not a canonical block. */
  decode(bytes: Uint8Array): B;
  height(block: B): number;
  /**
   * Optional: the height of block bytes, read without decoding the transactions, or undefined
   * when it cannot be read. Lets a replica drop a DECIDED for a height it has left without
   * decoding its block (every validator announces each decision, so a replica receives n-1 of
   * them per height, nearly all stale). The block is still decoded fully before any use.
   */
  peekHeight?(bytes: Uint8Array): number | undefined;
  /**
   * Optional: hash(block) read from block bytes without decoding the transactions, or undefined
   * when the header cannot be read. Lets a replica check a DECIDED's certificate before paying
   * for its block; the block is still decoded fully, and hashed again, before any use.
   */
  peekDigest?(bytes: Uint8Array): Uint8Array | undefined;
  /** The round the block was built in (B.view, docs/protocol.md §2.3.7); not the round it is committed in. */
  view(block: B): number;
  /** 20-byte address of the validator that built it. */
  proposer(block: B): Uint8Array;
  parentHash(block: B): Uint8Array;
  /** Milliseconds, on the same clock as the `nowMs` the driver reports in events. */
  timestampMs(block: B): number;
}
