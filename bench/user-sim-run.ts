// The run that both the checker (bench/check-user-sim.ts) and the integration test
// (test/integration/misbehaving-user.test.ts) make: its settings, personas and config.
/** Distinct openings (none a part of another), one per persona. */
const QUERIES = [
  "How do I set up automatic backups for my photo library?",
  "Why does my laptop battery drain so fast overnight?",
  "How can I share one printer between two computers at home?",
  "What is the safest way to store passwords for my small business?",
  "How do I move my email contacts to a new phone?",
  "Can you help me plan a budget spreadsheet for a school trip?",
  "How should I organise shared folders for a team of volunteers?",
  "Why is my home wifi slow in the evenings?",
];
const FEATURES = [
  { role: "photographer", tech_proficiency: "novice", communication_style: "casual" },
  { role: "student", tech_proficiency: "intermediate", communication_style: "brief" },
  { role: "retiree", tech_proficiency: "novice", communication_style: "polite" },
  { role: "shop owner", tech_proficiency: "expert", communication_style: "direct" },
];

export function checkPersonas(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    persona_id: `usersim_${i}`,
    persona_features: FEATURES[i % FEATURES.length],
    queries: [
      {
        query_id: `q${i}`,
        original_query: QUERIES[i % QUERIES.length] + (i >= QUERIES.length ? ` (${i})` : ""),
      },
    ],
  }));
}

export interface CheckRunSettings {
  minTurns: number;
  maxTurns: number;
  maxReasks: number;
  maxRetries: number;
  callRetries: number;
  /** user_model.prompt_format; unset: the config's default (and a config older code accepts). */
  promptFormat?: "auto" | "chat" | "transcript";
}

export const DEFAULT_SETTINGS: CheckRunSettings = {
  minTurns: 2,
  maxTurns: 4,
  maxReasks: 2,
  maxRetries: 2,
  callRetries: 0,
};

/** The config both the checker and the integration test run with: both models on the stand-in. */
export function checkConfig(url: string, settings: CheckRunSettings, keyEnv: string) {
  const model = { provider: "openai", model: "stand-in", base_url: url, api_key_env: keyEnv };
  return {
    interaction_generation: {
      min_turns: settings.minTurns,
      max_turns: settings.maxTurns,
      max_workers: 8,
      max_retries: settings.maxRetries,
      retry_delay: 0.01,
      // No resends of one call: every request the stand-in counts is an ask (or a retried attempt).
      call_retries: { count: settings.callRetries, base_delay: 0.01, max_delay: 0.05 },
      seed: 7,
      assistant_model: { ...model, max_completion_tokens: 200 },
      user_model: {
        ...model,
        max_reasks: settings.maxReasks,
        ...(settings.promptFormat ? { prompt_format: settings.promptFormat } : {}),
      },
    },
  };
}
