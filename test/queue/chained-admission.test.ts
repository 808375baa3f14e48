import { Observable, type Subscriber } from "rxjs";
import { describe, expect, it } from "vitest";
import type { Admission, CallOutcome, Release } from "../../src/limits/types.js";
import { chainAdmissions } from "../../src/queue/chained-admission.js";

/** An admission granting by hand: grant() admits the oldest waiter; outcomes are recorded. */
function manual(name: string, log: string[]) {
  const waiting: Subscriber<Release>[] = [];
  const admission: Admission = {
    admit: () =>
      new Observable<Release>((subscriber) => {
        waiting.push(subscriber);
        log.push(`${name} asked`);
        return () => {
          const i = waiting.indexOf(subscriber);
          if (i >= 0) {
            waiting.splice(i, 1);
            log.push(`${name} withdrawn`);
          }
        };
      }),
  };
  const grant = () => {
    const subscriber = waiting.shift()!;
    subscriber.next((outcome: CallOutcome) => log.push(`${name} released ${JSON.stringify(outcome)}`));
    subscriber.complete();
  };
  return { admission, grant };
}

describe("chainAdmissions", () => {
  it("admits once both have, asks the second only after the first, and reports the outcome to both once", () => {
    const log: string[] = [];
    const local = manual("local", log);
    const shared = manual("shared", log);
    let release: Release | undefined;
    chainAdmissions(local.admission, shared.admission)
      .admit({ priority: 0, tokens: 10 })
      .subscribe((r) => {
        release = r;
      });
    expect(log).toEqual(["local asked"]);
    local.grant();
    expect(log).toEqual(["local asked", "shared asked"]);
    expect(release).toBeUndefined();
    shared.grant();
    expect(release).toBeDefined();
    const outcome = { usage: { prompt_tokens: 3, completion_tokens: 4 } };
    release!(outcome);
    release!(outcome);
    expect(log.slice(2)).toEqual([
      `shared released ${JSON.stringify(outcome)}`,
      `local released ${JSON.stringify(outcome)}`,
    ]);
  });

  it("withdrawn while the second waits: the first's slot is returned with an empty outcome", () => {
    const log: string[] = [];
    const local = manual("local", log);
    const shared = manual("shared", log);
    const waiting = chainAdmissions(local.admission, shared.admission)
      .admit({ priority: 0, tokens: 0 })
      .subscribe();
    local.grant();
    waiting.unsubscribe();
    expect(log).toEqual(["local asked", "shared asked", "shared withdrawn", "local released {}"]);
  });

  it("a refusal by the first never reaches the second", () => {
    const log: string[] = [];
    const shared = manual("shared", log);
    const refusing: Admission = { admit: () => new Observable((s) => s.error(new Error("endpoint down"))) };
    let failure: unknown;
    chainAdmissions(refusing, shared.admission)
      .admit({ priority: 0, tokens: 0 })
      .subscribe({ error: (e) => (failure = e) });
    expect((failure as Error).message).toBe("endpoint down");
    expect(log).toEqual([]);
  });
});
