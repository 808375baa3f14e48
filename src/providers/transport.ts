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
// - a URL with a user name or password is refused with fetch's TypeError, naming the URL.
// What it drops: redirects are not followed (the response is returned as is, as with
// redirect: "manual"; configure the endpoint's final URL), no cookies, no CORS. Request bodies
// other than strings and bytes (FormData, Blob, streams — never sent by convosim) go through
// undici's own fetch on the same keep-alive agent.
//
// Proxies: HTTP_PROXY / HTTPS_PROXY / NO_PROXY (lower case first, as curl and undici read them)
// are honoured, through undici's EnvHttpProxyAgent — which Node 20's global fetch, and so the
// openai SDK's default transport, does not do. http:// endpoints are forwarded through the proxy
// (absolute URI, as curl does), https:// ones tunnelled with CONNECT. With no proxy variable set
// the pool is a plain Agent: no per-call NO_PROXY matching.
import { Readable } from "node:stream";
import { Agent, EnvHttpProxyAgent, fetch as undiciFetch } from "undici";
import { ProviderError } from "./errors.js";

export interface LeanTransportOptions {
  /**
   * Connections per origin. Default: unlimited — one per request in flight, reused by keep-alive.
   * A cap also caps concurrency: POSTs are never pipelined, so a model call holds a connection
   * for its whole latency (seconds on a real model).
   */
  connections?: number;
  /** Idle keep-alive sockets are closed after this long (ms). Default 60 s. */
  keepAliveTimeoutMs?: number;
  /** Proxies to use. Default: read from the environment once, when the transport is made. */
  proxy?: ProxySettings;
}

/** Where requests go through a proxy; empty strings count as unset. */
export interface ProxySettings {
  /** Proxy for http:// endpoints (HTTP_PROXY). */
  httpProxy?: string;
  /** Proxy for https:// endpoints (HTTPS_PROXY); falls back to httpProxy, like undici and curl. */
  httpsProxy?: string;
  /** Hosts reached directly (NO_PROXY): comma- or space-separated, `host`, `.domain`, `host:port`, `*`. */
  noProxy?: string;
}

/** The proxy variables of an environment, lower case winning over upper case (curl's order). */
export function proxySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ProxySettings {
  const read = (name: string): string | undefined => {
    const value = env[name.toLowerCase()] ?? env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const settings: ProxySettings = {};
  const http = read("HTTP_PROXY");
  const https = read("HTTPS_PROXY");
  const no = read("NO_PROXY");
  if (http !== undefined) settings.httpProxy = http;
  if (https !== undefined) settings.httpsProxy = https;
  if (no !== undefined) settings.noProxy = no;
  return settings;
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

/** Response headers as undici hands them over (a value may repeat: set-cookie), as pairs. */
function headerPairs(raw: Record<string, string | string[] | undefined>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value === "string") pairs.push([name, value]);
    else for (const v of value) pairs.push([name, v]);
  }
  return pairs;
}

const BODY_USED = "Body is unusable: Body has already been read";

/**
 * A Response whose body the transport has already read in full. It is constructed with a null
 * body so that no web stream is built (measured: about a third of the transport's own CPU per
 * call), and its body methods answer from the text. `body` builds a stream only when asked for
 * (and, like reading, uses the body up). Status, headers and `ok` are the base class's own.
 */
class BufferedResponse extends Response {
  readonly #text: string;
  #used = false;

  constructor(text: string, init: ResponseInit) {
    super(null, init);
    this.#text = text;
  }

  static {
    // Defined on the prototype rather than as methods: TypeScript's Response declares them as
    // properties, which a subclass may not redefine as methods or accessors.
    const take = (r: BufferedResponse): string => {
      if (r.#used) throw new TypeError(BODY_USED);
      r.#used = true;
      return r.#text;
    };
    const text = (r: BufferedResponse): Promise<string> => {
      try {
        return Promise.resolve(take(r));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const method = (fn: (r: BufferedResponse) => unknown) => ({
      value(this: BufferedResponse) {
        return fn(this);
      },
      writable: true,
      configurable: true,
    });
    Object.defineProperties(BufferedResponse.prototype, {
      text: method(text),
      json: method((r) => text(r).then((t) => JSON.parse(t) as unknown)),
      arrayBuffer: method((r) => text(r).then((t) => new TextEncoder().encode(t).buffer)),
      bytes: method((r) => text(r).then((t) => new TextEncoder().encode(t))),
      blob: method((r) => text(r).then((t) => new Blob([t], { type: r.headers.get("content-type") ?? "" }))),
      clone: method((r) => {
        if (r.#used) throw new TypeError(BODY_USED);
        return new BufferedResponse(r.#text, {
          status: r.status,
          statusText: r.statusText,
          headers: r.headers,
        });
      }),
      bodyUsed: {
        get(this: BufferedResponse) {
          return this.#used;
        },
      },
      body: {
        get(this: BufferedResponse) {
          return this.#used ? null : new Blob([take(this)]).stream();
        },
      },
    });
  }
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

/** Checks a proxy URL up front, so a typo is one clear line rather than a failure per call. */
function checkProxyUrl(value: string, variable: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // Never echo the value: proxy URLs often carry a user name and password.
  if (url === undefined || !["http:", "https:"].includes(url.protocol)) {
    throw new ProviderError(
      "config",
      `${variable} is not an http:// or https:// proxy URL: set it to e.g. http://proxy.example:3128, or unset it`,
    );
  }
}

/** A keep-alive pool, behind the configured proxies when there are any. */
function createPool(options: LeanTransportOptions): Agent | EnvHttpProxyAgent {
  const agentOptions = {
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000,
    keepAliveMaxTimeout: 10 * 60_000,
    // No transport-level timeouts: the caller's signal is the deadline (the SDK's timeout and
    // convosim's per-call deadline both abort it), and a model may legitimately think for minutes.
    headersTimeout: 0,
    bodyTimeout: 0,
  };
  const proxy = options.proxy ?? proxySettingsFromEnv();
  if (proxy.httpProxy === undefined && proxy.httpsProxy === undefined) return new Agent(agentOptions);
  if (proxy.httpProxy !== undefined) checkProxyUrl(proxy.httpProxy, "HTTP_PROXY");
  if (proxy.httpsProxy !== undefined) checkProxyUrl(proxy.httpsProxy, "HTTPS_PROXY");
  return new EnvHttpProxyAgent({
    ...agentOptions,
    // Explicit values (never undefined): EnvHttpProxyAgent would otherwise read the environment
    // itself, and NO_PROXY again on every request.
    ...(proxy.httpProxy !== undefined ? { httpProxy: proxy.httpProxy } : {}),
    ...(proxy.httpsProxy !== undefined ? { httpsProxy: proxy.httpsProxy } : {}),
    noProxy: proxy.noProxy ?? "",
    // Plain http:// endpoints are forwarded (GET http://host/path through the proxy), as curl
    // does: many proxies allow CONNECT to port 443 only.
    proxyTunnel: false,
  });
}

export function createLeanTransport(options: LeanTransportOptions = {}): LeanTransport {
  const agent = createPool(options);

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
    // As fetch does (the same TypeError, before any connection): request() would silently drop
    // the user name and password, sending the request without the credentials the URL names.
    if (url.username !== "" || url.password !== "") {
      throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${url.href}`);
    }
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
    const headers = headerPairs(response.headers);
    const status = response.statusCode;
    if (NULL_BODY.has(status)) {
      response.body.resume();
      return new Response(null, { status, headers });
    }
    // Event streams stay streams; everything else (JSON answers, error bodies) is read here in
    // one piece, which is cheaper than a web stream over a node stream, and completes within the
    // caller's deadline all the same.
    const type = response.headers["content-type"];
    if (typeof type === "string" && type.includes("text/event-stream")) {
      return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, { status, headers });
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw new TypeError("fetch failed", { cause: error });
    }
    return new BufferedResponse(text, { status, headers });
  }

  return {
    fetch: leanFetch as typeof fetch,
    connections: (origin) => {
      // Counted for direct connections; a proxied pool keeps its sockets per proxy.
      if (!(agent instanceof Agent)) return 0;
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
