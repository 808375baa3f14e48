// Where a model's context window comes from: the config's context_window, the local provider's
// context size, a known model's published window, else 128k.
import { describe, expect, it } from "vitest";
import { contextWindowOf, DEFAULT_CONTEXT_WINDOW } from "../../src/providers/context-window.js";

describe("contextWindowOf", () => {
  it("takes the config's context_window first", () => {
    expect(contextWindowOf({ provider: "openai", model: "gpt-4o", context_window: 2048 })).toBe(2048);
  });

  it("gives the local provider its context size (CONVOSIM_LOCAL_CONTEXT_SIZE, default 4096)", () => {
    expect(contextWindowOf({ provider: "local", model: "qwen2.5-coder-0.5b-instruct" }, {})).toBe(4096);
    const env = { CONVOSIM_LOCAL_CONTEXT_SIZE: "8192" };
    expect(contextWindowOf({ provider: "local", model: "gemma-3-270m" }, env)).toBe(8192);
    // A bad value fails the local model itself; the guard keeps the default meanwhile.
    expect(contextWindowOf({ provider: "local", model: "x" }, { CONVOSIM_LOCAL_CONTEXT_SIZE: "big" })).toBe(
      4096,
    );
  });

  it("knows published windows by name prefix, a vendor prefix ignored", () => {
    expect(contextWindowOf({ provider: "openai", model: "gpt-4o-mini" })).toBe(128_000);
    expect(contextWindowOf({ provider: "openai", model: "gpt-4.1-nano" })).toBe(1_047_576);
    expect(contextWindowOf({ provider: "openai", model: "gpt-4-0613" })).toBe(8_192);
    expect(contextWindowOf({ provider: "openrouter", model: "anthropic/claude-3.5-sonnet" })).toBe(200_000);
  });

  it("falls back to 128k for a model it does not know", () => {
    expect(contextWindowOf({ provider: "openai", model: "my-vllm-model" })).toBe(DEFAULT_CONTEXT_WINDOW);
    expect(DEFAULT_CONTEXT_WINDOW).toBe(128_000);
  });
});
