/**
 * The inbound side of the one-way protocols: read frames from a peer's stream and hand each to
 * the upper layer's handler, synchronously, so a slow handler slows the sender (backpressure)
 * rather than growing a buffer.
 */
import type { Stream } from '@libp2p/interface';
import type { Logger } from 'pino';
import { FrameTooLargeError, FramingError, PeerNotAllowedError } from './errors.js';
import { chunkBuffers, FrameDecoder } from './framing.js';
import type { ProtocolCounters } from './stats.js';
import type { MessageHandler, PeerInfo } from './types.js';

export interface InboundContext {
  protocol: string;
  maxFrameBytes: number;
  counters: ProtocolCounters;
  log: Logger;
  /** The current handler (it may be replaced while the stream is open). */
  handler: () => MessageHandler | undefined;
  /** False once the peer is removed or banned. */
  stillAllowed: () => boolean;
  /** The peer broke the framing: it gets disconnected and banned. */
  protocolViolation: (reason: 'oversize-frame' | 'bad-framing') => void;
}

/** Reads one inbound stream to its end. Never throws. */
export async function readOneWay(ctx: InboundContext, peer: PeerInfo, stream: Stream): Promise<void> {
  const c = ctx.counters;
  const decoder = new FrameDecoder(ctx.maxFrameBytes);
  try {
    for await (const chunk of stream.source) {
      // The hang-up that follows a removal or ban is asynchronous: stop delivering at once.
      if (!ctx.stillAllowed()) {
        stream.abort(new PeerNotAllowedError(`peer ${peer.peerId} is no longer allowed`));
        return;
      }
      for (const buf of chunkBuffers(chunk)) {
        for (const frame of decoder.push(buf)) {
          c.framesIn++;
          c.bytesIn += frame.length;
          const handler = ctx.handler();
          if (handler === undefined) continue;
          try {
            handler(peer, frame);
          } catch (err) {
            c.handlerErrors++;
            ctx.log.warn({ err, peer: peer.peerId, protocol: ctx.protocol }, 'message handler threw');
          }
        }
      }
    }
    // The sender closed its side. A cut-off frame here is most likely a shutdown mid-write,
    // not malice, so it is logged rather than punished.
    if (decoder.midFrame) {
      ctx.log.debug({ peer: peer.peerId, protocol: ctx.protocol }, 'stream ended inside a frame');
    }
    await stream
      .close({ signal: AbortSignal.timeout(1000) })
      .catch(() => stream.abort(new Error('close failed')));
  } catch (err) {
    if (err instanceof FrameTooLargeError || err instanceof FramingError) {
      stream.abort(err);
      ctx.protocolViolation(err instanceof FrameTooLargeError ? 'oversize-frame' : 'bad-framing');
      return;
    }
    c.streamErrors++;
    ctx.log.debug({ err, peer: peer.peerId, protocol: ctx.protocol }, 'inbound stream failed');
  }
}
