// The admission operator: one attempt of a model call waits for its endpoint's budget, runs, and
// reports back (usage and rate-limit headers on success, the error on failure, nothing on
// unsubscribe). Placed inside callModel's retry, so every retry asks again — a retried 429 queues
// behind the pause its Retry-After set instead of sleeping on its own.
import { type MonoTypeOperatorFunction, Observable, type Subscription } from "rxjs";
import type { Admission, CallTicket, Release } from "../limits/types.js";
import type { ChatResult } from "../providers/types.js";

export function admitted(admission: Admission, ticket: CallTicket): MonoTypeOperatorFunction<ChatResult> {
  return (source) =>
    new Observable<ChatResult>((subscriber) => {
      let release: Release | undefined;
      let call: Subscription | undefined;
      // Settles once; later calls (the teardown after a settled call) do nothing.
      const settle = (outcome: Parameters<Release>[0]) => {
        const pending = release;
        release = undefined;
        pending?.(outcome);
      };
      const waiting = admission.admit(ticket).subscribe({
        next: (granted) => {
          release = granted;
          call = source.subscribe({
            next: (result) => {
              settle(
                result.rateLimit
                  ? { usage: result.usage, rateLimit: result.rateLimit }
                  : { usage: result.usage },
              );
              subscriber.next(result);
            },
            error: (error: unknown) => {
              settle({ error });
              subscriber.error(error);
            },
            complete: () => {
              settle({}); // completed without a result: nothing to learn
              subscriber.complete();
            },
          });
        },
        error: (error: unknown) => subscriber.error(error),
      });
      return () => {
        waiting.unsubscribe(); // still queued: withdraws
        call?.unsubscribe(); // in flight: aborts the request
        settle({}); // returns the slot; an aborted call teaches nothing
      };
    });
}
