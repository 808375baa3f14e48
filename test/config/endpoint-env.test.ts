// OPENAI_BASE_URL / ANTHROPIC_BASE_URL fill only the blocks of their provider that name no
// base_url; the key variable follows when it is set, else the block is a keyless endpoint.
import { describe, expect, it } from "vitest";
import { applyEndpointEnvironment, describeEndpointEnvironment } from "../../src/config/endpoint-env.js";
import { InputError } from "../../src/config/errors.js";
import { resolveEndpoint } from "../../src/providers/presets.js";
import { ConvosimConfig } from "../../src/schema/config.js";

const config = (ig: unknown, distractor: unknown = {}) =>
  ConvosimConfig.parse({ interaction_generation: ig, distractor });

describe("applyEndpointEnvironment", () => {
  it("fills openai and anthropic blocks with no base_url; an explicit base_url and other providers stay", () => {
    const c = config({
      assistant_model: {
        model_pool: [
          { provider: "openai", model: "a", weight: 1 },
          { provider: "openai", model: "b", weight: 1, base_url: "http://mine:1/v1" },
          { provider: "openrouter", model: "c", weight: 1 },
        ],
      },
      user_model: { provider: "anthropic", model: "claude" },
    });
    const applied = applyEndpointEnvironment(c, {
      OPENAI_BASE_URL: "http://proxy:4000/v1",
      OPENAI_API_KEY: "sk-proxy-key-123",
      ANTHROPIC_BASE_URL: "https://anthropic.proxy",
    });
    const pool = c.interaction_generation.assistant_model.model_pool ?? [];
    expect(pool.map((e) => e.base_url)).toEqual(["http://proxy:4000/v1", "http://mine:1/v1", undefined]);
    expect(pool[0]?.api_key_env).toBe("OPENAI_API_KEY");
    expect(c.interaction_generation.user_model.base_url).toBe("https://anthropic.proxy");
    // ANTHROPIC_API_KEY is not set: a keyless endpoint, like any base_url of one's own.
    expect(c.interaction_generation.user_model.api_key_env).toBeUndefined();
    expect(describeEndpointEnvironment(applied)).toEqual([
      "assistant_model.model_pool[0]: base_url from OPENAI_BASE_URL (http://proxy:4000/v1), key from OPENAI_API_KEY",
      "user_model: base_url from ANTHROPIC_BASE_URL (https://anthropic.proxy), no key (placeholder sent)",
    ]);
    const user = resolveEndpoint(c.interaction_generation.user_model, {});
    expect(user.baseUrl).toBe("https://anthropic.proxy");
    expect(user.apiKey).toBe("not-needed");
    const first = resolveEndpoint(pool[0]!, { OPENAI_API_KEY: "sk-proxy-key-123" });
    expect(first.apiKey).toBe("sk-proxy-key-123");
  });

  it("does nothing without the variables (or with them empty)", () => {
    const c = config({ assistant_model: { provider: "openai", model: "gpt-4o-mini" } });
    expect(applyEndpointEnvironment(c, { OPENAI_BASE_URL: " " })).toEqual([]);
    expect(c.interaction_generation.assistant_model.base_url).toBeUndefined();
  });

  it("refuses a non-http URL or one with credentials, naming the variable, never the secret", () => {
    const c = config({ assistant_model: { provider: "openai", model: "gpt-4o-mini" } });
    const bad = (url: string) => {
      try {
        applyEndpointEnvironment(c, { OPENAI_BASE_URL: url });
      } catch (error) {
        return error as InputError;
      }
      throw new Error("expected an InputError");
    };
    const ftp = bad("ftp://host/v1");
    expect(ftp).toBeInstanceOf(InputError);
    expect(ftp.field).toBe("OPENAI_BASE_URL");
    const secret = bad("http://localhost/v1?api_key=sk-secret-999");
    expect(secret.format()).toContain("OPENAI_BASE_URL");
    expect(secret.format()).not.toContain("sk-secret-999");
  });
});
