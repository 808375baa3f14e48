import { finalize, from, mergeMap, Observable, tap, timer } from "rxjs";
import { describe, expect, it } from "vitest";
import type { Persona } from "../../src/schema/persona.js";
import { Backpressure } from "../../src/sources/backpressure.js";
import { readPersonas } from "../../src/sources/read-personas.js";
import { toTasks } from "../../src/sources/tasks.js";

/** Lets every pending promise callback and I/O callback run. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A long persona generator that counts how many lines were pulled from it. */
function countingSource(total: number) {
  const state = { pulled: 0 };
  async function* lines(): AsyncGenerator<string> {
    for (let i = 0; i < total; i++) {
      state.pulled += 1;
      yield `${JSON.stringify({ persona_id: `p${i}`, queries: [{ original_query: `q${i}` }] })}\n`;
    }
  }
  return { state, lines: lines() };
}

describe("Backpressure", () => {
  it("resolves waitForRoom only while pending is below the high-water mark", async () => {
    const bp = new Backpressure(2);
    await bp.waitForRoom();
    bp.admitted(2);
    expect(bp.pending).toBe(2);
    let resolved = false;
    const waiting = bp.waitForRoom().then(() => {
      resolved = true;
    });
    await settle(3);
    expect(resolved).toBe(false);
    bp.released();
    await waiting;
    expect(resolved).toBe(true);
    expect(bp.pending).toBe(1);
  });

  it("refuses a bad high-water mark and a release without admission", () => {
    expect(() => new Backpressure(0)).toThrow(RangeError);
    expect(() => new Backpressure(Number.NaN)).toThrow(RangeError);
    const bp = new Backpressure(1);
    bp.admitted();
    expect(() => bp.released(2)).toThrow(/released 2 but only 1 pending/);
    expect(() => bp.admitted(-1)).toThrow(RangeError);
  });
});

describe("readPersonas with backpressure", () => {
  it("stops reading while the consumer is full and resumes as it releases", async () => {
    const { state, lines } = countingSource(10_000);
    const bp = new Backpressure(2);
    const received: Persona[] = [];
    const subscription = readPersonas(lines, { format: "jsonl", backpressure: bp }).subscribe((persona) => {
      bp.admitted();
      received.push(persona);
    });
    await settle();
    expect(received.map((p) => p.persona_id)).toEqual(["p0", "p1"]);
    // Reading stopped: at most one line beyond what was emitted was pulled from the source.
    expect(state.pulled).toBeLessThanOrEqual(3);
    await settle();
    expect(state.pulled).toBeLessThanOrEqual(3);

    bp.released();
    await settle();
    expect(received).toHaveLength(3);
    bp.released(2);
    await settle();
    expect(received).toHaveLength(5);
    expect(state.pulled).toBeLessThanOrEqual(6);
    subscription.unsubscribe();
  });

  it("reads eagerly without a backpressure object", async () => {
    const { state, lines } = countingSource(500);
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      readPersonas(lines, { format: "jsonl" }).subscribe({
        next: (persona) => received.push(persona.persona_id),
        error: reject,
        complete: resolve,
      });
    });
    expect(received).toHaveLength(500);
    expect(state.pulled).toBe(500);
  });

  it("keeps a mergeMap pipeline's buffer bounded by the high-water mark", async () => {
    const { state, lines } = countingSource(200);
    const bp = new Backpressure(4);
    let maxPending = 0;
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      readPersonas(lines, { format: "jsonl", backpressure: bp })
        .pipe(
          toTasks({ seed: 1 }),
          tap(() => {
            bp.admitted();
            maxPending = Math.max(maxPending, bp.pending);
          }),
          // Two "conversations" in flight; each takes a macrotask.
          mergeMap(
            (task) =>
              timer(0).pipe(
                mergeMap(() => from([task])),
                finalize(() => bp.released()),
              ),
            2,
          ),
        )
        .subscribe({ next: () => done++, error: reject, complete: resolve });
    });
    expect(done).toBe(200);
    expect(state.pulled).toBe(200);
    expect(maxPending).toBeLessThanOrEqual(4);
  });

  it("stops a reader waiting for room when unsubscribed", async () => {
    const { state, lines } = countingSource(100);
    const bp = new Backpressure(1);
    const subscription = readPersonas(lines, { format: "jsonl", backpressure: bp }).subscribe(() =>
      bp.admitted(),
    );
    await settle();
    subscription.unsubscribe();
    bp.released();
    await settle();
    expect(state.pulled).toBeLessThanOrEqual(2);
  });

  it("is a real Observable", () => {
    expect(readPersonas("-")).toBeInstanceOf(Observable);
  });
});
