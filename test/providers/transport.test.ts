// The lean transport (transport: "undici") against the real stand-in server: the SDK must not be
// able to tell it from fetch — same ChatResult, same ProviderError for every kind of failure,
// streaming intact — and the registry must hand it out unless transport: "sdk" is asked for.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { type StandInOptions, type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { ProviderError } from "../../src/providers/errors.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import { clearClientCache, createChatModel } from "../../src/providers/registry.js";
import { createLeanTransport, sharedLeanTransport } from "../../src/providers/transport.js";
import type { ChatRequest } from "../../src/providers/types.js";
import type { ModelConfig } from "../../src/schema/config.js";
import { waitUntil } from "../support/wait.js";

const SECRET = "sk-lean-RECOGNISABLE-SECRET-77aa01";
const servers: StandInServer[] = [];
const transport = createLeanTransport();

async function serve(options: StandInOptions = {}): Promise<StandInServer> {
  const server = await startStandInServer(options);
  servers.push(server);
  return server;
}
afterAll(async () => {
  await transport.close();
  await Promise.all(servers.map((s) => s.close()));
});

const ASK: ChatRequest = {
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "How should I index a Postgres table for range queries?" },
  ],
  maxTokens: 40,
};

function model(server: StandInServer, config: Partial<ModelConfig> = {}, lean = true): OpenAIChatModel {
  return new OpenAIChatModel(
    { provider: "openai", model: "stand-in", base_url: server.url, ...config },
    SECRET,
    lean ? { fetch: transport.fetch } : {},
  );
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  expect(String(error)).not.toContain(SECRET);
  return error as ProviderError;
}

describe("lean transport under the openai SDK", () => {
  it("gives the same result as the SDK's own fetch, rate-limit headers included", async () => {
    const server = await serve({ requestsPerMinute: 60_000 });
    const viaLean = await model(server).complete(ASK);
    const viaSdk = await model(server, {}, false).complete(ASK);
    expect(viaLean).toEqual(viaSdk);
    expect(viaLean.text.length).toBeGreaterThan(0);
    expect(viaLean.usage.prompt_tokens).toBeGreaterThan(0);
    expect(viaLean.rateLimit?.limitRequests).toBe(60_000);
    expect(server.stats.completions).toBe(2);
  });

  it("keeps connections alive: many sequential calls, few sockets", async () => {
    const server = await serve();
    const m = model(server);
    for (let i = 0; i < 20; i++) await m.complete(ASK);
    // One connection carries them all; the server saw one request in flight at a time.
    expect(server.stats.completions).toBe(20);
    expect(server.stats.maxConcurrent).toBe(1);
  });

  it("runs calls concurrently (no connection cap by default)", async () => {
    // 2 s per answer: on a loaded machine sending 30 requests took longer than the former 100 ms,
    // so the first answers came back before the last requests went out (maxConcurrent < 30).
    const server = await serve({ latency: 2_000 });
    const m = model(server);
    await Promise.all(Array.from({ length: 30 }, () => m.complete(ASK)));
    expect(server.stats.maxConcurrent).toBe(30);
  });

  it("429 → rate_limit with Retry-After and the request id", async () => {
    const server = await serve({ faults: { rateLimitRate: 1, retryAfterSeconds: 2 } });
    const error = await failure(model(server).complete(ASK));
    expect(error).toMatchObject({ kind: "rate_limit", status: 429, retryAfterMs: 2000 });
    expect(error.requestId).toMatch(/^req_standin_/);
  });

  it("500/503 → server; broken bodies → malformed", async () => {
    const errors = await serve({ faults: { serverErrorRate: 1 } });
    expect((await failure(model(errors).complete(ASK))).kind).toBe("server");
    const broken = await serve({ faults: { malformedRate: 1 } });
    for (let i = 0; i < 4; i++) expect((await failure(model(broken).complete(ASK))).kind).toBe("malformed");
  });

  it("a held request and a short request_timeout → timeout, and the socket is freed", async () => {
    const server = await serve({ faults: { timeoutRate: 1 } });
    const error = await failure(model(server, { request_timeout: 0.3 }).complete(ASK));
    expect(error.kind).toBe("timeout");
    // The server sees the client's socket close a moment later: waited for, bounded (a loaded
    // machine made the former 1 s poll too short).
    await waitUntil(() => server.stats.inFlight === 0, "the server to free the request");
  });

  it("a closed server → connection, naming the cause", async () => {
    const server = await startStandInServer();
    await server.close();
    const error = await failure(model(server).complete(ASK));
    expect(error.kind).toBe("connection");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("a caller abort rejects with the caller's reason", async () => {
    const server = await serve({ latency: 5_000 });
    const controller = new AbortController();
    const pending = model(server).complete({ ...ASK, signal: controller.signal });
    const reason = new Error("user pressed Ctrl-C");
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });

  it("streams server-sent events through the SDK", async () => {
    const server = await serve();
    const client = new OpenAI({ baseURL: server.url, apiKey: SECRET, fetch: transport.fetch, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "stand-in",
      messages: [...ASK.messages],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    const whole = await model(server).complete({ ...ASK, maxTokens: undefined });
    expect(text).toBe(whole.text);
    expect(completionTokens).toBe(whole.usage.completion_tokens);
  });
});

describe("lean fetch responses", () => {
  // A plain node:http server for what the stand-in never sends: repeated headers, 204, redirects.
  async function plainServer(): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      if (req.url === "/empty") return res.writeHead(204).end();
      if (req.url === "/moved") return res.writeHead(302, { location: "/elsewhere" }).end();
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.writeHead(200, { "content-type": "application/json", "x-one": "1" });
      res.end(JSON.stringify({ method: req.method, url: req.url, héllo: "wörld" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  it("behaves like a fetch Response: status, headers, one-time body, clone, stream", async () => {
    const server = await plainServer();
    try {
      const response = await transport.fetch(`${server.url}/x?q=1`, { method: "post", body: "{}" });
      expect(response).toBeInstanceOf(Response);
      expect(response.ok).toBe(true);
      expect(response.headers.get("x-one")).toBe("1");
      expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
      const copy = response.clone();
      expect(response.bodyUsed).toBe(false);
      expect(await response.json()).toEqual({ method: "POST", url: "/x?q=1", héllo: "wörld" });
      expect(response.bodyUsed).toBe(true);
      await expect(response.text()).rejects.toBeInstanceOf(TypeError);
      const streamed = await new Response(copy.body).text();
      expect(JSON.parse(streamed)).toMatchObject({ héllo: "wörld" });
      expect(copy.bodyUsed).toBe(true);

      const bytes = await (await transport.fetch(`${server.url}/y`)).arrayBuffer();
      expect(JSON.parse(new TextDecoder().decode(bytes))).toMatchObject({ method: "GET" });
      const empty = await transport.fetch(`${server.url}/empty`);
      expect(empty.status).toBe(204);
      expect(await empty.text()).toBe("");
      const moved = await transport.fetch(`${server.url}/moved`);
      expect(moved.status).toBe(302); // not followed: the endpoint's final URL belongs in the config
      expect(moved.headers.get("location")).toBe("/elsewhere");
    } finally {
      await server.close();
    }
  });

  it("refuses a URL with credentials as fetch does, before connecting (request() would drop them)", async () => {
    const server = await serve();
    const withCredentials = `${server.url.replace("http://", "http://user:pw@")}/models`;
    const viaLean = await transport.fetch(withCredentials).catch((e: unknown) => e);
    const viaFetch = await fetch(withCredentials).catch((e: unknown) => e);
    expect(viaLean).toBeInstanceOf(TypeError);
    expect(String(viaLean)).toBe(String(viaFetch));
    expect(String(viaLean)).toContain("includes credentials");
    expect(server.stats.requests).toBe(0);
  });

  it("an already aborted signal rejects before anything is sent", async () => {
    const server = await serve();
    const reason = new Error("stop");
    await expect(transport.fetch(`${server.url}/models`, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    expect(server.stats.requests).toBe(0);
  });
});

describe("registry and the lean transport", () => {
  it("hands the lean transport to models configured with it, and shares their client", async () => {
    clearClientCache();
    const server = await serve();
    const config: ModelConfig = {
      provider: "openai",
      model: "stand-in",
      base_url: server.url,
      transport: "undici",
    };
    const env = { OPENAI_API_KEY: SECRET };
    const origin = new URL(server.url).origin;
    const plain = await createChatModel({ ...config, transport: "sdk" }, { env });
    await plain.complete(ASK);
    expect(sharedLeanTransport().connections(origin)).toBe(0);
    const a = await createChatModel(config, { env });
    const b = await createChatModel({ ...config, model: "other" }, { env });
    const [ra, rb, rp] = await Promise.all([a.complete(ASK), b.complete(ASK), plain.complete(ASK)]);
    expect(ra.text).toBe(rp.text);
    expect(rb.model).toBe("other");
    expect(sharedLeanTransport().connections(origin)).toBeGreaterThan(0);
    expect(server.stats.completions).toBe(4);
    await sharedLeanTransport().close();
  });

  it("is the default for OpenAI-compatible endpoints: no transport set means the lean transport", async () => {
    clearClientCache();
    const server = await serve();
    const origin = new URL(server.url).origin;
    const env = { OPENAI_API_KEY: SECRET };
    const byDefault = await createChatModel(
      { provider: "openai", model: "stand-in", base_url: server.url },
      { env },
    );
    expect(sharedLeanTransport().connections(origin)).toBe(0);
    await byDefault.complete(ASK);
    expect(sharedLeanTransport().connections(origin)).toBe(1);
    await sharedLeanTransport().close();
  });
});
