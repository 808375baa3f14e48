// Hand-built output folders for the stats and report tests: interactions with known
// lengths, models, persona features and noise, written in the files sink's layout.
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FailureRecord, Interaction, Message, UsageRecord } from "../../src/schema/interaction.js";
import { outputPaths } from "../../src/sinks/layout.js";
import { interactionFileName } from "../../src/sinks/safe-file-name.js";

import { usage } from "../sinks/fixtures.js";

export { usage };

const at = "2026-02-06T10:30:00.000Z";

export function userMessage(
  content: string,
  noised?: { clean: string; noise: Record<string, unknown> },
): Message {
  return {
    role: "user",
    content,
    timestamp: at,
    metadata: noised
      ? { was_noised: true, clean_content: noised.clean, noise: noised.noise }
      : { was_noised: false },
  };
}

export function assistantMessage(content: string): Message {
  return { role: "assistant", content, timestamp: at, metadata: { model: "m", provider: "p" } };
}

export interface InteractionSpec {
  id: string;
  persona?: string;
  features?: Record<string, unknown>;
  messages?: Message[];
  stop?: Interaction["metadata"]["stop_reason"];
  assistant?: { provider: string; model: string };
  user?: { provider: string; model: string };
  usage?: UsageRecord[];
  /** Extra interaction metadata (distractor_type, …). */
  metadata?: Record<string, unknown>;
}

export function makeInteraction(spec: InteractionSpec): Interaction {
  const messages = spec.messages ?? [userMessage("hello there"), assistantMessage("Hi! How can I help?")];
  const noised = messages.some((m) => m.metadata.was_noised === true);
  return {
    interaction_id: spec.id,
    persona_id: spec.persona ?? `persona_${spec.id}`,
    persona_features: spec.features ?? { role: "engineer" },
    query_id: "q1",
    original_query: "hello there",
    initial_query: "hello there",
    messages,
    num_turns: messages.filter((m) => m.role === "assistant").length,
    metadata: {
      created_at: at,
      completed_at: at,
      distractor_applied: noised,
      assistant_model: spec.assistant ?? { provider: "openai", model: "gpt-4o-mini" },
      user_model: spec.user ?? { provider: "openai", model: "gpt-4o-mini" },
      stop_reason: spec.stop ?? "target_turns",
      target_turns: 2,
      sample_index: 0,
      seed: 7,
      usage: spec.usage ?? [usage()],
      ...spec.metadata,
    },
  };
}

export function makeFailure(id: string, overrides: Partial<FailureRecord> = {}): FailureRecord {
  return {
    status: "failed",
    interaction_id: id,
    persona_id: "persona_failed",
    query_id: "q1",
    reason: "rate limited after 4 retries",
    error_kind: "rate_limit",
    attempts: 4,
    completed_turns: 1,
    failed_at: at,
    usage: [usage({ prompt_tokens: 7, completion_tokens: 3, cost_usd: 0.0001 })],
    ...overrides,
  };
}

/** Writes interactions (and failures) as `generate --out` would leave them. */
export async function writeRun(
  dir: string,
  interactions: readonly Interaction[],
  failures: readonly FailureRecord[] = [],
): Promise<void> {
  const paths = outputPaths(dir);
  await mkdir(paths.interactions, { recursive: true });
  for (const interaction of interactions)
    await writeFile(
      join(paths.interactions, interactionFileName(interaction.interaction_id)),
      JSON.stringify(interaction, null, 2),
    );
  for (const failure of failures) await appendFile(paths.failures, `${JSON.stringify(failure)}\n`);
}

export async function tempDir(
  prefix = "convosim-stats-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
