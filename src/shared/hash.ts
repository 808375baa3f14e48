// One 32-bit hash for every seeded choice in convosim: conversation streams (model pick, turns,
// feedback coin), the noise layers' streams and the report's sample. Kept in shared/, which
// imports nothing, so every layer may use it without breaking the layering.

/**
 * A 32-bit hash of a list of keys: FNV-1a over the keys joined by `separator` (so ("ab", "c")
 * and ("a", "bc") differ), finished with murmur3's avalanche so that keys differing in one
 * character give unrelated values. Not cryptographic, and it need not be: it runs several times
 * per model call, where sha256 was a visible cost.
 */
export function hashKeys(keys: ReadonlyArray<string | number>, separator = "\u0000"): number {
  let hash = 0x811c9dc5;
  for (let k = 0; k < keys.length; k++) {
    const text = k === 0 ? String(keys[k]) : `${separator}${keys[k]}`;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
