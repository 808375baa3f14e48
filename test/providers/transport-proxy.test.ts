// Proxies on the lean transport (the default for OpenAI-compatible endpoints): HTTP_PROXY,
// HTTPS_PROXY and NO_PROXY are honoured — http:// endpoints forwarded, https:// ones tunnelled with
// CONNECT — checked against a real loopback proxy and the stand-in server. And the fact the
// documentation states: the SDK's own fetch on Node 20 ignores them.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { ProviderError } from "../../src/providers/errors.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import { clearClientCache, createChatModel } from "../../src/providers/registry.js";
import {
  createLeanTransport,
  type LeanTransport,
  proxySettingsFromEnv,
  sharedLeanTransport,
} from "../../src/providers/transport.js";
import type { ChatRequest } from "../../src/providers/types.js";
import { type LoopbackProxy, startLoopbackProxy } from "../support/loopback-proxy.js";

const ASK: ChatRequest = {
  messages: [{ role: "user", content: "How do I rotate a log file without losing lines?" }],
  maxTokens: 20,
};

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function standIn(): Promise<StandInServer> {
  const server = await startStandInServer();
  closers.push(() => server.close());
  return server;
}
async function proxy(refuse: string[] = []): Promise<LoopbackProxy> {
  const p = await startLoopbackProxy({ refuse });
  closers.push(() => p.close());
  return p;
}
function lean(settings: Parameters<typeof createLeanTransport>[0]): LeanTransport {
  const t = createLeanTransport(settings);
  closers.push(() => t.close());
  return t;
}
function modelOn(baseUrl: string, fetchImpl?: typeof fetch): OpenAIChatModel {
  return new OpenAIChatModel(
    { provider: "openai", model: "stand-in", base_url: baseUrl, request_timeout: 10 },
    "sk-test",
    fetchImpl ? { fetch: fetchImpl } : {},
  );
}

describe("proxy settings from the environment", () => {
  it("reads lower case before upper case and ignores blanks", () => {
    expect(
      proxySettingsFromEnv({
        http_proxy: "http://lower:1",
        HTTP_PROXY: "http://upper:1",
        HTTPS_PROXY: "http://secure:2",
        NO_PROXY: " ",
      }),
    ).toEqual({ httpProxy: "http://lower:1", httpsProxy: "http://secure:2" });
    expect(proxySettingsFromEnv({ no_proxy: "localhost,.internal" })).toEqual({
      noProxy: "localhost,.internal",
    });
    expect(proxySettingsFromEnv({})).toEqual({});
  });
});

describe("lean transport behind a proxy", () => {
  it("forwards http:// endpoints through HTTP_PROXY, answers unchanged", async () => {
    const server = await standIn();
    const p = await proxy();
    const viaProxy = await modelOn(server.url, lean({ proxy: { httpProxy: p.url } }).fetch).complete(ASK);
    const direct = await modelOn(server.url, lean({ proxy: {} }).fetch).complete(ASK);
    expect(viaProxy).toEqual(direct);
    expect(p.forwarded).toEqual([`${server.url}/chat/completions`]);
    expect(p.connects).toEqual([]);
    expect(server.stats.completions).toBe(2);
  });

  it("goes straight to hosts NO_PROXY names (host:port, or the host alone)", async () => {
    const server = await standIn();
    const p = await proxy();
    const { host, hostname } = new URL(server.url);
    for (const noProxy of [host, `example.test, ${hostname}`]) {
      const result = await modelOn(server.url, lean({ proxy: { httpProxy: p.url, noProxy } }).fetch).complete(
        ASK,
      );
      expect(result.text.length).toBeGreaterThan(0);
    }
    expect(p.forwarded).toEqual([]);
    expect(server.stats.completions).toBe(2);
  });

  it("tunnels https:// endpoints through HTTPS_PROXY with CONNECT; a refused tunnel is a connection error", async () => {
    const p = await proxy(["api.example.test:443"]);
    const t = lean({ proxy: { httpsProxy: p.url } });
    const error = await modelOn("https://api.example.test/v1", t.fetch)
      .complete(ASK)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("connection");
    expect(p.connects).toEqual(["api.example.test:443"]);
  });

  it("refuses a proxy URL it cannot use with one config error that does not echo the value", () => {
    const attempt = () => createLeanTransport({ proxy: { httpsProxy: "user:s3cret-pw@proxy:3128" } });
    expect(attempt).toThrow(ProviderError);
    try {
      attempt();
    } catch (error) {
      expect((error as ProviderError).kind).toBe("config");
      expect((error as Error).message).toMatch(/^HTTPS_PROXY is not an http:\/\/ or https:\/\/ proxy URL/);
      expect((error as Error).message).not.toContain("s3cret");
    }
  });
});

describe("the default transport and the environment", () => {
  const saved = { ...process.env };
  afterEach(async () => {
    for (const name of ["HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    clearClientCache();
    await sharedLeanTransport().close();
  });

  it("a model with no transport set goes through HTTP_PROXY; transport: sdk (Node 20's fetch) does not", async () => {
    const server = await standIn();
    const p = await proxy();
    delete process.env.http_proxy;
    delete process.env.no_proxy;
    delete process.env.NO_PROXY;
    process.env.HTTP_PROXY = p.url;
    clearClientCache();
    await sharedLeanTransport().close(); // the next one reads the environment afresh
    const env = { OPENAI_API_KEY: "sk-test" };
    const config = { provider: "openai" as const, model: "stand-in", base_url: server.url };
    await (await createChatModel(config, { env })).complete(ASK);
    expect(p.forwarded).toEqual([`${server.url}/chat/completions`]);
    await (await createChatModel({ ...config, transport: "sdk" }, { env })).complete(ASK);
    expect(p.forwarded).toHaveLength(1);
    expect(p.connects).toEqual([]);
    expect(server.stats.completions).toBe(2);
  });
});
