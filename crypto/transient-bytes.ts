/**
 * Fresh, zeroed byte arrays for short-lived values, carved from shared 16 KiB slabs.
 *
 * Why: V8 keeps a typed array of at most 64 bytes inside the JS heap, but a larger one gets
 * native memory of its own: a malloc, a registration, and later a sweep and a free, about 1 µs
 * of CPU in all against 0.1 µs for a small one (measured here). A transfer's account value,
 * its signing bytes and its encoded account state are 70-250 bytes each and live for
 * microseconds; handing out views of one slab makes a native allocation per slab instead of
 * per value.
 *
 * The price: a view keeps its whole slab alive. Only values that are dropped soon (decoded,
 * verified, written) should come from here; anything a pool or cache holds should not.
 */

/** A typed array of at most this many bytes V8 keeps inside the JS heap (`typed_array_max_size_in_heap`). */
export const IN_HEAP_BYTES_MAX = 64;
const SLAB_BYTES = 16 * 1024;
/** Larger values get their own allocation: a few of them would use up a slab. */
const SLAB_ITEM_MAX = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

export function transientBytes(n: number): Uint8Array {
  if (n <= IN_HEAP_BYTES_MAX || n > SLAB_ITEM_MAX) return new Uint8Array(n);
  if (used + n > SLAB_BYTES) {
    // A new ArrayBuffer is zeroed, and no part of a slab is handed out twice.
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  // Eight-byte steps keep every view aligned, as a fresh allocation would be.
  used += (n + 7) & ~7;
  return out;
}
