// Small builders shared by the operator tests: a task, a pool of fakes, a simulated user.
import type { SchedulerLike } from "rxjs";
import { AssistantPool } from "../../src/conversation/assistant-pool.js";
import { PriceTable } from "../../src/conversation/pricing.js";
import { UserSimulator } from "../../src/conversation/user-simulator.js";
import type { ConverseDeps } from "../../src/operators/converse.js";
import { FakeChatModel, type FakeChatModelOptions } from "../../src/providers/fake.js";
import { UserModelConfig } from "../../src/schema/config.js";
import type { Task } from "../../src/schema/persona.js";

export function makeTask(overrides: Partial<Task> = {}): Task {
  return {
    interaction_id: "interaction_p1_abc",
    persona_id: "p1",
    persona_features: { role: "engineer", communication_style: "casual" },
    query_id: "q1",
    original_query: "Help me write Python code",
    initial_query: "help me write python code",
    sample_index: 0,
    seed: 42,
    ...overrides,
  };
}

export function fakeModel(options: FakeChatModelOptions & { scheduler?: SchedulerLike }): FakeChatModel {
  return new FakeChatModel(options);
}

export function makeDeps(options: {
  assistant: FakeChatModel | FakeChatModel[];
  user: FakeChatModel;
  minTurns?: number;
  maxTurns?: number;
  scheduler?: SchedulerLike;
  maxRetries?: number;
  retryDelayMs?: number;
  callRetryCount?: number;
  feedbackProbability?: number;
}): ConverseDeps {
  const assistants = Array.isArray(options.assistant) ? options.assistant : [options.assistant];
  return {
    pool: new AssistantPool(
      assistants.map((model) => ({
        model,
        weight: 1,
        temperature: 0.7,
        maxTokens: 64,
        systemPrompt: "Be helpful.",
      })),
    ),
    user: new UserSimulator(
      options.user,
      UserModelConfig.parse({ feedback_probability: options.feedbackProbability ?? 0.6 }),
    ),
    limits: { minTurns: options.minTurns ?? 3, maxTurns: options.maxTurns ?? 3 },
    callRetry: { count: options.callRetryCount ?? 2, baseDelayMs: 100, maxDelayMs: 1000 },
    maxRetries: options.maxRetries ?? 1,
    retryDelayMs: options.retryDelayMs ?? 2000,
    prices: new PriceTable(),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  };
}
