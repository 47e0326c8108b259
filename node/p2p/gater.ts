/**
 * The connection gater: libp2p consults it while dialling and after the Noise handshake has
 * authenticated the remote key, so a peer outside the allow-list (or banned) never gets a
 * usable connection, whichever side dialled.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface';
import type { Logger } from 'pino';
import type { MutableCounters } from './stats.js';

export function allowListGater(
  isDenied: (peerId: string) => boolean,
  counters: MutableCounters,
  log: Logger,
): ConnectionGater {
  const check = (peerId: PeerId, direction: 'inbound' | 'outbound' | undefined): boolean => {
    const id = peerId.toString();
    const deny = isDenied(id);
    if (deny && direction !== undefined) {
      if (direction === 'inbound') counters.connections.deniedInbound++;
      else counters.connections.deniedOutbound++;
      log.debug({ peer: id, direction }, 'connection refused');
    }
    return deny;
  };
  return {
    denyDialPeer: (peerId) => check(peerId, undefined),
    // A dial to a bare address (no peer id) is only decided here, once the key is known.
    denyInboundEncryptedConnection: (peerId) => check(peerId, 'inbound'),
    denyOutboundEncryptedConnection: (peerId) => check(peerId, 'outbound'),
    // The list may change while a connection is being upgraded: check again at the end.
    denyInboundUpgradedConnection: (peerId) => check(peerId, undefined),
    denyOutboundUpgradedConnection: (peerId) => check(peerId, undefined),
  };
}
