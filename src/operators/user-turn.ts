// One simulated-user turn: ask the user model, read the reply through the turn guards (and the
// optional verifier), and re-ask with a new seed and the reason until a reply is usable or the
// asks run out. Every rejection is kept: the message records its asks and their reasons.
import { catchError, concatMap, defer, type Observable, of, throwError } from "rxjs";
import { seedFrom } from "../conversation/random.js";
import type { TurnVerifier } from "../conversation/turn-verifier.js";
import type {
  ConversationPrompt,
  UserReply,
  UserSimulator,
  UserTurnContext,
} from "../conversation/user-simulator.js";
import { isEmptyReply } from "../providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../providers/types.js";
import type { GuardName, Message, ScenarioRecord, UserRejection } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";

/** The simulated user kept giving unusable replies; `rejections` says what each ask was. */
export class UserSimulatorError extends Error {
  readonly kind = "user_simulator";
  constructor(
    why: string,
    asks: number,
    readonly rejections: readonly UserRejection[] = [],
  ) {
    super(`simulated user gave no usable reply after ${asks} asks (${why})`);
    this.name = "UserSimulatorError";
  }
}

/** How a turn reaches a model: the conversation's call (usage, retries, admission, cache). */
export type TurnCall = (
  model: ChatModel,
  request: ChatRequest,
  operation: string,
  salt: string,
  options: { accept?: (result: ChatResult) => boolean; retryEmptyReplies?: boolean },
) => Observable<ChatResult>;

export interface UserTurnInput {
  task: Task;
  scenario: ScenarioRecord;
  prompt: ConversationPrompt;
  messages: readonly Message[];
  completedTurns: number;
  targetTurns: number;
  mayStop: boolean;
  intent: "feedback" | "followup";
  /** Conversation-level attempt of this step (0 first): every attempt asks with new seeds. */
  attempt: number;
  /** Rejections of this turn so far, earlier attempts included; appended to. */
  rejections: UserRejection[];
  /** Called for every ask (a model call made or replayed). */
  onAsk(): void;
}

export type UserTurnOutcome =
  | { kind: "message"; content: string; asks: number; unwrapped?: string; finishReason: string }
  | { kind: "stop"; reason: "user_satisfied" | "user_gave_up"; asks: number };

const EXCERPT = 120;

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT)}…` : flat;
}

export interface UserTurnDeps {
  user: UserSimulator;
  verifier?: TurnVerifier | undefined;
  call: TurnCall;
}

/** A provider's "empty reply" error is an empty reply, judged by the guards like any other. */
function emptyResult(model: ChatModel): ChatResult {
  return {
    text: "",
    usage: { prompt_tokens: 0, completion_tokens: 0 },
    finishReason: "empty",
    provider: model.provider,
    model: model.model,
  };
}

export function userTurn(input: UserTurnInput, deps: UserTurnDeps): Observable<UserTurnOutcome> {
  const { task, user } = { task: input.task, user: deps.user };
  const turn = input.completedTurns + 1;
  const guardContext = {
    may_stop: input.mayStop,
    messages: input.messages,
    persona_features: task.persona_features,
    prompt: input.prompt,
  };
  const withoutVerifier = deps.verifier === undefined;

  const verify = (reply: UserReply & { kind: "message" }, reask: number): Observable<UserReply> => {
    const verifier = deps.verifier;
    if (!verifier) return of(reply);
    const lastAssistant = input.messages[input.messages.length - 1]?.content ?? "";
    const request = verifier.buildRequest(
      task.persona_features,
      input.scenario.source === "derived" ? undefined : input.scenario,
      lastAssistant,
      reply.content,
      seedFrom(task.seed, "verifier", turn, reask, input.attempt),
    );
    return deps
      .call(verifier.model, request, "turn_verifier", `verifier:${turn}:${reask}:${input.attempt}`, {})
      .pipe(
        concatMap((result) => {
          const reading = verifier.read(result.text);
          return of<UserReply>(
            reading.ok ? reply : { kind: "reask", guard: "verifier", detail: reading.problem },
          );
        }),
      );
  };

  const ask = (
    reask: number,
    rejected: { guard: GuardName; detail: string } | undefined,
  ): Observable<UserTurnOutcome> => {
    const context: UserTurnContext = {
      persona_features: task.persona_features,
      system_prompt: task.system_prompt,
      original_query: task.original_query,
      scenario: input.scenario,
      messages: input.messages,
      completed_turns: input.completedTurns,
      target_turns: input.targetTurns,
      may_stop: input.mayStop,
      intent: input.intent,
      // New seeds for every ask and every conversation-level attempt: the same seed would
      // give a deterministic model the same bad reply again.
      seed:
        input.attempt === 0
          ? seedFrom(task.seed, "user", turn, reask)
          : seedFrom(task.seed, "user", turn, reask, input.attempt),
      reask,
      rejected,
      prompt: input.prompt,
    };
    const request = user.buildRequest(context);
    // Only usable replies go into the response cache: a rerun must ask again, not replay a
    // rejected reply. With the verifier on, its verdict comes after the cache, so nothing is cached.
    // The guards run once per reply: the cache's accept and the turn below share the verdict.
    let judged: { result: ChatResult; reply: UserReply } | undefined;
    const read = (result: ChatResult): UserReply => {
      if (judged?.result !== result)
        judged = { result, reply: user.interpret(result.text, guardContext, result.finishReason) };
      return judged.reply;
    };
    const accept = (result: ChatResult) => withoutVerifier && read(result).kind !== "reask";
    return defer(() => {
      input.onAsk();
      return deps.call(user.model, request, "user_feedback", `user:${turn}:${reask}:${input.attempt}`, {
        accept,
        retryEmptyReplies: false,
      });
    }).pipe(
      // Caught here, not retried byte for byte: the re-ask below varies the request.
      catchError((error: unknown) =>
        isEmptyReply(error) ? of(emptyResult(user.model)) : throwError(() => error),
      ),
      concatMap((result) => {
        const outcome = (checked: UserReply): Observable<UserTurnOutcome> => {
          const asks = input.rejections.length + 1;
          if (checked.kind === "stop") return of({ kind: "stop", reason: checked.reason, asks });
          if (checked.kind === "message")
            return of({
              kind: "message",
              content: checked.content,
              asks,
              finishReason: result.finishReason,
              ...(checked.unwrapped ? { unwrapped: checked.unwrapped } : {}),
            });
          input.rejections.push({
            guard: checked.guard,
            detail: checked.detail,
            excerpt: excerpt(result.text),
          });
          if (reask >= user.config.max_reasks)
            return throwError(() => new UserSimulatorError(checked.guard, reask + 1, [...input.rejections]));
          return ask(reask + 1, checked);
        };
        const reply = read(result);
        // Without a verifier the verdict is the guards': no inner observable on the hot path.
        if (reply.kind !== "message" || withoutVerifier) return outcome(reply);
        return verify(reply, reask).pipe(concatMap(outcome));
      }),
    );
  };
  return ask(0, undefined);
}
