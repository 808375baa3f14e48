// noise(): the noise layers as a pipeline operator. Maps a stream of messages
// ({text, persona_features, …}) or of tasks (their opening message, initial_query) to
// NoiseResults, in input order. With a distractor it runs the distractor (gate, layer weights,
// semantic rewrites); without one, the rule-based layers with the options given. A task's
// result is exactly the noise its conversation's opening message gets (same seed derivation as
// converse), so a pipeline can preview or export noisy_initial_queries before generating.
import { concatMap, from, map, mergeMap, Observable, type OperatorFunction, of, pipe } from "rxjs";
import { seedFrom } from "../conversation/random.js";
import type { Distractor, DistractorNoise } from "../noise/distractor.js";
import { applyNoise, type NoiseOptions } from "../noise/index.js";
import type { NoiseCall, NoiseInput, NoiseResult } from "../schema/noise.js";
import type { Task } from "../schema/persona.js";

/** One message to noise. Without seed/interaction_id/turn: 0, "" and 1. */
export interface NoiseItem {
  text: string;
  persona_features: Readonly<Record<string, unknown>>;
  seed?: number;
  interaction_id?: string;
  /** 1-based turn (later turns are slightly noisier). */
  turn?: number;
}

export type NoiseSubject = NoiseItem | Task;

export interface NoiseOperatorOptions
  extends Pick<NoiseOptions, "probability" | "steering" | "channel" | "strategies" | "guardRails"> {
  /** Runs this distractor (activation gate, layer weights, semantic layers) instead. */
  distractor?: Distractor;
  /** Messages noised at once when a distractor makes model calls (default 1). Order is kept. */
  concurrency?: number;
  /** Told about every model call a distractor makes (usage, cost accounting). */
  onCall?: (call: NoiseCall) => void;
}

const isTask = (subject: NoiseSubject): subject is Task => "initial_query" in subject;

/** The hook input for a subject; a task's matches its conversation's opening message. */
export function noiseInputOf(subject: NoiseSubject): NoiseInput {
  if (isTask(subject))
    return {
      text: subject.initial_query,
      persona_features: subject.persona_features,
      interaction_id: subject.interaction_id,
      turn: 1,
      is_initial: true,
      seed: seedFrom(subject.seed, "noise", 1),
    };
  const turn = subject.turn ?? 1;
  return {
    text: subject.text,
    persona_features: subject.persona_features,
    interaction_id: subject.interaction_id ?? "",
    turn,
    is_initial: turn === 1,
    seed: subject.seed ?? 0,
  };
}

export function noise(options: NoiseOperatorOptions = {}): OperatorFunction<NoiseSubject, NoiseResult> {
  const { distractor } = options;
  if (!distractor) {
    const { concurrency: _c, onCall: _o, distractor: _d, ...ruleOptions } = options;
    // Rule-based noise is synchronous: a plain map, no scheduling of its own.
    return map((subject) => {
      const input = noiseInputOf(subject);
      return applyNoise(
        input.text,
        { ...input.persona_features },
        {
          ...ruleOptions,
          seed: input.seed,
          interactionId: input.interaction_id,
          turn: input.turn,
        },
      );
    });
  }
  const run = (subject: NoiseSubject): Observable<NoiseResult> => {
    const noised = distractor.noise(noiseInputOf(subject));
    const report = (done: DistractorNoise) => {
      for (const call of done.calls) options.onCall?.(call);
      return done.result;
    };
    // Synchronous when no model call was needed, so virtual-time pipelines stay in step.
    return noised instanceof Promise ? from(noised.then(report)) : of(report(noised));
  };
  const concurrency = Math.max(1, options.concurrency ?? 1);
  if (concurrency === 1) return concatMap(run);
  return pipe(
    mergeMap(
      (subject: NoiseSubject, index) => run(subject).pipe(map((result) => ({ index, result }))),
      concurrency,
    ),
    inOrder(),
  );
}

/** Re-emits indexed values in index order (mergeMap finishes them in any order). */
function inOrder<T>(): OperatorFunction<{ index: number; result: T }, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const waiting = new Map<number, T>();
      let next = 0;
      return source.subscribe({
        next: ({ index, result }) => {
          waiting.set(index, result);
          while (waiting.has(next)) {
            const value = waiting.get(next) as T;
            waiting.delete(next++);
            subscriber.next(value);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
