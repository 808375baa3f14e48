// @anthropic-ai/sdk is an optional dependency (`npm i convosim --omit=optional` leaves out its
// ≈30 MB): asking for an anthropic model without it is bad input — one line naming the command
// that adds it, exit 2 — found when the model is created. The import is replaced through
// anthropic-module.ts's loader seam; the real omission is measured on an installed tarball
// (bench/newcomer-check.py install).
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { EXIT, reportError } from "../../src/cli/fail.js";
import { ANTHROPIC_SDK_INSTALL, setAnthropicModuleLoader } from "../../src/providers/anthropic-module.js";
import { ProviderError } from "../../src/providers/errors.js";
import { createChatModel } from "../../src/providers/registry.js";
import { moduleNotFound } from "../support/module-not-found.js";

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

const notFound = (pkg: string): Error =>
  moduleNotFound(pkg, "/tmp/app/node_modules/convosim/dist/cli/anthropic-x.js");

const config = {
  provider: "anthropic",
  model: "claude-x",
  api_key_env: "CONVOSIM_ANTHROPIC_MISSING_KEY",
} as const;
const env = { CONVOSIM_ANTHROPIC_MISSING_KEY: "sk-ant-test-not-real" };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("@anthropic-ai/sdk left out of the install", () => {
  it("is one line naming `npm i @anthropic-ai/sdk@<range>` and exit 2, at model creation", async () => {
    restore = setAnthropicModuleLoader(() => Promise.reject(notFound("@anthropic-ai/sdk")));
    const error = await rejection(createChatModel(config as never, { env }));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("config");
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    expect(reportError(error, stream)).toBe(EXIT.badInput);
    expect(text.split("\n").filter(Boolean)).toHaveLength(1);
    expect(text).toContain(`\`${ANTHROPIC_SDK_INSTALL}\``);
    expect(text).not.toMatch(/\n\s+at /);
    expect(text).not.toContain("sk-ant-test-not-real");
  });

  it("names the range package.json gives it, as an optional dependency", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      dependencies: Record<string, string>;
      optionalDependencies: Record<string, string>;
    };
    expect(pkg.dependencies["@anthropic-ai/sdk"]).toBeUndefined();
    expect(ANTHROPIC_SDK_INSTALL).toBe(
      `npm i @anthropic-ai/sdk@${pkg.optionalDependencies["@anthropic-ai/sdk"]}`,
    );
  });

  it("another missing package (a broken install) is passed on as it is", async () => {
    const broken = notFound("some-dependency-of-the-sdk");
    restore = setAnthropicModuleLoader(() => Promise.reject(broken));
    expect(await rejection(createChatModel(config as never, { env }))).toBe(broken);
  });

  it("with the SDK installed, an anthropic model is created", async () => {
    const model = await createChatModel(config as never, { env });
    expect(model.provider).toBe("anthropic");
  });
});
