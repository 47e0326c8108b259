/**
 * `sodium-native` (libsodium), loaded once for whoever uses it: signature checks
 * (crypto/ed25519.ts) and Noise's AEAD (node/p2p/noise-crypto.ts). Undefined when the package
 * does not load here or SYNOD_NO_SODIUM=1; each user checks the functions it needs and falls
 * back to its own default.
 */
import { createRequire } from 'node:module';

function load(): Record<string, unknown> | undefined {
  if (process.env.SYNOD_NO_SODIUM === '1') return undefined;
  try {
    return createRequire(import.meta.url)('sodium-native') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export const sodiumNative: Record<string, unknown> | undefined = load();

/** The module typed as `T` when it has every one of `functions`, else undefined. */
export function sodiumWith<T>(...functions: (keyof T & string)[]): T | undefined {
  const mod = sodiumNative;
  if (mod === undefined) return undefined;
  return functions.every((f) => typeof mod[f] === 'function') ? (mod as T) : undefined;
}
