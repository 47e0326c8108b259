/**
 * Helpers around libp2p 2.x streams. After protocol negotiation a stream's `sink` is a wrapper
 * that pumps our source into an internal queue; when the stream is reset or its connection
 * dies, that wrapper can stay pending forever (it waits for a consumer that is gone). So we
 * never await a sink without something else that can end the wait.
 */
import type { Stream } from '@libp2p/interface';

/** True while the stream can still take writes. */
export function writable(stream: Stream): boolean {
  return stream.status === 'open' && (stream.writeStatus === 'ready' || stream.writeStatus === 'writing');
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Waits for `promise` at most `ms` (timer unref'd and cleared); true if it settled in time. */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      promise.then(
        () => true as const,
        () => true as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
