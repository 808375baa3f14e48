// Shared by the turn marble tests: a TurnCall as a conversation makes it (callModel on the
// test's scheduler, no call retries), and one user message of history.
import type { SchedulerLike } from "rxjs";
import { callModel } from "../../src/operators/call-model.js";
import type { TurnCall } from "../../src/operators/user-turn.js";
import type { Message } from "../../src/schema/interaction.js";

export function turnCall(scheduler: SchedulerLike): TurnCall {
  return (model, request, _operation, _salt, options) =>
    callModel(model, request, {
      retry: { count: 0, baseDelayMs: 1, maxDelayMs: 1 },
      scheduler,
      jitterSeed: 1,
      ...(options.retryEmptyReplies === false ? { retryEmptyReplies: false } : {}),
    });
}

export const message = (role: Message["role"], content: string): Message => ({
  role,
  content,
  timestamp: "2025-01-01T00:00:00.000Z",
  metadata: {},
});
