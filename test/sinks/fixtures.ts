// Test data shared by the sink tests: a complete Interaction and FailureRecord.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FailureRecord, Interaction, UsageRecord } from "../../src/schema/interaction.js";

export function usage(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    operation: "assistant_response",
    provider: "openai",
    model: "gpt-4o-mini",
    prompt_tokens: 100,
    completion_tokens: 20,
    cost_usd: 0.001,
    ...overrides,
  };
}

export function interaction(id: string, overrides: Partial<Interaction> = {}): Interaction {
  return {
    interaction_id: id,
    persona_id: "persona_001",
    persona_features: { role: "engineer", communication_style: "casual" },
    query_id: "query_001",
    original_query: "Help me write Python code",
    initial_query: "hey can u help me write some python code",
    messages: [
      {
        role: "user",
        content: "hey can u help me write some python code",
        timestamp: "2026-02-06T10:30:00.000Z",
        metadata: { is_initial: true, was_noised: false },
      },
      {
        role: "assistant",
        content: "Sure! What kind of Python code?",
        timestamp: "2026-02-06T10:30:05.000Z",
        metadata: { model: "gpt-4o-mini", provider: "openai" },
      },
      {
        role: "user",
        content: "a script to process csv files",
        timestamp: "2026-02-06T10:30:30.000Z",
        metadata: { is_followup: true },
      },
      {
        role: "assistant",
        content: "Here's a script:\n```python\nimport csv\n```",
        timestamp: "2026-02-06T10:30:45.000Z",
        metadata: { model: "gpt-4o-mini", provider: "openai" },
      },
    ],
    num_turns: 2,
    metadata: {
      created_at: "2026-02-06T10:30:00.000Z",
      completed_at: "2026-02-06T10:30:45.000Z",
      distractor_applied: false,
      assistant_model: { provider: "openai", model: "gpt-4o-mini" },
      user_model: { provider: "openai", model: "gpt-4o-mini" },
      stop_reason: "target_turns",
      target_turns: 2,
      sample_index: 0,
      seed: 7,
      usage: [usage(), usage({ operation: "user_feedback", prompt_tokens: 50, completion_tokens: 10 })],
    },
    ...overrides,
  };
}

export function failure(id: string, overrides: Partial<FailureRecord> = {}): FailureRecord {
  return {
    status: "failed",
    interaction_id: id,
    persona_id: "persona_001",
    query_id: "query_001",
    reason: "rate limited after 4 retries",
    error_kind: "rate_limit",
    attempts: 4,
    completed_turns: 1,
    failed_at: "2026-02-06T10:31:00.000Z",
    usage: [usage({ prompt_tokens: 7, completion_tokens: 3, cost_usd: 0.0001 })],
    ...overrides,
  };
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "convosim-sinks-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
