// Many conversations side by side: mergeMap with a concurrency limit (max_workers =
// conversations in flight). Each conversation owns its turns and retries (converse.ts).
import { EMPTY, finalize, mergeMap, type OperatorFunction, tap } from "rxjs";
import type { ConversationResult } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { type ConversationEvents, type ConverseDeps, conversation, refusedByStop } from "./converse.js";

export interface RunEvents extends ConversationEvents {
  onStart?(task: Task): void;
  onFinish?(result: ConversationResult): void;
}

/** Anything that wants to know when a slot frees up (sources/backpressure.ts). */
export interface SlotReleaser {
  released(count?: number): void;
}

export interface ConverseAllOptions extends ConverseDeps {
  /** Conversations in flight at once. */
  concurrency: number;
  /** mergeMap buffers what it cannot start yet; the source reads more only as slots free. */
  backpressure?: SlotReleaser;
  events?: RunEvents;
}

export function converseAll(options: ConverseAllOptions): OperatorFunction<Task, ConversationResult> {
  if (!(options.concurrency >= 1)) throw new RangeError("converseAll: concurrency must be at least 1");
  return mergeMap((task: Task) => {
    // mergeMap (and the backpressure window before it) may hold tasks the stop signal caught
    // waiting: checked here, where a conversation starts, none of them starts after the stop.
    if (refusedByStop(task, options)) {
      options.backpressure?.released();
      return EMPTY;
    }
    options.events?.onStart?.(task);
    return conversation(task, options).pipe(
      tap((result) => options.events?.onFinish?.(result)),
      finalize(() => options.backpressure?.released()),
    );
  }, options.concurrency);
}
