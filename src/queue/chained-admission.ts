// Two admissions in a row: a call starts once both have admitted it, and its outcome goes to
// both. A worker keeps its local endpoint budget (src/limits/endpoint-budget.ts: endpoint health,
// one call at a time until first contact, the adaptive window) and adds the cluster-wide rate
// limit (shared-rate-limit.ts) behind it: chainAdmissions(localBudget, sharedAdmission).
// The first is asked first so that a refusal from it (an endpoint given up on) costs no Redis call.
import { Observable, Subscription } from "rxjs";
import type { Admission, CallOutcome, CallTicket, Release } from "../limits/types.js";

export function chainAdmissions(first: Admission, second: Admission): Admission {
  return {
    admit: (ticket: CallTicket) =>
      new Observable<Release>((subscriber) => {
        let heldFirst: Release | undefined;
        let granted = false;
        const waits = new Subscription();
        waits.add(
          first.admit(ticket).subscribe({
            next: (releaseFirst) => {
              heldFirst = releaseFirst;
              waits.add(
                second.admit(ticket).subscribe({
                  next: (releaseSecond) => {
                    granted = true;
                    heldFirst = undefined;
                    let settled = false;
                    subscriber.next((outcome: CallOutcome) => {
                      if (settled) return;
                      settled = true;
                      releaseSecond(outcome);
                      releaseFirst(outcome);
                    });
                    subscriber.complete();
                  },
                  error: (error: unknown) => {
                    heldFirst = undefined;
                    releaseFirst({}); // never sent: the first's slot goes back, nothing learned
                    subscriber.error(error);
                  },
                }),
              );
            },
            error: (error: unknown) => subscriber.error(error),
          }),
        );
        return () => {
          waits.unsubscribe();
          // Withdrawn while waiting for the second: the slot the first gave is returned.
          if (!granted) heldFirst?.({});
          heldFirst = undefined;
        };
      }),
  };
}
