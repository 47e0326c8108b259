/**
 * Typed errors of the networking layer. Each has a stable `name` so callers (and logs) can
 * tell them apart without string matching on messages.
 */

/** A frame's declared length exceeds the protocol's maximum (inbound) or a payload to send does. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`frame of ${size} bytes exceeds the maximum of ${max}`);
  }
}

/** The byte stream does not parse as length-prefixed frames (bad or non-minimal varint, truncation). */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  /**
   * True when the stream merely ended inside a frame. That also happens when a peer shuts down
   * mid-write, so unlike a malformed prefix it is not held against the peer.
   */
  readonly truncated: boolean;
  constructor(message: string, options: { truncated?: boolean } = {}) {
    super(message);
    this.truncated = options.truncated ?? false;
  }
}

/** The target of a send or request is not in the allow-list (or is ourselves). */
export class PeerNotAllowedError extends Error {
  override readonly name = 'PeerNotAllowedError';
}

/** A request needed a connection and none could be made. */
export class PeerUnreachableError extends Error {
  override readonly name = 'PeerUnreachableError';
}

/** A sync request did not complete within its time limit. */
export class SyncTimeoutError extends Error {
  override readonly name = 'SyncTimeoutError';
}

/** A sync request failed: stream reset by the responder, too many frames, or a transport error. */
export class SyncRequestError extends Error {
  override readonly name: string = 'SyncRequestError';
}

/**
 * The responder sent more frames or bytes than the request allows (the host's limits or the
 * caller's `framesMax`/`bytesMax`). Reading stopped at the first frame past the bound; an honest
 * responder never does this, so the caller may hold it against the peer.
 */
export class SyncResponseLimitError extends SyncRequestError {
  override readonly name: string = 'SyncResponseLimitError';
}

/** The host was used before `start()` or after `stop()`. */
export class P2PNotRunningError extends Error {
  override readonly name = 'P2PNotRunningError';
}
