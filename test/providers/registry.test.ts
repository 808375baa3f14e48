import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import { PLACEHOLDER_API_KEY, resolveEndpoint } from "../../src/providers/presets.js";
import { checkModelConfig, createChatModel } from "../../src/providers/registry.js";
import { ModelConfig } from "../../src/schema/config.js";

const SECRET = "sk-registry-SECRET-77aa";
const config = (input: Record<string, unknown>) => ModelConfig.parse(input);

/** Records where requests would go, and with which key, without any network. */
function recordingFetch(seen: Array<{ url: string; auth: string | null; key: string | null }>): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    seen.push({
      url: request.url,
      auth: request.headers.get("authorization"),
      key: request.headers.get("x-api-key"),
    });
    const body = { choices: [{ message: { content: "ok" }, finish_reason: "stop" }] };
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("createChatModel: keys", () => {
  it("a missing default key fails naming the variable, without falling back and without values", async () => {
    const env = { UNRELATED_SECRET: SECRET, ANOTHER_KEY: SECRET };
    const error = await failure(
      createChatModel(config({ provider: "openai", model: "gpt-4o-mini" }), { env }),
    );
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(/^environment variable OPENAI_API_KEY is not set/);
    expect(error.message).toContain("default key variable of provider openai");
    expect(error.message).not.toContain(SECRET);
    expect(error.transient).toBe(false);
  });

  it("a named but unset api_key_env fails naming the variable and where it was named", async () => {
    const error = await failure(
      createChatModel(config({ provider: "openai", api_key_env: "MY_TEAM_KEY" }), {
        env: {},
        where: "interaction_generation.assistant_model",
      }),
    );
    expect(error.message).toBe(
      "environment variable MY_TEAM_KEY is not set (named by interaction_generation.assistant_model.api_key_env); export it or set api_key_env to the variable that holds your key",
    );
  });

  it("an empty variable counts as unset", () => {
    expect(() => checkModelConfig(config({ provider: "openai" }), { OPENAI_API_KEY: "  " })).toThrow(
      /OPENAI_API_KEY/,
    );
  });

  it("checkModelConfig validates synchronously with the same rules", () => {
    expect(() => checkModelConfig(config({ provider: "anthropic" }), {})).toThrow(
      /ANTHROPIC_API_KEY is not set/,
    );
    expect(() => checkModelConfig(config({ provider: "openrouter" }), {})).toThrow(
      /OPENROUTER_API_KEY is not set/,
    );
    expect(() => checkModelConfig(config({ provider: "openai" }), { OPENAI_API_KEY: SECRET })).not.toThrow();
    expect(() => checkModelConfig(config({ provider: "fake" }), {})).not.toThrow();
    expect(() => checkModelConfig(config({ provider: "local" }), {})).not.toThrow();
    // base_url pointing at OpenAI itself still needs the key
    expect(() =>
      checkModelConfig(config({ provider: "openai", base_url: "https://api.openai.com/v1/" }), {}),
    ).toThrow(/OPENAI_API_KEY/);
    // a self-hosted endpoint that names a variable needs it
    expect(() =>
      checkModelConfig(
        config({ provider: "openai", base_url: "http://127.0.0.1:8000/v1", api_key_env: "VLLM_KEY" }),
        {},
      ),
    ).toThrow(/VLLM_KEY/);
  });

  it("an unknown provider (config built without the schema) is a config error", () => {
    const bogus = { provider: "mystery", model: "m" } as unknown as ModelConfig;
    expect(() => checkModelConfig(bogus, {})).toThrow(/unknown provider "mystery"/);
  });
});

describe("createChatModel: endpoints", () => {
  it("a self-hosted OpenAI-compatible base_url without api_key_env sends the placeholder key", async () => {
    const seen: Array<{ url: string; auth: string | null; key: string | null }> = [];
    const model = await createChatModel(
      config({ provider: "openai", model: "llama", base_url: "http://127.0.0.1:8000/v1" }),
      {
        env: {},
        fetch: recordingFetch(seen),
      },
    );
    expect(model).toBeInstanceOf(OpenAIChatModel);
    await model.complete({ messages: [{ role: "user", content: "hi" }] });
    expect(seen).toEqual([
      { url: "http://127.0.0.1:8000/v1/chat/completions", auth: `Bearer ${PLACEHOLDER_API_KEY}`, key: null },
    ]);
  });

  it("openrouter goes to its endpoint with OPENROUTER_API_KEY", async () => {
    const seen: Array<{ url: string; auth: string | null; key: string | null }> = [];
    const model = await createChatModel(
      config({ provider: "openrouter", model: "anthropic/claude-3.5-haiku" }),
      {
        env: { OPENROUTER_API_KEY: SECRET },
        fetch: recordingFetch(seen),
      },
    );
    const result = await model.complete({ messages: [{ role: "user", content: "hi" }] });
    expect(seen[0]?.url).toBe("https://openrouter.ai/api/v1/chat/completions");
    expect(seen[0]?.auth).toBe(`Bearer ${SECRET}`);
    expect(result).toMatchObject({ provider: "openrouter", model: "anthropic/claude-3.5-haiku", text: "ok" });
  });

  it("resolveEndpoint reports the variable used but the registry never exposes the key on the model", async () => {
    const resolved = resolveEndpoint(config({ provider: "anthropic" }), { ANTHROPIC_API_KEY: SECRET });
    expect(resolved).toMatchObject({ apiKeyEnv: "ANTHROPIC_API_KEY", baseUrl: "https://api.anthropic.com" });
    const model = await createChatModel(config({ provider: "anthropic", model: "claude-x" }), {
      env: { ANTHROPIC_API_KEY: SECRET },
    });
    expect(model.provider).toBe("anthropic");
    expect(JSON.stringify(model)).not.toContain(SECRET);
  });
});

describe("createChatModel: fake", () => {
  it("is used only when configured explicitly", async () => {
    const model = await createChatModel(config({ provider: "fake", model: "scripted" }), { env: {} });
    expect(model).toBeInstanceOf(FakeChatModel);
    expect(model.provider).toBe("fake");
    const again = await model.complete({
      messages: [{ role: "user", content: "Explain binary search trees" }],
    });
    expect(again.text).toContain("binary");
  });

  it("is never chosen for another provider, whatever the environment", async () => {
    for (const provider of ["openai", "openrouter", "anthropic"]) {
      const error = await failure(createChatModel(config({ provider }), { env: {} }));
      expect(error.kind).toBe("config");
    }
    const real = await createChatModel(config({ provider: "openai" }), { env: { OPENAI_API_KEY: SECRET } });
    expect(real).not.toBeInstanceOf(FakeChatModel);
  });
});
