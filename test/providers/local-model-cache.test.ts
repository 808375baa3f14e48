import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import {
  convosimCacheDir,
  DEFAULT_MODEL_FILE,
  defaultModelPath,
  isHubReference,
  modelsDir,
  resolveLocalModelPath,
} from "../../src/providers/local/model-cache.js";

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
    expect(DEFAULT_MODEL_FILE).toBe("gemma-3-270m-q4_k_m.gguf");
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

  it("names the missing path and the fetch command when it was never fetched", async () => {
    const env = { CONVOSIM_CACHE_DIR: join(root, "empty") };
    const error = await expectConfigError(resolveLocalModelPath({}, { env }));
    expect(error.message).toBe(
      `embedded model not found at ${defaultModelPath(env)}; run \`npm run fetch-model\` (or \`node scripts/fetch-model.mjs\`)`,
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
    expect(error.message).toContain("npm run fetch-model");
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
