import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import { promptFormatOf } from "../../src/providers/local/index.js";
import {
  convosimCacheDir,
  DEFAULT_LOCAL_MODEL,
  DEFAULT_MODEL_FILE,
  defaultModelPath,
  EMBEDDED_MODELS,
  type EmbeddedModel,
  embeddedModel,
  embeddedModelPath,
  isHubReference,
  modelsDir,
  resolveLocalModel,
  resolveLocalModelPath,
} from "../../src/providers/local/model-cache.js";
import { ModelConfig } from "../../src/schema/config.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "convosim-model-cache-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function expectConfigError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  expect((error as ProviderError).kind).toBe("config");
  expect((error as ProviderError).transient).toBe(false);
  return error as ProviderError;
}

describe("cache directory", () => {
  it("prefers CONVOSIM_CACHE_DIR, then XDG_CACHE_HOME/convosim, then ~/.cache/convosim", () => {
    expect(convosimCacheDir({ CONVOSIM_CACHE_DIR: "/a/b", XDG_CACHE_HOME: "/x" })).toBe("/a/b");
    expect(convosimCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/convosim");
    expect(convosimCacheDir({})).toBe(join(homedir(), ".cache", "convosim"));
    expect(convosimCacheDir({ CONVOSIM_CACHE_DIR: "", XDG_CACHE_HOME: "" })).toBe(
      join(homedir(), ".cache", "convosim"),
    );
  });

  it("puts models, and the default model, under models/", () => {
    const env = { CONVOSIM_CACHE_DIR: "/c" };
    expect(modelsDir(env)).toBe("/c/models");
    expect(defaultModelPath(env)).toBe(`/c/models/${DEFAULT_MODEL_FILE}`);
    expect(DEFAULT_MODEL_FILE).toBe("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    const gemma = embeddedModel("gemma-3-270m") as EmbeddedModel;
    expect(embeddedModelPath(gemma, env)).toBe("/c/models/gemma-3-270m-q4_k_m.gguf");
  });
});

describe("the catalogue of embedded models", () => {
  it("has the config's default model name as its default, an instruction-tuned chat model", () => {
    expect(ModelConfig.parse({}).model).toBe(DEFAULT_LOCAL_MODEL);
    expect(embeddedModel(DEFAULT_LOCAL_MODEL)).toMatchObject({
      file: DEFAULT_MODEL_FILE,
      promptFormat: "chat",
      license: "Apache-2.0",
    });
    expect(embeddedModel("gemma-3-270m")?.promptFormat).toBe("transcript");
    expect(embeddedModel("toString")).toBeUndefined();
    for (const [name, model] of Object.entries(EMBEDDED_MODELS)) {
      expect(model.name).toBe(name);
      expect(model.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(model.file).toMatch(/\.gguf$/);
    }
  });

  it("is the catalogue scripts/fetch-model.mjs fetches from (same files, hashes, wheels, chunks)", async () => {
    // Imported, not run: the script only runs main() when started as a program.
    const scriptUrl = new URL("../../scripts/fetch-model.mjs", import.meta.url).href;
    const script = (await import(scriptUrl)) as {
      MODELS: Record<
        string,
        { file: string; bytes: number; sha256: string; version: string; packages: string[]; chunks: string[] }
      >;
      DEFAULT_MODEL: string;
      SETUP_MODELS: string[];
    };
    expect(script.DEFAULT_MODEL).toBe(DEFAULT_LOCAL_MODEL);
    // `npm run fetch-model` fetches the default and the model the fast e2e tests run on.
    expect(script.SETUP_MODELS).toEqual([DEFAULT_LOCAL_MODEL, "gemma-3-270m"]);
    expect(Object.keys(script.MODELS).sort()).toEqual(Object.keys(EMBEDDED_MODELS).sort());
    for (const [name, model] of Object.entries(EMBEDDED_MODELS)) {
      expect(script.MODELS[name]).toMatchObject({
        file: model.file,
        bytes: model.bytes,
        sha256: model.sha256,
        version: model.pypi.version,
        packages: [...model.pypi.packages],
        chunks: [...model.pypi.chunks],
      });
    }
  });

  it("decides the prompt format: configured, else the catalogue's, else the GGUF's chat template", () => {
    const qwen = embeddedModel(DEFAULT_LOCAL_MODEL);
    const gemma = embeddedModel("gemma-3-270m");
    expect(promptFormatOf("auto", qwen, { hasChatTemplate: false })).toBe("chat");
    expect(promptFormatOf("auto", gemma, { hasChatTemplate: true })).toBe("transcript");
    expect(promptFormatOf("auto", undefined, { hasChatTemplate: true })).toBe("chat");
    expect(promptFormatOf("auto", undefined, { hasChatTemplate: false })).toBe("transcript");
    expect(promptFormatOf("chat", gemma, { hasChatTemplate: false })).toBe("chat");
    expect(promptFormatOf("transcript", qwen, { hasChatTemplate: true })).toBe("transcript");
  });
});

describe("resolveLocalModelPath — default model", () => {
  it("returns the cached default when it exists", async () => {
    const env = { CONVOSIM_CACHE_DIR: join(root, "with-model") };
    await mkdir(modelsDir(env), { recursive: true });
    await writeFile(defaultModelPath(env), "GGUF");
    await expect(resolveLocalModelPath({}, { env })).resolves.toBe(defaultModelPath(env));
    await expect(resolveLocalModelPath({ model_path: "  " }, { env })).resolves.toBe(defaultModelPath(env));
  });

  it("finds an embedded model by its config name", async () => {
    const env = { CONVOSIM_CACHE_DIR: join(root, "with-model") };
    const gemma = embeddedModel("gemma-3-270m") as EmbeddedModel;
    await mkdir(modelsDir(env), { recursive: true });
    await writeFile(embeddedModelPath(gemma, env), "GGUF");
    await expect(resolveLocalModel({ model: "gemma-3-270m" }, { env })).resolves.toEqual({
      path: embeddedModelPath(gemma, env),
      embedded: gemma,
    });
    await expect(resolveLocalModel({ model: DEFAULT_LOCAL_MODEL }, { env })).resolves.toMatchObject({
      embedded: { name: DEFAULT_LOCAL_MODEL },
    });
  });

  it("names the missing path and the fetch command when it was never fetched", async () => {
    const env = { CONVOSIM_CACHE_DIR: join(root, "empty") };
    const error = await expectConfigError(resolveLocalModelPath({}, { env }));
    expect(error.message).toBe(
      `embedded model not found at ${defaultModelPath(env)}; run \`npx convosim fetch-model ${DEFAULT_LOCAL_MODEL}\` ` +
        "(in a clone of convosim: `npm run fetch-model`)",
    );
  });

  it("rejects a model name that is not embedded when there is no model_path", async () => {
    const env = { CONVOSIM_CACHE_DIR: join(root, "with-model") };
    const error = await expectConfigError(resolveLocalModelPath({ model: "qwen2.5-7b" }, { env }));
    expect(error.message).toBe(
      'local model "qwen2.5-7b" is not an embedded model (qwen2.5-coder-0.5b-instruct, gemma-3-270m); ' +
        "set model_path to a .gguf file or a hf: reference to run another model",
    );
  });
});

describe("resolveLocalModelPath — file paths", () => {
  const env = { CONVOSIM_CACHE_DIR: join(tmpdir(), "unused-convosim-cache") };

  it("resolves relative paths against cwd and accepts absolute ones", async () => {
    await mkdir(join(root, "work", "models"), { recursive: true });
    const file = join(root, "work", "models", "other.gguf");
    await writeFile(file, "GGUF");
    await expect(
      resolveLocalModelPath({ model_path: "models/other.gguf" }, { cwd: join(root, "work"), env }),
    ).resolves.toBe(file);
    await expect(
      resolveLocalModelPath(
        { model_path: "./models/../models/other.gguf" },
        { cwd: join(root, "work"), env },
      ),
    ).resolves.toBe(file);
    await expect(resolveLocalModelPath({ model_path: file }, { cwd: "/", env })).resolves.toBe(file);
  });

  it("expands ~/ to the home directory", async () => {
    const error = await expectConfigError(
      resolveLocalModelPath({ model_path: "~/no-such-dir-convosim/m.gguf" }, { env }),
    );
    expect(error.message).toContain(join(homedir(), "no-such-dir-convosim", "m.gguf"));
  });

  it("reports a missing file with the absolute path, the cwd and the fix", async () => {
    const error = await expectConfigError(
      resolveLocalModelPath({ model_path: "nope/missing.gguf" }, { cwd: root, env }),
    );
    expect(error.message).toContain(`local model file not found: ${join(root, "nope", "missing.gguf")}`);
    expect(error.message).toContain(`relative to ${root}`);
    expect(error.message).toContain("npx convosim fetch-model");
  });

  it("rejects a directory", async () => {
    const error = await expectConfigError(resolveLocalModelPath({ model_path: root }, { env }));
    expect(error.message).toContain("is not a regular file");
  });
});

describe("resolveLocalModelPath — hub references", () => {
  it("recognises hub references and URLs", () => {
    expect(isHubReference("hf:owner/repo/file.gguf")).toBe(true);
    expect(isHubReference("hf:owner/repo:Q4_K_M")).toBe(true);
    expect(isHubReference("https://example.com/m.gguf")).toBe(true);
    expect(isHubReference("models/hf:odd.gguf")).toBe(false);
    expect(isHubReference("/abs/model.gguf")).toBe(false);
  });

  it("resolves into <cache>/models through the hub resolver", async () => {
    const env = { CONVOSIM_CACHE_DIR: join(root, "hub") };
    const calls: Array<[string, string]> = [];
    const path = await resolveLocalModelPath(
      { model_path: "hf:owner/repo:Q4_K_M" },
      {
        env,
        resolveHub: async (reference, directory) => {
          calls.push([reference, directory]);
          return join(directory, "hf_owner_repo.Q4_K_M.gguf");
        },
      },
    );
    expect(calls).toEqual([["hf:owner/repo:Q4_K_M", modelsDir(env)]]);
    expect(path).toBe(join(modelsDir(env), "hf_owner_repo.Q4_K_M.gguf"));
  });

  it("turns resolver failures into config errors that name the reference", async () => {
    const error = await expectConfigError(
      resolveLocalModelPath(
        { model_path: "hf:owner/repo/file.gguf" },
        {
          env: { CONVOSIM_CACHE_DIR: root },
          resolveHub: async () => {
            throw new Error("404 Not Found");
          },
        },
      ),
    );
    expect(error.message).toContain('cannot resolve model "hf:owner/repo/file.gguf": 404 Not Found');
    expect(error.message).toContain("HF_TOKEN");
  });

  it("fails fast with a clear error when the hub is unreachable", async () => {
    const started = Date.now();
    const error = await expectConfigError(
      resolveLocalModelPath(
        { model_path: "hf:owner/repo/file.gguf" },
        // Port 1 on loopback: connection refused at once, no network needed.
        {
          env: { CONVOSIM_CACHE_DIR: join(root, "offline") },
          hubProbeUrl: "http://127.0.0.1:1",
          hubProbeTimeoutMs: 5_000,
        },
      ),
    );
    expect(error.message).toContain(
      'cannot download model "hf:owner/repo/file.gguf": 127.0.0.1:1 is unreachable',
    );
    expect(error.message).toContain("set model_path");
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
