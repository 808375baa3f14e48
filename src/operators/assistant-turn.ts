// The assistant's side of a turn: ask the conversation's locked model, and ask again when the
// reply is no answer — empty (after a stray stop marker is stripped), or the user's kind of
// question or the user's question asked back — with a new seed and a little hotter, never storing such a reply in the cache.
import { catchError, concatMap, type Observable, of, throwError } from "rxjs";
import type { PoolMember } from "../conversation/assistant-pool.js";
import { type AssistantCheck, checkAssistantReply } from "../conversation/guards/assistant.js";
import { seedFrom } from "../conversation/random.js";
import type { MarkerSet } from "../conversation/stop-markers.js";
import { isEmptyReply, ProviderError } from "../providers/errors.js";
import type { ChatRequest, ChatResult } from "../providers/types.js";
import type { Message } from "../schema/interaction.js";
import type { TurnCall } from "./user-turn.js";

/** The conversation as the assistant sees it: a real chat with roles, not one flattened message. */
export function assistantRequest(
  member: PoolMember,
  messages: readonly Message[],
  seed: number,
): ChatRequest {
  const chat: ChatRequest["messages"][number][] = member.systemPrompt
    ? [{ role: "system", content: member.systemPrompt }]
    : [];
  for (const message of messages) chat.push({ role: message.role, content: message.content });
  return { messages: chat, temperature: member.temperature, maxTokens: member.maxTokens, seed };
}

// The checks of one reply, computed once: the cache's accept, the re-ask decision and the saved
// message all read them (results are not reused across conversations, so a WeakMap suffices).
const checks = new WeakMap<ChatResult, AssistantCheck>();

/** checkAssistantReply for a result, once per result object. */
export function checkedReply(
  result: ChatResult,
  markers: MarkerSet,
  lastUser: string | undefined,
): AssistantCheck {
  let check = checks.get(result);
  if (!check) {
    check = checkAssistantReply(result.text, markers, lastUser);
    checks.set(result, check);
  }
  return check;
}

export interface AssistantTurnInput {
  member: PoolMember;
  messages: readonly Message[];
  /** The turn being answered (1-based). */
  turn: number;
  /** Conversation-level attempt of this step (0 first). */
  attempt: number;
  taskSeed: number;
  markers: MarkerSet;
  /** Re-asks of an unusable reply (assistant_model.max_reasks). */
  reasks: number;
  call: TurnCall;
}

export function assistantReply(input: AssistantTurnInput): Observable<ChatResult> {
  const lastUser = [...input.messages].reverse().find((m) => m.role === "user")?.content;
  const usable = (result: ChatResult) => {
    const checked = checkedReply(result, input.markers, lastUser);
    return checked.content.trim() !== "" && !checked.speaksAsUser;
  };
  const ask = (reask: number): Observable<ChatResult> => {
    // The first ask keeps the seed it always had, so replays from the cache still hit.
    const seed =
      reask === 0 && input.attempt === 0
        ? seedFrom(input.taskSeed, "assistant", input.turn)
        : seedFrom(input.taskSeed, "assistant", input.turn, "reask", reask, input.attempt);
    const request = assistantRequest(input.member, input.messages, seed);
    const varied =
      reask === 0
        ? request
        : { ...request, temperature: Math.min(1.5, (request.temperature ?? 0.7) + 0.2 * reask) };
    const salt = `assistant:${input.turn}:${reask}:${input.attempt}`;
    return input
      .call(input.member.model, varied, "assistant_response", salt, {
        accept: usable,
        retryEmptyReplies: false,
      })
      .pipe(
        // A provider's "empty reply" error is asked again below with a varied request.
        catchError((error: unknown) => (isEmptyReply(error) ? of(undefined) : throwError(() => error))),
        concatMap((result) => {
          if (result && usable(result)) return of(result);
          if (reask >= input.reasks)
            return throwError(
              () =>
                new ProviderError(
                  "malformed",
                  `assistant model gave no usable reply ${reask + 1} times (empty, or a question in the user's voice)`,
                ),
            );
          return ask(reask + 1);
        }),
      );
  };
  return ask(0);
}
