// One conversation as one inner observable: choose and lock the assistant model, then turn
// by turn — assistant reply, simulated-user follow-up or stop — until a stop rule fires.
// Each step starts from the last good state, so a retried failure never repays finished
// turns. A conversation that still fails becomes a failure record, never a success.
import {
  asyncScheduler,
  catchError,
  concatMap,
  defer,
  EMPTY,
  expand,
  from,
  last,
  map,
  type Observable,
  type OperatorFunction,
  of,
  retry,
  type SchedulerLike,
  tap,
  throwError,
  timer,
} from "rxjs";
import type { ModelIdentity, ResponseCache } from "../cache/index.js";
import type { AssistantPool, PoolMember } from "../conversation/assistant-pool.js";
import { type NoiseHook, noNoise } from "../conversation/noise-hook.js";
import type { PriceTable } from "../conversation/pricing.js";
import { seedFrom } from "../conversation/random.js";
import {
  drawTargetTurns,
  followUpIntent,
  stopAfterReply,
  type TurnLimits,
  userMayStop,
} from "../conversation/turn-rules.js";
import type { UserReply, UserSimulator } from "../conversation/user-simulator.js";
import { callTicket } from "../limits/endpoint-budgets.js";
import type { Admission } from "../limits/types.js";
import { noiseMetadata } from "../noise/distractor-metadata.js";
import { ProviderError } from "../providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../providers/types.js";
import type {
  ConversationResult,
  FailureRecord,
  Interaction,
  Message,
  StopReason,
  UsageRecord,
} from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { type CallRetryPolicy, cacheOption, callModel, usageRecord } from "./call-model.js";

export interface ConversationEvents {
  /** Every model call that returned, with its usage and cost. */
  onCall?(record: UsageRecord): void;
  /** Every retry of a model call after a transient failure. */
  onCallRetry?(error: unknown): void;
}

/** The response cache as conversations use it: a store, and which identity a model has. */
export interface ConversationCache {
  store: ResponseCache;
  /** Undefined for a model the cache cannot tell apart from others: its calls are not cached. */
  identityOf(model: ChatModel): ModelIdentity | undefined;
}

export interface ConverseDeps {
  pool: AssistantPool;
  user: UserSimulator;
  limits: TurnLimits;
  noise?: NoiseHook;
  callRetry: CallRetryPolicy;
  /** Per conversation: failed steps retried (from the last good turn) before giving up. */
  maxRetries: number;
  retryDelayMs: number;
  prices: PriceTable;
  scheduler?: SchedulerLike;
  events?: ConversationEvents;
  /** Admission control per model endpoint (src/limits); absent: calls start at once. */
  admissionFor?: (model: ChatModel) => Admission | undefined;
  /** Aborts model calls in flight (the run's hard stop, e.g. a second Ctrl-C). */
  signal?: AbortSignal;
  cache?: ConversationCache;
}

/** The simulated user kept giving unusable replies (empty, or speaking as the assistant). */
export class UserSimulatorError extends Error {
  readonly kind = "user_simulator";
  constructor(why: string, asks: number) {
    super(`simulated user gave no usable reply after ${asks} asks (${why})`);
    this.name = "UserSimulatorError";
  }
}

interface State {
  readonly messages: readonly Message[];
  readonly turns: number;
  readonly distractorApplied: boolean;
  readonly stop?: StopReason;
}

// Errors that no retry can fix: wrong key, bad request, configuration, programming errors.
function isFatal(error: unknown): boolean {
  if (error instanceof UserSimulatorError) return false;
  if (error instanceof ProviderError) return !error.transient;
  return true;
}

function errorKind(error: unknown): string {
  if (error instanceof ProviderError) return error.kind;
  if (error instanceof UserSimulatorError) return error.kind;
  return "unknown";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The conversation as the assistant sees it: a real chat with roles, not one flattened message. */
function assistantRequest(member: PoolMember, messages: readonly Message[], seed: number): ChatRequest {
  const chat: ChatRequest["messages"][number][] = member.systemPrompt
    ? [{ role: "system", content: member.systemPrompt }]
    : [];
  for (const message of messages) chat.push({ role: message.role, content: message.content });
  return { messages: chat, temperature: member.temperature, maxTokens: member.maxTokens, seed };
}

export function conversation(task: Task, deps: ConverseDeps): Observable<ConversationResult> {
  return defer(() => {
    const scheduler = deps.scheduler ?? asyncScheduler;
    const noise = deps.noise ?? noNoise;
    const member = deps.pool.choose(task.seed); // locked: this conversation holds it to the end
    const targetTurns = drawTargetTurns(task.seed, deps.limits, task.target_turns);
    const usage: UsageRecord[] = [...(task.prior_usage ?? [])]; // every call paid for, kept even on failure
    const createdAt = new Date(scheduler.now()).toISOString();
    let failures = 0;
    let lastGood: State | undefined;

    const timestamp = () => new Date(scheduler.now()).toISOString();

    // An empty assistant reply is retried, so it must not be stored and replayed.
    const nonEmpty = (result: ChatResult) => result.text.trim() !== "";
    const cacheFor = (model: ChatModel, operation: string) =>
      cacheOption(deps.cache, model, operation === "assistant_response" ? nonEmpty : undefined);

    // Conversations further along ask with a higher priority (the calls they already paid
    // for), so in-flight conversations get their next turn before new ones start.
    const admissionFor = (model: ChatModel, request: ChatRequest) => {
      const admission = deps.admissionFor?.(model);
      return admission ? { admission, ticket: callTicket(request, usage.length) } : {};
    };

    const call = (
      model: ChatModel,
      request: ChatRequest,
      operation: string,
      salt: string,
    ): Observable<ChatResult> =>
      callModel(model, request, {
        retry: deps.callRetry,
        scheduler,
        jitterSeed: seedFrom(task.seed, salt),
        onRetry: (error) => deps.events?.onCallRetry?.(error),
        ...cacheFor(model, operation),
        ...admissionFor(model, request),
        ...(deps.signal ? { signal: deps.signal } : {}),
      }).pipe(
        tap((result) => {
          const record = usageRecord(operation, result, deps.prices);
          usage.push(record);
          deps.events?.onCall?.(record);
        }),
      );

    const userMessage = (
      clean: string,
      turn: number,
      extra: Record<string, unknown>,
    ): Observable<Message> => {
      const outcome = noise({
        text: clean,
        persona_features: task.persona_features,
        interaction_id: task.interaction_id,
        turn,
        is_initial: turn === 1,
        seed: seedFrom(task.seed, "noise", turn),
      });
      // A synchronous hook stays synchronous, so virtual-time tests and the hot path skip a microtask.
      return (outcome instanceof Promise ? from(outcome) : of(outcome)).pipe(
        tap((outcome) => {
          // Model calls of the distractor (semantic layers) are paid for like every other call.
          for (const made of outcome.calls ?? []) {
            const record = usageRecord(made.operation, made, deps.prices);
            usage.push(record);
            deps.events?.onCall?.(record);
          }
        }),
        map((outcome) => ({
          role: "user" as const,
          content: outcome.text,
          timestamp: timestamp(),
          metadata: {
            ...extra,
            was_noised: outcome.applied,
            ...(outcome.applied ? { clean_content: clean, noise: outcome.details ?? {} } : {}),
          },
        })),
      );
    };

    const opening$: Observable<State> = userMessage(task.initial_query, 1, { is_initial: true }).pipe(
      map((message) => ({
        messages: [message],
        turns: 0,
        distractorApplied: message.metadata.was_noised === true,
      })),
    );

    const assistantStep = (state: State): Observable<State> => {
      const request = assistantRequest(
        member,
        state.messages,
        seedFrom(task.seed, "assistant", state.turns + 1),
      );
      return call(member.model, request, "assistant_response", `assistant:${state.turns + 1}`).pipe(
        map((result) => {
          if (result.text.trim() === "")
            throw new ProviderError("malformed", "assistant model returned an empty reply");
          const turns = state.turns + 1;
          const reply: Message = {
            role: "assistant",
            content: result.text,
            timestamp: timestamp(),
            metadata: { model: result.model, provider: result.provider, finish_reason: result.finishReason },
          };
          const stop = stopAfterReply(turns, targetTurns, deps.limits);
          return { ...state, messages: [...state.messages, reply], turns, ...(stop ? { stop } : {}) };
        }),
      );
    };

    let userSystem: string | undefined; // rendered on the first follow-up, then reused
    const userStep = (state: State): Observable<State> => {
      const mayStop = userMayStop(state.turns, deps.limits);
      const intent = followUpIntent(task.seed, state.turns + 1, deps.user.config.feedback_probability);
      userSystem ??= deps.user.systemPrompt(task);
      const ask = (reask: number): Observable<UserReply & { kind: "message" | "stop" }> => {
        const request = deps.user.buildRequest({
          persona_features: task.persona_features,
          system_prompt: task.system_prompt,
          original_query: task.original_query,
          messages: state.messages,
          completed_turns: state.turns,
          target_turns: targetTurns,
          may_stop: mayStop,
          intent,
          seed: seedFrom(task.seed, "user", state.turns + 1, reask),
          reask,
          rendered_system: userSystem,
        });
        return call(deps.user.model, request, "user_feedback", `user:${state.turns + 1}:${reask}`).pipe(
          concatMap((result) => {
            const reply = deps.user.interpret(result.text, { may_stop: mayStop, messages: state.messages });
            if (reply.kind !== "reask") return of(reply);
            if (reask >= deps.user.config.max_reasks)
              return throwError(() => new UserSimulatorError(reply.why, reask + 1));
            return ask(reask + 1);
          }),
        );
      };
      return ask(0).pipe(
        concatMap((reply) => {
          if (reply.kind === "stop") return of({ ...state, stop: "user_satisfied" as const });
          return userMessage(reply.content, state.turns + 1, { is_followup: true, intent }).pipe(
            map((message) => ({
              ...state,
              messages: [...state.messages, message],
              distractorApplied: state.distractorApplied || message.metadata.was_noised === true,
            })),
          );
        }),
      );
    };

    // Retry a failed step from the state it started from; the count is per conversation.
    const guarded = (step$: Observable<State>): Observable<State> =>
      step$.pipe(
        retry({
          delay: (error: unknown) => {
            failures++;
            if (isFatal(error) || failures > deps.maxRetries) return throwError(() => error);
            return timer(deps.retryDelayMs, scheduler);
          },
        }),
      );

    const next = (state: State): Observable<State> => {
      if (state.stop) return EMPTY;
      const lastMessage = state.messages[state.messages.length - 1];
      return guarded(lastMessage?.role === "user" ? assistantStep(state) : userStep(state));
    };

    const toInteraction = (state: State): Interaction => ({
      interaction_id: task.interaction_id,
      persona_id: task.persona_id,
      persona_features: task.persona_features,
      query_id: task.query_id,
      original_query: task.original_query,
      initial_query: task.initial_query,
      messages: [...state.messages],
      num_turns: state.turns,
      metadata: {
        created_at: createdAt,
        completed_at: timestamp(),
        distractor_applied: state.distractorApplied,
        assistant_model: { provider: member.model.provider, model: member.model.model },
        user_model: { provider: deps.user.model.provider, model: deps.user.model.model },
        stop_reason: state.stop ?? "max_turns",
        target_turns: targetTurns,
        sample_index: task.sample_index,
        seed: task.seed,
        usage,
        ...(task.supplement_round !== undefined ? { supplement_round: task.supplement_round } : {}),
        // The assistant's system prompt, when it had one: exports put it in front of the chat.
        ...(member.systemPrompt ? { assistant_system_prompt: member.systemPrompt } : {}),
        ...noiseMetadata(state.messages, deps.noise?.distractorType),
      },
    });

    const toFailure = (error: unknown): FailureRecord => ({
      status: "failed",
      interaction_id: task.interaction_id,
      persona_id: task.persona_id,
      query_id: task.query_id,
      reason: errorMessage(error),
      error_kind: errorKind(error),
      attempts: Math.max(1, failures),
      completed_turns: lastGood?.turns ?? 0,
      failed_at: timestamp(),
      usage,
    });

    if (task.preflight_error) {
      const { reason, error_kind } = task.preflight_error;
      return of<ConversationResult>({
        kind: "failure",
        failure: { ...toFailure(new Error(reason)), error_kind },
      });
    }

    return guarded(opening$).pipe(
      expand(next),
      tap((state) => {
        lastGood = state;
      }),
      last(),
      map((state): ConversationResult => ({ kind: "interaction", interaction: toInteraction(state) })),
      catchError((error: unknown) => of<ConversationResult>({ kind: "failure", failure: toFailure(error) })),
    );
  });
}

/** Conversations one after another (see converseAll for many at once). */
export function converse(deps: ConverseDeps): OperatorFunction<Task, ConversationResult> {
  return concatMap((task) => conversation(task, deps));
}
