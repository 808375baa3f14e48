import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import {
  DEFAULT_RUNTIME,
  parseLocalExtraBody,
  runtimeSettingsFromEnv,
} from "../../src/providers/local/options.js";
import { defaultThreads } from "../../src/providers/local/runtime.js";

function configError(run: () => unknown): ProviderError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("config");
    return error as ProviderError;
  }
  throw new Error("expected a config error");
}

describe("parseLocalExtraBody", () => {
  it("fills defaults when extra_body is absent", () => {
    expect(parseLocalExtraBody({})).toEqual({
      prompt_format: "auto",
      user_label: "User",
      assistant_label: "Assistant",
    });
  });

  it("accepts the sampling and prompting keys", () => {
    const parsed = parseLocalExtraBody({
      extra_body: {
        prompt_format: "transcript",
        user_label: "Agent",
        assistant_label: "Maria",
        stop: ["###STOP###"],
        top_k: 40,
        top_p: 0.9,
        min_p: 0.05,
        repeat_penalty: 1.2,
        seed: 7,
      },
    });
    expect(parsed).toMatchObject({
      prompt_format: "transcript",
      assistant_label: "Maria",
      top_k: 40,
      seed: 7,
    });
  });

  it("names unknown keys and lists the allowed ones", () => {
    const error = configError(() =>
      parseLocalExtraBody({ extra_body: { top_pp: 0.9, prompt_format: "chat" } }),
    );
    expect(error.message).toContain('unknown key(s) "top_pp"');
    expect(error.message).toContain("allowed: prompt_format, user_label, assistant_label");
  });

  it("rejects labels that would break the transcript", () => {
    const error = configError(() => parseLocalExtraBody({ extra_body: { user_label: "Bot:\nX" } }));
    expect(error.message).toContain("user_label");
  });

  it("rejects out-of-range sampling values with the key's name", () => {
    const error = configError(() => parseLocalExtraBody({ extra_body: { top_p: 3 } }));
    expect(error.message).toContain("top_p");
  });
});

describe("runtimeSettingsFromEnv", () => {
  it("uses the measured defaults when nothing is set", () => {
    expect(runtimeSettingsFromEnv({})).toEqual(DEFAULT_RUNTIME);
    expect(DEFAULT_RUNTIME).toEqual({ threads: undefined, sequences: 2, contextSize: 4096, gpu: "auto" });
  });

  it("reads threads, sequences, context size and GPU choice", () => {
    expect(
      runtimeSettingsFromEnv({
        CONVOSIM_LOCAL_THREADS: "3",
        CONVOSIM_LOCAL_SEQUENCES: "1",
        CONVOSIM_LOCAL_CONTEXT_SIZE: "2048",
        CONVOSIM_LOCAL_GPU: "CPU",
      }),
    ).toEqual({ threads: 3, sequences: 1, contextSize: 2048, gpu: false });
    expect(runtimeSettingsFromEnv({ CONVOSIM_LOCAL_GPU: "vulkan", CONVOSIM_LOCAL_THREADS: " " }).gpu).toBe(
      "vulkan",
    );
  });

  it("rejects malformed values, naming the variable", () => {
    expect(configError(() => runtimeSettingsFromEnv({ CONVOSIM_LOCAL_SEQUENCES: "0" })).message).toBe(
      'CONVOSIM_LOCAL_SEQUENCES must be an integer from 1 to 16, got "0"',
    );
    expect(configError(() => runtimeSettingsFromEnv({ CONVOSIM_LOCAL_THREADS: "two" })).message).toContain(
      "CONVOSIM_LOCAL_THREADS",
    );
    expect(configError(() => runtimeSettingsFromEnv({ CONVOSIM_LOCAL_GPU: "tpu" })).message).toContain(
      "CONVOSIM_LOCAL_GPU must be one of",
    );
  });
});

describe("defaultThreads", () => {
  it("leaves one core free and caps at 4", () => {
    expect(defaultThreads(1)).toBe(1);
    expect(defaultThreads(2)).toBe(1);
    expect(defaultThreads(4)).toBe(3);
    expect(defaultThreads(16)).toBe(4);
  });
});
