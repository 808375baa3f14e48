import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { type ConfigOverrides, loadConfig } from "../../src/config/load.js";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(text: string, name = `config-${++counter}.yaml`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Loads and returns the InputError it must throw. */
async function loadError(text: string | undefined, overrides?: ConfigOverrides): Promise<InputError> {
  const path = text === undefined ? undefined : await writeConfig(text);
  const error = await loadConfig(path, overrides).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe("loadConfig: defaults", () => {
  it("gives every default with no path: the local provider", async () => {
    const config = await loadConfig();
    const ig = config.interaction_generation;
    expect(ig.assistant_model.provider).toBe("local");
    expect(ig.user_model.provider).toBe("local");
    expect([ig.min_turns, ig.max_turns, ig.max_workers, ig.max_retries, ig.retry_delay]).toEqual([
      2, 5, 20, 3, 2,
    ]);
    expect(ig.user_model.feedback_probability).toBe(0.6);
    expect(ig.call_retries).toEqual({ count: 4, base_delay: 0.5, max_delay: 30, max_retry_after: 60 });
    expect(config.distractor.enabled).toBe(false);
    expect(config.pricing).toEqual({});
  });

  it("accepts an empty file and a comments-only file as all defaults", async () => {
    const empty = await loadConfig(await writeConfig(""));
    const comments = await loadConfig(await writeConfig("# nothing here yet\n\n"));
    expect(empty).toEqual(await loadConfig());
    expect(comments).toEqual(await loadConfig());
  });

  it("reads the reference's keys", async () => {
    const path = await writeConfig(`
interaction_generation:
  min_turns: 3
  max_turns: 7
  max_workers: 5
  assistant_model:
    provider: openai
    model: gpt-4o-mini
    api_key_env: OPENAI_API_KEY
  user_model:
    provider: openrouter
    model: meta-llama/llama-3.1-8b-instruct
    feedback_probability: 0.3
distractor:
  enabled: true
  activation_probability: 0.5
pricing:
  openai/gpt-4o-mini: { input: 0.15, output: 0.6 }
`);
    const config = await loadConfig(path);
    const ig = config.interaction_generation;
    expect([ig.min_turns, ig.max_turns, ig.max_workers]).toEqual([3, 7, 5]);
    expect(ig.assistant_model).toMatchObject({ provider: "openai", model: "gpt-4o-mini", temperature: 0.7 });
    expect(ig.user_model.feedback_probability).toBe(0.3);
    expect(config.distractor.activation_probability).toBe(0.5);
    expect(config.pricing["openai/gpt-4o-mini"]).toEqual({ input: 0.15, output: 0.6 });
  });

  it("loads the documented example examples/config.yaml", async () => {
    const config = await loadConfig(join(import.meta.dirname, "../../examples/config.yaml"));
    expect(config.interaction_generation.assistant_model.model_pool?.length).toBeGreaterThan(1);
  });
});

describe("loadConfig: errors name the file, line and field", () => {
  it("reports broken YAML with its line", async () => {
    const error = await loadError("interaction_generation:\n  max_workers: 4\n   min_turns: [1, 2\n");
    expect(error.message).toMatch(/^invalid YAML/);
    expect(error.line).toBeGreaterThanOrEqual(2);
    expect(error.file).toMatch(/config-\d+\.yaml$/);
    expect(error.format()).toMatch(/config-\d+\.yaml line \d+, column \d+: invalid YAML/);
  });

  it("rejects a repeated key instead of keeping the last one", async () => {
    const error = await loadError("interaction_generation:\n  max_workers: 4\n  max_workers: 8\n");
    expect(error.message).toMatch(/invalid YAML/);
    expect(error.line).toBe(3);
  });

  it("names an unknown provider and lists the valid ones", async () => {
    const error = await loadError("interaction_generation:\n  assistant_model:\n    provider: opnai\n");
    expect(error.field).toBe("interaction_generation.assistant_model.provider");
    expect(error.line).toBe(3);
    expect(error.message).toBe(`unknown provider "opnai" — did you mean 'openai'?`);
    expect(error.hint).toBe("valid providers: openai, openrouter, anthropic, local, fake");
  });

  it("names the pool entry of an unknown provider", async () => {
    const error = await loadError(`
interaction_generation:
  assistant_model:
    model_pool:
      - { provider: openai, model: a }
      - { provider: groq, model: b }
`);
    expect(error.field).toBe("interaction_generation.assistant_model.model_pool[1].provider");
    expect(error.hint).toContain("openrouter");
  });

  it("rejects min_turns greater than max_turns, showing both", async () => {
    const error = await loadError("interaction_generation:\n  min_turns: 6\n");
    expect(error.field).toBe("interaction_generation.min_turns");
    expect(error.message).toContain("min_turns 6, max_turns 5 by default");
  });

  it("rejects a negative max_workers with the value given", async () => {
    const error = await loadError("interaction_generation:\n  max_workers: -3\n");
    expect(error.field).toBe("interaction_generation.max_workers");
    expect(error.format()).toMatch(
      /config-\d+\.yaml line 2: interaction_generation\.max_workers: must be at least 1 \(got -3\)$/,
    );
  });

  it("suggests the closest key for a misspelling", async () => {
    const error = await loadError("interaction_generation:\n  max_turn: 4\n");
    expect(error.field).toBe("interaction_generation.max_turn");
    expect(error.message).toBe("unknown key 'max_turn' — did you mean 'max_turns'?");
    expect(error.line).toBe(2);
  });

  it("says where a key belongs when it is at the wrong level", async () => {
    const error = await loadError("min_turns: 3\n");
    expect(error.field).toBe("min_turns");
    expect(error.message).toContain("did you mean 'interaction_generation.min_turns'?");
  });

  it("lists the known keys when nothing is close", async () => {
    const error = await loadError("distractor:\n  zzzzzz: 1\n");
    expect(error.message).toBe("unknown key 'zzzzzz'");
    expect(error.hint).toContain("activation_probability");
  });

  it("says what type was expected and what was given", async () => {
    const text = await loadError("interaction_generation:\n  max_workers: ten\n");
    expect(text.message).toBe('expected a number (got "ten")');
    const scalar = await loadError("interaction_generation:\n  assistant_model: gpt-4o\n");
    expect(scalar.field).toBe("interaction_generation.assistant_model");
    expect(scalar.message).toBe('expected a mapping (key: value pairs) (got "gpt-4o")');
    const fraction = await loadError("interaction_generation:\n  seed: 1.5\n");
    expect(fraction.message).toBe("expected a whole number (got 1.5)");
    const empty = await loadError("interaction_generation:\n  max_workers:\n");
    expect(empty.message).toBe("expected a number (got an empty value)");
  });

  it("rejects a base_url without http(s)://", async () => {
    const error = await loadError(
      "interaction_generation:\n  user_model:\n    base_url: localhost:8000/v1\n",
    );
    expect(error.field).toBe("interaction_generation.user_model.base_url");
    expect(error.message).toBe(
      'must be an http(s) URL such as http://localhost:11434/v1 (got "localhost:8000/v1")',
    );
    expect(error.hint).toBe("start it with http:// or https://");
  });

  it("rejects a top level that is not a mapping", async () => {
    const error = await loadError("- interaction_generation\n");
    expect(error.message).toMatch(/top level must be a mapping \(got a list\)/);
  });

  it("rejects negative and all-zero pool weights", async () => {
    const negative = await loadError(`
interaction_generation:
  assistant_model:
    model_pool:
      - { model: a, weight: 1 }
      - { model: b, weight: -0.5 }
`);
    expect(negative.field).toBe("interaction_generation.assistant_model.model_pool[1].weight");
    expect(negative.message).toBe("must not be negative (got -0.5)");
    expect(negative.line).toBe(6);
    const zero = await loadError(`
interaction_generation:
  assistant_model:
    model_pool:
      - { model: a, weight: 0 }
      - { model: b, weight: 0 }
`);
    expect(zero.field).toBe("interaction_generation.assistant_model.model_pool");
    expect(zero.message).toMatch(/at least one model_pool weight must be greater than 0/);
  });

  it("reports the other problems after the first", async () => {
    const error = await loadError("interaction_generation:\n  max_workers: 0\n  seed: x\n  min_turn: 1\n");
    expect(error.field).toBe("interaction_generation.min_turn");
    expect(error.more).toEqual(["interaction_generation.max_workers", "interaction_generation.seed"]);
    expect(error.format().split("\n")).toHaveLength(2);
  });

  it("never echoes a secret put where a variable name belongs", async () => {
    const secret = "sk-proj-THISISASECRETVALUE1234567890";
    const error = await loadError(
      `interaction_generation:\n  assistant_model:\n    api_key_env: ${secret}\n`,
    );
    expect(error.field).toBe("interaction_generation.assistant_model.api_key_env");
    expect(error.format()).not.toContain("THISISASECRET");
    expect(error.hint).toMatch(/name of the environment variable/);
    const inline = await loadError(`interaction_generation:\n  assistant_model:\n    api_key: ${secret}\n`);
    expect(inline.format()).not.toContain("THISISASECRET");
    expect(inline.message).toMatch(/API keys are never read from files/);
  });

  it("reports a missing config file by path", async () => {
    const missing = join(dir, "nope.yaml");
    const error = await loadConfig(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).format()).toBe(`${missing}: config file not found`);
  });

  it("rejects a binary file", async () => {
    const path = join(dir, "binary.yaml");
    await writeFile(path, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x02]));
    const error = await loadConfig(path).catch((e: unknown) => e);
    expect((error as InputError).message).toBe("does not look like a text file");
  });
});

describe("loadConfig: model_pool weights", () => {
  it("normalises weights to probabilities", async () => {
    const config = await loadConfig(
      await writeConfig(`
interaction_generation:
  assistant_model:
    model_pool:
      - { provider: openai, model: gpt-4o-mini, weight: 1 }
      - { provider: openai, model: gpt-4o, weight: 3 }
      - { provider: openrouter, model: google/gemini-2.0-flash-001, weight: 0 }
`),
    );
    const pool = config.interaction_generation.assistant_model.model_pool ?? [];
    expect(pool.map((entry) => entry.weight)).toEqual([0.25, 0.75, 0]);
  });
});

describe("loadConfig: file references", () => {
  it("resolves template paths against the config file's folder", async () => {
    const sub = join(dir, "project");
    await mkdir(join(sub, "prompts"), { recursive: true });
    await writeFile(join(sub, "prompts", "user.txt"), "You are {persona}.");
    const path = join(sub, "config.yaml");
    await writeFile(
      path,
      "interaction_generation:\n  user_model:\n    system_prompt_template: prompts/user.txt\n",
    );
    const config = await loadConfig(path);
    expect(config.interaction_generation.user_model.system_prompt_template).toBe(
      join(sub, "prompts", "user.txt"),
    );
  });

  it("names the key and the path of a missing template", async () => {
    const error = await loadError(
      "interaction_generation:\n  style_transfer:\n    enabled: true\n    prompt_template: prompts/missing.txt\n",
    );
    expect(error.field).toBe("interaction_generation.style_transfer.prompt_template");
    expect(error.line).toBe(4);
    expect(error.message).toBe(`file not found: ${join(dir, "prompts", "missing.txt")}`);
  });

  it("checks distractor.strategy_path and a local model_path, but not hub references", async () => {
    const strategy = await loadError("distractor:\n  strategy_path: strategies.yaml\n");
    expect(strategy.field).toBe("distractor.strategy_path");
    const model = await loadError(
      "interaction_generation:\n  user_model:\n    model_path: models/none.gguf\n",
    );
    expect(model.field).toBe("interaction_generation.user_model.model_path");
    const hub = await loadConfig(
      await writeConfig("interaction_generation:\n  user_model:\n    model_path: hf:owner/repo/model.gguf\n"),
    );
    expect(hub.interaction_generation.user_model.model_path).toBe("hf:owner/repo/model.gguf");
  });
});

describe("loadConfig: overrides", () => {
  it("applies overrides after the file and validates them again", async () => {
    const path = await writeConfig("interaction_generation:\n  max_workers: 4\n  seed: 1\n");
    const config = await loadConfig(path, { max_workers: 50, seed: undefined });
    expect(config.interaction_generation.max_workers).toBe(50);
    expect(config.interaction_generation.seed).toBe(1);
    const error = await loadError("interaction_generation:\n  max_workers: 4\n", { max_workers: 0 });
    expect(error.format()).toBe(
      "command line: interaction_generation.max_workers: must be at least 1 (got 0)",
    );
    const crossed = await loadError("interaction_generation:\n  min_turns: 3\n", { max_turns: 2 });
    expect(crossed.file).toBe("command line");
    expect(crossed.field).toBe("interaction_generation.min_turns");
  });

  it("lets a model chosen on the command line replace the file's pool", async () => {
    const path = await writeConfig(
      "interaction_generation:\n  assistant_model:\n    model_pool:\n      - { provider: openai, model: a }\n",
    );
    const config = await loadConfig(path, { assistant_model: { provider: "fake", model: "echo" } });
    expect(config.interaction_generation.assistant_model).toMatchObject({ provider: "fake", model: "echo" });
    expect(config.interaction_generation.assistant_model.model_pool).toBeUndefined();
  });

  it("rejects an unknown provider given as an override", async () => {
    const error = await loadError(undefined, {
      user_model: { provider: "vllm" as "openai" },
    });
    expect(error.file).toBe("command line");
    expect(error.field).toBe("interaction_generation.user_model.provider");
    expect(error.hint).toMatch(/^valid providers: /);
  });
});
