// One conversation as one inner observable: choose and lock the assistant model, then turn
// by turn — assistant reply (checked, and judged when a stop judge is on), simulated-user
// follow-up through the turn guards (user-turn.ts) or stop — until a stop rule fires.
// Each step starts from the last good state, so a retried failure never repays finished
// turns. A conversation that still fails becomes a failure record, never a success.
import {
  asyncScheduler,
  catchError,
  concatMap,
  defer,
  EMPTY,
  expand,
  finalize,
  from,
  last,
  map,
  type Observable,
  type OperatorFunction,
  of,
  retry,
  tap,
  throwError,
  timer,
} from "rxjs";
import { noNoise } from "../conversation/noise-hook.js";
import { seedFrom } from "../conversation/random.js";
import { drawTargetTurns, followUpIntent, stopAfterReply, userMayStop } from "../conversation/turn-rules.js";
import type { ConversationPrompt } from "../conversation/user-simulator.js";
import { callTicket } from "../limits/endpoint-budgets.js";
import { noiseMetadata } from "../noise/distractor-metadata.js";
import { contextWindowOf, DEFAULT_CONTEXT_WINDOW } from "../providers/context-window.js";
import { estimatePromptTokens, estimateTokens } from "../providers/estimate.js";
import type { ChatModel, ChatRequest } from "../providers/types.js";
import type {
  ConversationResult,
  FailureRecord,
  GuardName,
  Interaction,
  JudgeVerdict,
  Message,
  ScenarioRecord,
  StopReason,
  UsageRecord,
  UserRejection,
} from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { assistantReply, checkedReply } from "./assistant-turn.js";
import { cacheOption, callModel, failedCallRecord, usageRecord } from "./call-model.js";
import { ContextFullError, errorKind, errorMessage, isFatal } from "./conversation-errors.js";
import type { ConverseDeps } from "./converse-types.js";
import { isStopped, StopRequested, stoppableWait } from "./stop.js";
import { type TurnCall, UserSimulatorError, userTurn } from "./user-turn.js";

export { ContextFullError } from "./conversation-errors.js";
export type {
  ConversationCache,
  ConversationEvents,
  ConverseDeps,
  InterruptedConversation,
} from "./converse-types.js";
export { UserSimulatorError } from "./user-turn.js";

interface State {
  readonly messages: readonly Message[];
  readonly turns: number;
  readonly distractorApplied: boolean;
  readonly stop?: StopReason;
  readonly verdicts: readonly JudgeVerdict[];
  /** Why the simulated user failed, when the conversation was saved as user_sim_failed. */
  readonly simFailure?: { reason: string; rejections: readonly UserRejection[] };
}

function lastUserText(messages: readonly Message[]): string | undefined {
  return [...messages].reverse().find((m) => m.role === "user")?.content;
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

    const markers = deps.user.markers;
    // The scenario the simulated user plays: given with the query, written by the scenario
    // generator, or derived from the query alone (then the prompt adds nothing to the request).
    const scenario: ScenarioRecord = task.scenario ?? { goal: task.original_query, source: "derived" };
    const promptScenario = scenario.source === "derived" ? undefined : scenario;
    // Over the whole conversation, failed attempts included: every ask is a call paid for.
    let userAsks = 0;
    const rejectionCounts: Partial<Record<GuardName, number>> = {};
    const rejectionsByTurn = new Map<number, UserRejection[]>();

    // Conversations further along ask with a higher priority (the calls they already paid
    // for), so in-flight conversations get their next turn before new ones start.
    const admissionFor = (model: ChatModel, request: ChatRequest) => {
      const admission = deps.admissionFor?.(model);
      return admission ? { admission, ticket: callTicket(request, usage.length) } : {};
    };

    const call: TurnCall = (model, request, operation, salt, options = {}) =>
      callModel(model, request, {
        retry: deps.callRetry,
        scheduler,
        jitterSeed: seedFrom(task.seed, salt),
        onRetry: (error, _attempt, delayMs) => deps.events?.onCallRetry?.(error, delayMs),
        // A failed attempt that reached the server was a call made: counted like the others.
        onFailedCall: (error) => {
          const record = failedCallRecord(operation, model, error);
          usage.push(record);
          deps.events?.onCall?.(record);
        },
        ...cacheOption(deps.cache, model, options.accept),
        ...(options.retryEmptyReplies === false ? { retryEmptyReplies: false } : {}),
        ...admissionFor(model, request),
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(deps.stopSignal ? { stopSignal: deps.stopSignal } : {}),
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
        verdicts: [],
      })),
    );

    const assistantReasks = deps.assistantReasks ?? 2;

    const judgeStep = (state: State): Observable<State> => {
      const judge = deps.judge;
      if (!judge || state.stop || !userMayStop(state.turns, deps.limits)) return of(state);
      const request = judge.buildRequest(
        task.original_query,
        promptScenario,
        state.messages,
        seedFrom(task.seed, "judge", state.turns),
      );
      return call(judge.model, request, "stop_judge", `judge:${state.turns}`, {}).pipe(
        map((result) => judge.read(result.text)),
        // A judge that cannot be reached does not end or fail the conversation: it is recorded.
        catchError((error: unknown) =>
          error instanceof StopRequested
            ? throwError(() => error) // the stop is no verdict: the conversation ends unsaved
            : of({ reached: false, reason: `judge call failed: ${errorMessage(error)}` }),
        ),
        map((reading) => {
          const verdicts = [...state.verdicts, { turn: state.turns, ...reading }];
          return reading.reached
            ? { ...state, verdicts, stop: "goal_reached" as const }
            : { ...state, verdicts };
        }),
      );
    };

    const assistantStep = (state: State): Observable<State> => {
      return assistantReply({
        member,
        messages: state.messages,
        turn: state.turns + 1,
        attempt: failures,
        taskSeed: task.seed,
        markers,
        reasks: assistantReasks,
        call,
      }).pipe(
        map((result) => {
          const turns = state.turns + 1;
          const checked = checkedReply(result, markers, lastUserText(state.messages));
          const reply: Message = {
            role: "assistant",
            content: checked.content,
            timestamp: timestamp(),
            metadata: {
              model: result.model,
              provider: result.provider,
              finish_reason: result.finishReason,
              ...(checked.refusal ? { refusal: true } : {}),
              ...(checked.markerStripped ? { marker_stripped: true } : {}),
            },
          };
          const stop = stopAfterReply(turns, targetTurns, deps.limits);
          return { ...state, messages: [...state.messages, reply], turns, ...(stop ? { stop } : {}) };
        }),
        // No judge: nothing to wait for, so no inner observable per reply.
        deps.judge ? concatMap(judgeStep) : (state$: Observable<State>) => state$,
      );
    };

    let userPrompt: ConversationPrompt | undefined; // rendered on the first follow-up, then reused
    const userStep = (state: State): Observable<State> => {
      const turn = state.turns + 1;
      const intent = followUpIntent(task.seed, turn, deps.user.config.feedback_probability);
      userPrompt ??= deps.user.conversationPrompt({ ...task, scenario: promptScenario });
      const rejections = rejectionsByTurn.get(turn) ?? [];
      rejectionsByTurn.set(turn, rejections);
      const before = rejections.length;
      const countRejections = () => {
        for (const rejection of rejections.slice(before))
          rejectionCounts[rejection.guard] = (rejectionCounts[rejection.guard] ?? 0) + 1;
      };
      return userTurn(
        {
          task,
          scenario,
          prompt: userPrompt,
          messages: state.messages,
          completedTurns: state.turns,
          targetTurns,
          mayStop: userMayStop(state.turns, deps.limits),
          intent,
          attempt: failures,
          rejections,
          onAsk: () => userAsks++,
        },
        { user: deps.user, verifier: deps.verifier, call },
      ).pipe(
        tap({ next: countRejections, error: countRejections }),
        concatMap((outcome) => {
          if (outcome.kind === "stop") return of({ ...state, stop: outcome.reason });
          const record = rejectionsByTurn.get(turn) ?? [];
          return userMessage(outcome.content, turn, {
            is_followup: true,
            intent,
            asks: outcome.asks,
            rejections: record,
            finish_reason: outcome.finishReason,
            ...(outcome.unwrapped ? { unwrapped: outcome.unwrapped } : {}),
            ...(record.some((r) => r.guard === "stop_too_early") ? { continued_after_stop: true } : {}),
          }).pipe(
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
            // retry_delay is a wait like any other: the stop signal ends it (and the conversation).
            return stoppableWait(timer(deps.retryDelayMs, scheduler), deps.stopSignal);
          },
        }),
      );

    // A conversation that met min_turns and then lost its simulated user keeps what it has.
    const saveOnUserFailure = deps.user.config.save_on_failure !== false;
    const keepWhenUserFails = (state: State) =>
      catchError<State, Observable<State>>((error: unknown) => {
        if (
          !(error instanceof UserSimulatorError) ||
          !saveOnUserFailure ||
          !userMayStop(state.turns, deps.limits)
        )
          return throwError(() => error);
        return of({
          ...state,
          stop: "user_sim_failed" as const,
          simFailure: { reason: error.message, rejections: error.rejections },
        });
      });

    // Context windows of the two models, in tokens (providers/context-window.ts).
    const assistantWindow = member.contextWindow ?? DEFAULT_CONTEXT_WINDOW;
    const userWindow = contextWindowOf(deps.user.config);
    const assistantSystem = member.systemPrompt ? estimateTokens(member.systemPrompt) : 0;
    const userRoom = deps.user.config.max_completion_tokens;
    // Would the next turn outgrow a model? Asked after each assistant reply, so a conversation
    // ended this way ends on a reply: the user's prompt (its system prompt and the history) and
    // the assistant's next one (the history plus a user message as long as the user may write)
    // must each fit, with room for the reply.
    const contextFull = (state: State): boolean => {
      const history = estimatePromptTokens(state.messages);
      userPrompt ??= deps.user.conversationPrompt({ ...task, scenario: promptScenario });
      const userNeeds = estimateTokens(userPrompt.system) + history + userRoom;
      const assistantNeeds = assistantSystem + history + userRoom + member.maxTokens;
      return userNeeds > userWindow || assistantNeeds > assistantWindow;
    };
    const openingTooLong = (state: State): boolean =>
      assistantSystem + estimatePromptTokens(state.messages) + member.maxTokens > assistantWindow;

    const next = (state: State): Observable<State> => {
      if (state.stop) return EMPTY;
      // The stop signal ends a conversation here, between turns (and at its next model call).
      if (isStopped(deps.stopSignal)) return throwError(() => new StopRequested());
      const lastMessage = state.messages[state.messages.length - 1];
      // defer: a retried step is built anew, so it sees the new attempt number (new seeds).
      if (lastMessage?.role === "user") {
        if (state.turns === 0 && openingTooLong(state))
          return throwError(() => new ContextFullError(state.turns));
        return guarded(defer(() => assistantStep(state)));
      }
      if (contextFull(state)) {
        // Saved like any other stop once min_turns is met; before that it is a failure.
        if (userMayStop(state.turns, deps.limits)) return of({ ...state, stop: "context_full" as const });
        return throwError(() => new ContextFullError(state.turns));
      }
      return guarded(defer(() => userStep(state))).pipe(keepWhenUserFails(state));
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
        scenario,
        ...(deps.judge ? { judge_verdicts: [...state.verdicts] } : {}),
        user_simulator: {
          asks: userAsks,
          rejections: { ...rejectionCounts },
          prompt_format: deps.user.promptFormat,
        },
        ...(state.simFailure ? { user_sim_failure: state.simFailure } : {}),
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
      ...(error instanceof UserSimulatorError ? { user_rejections: [...error.rejections] } : {}),
    });

    if (task.preflight_error) {
      const { reason, error_kind } = task.preflight_error;
      return of<ConversationResult>({
        kind: "failure",
        failure: { ...toFailure(new Error(reason)), error_kind },
      });
    }

    // Ended by the stop signal or the hard abort: reported once, with every call paid for.
    let ended = false;
    const interrupted = (): void => {
      if (ended) return;
      ended = true;
      deps.events?.onInterrupted?.({
        interaction_id: task.interaction_id,
        persona_id: task.persona_id,
        query_id: task.query_id,
        completed_turns: lastGood?.turns ?? 0,
        started: true,
        usage,
      });
    };

    return guarded(opening$).pipe(
      expand(next),
      tap((state) => {
        lastGood = state;
      }),
      last(),
      map((state): ConversationResult => ({ kind: "interaction", interaction: toInteraction(state) })),
      catchError((error: unknown) => {
        if (error instanceof StopRequested || isStopped(deps.signal)) {
          interrupted();
          return EMPTY;
        }
        return of<ConversationResult>({ kind: "failure", failure: toFailure(error) });
      }),
      tap(() => {
        ended = true;
      }),
      // Unsubscribed before it ended (the hard abort tears the pipeline down): what it paid for
      // is still reported, so the usage ledger holds every call made.
      finalize(interrupted),
    );
  });
}

/**
 * True once the stop signal fired: the task's conversation must not start. What its helper
 * steps (style transfer, scenario) already paid for is reported as an interrupted conversation.
 */
export function refusedByStop(task: Task, deps: Pick<ConverseDeps, "stopSignal" | "events">): boolean {
  if (!isStopped(deps.stopSignal)) return false;
  const usage = task.prior_usage ?? [];
  if (usage.length > 0)
    deps.events?.onInterrupted?.({
      interaction_id: task.interaction_id,
      persona_id: task.persona_id,
      query_id: task.query_id,
      completed_turns: 0,
      started: false,
      usage: [...usage],
    });
  return true;
}

/** Conversations one after another (see converseAll for many at once); none starts after the stop. */
export function converse(deps: ConverseDeps): OperatorFunction<Task, ConversationResult> {
  return concatMap((task) => (refusedByStop(task, deps) ? EMPTY : conversation(task, deps)));
}
