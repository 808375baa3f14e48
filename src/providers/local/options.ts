// Settings of the `local` provider. Two sources, on purpose:
// - per model (config `extra_body`): how to prompt and sample — differs between the assistant
//   and the simulated user even when they share one loaded model;
// - per process (environment): how the one loaded model runs on this machine (threads,
//   parallel sequences, context size, GPU) — shared by every caller, so not per config entry.
import { z } from "zod";
import type { ModelConfig } from "../../schema/config.js";
import { ProviderError } from "../errors.js";

const Label = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[^\n:]+$/, "must be one line without ':'");

/** The `extra_body` keys the local provider understands; any other key is a config error. */
export const LocalExtraBody = z.strictObject({
  /** "auto" (default): chat template when the GGUF has one, else transcript continuation. */
  prompt_format: z.enum(["auto", "chat", "transcript"]).default("auto"),
  /** Transcript speaker names (transcript format only). */
  user_label: Label.default("User"),
  assistant_label: Label.default("Assistant"),
  /** Extra strings that end a reply. */
  stop: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  top_k: z.number().int().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  min_p: z.number().min(0).max(1).optional(),
  /** 1 disables it; node-llama-cpp's default is 1.1 over the last 64 generated tokens. */
  repeat_penalty: z.number().min(1).max(2).optional(),
  /** Seed used when a request brings none. */
  seed: z.number().int().optional(),
});
export type LocalExtraBody = z.infer<typeof LocalExtraBody>;

/** Parses config.extra_body for the local provider; errors name the offending key. */
export function parseLocalExtraBody(config: Pick<ModelConfig, "extra_body">): LocalExtraBody {
  const parsed = LocalExtraBody.safeParse(config.extra_body ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .map((issue) => {
      const path = issue.path.join(".");
      return issue.code === "unrecognized_keys"
        ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : `${path || "extra_body"}: ${issue.message}`;
    })
    .join("; ");
  throw new ProviderError(
    "config",
    `invalid extra_body for the local provider: ${issues} (allowed: ${Object.keys(LocalExtraBody.shape).join(", ")})`,
  );
}

export type GpuSetting = "auto" | false | "cuda" | "vulkan" | "metal";

export interface RuntimeSettings {
  /** CPU threads for evaluation; undefined = defaultThreads(math cores) in runtime.ts. */
  threads: number | undefined;
  /** Sequences of the shared context, i.e. generations that run batched together. */
  sequences: number;
  /** Tokens per sequence (prompt + reply). */
  contextSize: number;
  gpu: GpuSetting;
}

/**
 * Defaults chosen by measurement on a 2-core machine (see index.ts and runtime.ts):
 * threads undefined = cores − 1 (max 4); 2 sequences; 4096 tokens per sequence hold a 5-turn
 * conversation with long replies (≈50 MB of RAM per extra sequence for either embedded model).
 */
export const DEFAULT_RUNTIME: RuntimeSettings = {
  threads: undefined,
  sequences: 2,
  contextSize: 4096,
  gpu: "auto",
};

type Env = Readonly<Record<string, string | undefined>>;

function intFromEnv(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ProviderError("config", `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/**
 * Reads CONVOSIM_LOCAL_THREADS, CONVOSIM_LOCAL_SEQUENCES, CONVOSIM_LOCAL_CONTEXT_SIZE and
 * CONVOSIM_LOCAL_GPU (auto | cpu | cuda | vulkan | metal).
 */
export function runtimeSettingsFromEnv(env: Env = process.env): RuntimeSettings {
  const gpuRaw = env.CONVOSIM_LOCAL_GPU?.trim().toLowerCase();
  let gpu: GpuSetting = DEFAULT_RUNTIME.gpu;
  if (gpuRaw) {
    if (gpuRaw === "cpu" || gpuRaw === "false" || gpuRaw === "off") gpu = false;
    else if (gpuRaw === "auto" || gpuRaw === "cuda" || gpuRaw === "vulkan" || gpuRaw === "metal")
      gpu = gpuRaw;
    else {
      throw new ProviderError(
        "config",
        `CONVOSIM_LOCAL_GPU must be one of auto, cpu, cuda, vulkan, metal; got "${env.CONVOSIM_LOCAL_GPU}"`,
      );
    }
  }
  return {
    threads: intFromEnv(env, "CONVOSIM_LOCAL_THREADS", 1, 256) ?? DEFAULT_RUNTIME.threads,
    sequences: intFromEnv(env, "CONVOSIM_LOCAL_SEQUENCES", 1, 16) ?? DEFAULT_RUNTIME.sequences,
    contextSize: intFromEnv(env, "CONVOSIM_LOCAL_CONTEXT_SIZE", 256, 131_072) ?? DEFAULT_RUNTIME.contextSize,
    gpu,
  };
}
