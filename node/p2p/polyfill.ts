/**
 * `Promise.withResolvers` (ES2024) for Node 20.
 *
 * libp2p 2.10's peer store locks through `mortice`, which now pulls `it-queue` 1.1.x; that calls
 * `Promise.withResolvers`, which Node 20 lacks. Without this, the first peer-store access on a
 * disconnect throws and takes the process down. Installed only when missing, with the built-in's
 * semantics, so it is inert on Node 22+.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const P = Promise as PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> };

if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve'];
      let reject!: Resolvers<T>['reject'];
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
