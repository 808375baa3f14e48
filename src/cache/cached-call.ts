// A model call through the response cache, as an observable: a hit emits the stored result
// (marked cached) without subscribing to the call, so no model is called and no admission
// budget is spent; a miss subscribes to the call and stores what it returns. Put it outside
// admission control and retries: `cachedCall(cache, id, request, admitted(retried(call)))`.
import { concatMap, defer, from, type Observable, of, tap } from "rxjs";
import type { ChatRequest, ChatResult } from "../providers/types.js";
import { type ModelIdentity, responseKey } from "./key.js";
import { type CachedResult, type ResponseCache, replayed } from "./types.js";

export interface CachedCallOptions {
  /**
   * Results the caller would reject (e.g. an empty reply it retries) are neither stored nor
   * replayed, so a retry after such a reply reaches the model instead of the same bad reply.
   */
  accept?: (result: ChatResult) => boolean;
  /** Part of the key: separates calls that are otherwise identical (see responseKey). */
  variant?: string;
}

const acceptAll = () => true;

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}

/** cachedCall with the key already computed (e.g. by a caller that also logs it). */
export function cachedCallByKey(
  cache: ResponseCache | undefined,
  key: string,
  call$: Observable<ChatResult>,
  options: Pick<CachedCallOptions, "accept"> = {},
): Observable<ChatResult> {
  if (!cache) return call$;
  return defer(() => lookUp(cache, key, call$, options.accept ?? acceptAll));
}

/**
 * The call keyed by model identity and request. Without a cache (--no-cache) it is call$ itself.
 * The key is computed at subscription, so a resubscription (a retried step) looks up again.
 */
export function cachedCall(
  cache: ResponseCache | undefined,
  identity: ModelIdentity,
  request: ChatRequest,
  call$: Observable<ChatResult>,
  options: CachedCallOptions = {},
): Observable<ChatResult> {
  if (!cache) return call$;
  const accept = options.accept ?? acceptAll;
  return defer(() => lookUp(cache, responseKey(identity, request, options.variant), call$, accept));
}

/** A hit as the stored result, a miss as the call with its result stored. */
function lookUp(
  cache: ResponseCache,
  key: string,
  call$: Observable<ChatResult>,
  accept: (result: ChatResult) => boolean,
): Observable<ChatResult> {
  const onLookup = (found: CachedResult | undefined): Observable<ChatResult> => {
    if (found) {
      const result = replayed(found);
      if (accept(result)) return of(result);
    }
    return call$.pipe(
      tap((result) => {
        if (accept(result)) cache.put(key, result);
      }),
    );
  };
  const found = cache.get(key);
  // A synchronous answer stays synchronous: a hit costs no microtask and emits at once in
  // virtual time.
  return isPromise(found) ? from(found).pipe(concatMap(onLookup)) : onLookup(found);
}
