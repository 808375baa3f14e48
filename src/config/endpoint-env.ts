// OPENAI_BASE_URL and ANTHROPIC_BASE_URL, read the way the official SDKs read them: a model
// block of that provider with no base_url of its own goes to the variable's endpoint. People
// who point every tool at a proxy or a local server with these variables expect convosim to
// follow. The URL is written into the block (not resolved at call time) so that the cache
// identity, the saved metadata and the rate-limit budget all name the endpoint really called.
// The key follows the SDK too: the provider's key variable (OPENAI_API_KEY, …) when it is set;
// when it is not, the endpoint is treated like any base_url of your own (a placeholder is sent).
import { type ConvosimConfig, ModelConfig, type ProviderName } from "../schema/config.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
import { InputError } from "./errors.js";

/** The variables an SDK reads for its endpoint, and for its key, by provider. */
export const ENDPOINT_VARIABLES: Readonly<Partial<Record<ProviderName, { url: string; key: string }>>> = {
  openai: { url: "OPENAI_BASE_URL", key: "OPENAI_API_KEY" },
  anthropic: { url: "ANTHROPIC_BASE_URL", key: "ANTHROPIC_API_KEY" },
};

/** One model block that took its endpoint from the environment. */
export interface EndpointFromEnvironment {
  /** Dotted field of the block, e.g. `interaction_generation.assistant_model`. */
  readonly field: string;
  readonly variable: string;
  readonly url: string;
  /** The key variable the block now names, when it was set. */
  readonly keyVariable: string | undefined;
}

type Block = { provider: ProviderName; base_url?: string | undefined; api_key_env?: string | undefined };

/** Every model block written in the config (helpers with no `model` inherit the user's). */
function modelBlocks(config: ConvosimConfig): Array<{ field: string; block: Block | undefined }> {
  const ig = config.interaction_generation;
  const pool = ig.assistant_model.model_pool ?? [];
  return [
    // With a pool, the assistant block's own endpoint is not used (docs/configuration.md).
    ...(pool.length === 0
      ? [{ field: "interaction_generation.assistant_model", block: ig.assistant_model }]
      : []),
    ...pool.map((entry, i) => ({
      field: `interaction_generation.assistant_model.model_pool[${i}]`,
      block: entry,
    })),
    { field: "interaction_generation.user_model", block: ig.user_model },
    { field: "interaction_generation.style_transfer.model", block: ig.style_transfer.model },
    { field: "interaction_generation.query_generation.model", block: ig.query_generation.model },
    { field: "interaction_generation.scenario_generation.model", block: ig.scenario_generation.model },
    { field: "interaction_generation.stop_judge.model", block: ig.stop_judge.model },
    { field: "interaction_generation.turn_verifier.model", block: ig.turn_verifier.model },
    { field: "distractor.model", block: config.distractor.model },
  ];
}

/** The variable's URL, validated like a config's base_url (http(s), no credentials in it). */
function urlFrom(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const value = env[variable]?.trim();
  if (value === undefined || value === "") return undefined;
  const checked = ModelConfig.shape.base_url.safeParse(value);
  if (!checked.success) {
    const problem = checked.error.issues[0]?.message ?? "is not a valid URL";
    throw new InputError({
      file: "environment",
      field: variable,
      message: /credential|password|key/i.test(problem) ? problem : `must be an http(s) URL (${problem})`,
      hint: `fix or unset ${variable}, or set base_url in the config (it wins over ${variable})`,
    });
  }
  return value;
}

/**
 * Fills base_url (and api_key_env, when the key variable is set) of every hosted block that has
 * no base_url, from the provider's *_BASE_URL variable. Mutates `config` — call it once, after
 * every command-line choice of model is applied — and returns what it did, for the run's notice.
 */
export function applyEndpointEnvironment(
  config: ConvosimConfig,
  env: NodeJS.ProcessEnv = process.env,
): EndpointFromEnvironment[] {
  const applied: EndpointFromEnvironment[] = [];
  for (const { field, block } of modelBlocks(config)) {
    if (block === undefined || block.base_url !== undefined) continue;
    const variables = ENDPOINT_VARIABLES[block.provider];
    if (variables === undefined) continue;
    const url = urlFrom(env, variables.url);
    if (url === undefined) continue;
    block.base_url = url;
    // Without this, a base_url of one's own means "no key" (src/providers/presets.ts).
    const keySet = (env[variables.key] ?? "").trim() !== "";
    if (block.api_key_env === undefined && keySet) block.api_key_env = variables.key;
    applied.push({
      field,
      variable: variables.url,
      url,
      keyVariable: block.api_key_env ?? undefined,
    });
  }
  return applied;
}

/**
 * One stderr line per variable used: `assistant_model, user_model: base_url from
 * OPENAI_BASE_URL (http://localhost:4000/v1), key from OPENAI_API_KEY`. Credentials masked.
 */
export function describeEndpointEnvironment(applied: readonly EndpointFromEnvironment[]): string[] {
  const byVariable = new Map<string, EndpointFromEnvironment[]>();
  for (const entry of applied)
    byVariable.set(entry.variable, [...(byVariable.get(entry.variable) ?? []), entry]);
  return [...byVariable.entries()].map(([variable, entries]) => {
    const fields = entries.map((e) => e.field.replace(/^interaction_generation\./, "")).join(", ");
    const keys = [
      ...new Set(
        entries.map((e) => (e.keyVariable ? `key from ${e.keyVariable}` : "no key (placeholder sent)")),
      ),
    ].join(" / ");
    return scrubSecrets(`${fields}: base_url from ${variable} (${entries[0]!.url}), ${keys}`);
  });
}
