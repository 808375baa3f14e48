// node-llama-cpp is an optional dependency (`npm i convosim --omit=optional` leaves out its
// ≈700 MB): asking for the local model without it is bad input — one line naming the command
// that adds it, exit 2 — found when the model is created, before any conversation starts.
// The import is replaced through runtime.ts's loader seam; the real omission is measured on an
// installed tarball (docs/providers-local.md, "Installing without the embedded model").
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EXIT, reportError } from "../../src/cli/fail.js";
import { ProviderError } from "../../src/providers/errors.js";
import { createLocalChatModel } from "../../src/providers/local/index.js";
import { resolveLocalModel } from "../../src/providers/local/model-cache.js";
import {
  LOCAL_RUNTIME_INSTALL,
  llamaModule,
  setLlamaModuleLoader,
} from "../../src/providers/local/runtime.js";
import { ModelConfig } from "../../src/schema/config.js";
import { moduleNotFound } from "../support/module-not-found.js";

let root: string;
let restore: (() => void) | undefined;
const env = () => ({ CONVOSIM_CACHE_DIR: join(root, "cache"), CONVOSIM_LOCAL_SEQUENCES: "1" });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "convosim-runtime-missing-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => {
  restore?.();
  restore = undefined;
});

const notFound = (pkg: string): Error =>
  moduleNotFound(pkg, "/tmp/app/node_modules/convosim/dist/src/providers/local/runtime.js");

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

function printed(error: unknown): { code: number; text: string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  const code = reportError(error, stream);
  return { code, text };
}

describe("node-llama-cpp left out of the install", () => {
  it("is one line naming `npm i node-llama-cpp@<pinned>` and exit 2, at model creation", async () => {
    restore = setLlamaModuleLoader(() => Promise.reject(notFound("node-llama-cpp")));
    // The default model was never fetched either: the runtime comes first, since fetching
    // 491 MB of weights is no use without it.
    const error = await rejection(createLocalChatModel(ModelConfig.parse({}), { env: env() }));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("config");
    const { code, text } = printed(error);
    expect(code).toBe(EXIT.badInput);
    expect(text.split("\n").filter(Boolean)).toHaveLength(1);
    expect(text).toContain("`npm i node-llama-cpp@3.21.1`");
    expect(text).toContain("the local model needs node-llama-cpp, which is not installed");
    expect(text).not.toMatch(/\n\s+at /);
  });

  it("is found for a model_path too, before the file is opened", async () => {
    restore = setLlamaModuleLoader(() => Promise.reject(notFound("node-llama-cpp")));
    const file = join(root, "model.gguf");
    await writeFile(file, "not really a GGUF");
    const error = await rejection(
      createLocalChatModel(ModelConfig.parse({ model_path: file }), { env: env() }),
    );
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain(LOCAL_RUNTIME_INSTALL);
  });

  it("is the same message for a hub reference (whose download is node-llama-cpp's)", async () => {
    restore = setLlamaModuleLoader(() => Promise.reject(notFound("node-llama-cpp")));
    const error = await rejection(
      resolveLocalModel({ model_path: "hf:owner/repo/file.gguf" }, { env: env() }),
    );
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain(LOCAL_RUNTIME_INSTALL);
  });

  it("a broken install (a package node-llama-cpp needs is missing) says reinstall, with the cause", async () => {
    restore = setLlamaModuleLoader(() => Promise.reject(notFound("lifecycle-utils")));
    const error = await rejection(llamaModule());
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain("Cannot find package 'lifecycle-utils'");
    expect((error as Error).message).toContain(LOCAL_RUNTIME_INSTALL);
    expect((error as Error).message).not.toContain("not installed");
  });

  it("binaries that will not start name the reinstall command that works from an installed package", async () => {
    // node-llama-cpp imports, but its prebuilt binaries for this platform are missing.
    const broken = {
      getLlama: () => Promise.reject(new Error("No prebuilt binary found for this platform")),
      LlamaLogLevel: { error: "error" },
    } as unknown as Awaited<ReturnType<typeof llamaModule>>;
    restore = setLlamaModuleLoader(() => Promise.resolve(broken));
    const file = join(root, "binaries.gguf");
    await writeFile(file, "not really a GGUF");
    const model = await createLocalChatModel(ModelConfig.parse({ model_path: file }), { env: env() });
    const error = await rejection(
      model.complete({ messages: [{ role: "user", content: "hi" }], maxTokens: 4 }),
    );
    await model.close();
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain("No prebuilt binary found for this platform");
    expect((error as Error).message).toContain(LOCAL_RUNTIME_INSTALL);
    expect((error as Error).message).toContain(`@node-llama-cpp/${process.platform}-${process.arch}`);
    expect((error as Error).message).not.toContain("npm ci");
  });

  it("a failed import is not remembered: installing it and retrying in the same process works", async () => {
    let calls = 0;
    restore = setLlamaModuleLoader(() => {
      calls += 1;
      return Promise.reject(notFound("node-llama-cpp"));
    });
    await rejection(llamaModule());
    await rejection(llamaModule());
    expect(calls).toBe(2);
    restore();
    restore = undefined;
    const real = await llamaModule();
    expect(typeof real.getLlama).toBe("function");
  });

  it("the command names the version package.json pins, as an optional dependency", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    expect(pkg.dependencies?.["node-llama-cpp"]).toBeUndefined();
    expect(LOCAL_RUNTIME_INSTALL).toBe(
      `npm i node-llama-cpp@${pkg.optionalDependencies?.["node-llama-cpp"]}`,
    );
  });
});
