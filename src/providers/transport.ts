// The lean transport (`transport: "undici"` on a model): a fetch for the HTTP SDKs built on a
// keep-alive undici Agent and its request() call instead of a WHATWG fetch implementation.
//
// Why: the global fetch (and undici's own fetch()) builds a Request, tees and wraps web streams,
// and links AbortSignals for every call; measured on the stand-in server that is most of the
// client's CPU per call beside the SDK's own work. request() over a keep-alive pool skips all of
// it. For a self-hosted OpenAI-compatible server (vLLM, llama.cpp) answering thousands of calls a
// second, the client's CPU per call is what limits throughput (see docs/benchmarks.md).
//
// What it keeps from fetch, so the SDKs cannot tell the difference:
// - resolves to a WHATWG Response (status, headers, text()/json(), body stream);
// - network failures reject with TypeError("fetch failed", { cause }) like undici's fetch;
// - an aborted signal rejects with the signal's reason (an AbortError), before or during the
//   exchange, body included.
// What it drops: redirects are not followed (the response is returned as is, as with
// redirect: "manual"; configure the endpoint's final URL), no cookies, no CORS. Request bodies
// other than strings and bytes (FormData, Blob, streams — never sent by convosim) go through
// undici's own fetch on the same keep-alive agent.
import { Readable } from "node:stream";
import { Agent, fetch as undiciFetch } from "undici";

export interface LeanTransportOptions {
  /**
   * Connections per origin. Default: unlimited — one per request in flight, reused by keep-alive.
   * A cap also caps concurrency: POSTs are never pipelined, so a model call holds a connection
   * for its whole latency (seconds on a real model).
   */
  connections?: number;
  /** Idle keep-alive sockets are closed after this long (ms). Default 60 s. */
  keepAliveTimeoutMs?: number;
}

type FetchInput = Parameters<typeof fetch>[0];
type FetchInit = NonNullable<Parameters<typeof fetch>[1]>;

/** A fetch plus the pool behind it. */
export interface LeanTransport {
  readonly fetch: typeof fetch;
  /** Open sockets to an origin ("http://127.0.0.1:8000"), for diagnostics and tests. */
  connections(origin: string): number;
  /** Closes idle sockets and refuses new requests; in-flight requests finish. */
  close(): Promise<void>;
}

// Responses that must not carry a body (the Response constructor throws otherwise).
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Response headers as undici hands them over (a value may repeat: set-cookie). */
function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value === "string") headers.append(name, value);
    else for (const v of value) headers.append(name, v);
  }
  return headers;
}

/** Request headers in a shape request() accepts: Headers and pair lists are iterable as is. */
function requestHeaders(init: FetchInit["headers"]): Iterable<[string, string]> | Record<string, string> {
  if (init === undefined || init === null) return {};
  if (init instanceof Headers || Array.isArray(init)) return init as Iterable<[string, string]>;
  return init as Record<string, string>;
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  return new DOMException("This operation was aborted", "AbortError");
}

export function createLeanTransport(options: LeanTransportOptions = {}): LeanTransport {
  const agent = new Agent({
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000,
    keepAliveMaxTimeout: 10 * 60_000,
    // No transport-level timeouts: the caller's signal is the deadline (the SDK's timeout and
    // convosim's per-call deadline both abort it), and a model may legitimately think for minutes.
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  async function leanFetch(input: FetchInput, init: FetchInit = {}): Promise<Response> {
    const body = init.body;
    const simpleBody =
      body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array;
    if (!simpleBody || (typeof input !== "string" && !(input instanceof URL))) {
      // Rare shapes get the full fetch implementation, still on the keep-alive agent. undici's
      // fetch types are its own copies of the DOM ones; the objects are the same at run time.
      const fallback = undiciFetch as unknown as (
        i: FetchInput,
        o: Omit<FetchInit, "dispatcher"> & { dispatcher: unknown },
      ) => Promise<Response>;
      return fallback(input, { ...init, dispatcher: agent });
    }
    const url = typeof input === "string" ? new URL(input) : input;
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortReason(signal);
    let response: Awaited<ReturnType<Agent["request"]>>;
    try {
      response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: (init.method ?? "GET").toUpperCase() as "GET",
        headers: requestHeaders(init.headers),
        body: (body ?? null) as string | Uint8Array | null,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw new TypeError("fetch failed", { cause: error });
    }
    const headers = toHeaders(response.headers);
    const status = response.statusCode;
    if (NULL_BODY.has(status)) {
      response.body.resume();
      return new Response(null, { status, headers });
    }
    // Event streams stay streams; everything else (JSON answers, error bodies) is read here in
    // one piece, which is cheaper than a web stream over a node stream, and completes within the
    // caller's deadline all the same.
    if ((headers.get("content-type") ?? "").includes("text/event-stream")) {
      return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, { status, headers });
    }
    let bytes: ArrayBuffer;
    try {
      bytes = await response.body.arrayBuffer();
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw new TypeError("fetch failed", { cause: error });
    }
    return new Response(bytes, { status, headers });
  }

  return {
    fetch: leanFetch as typeof fetch,
    connections: (origin) => {
      const stats = agent.stats[origin];
      const connected = stats?.connected ?? 0;
      return typeof connected === "number" ? connected : connected ? 1 : 0;
    },
    close: () => agent.close(),
  };
}

let shared: LeanTransport | undefined;

/**
 * The process-wide lean transport, created on first use. Models on any endpoint share it (the
 * agent keeps one pool per origin). Idle keep-alive sockets do not keep the process alive.
 */
export function sharedLeanTransport(): LeanTransport {
  if (shared) return shared;
  const created = createLeanTransport();
  // Closing the shared transport forgets it: the next caller gets a fresh one.
  shared = {
    ...created,
    close: () => {
      if (shared?.fetch === created.fetch) shared = undefined;
      return created.close();
    },
  };
  return shared;
}
