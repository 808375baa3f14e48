// The run's stop signal (a first Ctrl-C or SIGTERM) as the operators see it: no new
// conversation, helper step or model call starts, and every wait — queued for admission,
// backing off, sleeping out a Retry-After or retry_delay — ends at once. A request already
// sent is left to finish: it is paid for either way, and its reply lands in the response
// cache, so rerunning the command replays it for free.
import { Observable } from "rxjs";
import type { Admission } from "../limits/types.js";

/** Ends a conversation (or a helper call) that the stop signal caught: neither saved nor failed. */
export class StopRequested extends Error {
  readonly kind = "interrupted";
  constructor() {
    super("stopped by signal before it finished");
    this.name = "StopRequested";
  }
}

export function isStopped(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

// Waits in progress per signal (one run has one, for thousands of waits): one "abort" listener
// per signal and a Set entry per wait, rather than a listener added and removed per wait.
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

function watch(signal: AbortSignal, onStop: () => void): () => void {
  let waits = watchers.get(signal);
  if (!waits) {
    const set = new Set<() => void>();
    waits = set;
    watchers.set(signal, set);
    signal.addEventListener(
      "abort",
      () => {
        for (const wake of [...set]) wake();
        set.clear();
      },
      { once: true },
    );
  }
  waits.add(onStop);
  const set = waits;
  return () => {
    set.delete(onStop);
  };
}

/**
 * A wait that the stop signal ends early: until `wait$` emits its first value, the signal
 * turns it into a StopRequested error. After that first value it is no longer a wait (an
 * admission granted, a delay over), so the signal leaves it alone.
 */
export function stoppableWait<T>(wait$: Observable<T>, signal: AbortSignal | undefined): Observable<T> {
  if (!signal) return wait$;
  return new Observable<T>((subscriber) => {
    if (signal.aborted) {
      subscriber.error(new StopRequested());
      return;
    }
    let unwatch: (() => void) | undefined = watch(signal, () => {
      unwatch = undefined;
      subscriber.error(new StopRequested());
    });
    const stopWatching = () => {
      unwatch?.();
      unwatch = undefined;
    };
    const inner = wait$.subscribe({
      next: (value) => {
        stopWatching();
        subscriber.next(value);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      stopWatching();
      inner.unsubscribe();
    };
  });
}

/** An endpoint's admission whose queue wait the stop signal ends (the admitted call is left alone). */
export function stoppableAdmission(admission: Admission, signal: AbortSignal): Admission {
  return { admit: (ticket) => stoppableWait(admission.admit(ticket), signal) };
}
