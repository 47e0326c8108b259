/** Public types shared by the host and its protocol modules. */

/** Who sent a message: the peer id string and the 32-byte Ed25519 key it embeds. */
export interface PeerInfo {
  peerId: string;
  publicKey: Uint8Array;
}

/** A peer named by its peer id string or its 32-byte Ed25519 public key. */
export type PeerRef = string | Uint8Array;

/**
 * Receives each inbound one-way message. Runs synchronously on the stream's read loop, so a
 * slow handler slows that peer's stream (backpressure), never buffers without bound. The
 * payload is a fresh copy owned by the handler.
 */
export type MessageHandler = (peer: PeerInfo, payload: Uint8Array) => void;

export type SyncResponse = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Promise<Iterable<Uint8Array>>;

/**
 * Answers one sync request with zero or more frames. `signal` aborts when the requester goes
 * away, the serve times out or the host stops. Throwing resets the stream, which the requester
 * sees as a SyncRequestError.
 */
export type SyncHandler = (peer: PeerInfo, request: Uint8Array, signal: AbortSignal) => SyncResponse;

export interface RequestOptions {
  signal?: AbortSignal;
  /** Whole-request limit (dial, send, all response frames). Default: `sync.timeoutMs`. */
  timeoutMs?: number;
  /**
   * Bounds of this response, tighter than the host's `sync` limits: what the caller asked for.
   * Past either one reading stops and the request fails with SyncResponseLimitError.
   */
  framesMax?: number;
  bytesMax?: number;
}
