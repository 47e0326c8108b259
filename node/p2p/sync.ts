/**
 * `/synod/sync/1`: the requester opens a stream, writes one request frame and closes its write
 * side; the responder writes zero or more response frames and closes. End of stream = end of
 * response; a reset = failure. Payloads are opaque here.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { anySignal } from 'any-signal';
import type { Logger } from 'pino';
import {
  FrameTooLargeError,
  FramingError,
  PeerUnreachableError,
  SyncRequestError,
  SyncResponseLimitError,
  SyncTimeoutError,
} from './errors.js';
import { chunkBuffers, encodeFrame, FrameDecoder, readFrames } from './framing.js';
import type { SyncLimits } from './options.js';
import { PROTOCOLS } from './protocols.js';
import type { MutableCounters } from './stats.js';
import { raceSignal } from './streams.js';
import type { PeerInfo, SyncHandler, SyncResponse } from './types.js';

export interface SyncContext {
  maxFrameBytes: number;
  limits: SyncLimits;
  counters: MutableCounters;
  log: Logger;
  /** Aborted when the host stops. */
  stopSignal: AbortSignal;
  handler: () => SyncHandler | undefined;
  /** Called when the remote peer broke the framing: it gets disconnected and banned. */
  protocolViolation: (peerId: string, reason: 'oversize-frame' | 'bad-framing') => void;
}

function violation(err: unknown): 'oversize-frame' | 'bad-framing' | undefined {
  if (err instanceof FrameTooLargeError) return 'oversize-frame';
  // A stream cut inside a frame also happens on shutdown: not held against the peer.
  if (err instanceof FramingError && !err.truncated) return 'bad-framing';
  return undefined;
}

function isPromiseLike<T>(x: unknown): x is PromiseLike<T> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Runs one request against `peerId`. `connect` returns an open connection (dialling if needed).
 * Maps every failure to a typed error; see P2PHost.request.
 */
export async function requestSync(
  ctx: SyncContext,
  peerId: string,
  connect: (signal: AbortSignal) => Promise<Connection>,
  payload: Uint8Array,
  options: { signal?: AbortSignal; timeoutMs?: number; framesMax?: number; bytesMax?: number },
): Promise<Uint8Array[]> {
  const timeoutMs = options.timeoutMs ?? ctx.limits.timeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signals = [timeout, ctx.stopSignal];
  if (options.signal) signals.push(options.signal);
  // Not AbortSignal.any: on Node 20 every call leaves an entry on the long-lived stop signal
  // that is never removed (nodejs/node#54614), a leak per request; anySignal's clear() undoes it.
  const signal = anySignal(signals);
  const c = ctx.counters;
  c.sync.requestsOut++;
  let stream: Stream | undefined;
  const onAbort = () => stream?.abort(new SyncTimeoutError('request aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    signal.throwIfAborted();
    const conn = await connect(signal);
    stream = await conn.newStream(PROTOCOLS.sync, { signal });
    c.protocols.sync.streamsOpened++;
    c.protocols.sync.framesOut++;
    c.protocols.sync.bytesOut += payload.length;
    await raceSignal(stream.sink([encodeFrame(payload)]), signal);
    const frames: Uint8Array[] = [];
    let bytes = 0;
    // Bytes before work: the response is bounded by what was asked, checked frame by frame
    // as it arrives, so a responder cannot make us buffer (or the caller decode) more.
    const framesMax = Math.min(ctx.limits.maxResponseFrames, options.framesMax ?? Number.POSITIVE_INFINITY);
    const bytesMax = Math.min(ctx.limits.maxResponseBytes, options.bytesMax ?? Number.POSITIVE_INFINITY);
    for await (const frame of readFrames(stream.source, ctx.maxFrameBytes)) {
      c.protocols.sync.framesIn++;
      c.protocols.sync.bytesIn += frame.length;
      if (frames.length + 1 > framesMax || bytes + frame.length > bytesMax) {
        throw new SyncResponseLimitError(
          `response from ${peerId} exceeds ${framesMax} frames or ${bytesMax} bytes`,
        );
      }
      frames.push(frame);
      bytes += frame.length;
    }
    c.sync.responsesOk++;
    return frames;
  } catch (err) {
    stream?.abort(asError(err));
    if (timeout.aborted) {
      c.sync.timeouts++;
      throw new SyncTimeoutError(`sync request to ${peerId} timed out after ${timeoutMs} ms`);
    }
    c.sync.failures++;
    if (options.signal?.aborted) throw options.signal.reason;
    if (ctx.stopSignal.aborted) throw ctx.stopSignal.reason;
    const bad = violation(err);
    if (bad !== undefined) ctx.protocolViolation(peerId, bad);
    if (err instanceof FrameTooLargeError || err instanceof FramingError) {
      throw new SyncRequestError(`bad response from ${peerId}: ${err.message}`, { cause: err });
    }
    if (err instanceof SyncRequestError || err instanceof PeerUnreachableError) throw err;
    c.protocols.sync.streamErrors++;
    throw new SyncRequestError(`sync request to ${peerId} failed: ${asError(err).message}`, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
    signal.clear();
  }
}

/** Serves one inbound sync stream from an admitted peer. Never throws. */
export async function serveSync(ctx: SyncContext, peer: PeerInfo, stream: Stream): Promise<void> {
  const c = ctx.counters;
  c.sync.requestsIn++;
  const local = new AbortController();
  const signal = anySignal([local.signal, ctx.stopSignal]);
  const onAbort = () => stream.abort(new SyncTimeoutError('sync serve aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  const readTimer = setTimeout(
    () => local.abort(new SyncTimeoutError('no request received in time')),
    ctx.limits.requestReadTimeoutMs,
  );
  readTimer.unref();
  // libp2p gives the response writer no signal when the requester resets the stream (see
  // streams.ts), so watch the stream's state to tell the handler to stop producing.
  const watch = setInterval(() => {
    if (stream.status !== 'open') local.abort(new SyncRequestError('requester closed the stream'));
  }, 200);
  watch.unref();
  try {
    let request: Uint8Array | undefined;
    try {
      request = await readRequest(stream, ctx.maxFrameBytes);
    } catch (err) {
      // Only violations while reading the request are the peer's fault; an oversize frame
      // from our own handler below is our bug and is not punished.
      const bad = violation(err);
      if (bad !== undefined) ctx.protocolViolation(peer.peerId, bad);
      throw err;
    }
    clearTimeout(readTimer);
    if (request === undefined) throw new Error('stream ended before a request');
    c.protocols.sync.framesIn++;
    c.protocols.sync.bytesIn += request.length;
    const handler = ctx.handler();
    if (handler === undefined) throw new Error('no sync handler');
    const frames = encodeResponses(ctx, handler(peer, request, signal), signal);
    await raceSignal(stream.sink(frames), signal);
    // The sink also returns normally when the stream was reset under it.
    if (signal.aborted || stream.status === 'reset' || stream.status === 'aborted') {
      throw signal.reason ?? new SyncRequestError('stream reset while serving');
    }
    c.sync.served++;
  } catch (err) {
    stream.abort(asError(err));
    c.sync.serveErrors++;
    ctx.log.debug({ err, peer: peer.peerId }, 'sync serve failed');
  } finally {
    clearTimeout(readTimer);
    clearInterval(watch);
    signal.removeEventListener('abort', onAbort);
    signal.clear();
  }
}

/** The single request frame (anything after it is ignored); undefined if the stream ends first. */
async function readRequest(stream: Stream, maxFrameBytes: number): Promise<Uint8Array | undefined> {
  const decoder = new FrameDecoder(maxFrameBytes);
  for await (const chunk of stream.source) {
    for (const buf of chunkBuffers(chunk)) {
      const frames = decoder.push(buf);
      if (frames.length > 0) return frames[0];
    }
  }
  return undefined;
}

async function* encodeResponses(
  ctx: SyncContext,
  response: SyncResponse,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const frames = isPromiseLike<Iterable<Uint8Array>>(response) ? await response : response;
  const c = ctx.counters.protocols.sync;
  for await (const frame of frames) {
    signal.throwIfAborted();
    if (frame.length > ctx.maxFrameBytes) throw new FrameTooLargeError(frame.length, ctx.maxFrameBytes);
    c.framesOut++;
    c.bytesOut += frame.length;
    yield encodeFrame(frame);
  }
}
