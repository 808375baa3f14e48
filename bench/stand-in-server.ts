// A stand-in for an OpenAI-compatible endpoint, on loopback, built on node:http alone. It answers
// chat completions with deterministic content-derived replies (a user-style follow-up when the
// request simulates the user), counts tokens honestly (ceil(characters / 4) of the message texts
// and of the reply), and can add latency, faults and a requests-per-minute cap, all seeded.
// Used by integration tests and to measure the pipeline by hand (see stand-in-cli.ts).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FaultRates,
  faultDrawer,
  type LatencySpec,
  latencySampler,
  seededStreams,
  TokenBucket,
} from "./stand-in-shaping.js";
import {
  answer,
  type CompletionRequest,
  type Counts,
  cannedBodies,
  completionBody,
  maxTokensOf,
  sseBody,
  toMessages,
} from "./stand-in-wire.js";

export type { FaultRates, LatencySpec } from "./stand-in-shaping.js";

export interface StandInOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  latency?: LatencySpec;
  /** Seeds latency and fault draws. Default 0. */
  seed?: number;
  faults?: FaultRates;
  /** Cap enforced by a token bucket; over it: 429 with Retry-After and x-ratelimit-* headers. */
  requestsPerMinute?: number;
  /** Token-bucket capacity; default one second's worth of requestsPerMinute. */
  burst?: number;
  /**
   * False: the cap is enforced silently, the way many OpenAI-compatible gateways do it — no
   * x-ratelimit-* headers on any answer, and a 429 says only `Retry-After` in whole seconds (no
   * retry-after-ms). Default true.
   */
  rateLimitHeaders?: boolean;
  /** Keep the last N requests in stats.log (0, the default, keeps none). */
  logLimit?: number;
  /** Ids listed by GET /v1/models. */
  models?: readonly string[];
}

export interface RequestLogEntry {
  at: number;
  path: string;
  model: string;
  status: number | "held";
  fault?: string;
  latencyMs: number;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
}

export interface StandInStats {
  requests: number;
  completions: number;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  /** Refused by the requests-per-minute cap (also counted as 429 in byStatus). */
  throttled: number;
  /** performance.now() of the first chat completion request received (NaN before). */
  firstRequestAt: number;
  /** performance.now() of the last 200 sent (NaN before): with firstRequestAt, the span the server saw. */
  lastOkAt: number;
  inFlight: number;
  maxConcurrent: number;
  promptTokens: number;
  completionTokens: number;
  log: RequestLogEntry[];
}

export interface StandInServer {
  /** Base URL ending in /v1, ready for an OpenAI client's baseURL. */
  readonly url: string;
  readonly port: number;
  /** A snapshot. */
  readonly stats: StandInStats;
  /** Zeroes the stats and restarts the seeded streams and the rate limiter. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;

function emptyStats(): Omit<StandInStats, "log" | "inFlight"> {
  return {
    requests: 0,
    completions: 0,
    byStatus: {},
    faults: {},
    throttled: 0,
    firstRequestAt: Number.NaN,
    lastOkAt: Number.NaN,
    maxConcurrent: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
}

export async function startStandInServer(options: StandInOptions = {}): Promise<StandInServer> {
  const seed = options.seed ?? 0;
  const logLimit = Math.max(0, options.logLimit ?? 0);
  let streams = seededStreams(seed);
  let nextLatency = latencySampler(options.latency, () => streams.latency());
  let nextFault = faultDrawer(options.faults ?? {}, () => streams.faults());
  const bucket = options.requestsPerMinute
    ? new TokenBucket(options.requestsPerMinute, options.burst)
    : undefined;
  const retryAfterS = options.faults?.retryAfterSeconds ?? 1;
  const silentCap = options.rateLimitHeaders === false;

  let stats = emptyStats();
  let inFlight = 0;
  let log: RequestLogEntry[] = [];
  let logNext = 0;
  let sequence = 0;
  const timers = new Set<NodeJS.Timeout>();

  const bodies = cannedBodies(options.models ?? ["stand-in"]);

  const record = (entry: RequestLogEntry) => {
    if (logLimit === 0) return;
    if (log.length < logLimit) log.push(entry);
    else log[logNext] = entry;
    logNext = (logNext + 1) % logLimit;
  };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    if (res.destroyed || res.headersSent) return;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };

  const later = (ms: number, fn: () => void) => {
    if (ms <= 0) return fn();
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const complete = (path: string, body: Record<string, unknown>, res: ServerResponse) => {
    stats.completions++;
    if (Number.isNaN(stats.firstRequestAt)) stats.firstRequestAt = performance.now();
    const requestId = `req_standin_${++sequence}`;
    const model = typeof body.model === "string" ? body.model : "stand-in";
    const messages = toMessages(body.messages);
    if (!messages) return send(res, 400, bodies.noMessages, { "x-request-id": requestId });
    const stream = body.stream === true;
    const entry: RequestLogEntry = {
      at: Date.now(),
      path,
      model,
      status: 200,
      latencyMs: 0,
      stream,
      promptTokens: 0,
      completionTokens: 0,
    };
    const base: Record<string, string> = { "x-request-id": requestId };

    if (bucket) {
      const admission = bucket.take();
      if (silentCap) {
        // A silent gateway: nothing but Retry-After, rounded up to whole seconds.
        if (!admission.ok) {
          stats.throttled++;
          record({ ...entry, status: 429, fault: "throttled" });
          const seconds = Math.max(1, Math.ceil((admission.retryAfterMs ?? 1000) / 1000));
          return send(res, 429, bodies.throttled, { ...base, "retry-after": String(seconds) });
        }
      } else {
        Object.assign(base, admission.headers);
        if (!admission.ok) {
          stats.throttled++;
          const ms = admission.retryAfterMs ?? 1000;
          record({ ...entry, status: 429, fault: "throttled" });
          return send(res, 429, bodies.throttled, {
            ...base,
            "retry-after": String(Math.ceil(ms / 1000)),
            "retry-after-ms": String(ms),
          });
        }
      }
    }

    const fault = nextFault();
    if (fault) stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;
    if (fault === "timeout") {
      // Held: no answer ever; the socket is freed when the client gives up or on close().
      record({ ...entry, status: "held", fault });
      return;
    }
    if (fault === "rate_limit") {
      record({ ...entry, status: 429, fault });
      return send(res, 429, bodies.e429, {
        ...base,
        "retry-after": String(retryAfterS),
        "x-stand-in-fault": fault,
      });
    }
    const latencyMs = nextLatency();
    entry.latencyMs = latencyMs;
    later(latencyMs, () => {
      if (fault === "server_500" || fault === "server_503") {
        record({ ...entry, status: fault === "server_500" ? 500 : 503, fault });
        return send(
          res,
          fault === "server_500" ? 500 : 503,
          fault === "server_500" ? bodies.e500 : bodies.e503,
          { ...base, "x-stand-in-fault": fault },
        );
      }
      if (fault === "invalid_json" || fault === "no_choices") {
        record({ ...entry, fault });
        return send(res, 200, fault === "invalid_json" ? bodies.invalidJson : bodies.noChoices, {
          ...base,
          "x-stand-in-fault": fault,
        });
      }
      const request: CompletionRequest = { id: requestId, model, messages, maxTokens: maxTokensOf(body) };
      const counts: Counts = answer(request);
      entry.promptTokens = counts.promptTokens;
      entry.completionTokens = counts.completionTokens;
      stats.promptTokens += counts.promptTokens;
      stats.completionTokens += counts.completionTokens;
      record(entry);
      stats.lastOkAt = performance.now();
      if (!stream) return send(res, 200, completionBody(request, counts), base);
      if (res.destroyed) return;
      stats.byStatus[200] = (stats.byStatus[200] ?? 0) + 1;
      const includeUsage =
        (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...base });
      res.end(sseBody(request, counts, includeUsage));
    });
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    inFlight++;
    if (inFlight > stats.maxConcurrent) stats.maxConcurrent = inFlight;
    res.once("close", () => inFlight--);
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && (path === "/v1/models" || path === "/models"))
      return send(res, 200, bodies.models);
    if (req.method !== "POST" || (path !== "/v1/chat/completions" && path !== "/chat/completions")) {
      req.resume();
      return send(res, 404, bodies.notFound);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return send(res, 413, bodies.tooLarge);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks, size).toString("utf8"));
      } catch {
        return send(res, 400, bodies.badJson);
      }
      if (!body || typeof body !== "object" || Array.isArray(body)) return send(res, 400, bodies.badJson);
      complete(path, body as Record<string, unknown>, res);
    });
  });

  // Idle keep-alive sockets are kept a minute, as hosted APIs and their load balancers do, not
  // Node's 5 s: on a saturated machine a client could otherwise send its next request on a socket
  // the server is closing that moment, and a bare client with no retries (the bench's baseline)
  // failed on "other side closed".
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A deep accept queue: 10,000 clients connecting at once would otherwise overflow Node's
    // default backlog (511), and their SYNs, dropped, come back only after 1, 3, 7… s.
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", 16_384, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}/v1`,
    port: address.port,
    get stats(): StandInStats {
      return {
        ...stats,
        byStatus: { ...stats.byStatus },
        faults: { ...stats.faults },
        inFlight,
        log: [...log.slice(logNext), ...log.slice(0, logNext)],
      };
    },
    reset() {
      stats = emptyStats();
      log = [];
      logNext = 0;
      streams = seededStreams(seed);
      nextLatency = latencySampler(options.latency, () => streams.latency());
      nextFault = faultDrawer(options.faults ?? {}, () => streams.faults());
      bucket?.reset();
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Held (timeout-fault) requests and idle keep-alive sockets would keep close() waiting.
        server.closeAllConnections();
      });
    },
  };
}
