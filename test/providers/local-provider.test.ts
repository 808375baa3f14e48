// The local provider's behaviour that needs no real model: configuration errors, load
// failures and aborts. Generation with the real model is covered by test/e2e/local-model.test.ts.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import { createLocalChatModel } from "../../src/providers/local/index.js";
import { leasedModelPaths } from "../../src/providers/local/runtime.js";
import { ModelConfig } from "../../src/schema/config.js";

let root: string;
const env = () => ({ CONVOSIM_CACHE_DIR: join(root, "cache"), CONVOSIM_LOCAL_SEQUENCES: "1" });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "convosim-local-provider-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("createLocalChatModel — configuration errors", () => {
  it("fails at creation when the default model was never fetched", async () => {
    const error = await rejection(createLocalChatModel(ModelConfig.parse({}), { env: env() }));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("config");
    expect((error as ProviderError).message).toMatch(
      /^embedded model not found at .*; run `npx convosim fetch-model qwen2.5-coder-0.5b-instruct`/,
    );
  });

  it("fails at creation for a model name that is not embedded and has no model_path", async () => {
    const error = await rejection(
      createLocalChatModel(ModelConfig.parse({ model: "my-model" }), { env: env() }),
    );
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain('local model "my-model" is not an embedded model');
  });

  it("rejects unknown extra_body keys before touching the file system", async () => {
    const config = ModelConfig.parse({ extra_body: { temprature: 1 } });
    const error = await rejection(createLocalChatModel(config, { env: env() }));
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain('"temprature"');
  });

  it("rejects malformed runtime settings from the environment", async () => {
    const error = await rejection(
      createLocalChatModel(ModelConfig.parse({}), { env: { ...env(), CONVOSIM_LOCAL_CONTEXT_SIZE: "12" } }),
    );
    expect((error as ProviderError).kind).toBe("config");
    expect((error as Error).message).toContain("CONVOSIM_LOCAL_CONTEXT_SIZE");
  });
});

describe("createLocalChatModel — a file that is not a GGUF model", () => {
  it("reports a config error on use, retries the load on the next call, and closes cleanly", async () => {
    const bogus = join(root, "not-a-model.gguf");
    await writeFile(bogus, "this is not a GGUF file\n".repeat(100));
    const model = await createLocalChatModel(ModelConfig.parse({ model_path: bogus, model: "bogus" }), {
      env: env(),
    });
    expect(model.provider).toBe("local");
    expect(model.model).toBe("bogus");
    expect(leasedModelPaths()).toContain(bogus);

    const request = { messages: [{ role: "user" as const, content: "hi" }], maxTokens: 4 };
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await rejection(model.complete(request));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).kind).toBe("config");
      expect((error as Error).message).toContain(`failed to load local model ${bogus}`);
      expect((error as Error).message).toContain("npx convosim fetch-model --verify");
    }

    await model.close();
    await model.close(); // idempotent
    expect(leasedModelPaths()).not.toContain(bogus);
    await expect(model.complete(request)).rejects.toThrow("is closed");
  }, 30_000);

  it("rejects with the signal's reason when the request is already aborted", async () => {
    const bogus = join(root, "never-loaded.gguf");
    await writeFile(bogus, "x");
    const model = await createLocalChatModel(ModelConfig.parse({ model_path: bogus }), { env: env() });
    const reason = new Error("cancelled by the user");
    await expect(
      model.complete({ messages: [{ role: "user", content: "hi" }], signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    await model.close();
  });
});
