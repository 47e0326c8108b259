/** Synod's peer-to-peer layer: see host.ts for the API. */
export type { AllowedPeer } from './allowlist.js';
export {
  FrameTooLargeError,
  FramingError,
  P2PNotRunningError,
  PeerNotAllowedError,
  PeerUnreachableError,
  SyncRequestError,
  SyncResponseLimitError,
  SyncTimeoutError,
} from './errors.js';
export { encodeFrame, FrameDecoder } from './framing.js';
export { createP2PHost, P2PHost } from './host.js';
export { peerIdFromPublicKey, publicKeyFromPeerId } from './identity.js';
export type { MisbehaviourOptions } from './misbehaviour.js';
export type { P2PHostOptions } from './options.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_QUEUE,
  type OneWayProtocol,
  PROTOCOLS,
  type ProtocolName,
} from './protocols.js';
export type { RedialOptions } from './redial.js';
export type { P2PStats, ProtocolCounters, SyncCounters } from './stats.js';
export type {
  MessageHandler,
  PeerInfo,
  PeerRef,
  RequestOptions,
  SyncHandler,
  SyncResponse,
} from './types.js';
