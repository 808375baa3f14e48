// The response cache: keys, storage (a segment log on disk, or memory) and the cachedCall operator.
export { type CachedCallOptions, cachedCall, cachedCallByKey } from "./cached-call.js";
export { decodeEntry, encodeEntry } from "./entry.js";
export {
  canonicalJson,
  endpointForKey,
  KEY_VERSION,
  keyMaterial,
  type ModelIdentity,
  modelIdentity,
  responseKey,
} from "./key.js";
export {
  defaultResponseCacheDir,
  type OpenResponseCacheOptions,
  openResponseCache,
} from "./location.js";
export { MemoryResponseCache, type MemoryResponseCacheOptions } from "./memory-cache.js";
export { SegmentResponseCache, type SegmentResponseCacheOptions } from "./segment-cache.js";
export {
  type CachedResult,
  type CacheStats,
  isCachedResult,
  type ResponseCache,
  replayed,
  toCachedResult,
} from "./types.js";
