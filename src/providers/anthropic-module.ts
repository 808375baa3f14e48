// @anthropic-ai/sdk is an optional dependency, like node-llama-cpp: most runs never use it and
// it is the largest package an install carries (≈30 MB), so `npm i convosim --omit=optional`
// leaves it out. Asking for an `anthropic` model without it is then bad input — one line naming
// the command that adds it, exit 2 — found when the model is created, before any conversation.
import { ProviderError } from "./errors.js";

/** The fix named when the SDK is absent; keep it equal to package.json (test/providers/anthropic-missing.test.ts). */
export const ANTHROPIC_SDK_INSTALL = "npm i @anthropic-ai/sdk@^1.14.0";

type AnthropicModule = typeof import("./anthropic.js");

const importAnthropicModule = (): Promise<AnthropicModule> => import("./anthropic.js");
let loadAnthropicModule = importAnthropicModule;

/** convosim's Anthropic model (which imports the SDK), or a config error naming the install. */
export async function anthropicModule(): Promise<AnthropicModule> {
  try {
    return await loadAnthropicModule();
  } catch (error) {
    throw sdkImportError(error);
  }
}

/** Test seam: replaces how the Anthropic model is imported; returns a function restoring it. */
export function setAnthropicModuleLoader(loader: () => Promise<AnthropicModule>): () => void {
  loadAnthropicModule = loader;
  return () => {
    loadAnthropicModule = importAnthropicModule;
  };
}

function sdkImportError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // Node names the package it could not find: the SDK itself absent is the omitted optional
  // dependency; anything else (a broken install) goes on as it was.
  const absent =
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    /['"]@anthropic-ai\/sdk['"/]/.test(message);
  if (!absent) return error;
  return new ProviderError(
    "config",
    "anthropic models need @anthropic-ai/sdk, which is not installed (an optional dependency: " +
      `\`--omit=optional\` leaves it out): run \`${ANTHROPIC_SDK_INSTALL}\`, or choose an OpenAI-compatible model (docs/providers.md)`,
    { cause: error },
  );
}
