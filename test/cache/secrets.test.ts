// API keys never reach the response cache: a real OpenAI-compatible model on a loopback server,
// called through cachedCall with one key, is replayed with another key (the key does not
// change the cache key), and no file in the cache holds either key.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncScheduler, firstValueFrom } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cachedCall } from "../../src/cache/cached-call.js";
import { keyMaterial, modelIdentity } from "../../src/cache/key.js";
import { SegmentResponseCache } from "../../src/cache/segment-cache.js";
import { callModel } from "../../src/operators/call-model.js";
import { clearClientCache, createChatModel } from "../../src/providers/registry.js";
import type { ChatRequest } from "../../src/providers/types.js";
import { ModelConfig } from "../../src/schema/config.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

const FIRST_KEY = "sk-test-FIRST-0123456789abcdef";
const SECOND_KEY = "sk-test-SECOND-fedcba9876543210";

async function allText(dir: string): Promise<string> {
  let text = "";
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile())
      text += `${entry.name}\n${await readFile(join(entry.parentPath, entry.name), "utf8")}\n`;
  return text;
}

describe("the response cache and API keys", () => {
  let server: LoopbackServer;
  let dir: string;
  beforeEach(async () => {
    server = await startLoopbackServer((_request, index) => ({
      status: 200,
      headers: { "x-ratelimit-remaining-requests": "99" },
      body: {
        id: `c${index}`,
        choices: [
          { index: 0, message: { role: "assistant", content: `answer ${index}` }, finish_reason: "stop" },
        ],
        usage: { prompt_tokens: 11, completion_tokens: 3 },
      },
    }));
    dir = await mkdtemp(join(tmpdir(), "convosim-secrets-"));
    clearClientCache();
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
    clearClientCache();
  });

  it("neither keys nor stores the API key, and replays under another key", async () => {
    const config = ModelConfig.parse({
      provider: "openai",
      model: "gpt-test",
      base_url: `${server.url}/v1`,
      api_key_env: "CACHE_TEST_KEY",
    });
    const request: ChatRequest = {
      messages: [{ role: "user", content: "hello" }],
      temperature: 0.5,
      seed: 7,
    };
    const run = async (apiKey: string) => {
      const model = await createChatModel(config, { env: { CACHE_TEST_KEY: apiKey } });
      const cache = new SegmentResponseCache(dir);
      const call$ = callModel(model, request, {
        retry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
        scheduler: asyncScheduler,
        jitterSeed: 1,
      });
      const result = await firstValueFrom(cachedCall(cache, modelIdentity(config), request, call$));
      await cache.close();
      return result;
    };

    const first = await run(FIRST_KEY);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${FIRST_KEY}`); // the key was really used
    expect(first).toMatchObject({ text: "answer 0", usage: { prompt_tokens: 11, completion_tokens: 3 } });

    const replay = await run(SECOND_KEY);
    expect(server.requests).toHaveLength(1); // no second request
    expect(replay).toEqual({ ...first, rateLimit: undefined, cached: true, usage: first.usage });

    const stored = await allText(dir);
    expect(stored).toContain("answer 0");
    for (const secret of [FIRST_KEY, SECOND_KEY, "CACHE_TEST_KEY", "ratelimit", "remainingRequests"])
      expect(stored).not.toContain(secret);
    expect(keyMaterial(modelIdentity(config), request)).not.toMatch(/sk-test|CACHE_TEST_KEY/);
  });
});
