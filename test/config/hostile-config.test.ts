// Hostile or careless configs must fail at load, as one InputError naming the file and field:
// credentials in a base_url, an empty model_pool, a model block that names a hosted model but
// no provider, oversized or endless files, alias bombs, deep nesting, invalid UTF-8.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { loadConfig, MAX_CONFIG_BYTES } from "../../src/config/load.js";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-hostile-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(content: string | Buffer): Promise<string> {
  const path = join(dir, `config-${++counter}.yaml`);
  await writeFile(path, content);
  return path;
}

async function loadError(content: string | Buffer): Promise<InputError> {
  const path = await writeConfig(content);
  const error = await loadConfig(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  const input = error as InputError;
  expect(input.file).toBe(path);
  return input;
}

/** The YAML of a config with `block` (a one-line flow mapping) at a dotted model location. */
function withModel(location: string, block: string): string {
  switch (location) {
    case "interaction_generation.assistant_model":
      return `interaction_generation:\n  assistant_model: ${block}\n`;
    case "interaction_generation.user_model":
      return `interaction_generation:\n  user_model: ${block}\n`;
    case "interaction_generation.assistant_model.model_pool[1]":
      return `interaction_generation:\n  assistant_model:\n    model_pool:\n      - { provider: fake, model: a }\n      - ${block}\n`;
    case "distractor.model":
      return `distractor:\n  enabled: true\n  use_semantic: true\n  model: ${block}\n`;
    default: {
      const helper = location.split(".")[1];
      return `interaction_generation:\n  ${helper}:\n    enabled: true\n    model: ${block}\n`;
    }
  }
}

const MODEL_LOCATIONS = [
  "interaction_generation.assistant_model",
  "interaction_generation.user_model",
  "interaction_generation.assistant_model.model_pool[1]",
  "interaction_generation.style_transfer.model",
  "interaction_generation.query_generation.model",
  "interaction_generation.scenario_generation.model",
  "interaction_generation.stop_judge.model",
  "interaction_generation.turn_verifier.model",
  "distractor.model",
];

describe("base_url: no credentials in a URL", () => {
  it.each(MODEL_LOCATIONS)("refuses user:password@ in %s.base_url, showing neither", async (location) => {
    const error = await loadError(
      withModel(
        location,
        '{ provider: openai, model: m, base_url: "http://alice:hunter2secret@127.0.0.1:9/v1" }',
      ),
    );
    expect(error.field).toBe(`${location}.base_url`);
    const text = error.format();
    expect(text).toMatch(/api_key_env/);
    expect(text).not.toContain("hunter2secret");
    expect(text).not.toContain("alice");
    expect(error.line).toBeGreaterThan(0);
  });

  it("refuses a user name alone, and a key in the query string", async () => {
    const user = await loadError(
      withModel(
        "interaction_generation.user_model",
        '{ provider: openai, model: m, base_url: "https://tok3n@h.example/v1" }',
      ),
    );
    expect(user.format()).not.toContain("tok3n");
    for (const param of ["api_key", "key", "access_token", "apiKey", "token", "x-api-key", "sig"]) {
      const query = await loadError(
        withModel(
          "interaction_generation.assistant_model",
          `{ provider: openai, model: m, base_url: "https://h.example/v1?${param}=QUERYSECRET123" }`,
        ),
      );
      expect(query.field).toBe("interaction_generation.assistant_model.base_url");
      expect(query.format()).toMatch(/api_key_env/);
      expect(query.format()).not.toContain("QUERYSECRET123");
    }
  });

  it("keeps ordinary query parameters (an Azure-style api-version) and plain URLs", async () => {
    const config = await loadConfig(
      await writeConfig(
        withModel(
          "interaction_generation.assistant_model",
          '{ provider: openai, model: m, base_url: "https://h.example/openai?api-version=2024-02-01" }',
        ),
      ),
    );
    expect(config.interaction_generation.assistant_model.base_url).toBe(
      "https://h.example/openai?api-version=2024-02-01",
    );
  });

  it("never echoes credentials from a base_url that is not a valid URL either", async () => {
    const error = await loadError(
      withModel(
        "interaction_generation.user_model",
        '{ provider: openai, model: m, base_url: "localhost:pw9secret@x/v1" }',
      ),
    );
    expect(error.field).toBe("interaction_generation.user_model.base_url");
    expect(error.format()).not.toContain("pw9secret");
  });
});

describe("model_pool", () => {
  it("refuses an empty model_pool instead of falling back to the single model", async () => {
    const error = await loadError(
      "interaction_generation:\n  assistant_model:\n    provider: fake\n    model_pool: []\n",
    );
    expect(error.field).toBe("interaction_generation.assistant_model.model_pool");
    expect(error.line).toBe(4);
    expect(error.format()).toMatch(/at least one model/);
  });
});

describe("provider: never silently the embedded model", () => {
  it.each(MODEL_LOCATIONS)("requires provider when %s names a hosted model", async (location) => {
    const error = await loadError(withModel(location, "{ model: gpt-4o-mini }"));
    expect(error.field).toBe(`${location}.provider`);
    expect(error.message).toBe("is missing: add provider: openai (or anthropic, local)");
    expect(error.line).toBeGreaterThan(0);
  });

  it("requires provider when a block has base_url or api_key_env, even with an embedded model name", async () => {
    const withKey = await loadError(
      withModel(
        "interaction_generation.assistant_model",
        "{ model: gpt-4o-mini, api_key_env: OPENAI_API_KEY }",
      ),
    );
    expect(withKey.format()).toMatch(
      /interaction_generation\.assistant_model\.provider: is missing: add provider: openai \(or anthropic, local\)/,
    );
    const keyOnly = await loadError(
      withModel("interaction_generation.user_model", "{ api_key_env: MY_KEY }"),
    );
    expect(keyOnly.field).toBe("interaction_generation.user_model.provider");
    const urlOnly = await loadError(
      withModel(
        "interaction_generation.user_model",
        '{ model: gemma-3-270m, base_url: "http://127.0.0.1:9/v1" }',
      ),
    );
    expect(urlOnly.field).toBe("interaction_generation.user_model.provider");
  });

  it("keeps the embedded models without a provider", async () => {
    const config = await loadConfig(
      await writeConfig(
        "interaction_generation:\n  assistant_model: { model: qwen2.5-coder-0.5b-instruct }\n  user_model: { model: gemma-3-270m, temperature: 0.5 }\n",
      ),
    );
    expect(config.interaction_generation.assistant_model.provider).toBe("local");
    expect(config.interaction_generation.user_model.provider).toBe("local");
  });

  it("refuses provider: local with a model it cannot run, naming the model field", async () => {
    const error = await loadError(
      withModel("interaction_generation.assistant_model", "{ provider: local, model: gpt-4o-mini }"),
    );
    expect(error.field).toBe("interaction_generation.assistant_model.model");
    expect(error.format()).toMatch(/not an embedded model/);
    expect(error.format()).toMatch(/model_path|provider/);
  });

  it("records a local model_path's own name, not the default embedded model's", async () => {
    const gguf = join(dir, "tiny-llama-q4.gguf");
    await writeFile(gguf, "GGUF");
    const config = await loadConfig(
      await writeConfig(
        `interaction_generation:\n  user_model: { provider: local, model_path: "${gguf}" }\n`,
      ),
    );
    expect(config.interaction_generation.user_model.model).toBe("tiny-llama-q4");
    const named = await loadConfig(
      await writeConfig(
        `interaction_generation:\n  user_model: { provider: local, model: my-llama, model_path: "${gguf}" }\n`,
      ),
    );
    expect(named.interaction_generation.user_model.model).toBe("my-llama");
  });

  it("still loads every example config", async () => {
    const examples = join(import.meta.dirname, "../../examples");
    const names = (await readdir(examples)).filter((name) => name.endsWith(".yaml"));
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) await expect(loadConfig(join(examples, name))).resolves.toBeDefined();
  });
});

describe("size, depth and aliases", () => {
  it("refuses a config larger than the documented limit without reading it all", async () => {
    const error = await loadError(`# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    expect(error.message).toMatch(/larger than 1 MiB/);
  });

  it("refuses an endless device (-c /dev/zero) after reading at most the limit", async () => {
    const before = process.memoryUsage().rss;
    const error = await loadConfig("/dev/zero").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).file).toBe("/dev/zero");
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it("refuses a YAML alias bomb as bad input", async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(
        `${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
      );
    }
    const error = await loadError(`${levels.join("\n")}\n`);
    expect(error.message).toMatch(/alias/i);
  });

  it("refuses a config nested 5,000 levels deep as bad input", async () => {
    const error = await loadError(`pricing: ${"[".repeat(5000)}${"]".repeat(5000)}\n`);
    expect(error.message).toMatch(/nested more than 64 levels/);
    const block = await loadError(
      `pricing:\n${Array.from({ length: 300 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")} 1\n`,
    );
    expect(block.line).toBe(64);
    expect(block.message).toMatch(/nested more than 64 levels/);
  });

  it("names the line of invalid UTF-8", async () => {
    const text = Buffer.concat([
      Buffer.from(`${"# padding comment line\n".repeat(100)}interaction_generation:\n  seed: 1 # `),
      Buffer.from([0xc3, 0x28]),
      Buffer.from("\n"),
    ]);
    const error = await loadError(text);
    expect(error.message).toMatch(/invalid UTF-8/);
    expect(error.line).toBe(102);
  });
});

describe("the embedded model names", () => {
  it("are the local provider's catalogue", async () => {
    const { EMBEDDED_MODELS } = await import("../../src/providers/local/model-cache.js");
    const { EMBEDDED_MODEL_NAMES } = await import("../../src/schema/config.js");
    expect([...EMBEDDED_MODEL_NAMES].sort()).toEqual(Object.keys(EMBEDDED_MODELS).sort());
  });
});

describe("files a config refers to", () => {
  it("refuses a prompt template or strategy file larger than 1 MiB, naming the key", async () => {
    const big = join(dir, "big-template.md");
    await writeFile(big, "x".repeat(1024 * 1024 + 1));
    const template = await loadError(
      `interaction_generation:\n  user_model:\n    system_prompt_template: "${big}"\n`,
    );
    expect(template.field).toBe("interaction_generation.user_model.system_prompt_template");
    expect(template.message).toMatch(/larger than 1 MiB/);
    const strategy = await loadError(`distractor:\n  strategy_path: "${big}"\n`);
    expect(strategy.field).toBe("distractor.strategy_path");
  });

  it("refuses a device as a template (it is not a regular file)", async () => {
    const error = await loadError(
      "interaction_generation:\n  style_transfer:\n    prompt_template: /dev/zero\n",
    );
    expect(error.message).toMatch(/not a regular file/);
  });
});

describe("configs given in code go through the same model-block checks", () => {
  it("InteractionGenerator and createDistractor refuse a hosted model named without provider", async () => {
    const { InteractionGenerator } = await import("../../src/api/reference.js");
    const { createDistractor } = await import("../../src/api/distractor.js");
    const build = () =>
      new InteractionGenerator({ interaction_generation: { assistant_model: { model: "gpt-4o-mini" } } });
    expect(build).toThrow(InputError);
    expect(build).toThrow(/is missing: add provider: openai/);
    await expect(
      createDistractor({ distractor: { use_semantic: true, model: { model: "gpt-4o-mini" } } }),
    ).rejects.toThrow(/distractor\.model\.provider|is missing/);
    const ok = new InteractionGenerator({
      interaction_generation: { user_model: { model: "gemma-3-270m" } },
    });
    expect(ok.config.interaction_generation.user_model.provider).toBe("local");
  });
});
