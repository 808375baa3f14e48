// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${…}` is the config syntax under test
// `${VAR}` and `${VAR:-default}` in config values: substituted after YAML parsing, on values
// only, with YAML's own typing for unquoted scalars; an unset variable is exit-2 input naming
// the field, the line and the variable.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { loadConfig } from "../../src/config/load.js";

let dir: string;
let counter = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-subst-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(text: string, env: NodeJS.ProcessEnv) {
  const path = join(dir, `config-${++counter}.yaml`);
  await writeFile(path, text);
  return { path, load: () => loadConfig(path, undefined, { env }) };
}

const HOSTED = (url: string, model: string) =>
  [
    "interaction_generation:",
    "  assistant_model:",
    "    provider: openai",
    `    model: ${model}`,
    `    base_url: ${url}`,
    "",
  ].join("\n");

describe("${VAR} in config values", () => {
  it("replaces a reference inside a value, and the default when the variable is unset or empty", async () => {
    const { load: run } = await load(HOSTED("http://${LLM_HOST}:8000/v1", "${LLM_MODEL:-gpt-4o-mini}"), {
      LLM_HOST: "gpu-box.lan",
      LLM_MODEL: "",
    });
    const model = (await run()).interaction_generation.assistant_model;
    expect(model.base_url).toBe("http://gpu-box.lan:8000/v1");
    expect(model.model).toBe("gpt-4o-mini");
  });

  it("a set variable wins over the default", async () => {
    const { load: run } = await load(HOSTED("http://h/v1", "${LLM_MODEL:-gpt-4o-mini}"), {
      LLM_MODEL: "llama3",
    });
    expect((await run()).interaction_generation.assistant_model.model).toBe("llama3");
  });

  it("an unquoted value is typed as YAML types it; a quoted one stays a string", async () => {
    const ok = await load("interaction_generation:\n  max_workers: ${WORKERS:-8}\n  seed: ${SEED}\n", {
      SEED: "42",
    });
    const ig = (await ok.load()).interaction_generation;
    expect(ig.max_workers).toBe(8);
    expect(ig.seed).toBe(42);
    const quoted = await load('interaction_generation:\n  max_workers: "${WORKERS}"\n', { WORKERS: "8" });
    const error = await quoted.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe("interaction_generation.max_workers");
  });

  it("$${ is a literal ${, and keys are never substituted", async () => {
    const literal = await load(
      'interaction_generation:\n  assistant_model:\n    system_prompt: "Write $${HOME} as is; ${WHO}."\n',
      { WHO: "be brief", HOME: "/root" },
    );
    expect((await literal.load()).interaction_generation.assistant_model.system_prompt).toBe(
      "Write ${HOME} as is; be brief.",
    );
    const key = await load("interaction_generation:\n  ${KEY}: 3\n", { KEY: "max_workers" });
    const error = (await key.load().catch((e: unknown) => e)) as InputError;
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain("unknown key");
  });

  it("substitutes inside lists and once for an anchored value its aliases repeat", async () => {
    const { load: run } = await load(
      [
        "interaction_generation:",
        "  assistant_model:",
        "    model_pool:",
        "      - { provider: openai, model: &m '${POOL_MODEL}', weight: 1, base_url: 'http://a/v1' }",
        "      - { provider: openai, model: *m, weight: 1, base_url: 'http://b/v1' }",
        "",
      ].join("\n"),
      { POOL_MODEL: "qwen" },
    );
    const pool = (await run()).interaction_generation.assistant_model.model_pool ?? [];
    expect(pool.map((entry) => entry.model)).toEqual(["qwen", "qwen"]);
  });
});

describe("${VAR} errors are one input error naming the field, line and variable", () => {
  it("an unset variable without a default", async () => {
    const { path, load: run } = await load(HOSTED("http://${LLM_HOST}/v1", "m"), {});
    const error = (await run().catch((e: unknown) => e)) as InputError;
    expect(error).toBeInstanceOf(InputError);
    expect(error.format()).toMatch(
      new RegExp(
        `^${path.replaceAll("/", "\\/")} line 5: interaction_generation\\.assistant_model\\.base_url: environment variable LLM_HOST is not set`,
      ),
    );
    expect(error.hint).toContain("${LLM_HOST:-value}");
  });

  it("a `${` without its `}`, and a reference that is not a variable name", async () => {
    const open = await load(HOSTED("http://h/v1", "'${LLM_MODEL'"), {});
    const openError = (await open.load().catch((e: unknown) => e)) as InputError;
    expect(openError.field).toBe("interaction_generation.assistant_model.model");
    expect(openError.message).toContain("without its closing");
    const bad = await load(HOSTED("http://h/v1", "'${1BAD}'"), {});
    const badError = (await bad.load().catch((e: unknown) => e)) as InputError;
    expect(badError.message).toContain("is not a variable reference");
  });

  it("a file with no ${ reads as before whatever the environment holds", async () => {
    const { load: run } = await load(HOSTED("http://h/v1", "m"), {});
    expect((await run()).interaction_generation.assistant_model.model).toBe("m");
  });
});
