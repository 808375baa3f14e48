// The budget: admission stops before the limit would be passed, in-flight conversations hold
// their reservation until they settle, a task that does not fit waits for them instead of
// closing the budget, one conversation runs when nothing is spent yet, earlier runs' spending
// (interrupted lines too) comes from usage.ndjson, and withinBudget stops the task stream in
// virtual time while results of admitted work still arrive.
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filter, lastValueFrom, map, share, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { afterEach, describe, expect, it } from "vitest";
import { AssistantPool } from "../../src/conversation/assistant-pool.js";
import { PriceTable } from "../../src/conversation/pricing.js";
import { UserSimulator } from "../../src/conversation/user-simulator.js";
import { admit } from "../../src/operators/admit.js";
import { converseAll } from "../../src/operators/converse-all.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { Budget, spentInOutput, withinBudget } from "../../src/run/budget.js";
import { RunEstimator } from "../../src/run/estimate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { ConversationResult } from "../../src/schema/interaction.js";
import type { Persona } from "../../src/schema/persona.js";
import { loadCompleted } from "../../src/sinks/completed.js";
import { filesSink } from "../../src/sinks/files-sink.js";
import { helperLedgerLine, interruptedLedgerLine, usageLedgerLine } from "../../src/sinks/usage-ledger.js";
import { Backpressure } from "../../src/sources/backpressure.js";
import { readPersonas } from "../../src/sources/read-personas.js";
import { personaTasks, toTasks } from "../../src/sources/tasks.js";
import { interaction, usage } from "../sinks/fixtures.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const conv = (expected: number, max: number) => ({
  expected: { usd: 0, tokens: expected },
  max: { usd: 0, tokens: max },
});

/** A finished conversation whose calls cost `tokens` tokens (prompt only) and `usd`. */
function finished(id: string, tokens: number, usd = 0): ConversationResult {
  const base = interaction(id);
  return {
    kind: "interaction",
    interaction: {
      ...base,
      metadata: {
        ...base.metadata,
        usage: [usage({ prompt_tokens: tokens, completion_tokens: 0, cost_usd: usd })],
      },
    },
  };
}

describe("Budget admission", () => {
  it("admits while spent + reserved + the next reservation fits; waits while conversations are in flight", () => {
    const budget = new Budget({ tokens: 1000 });
    // Each conversation reserved at 200 (its ceiling, 400, is not what is held or checked).
    for (const id of ["a", "b", "c", "d", "e"]) expect(budget.offer(id, conv(200, 400))).toBe("admitted");
    expect(budget.outstanding.tokens).toBe(1000); // exactly at the limit
    // Does not fit now, but five conversations in flight will settle: wait, do not close.
    expect(budget.offer("f", conv(200, 400))).toBe("wait");
    expect(budget.exhausted).toBe(false);
    budget.settle(finished("a", 10));
    expect(budget.offer("f", conv(200, 400))).toBe("wait"); // 10 + 800 + 200 > 1000
    for (const id of ["b", "c", "d", "e"]) budget.settle(finished(id, 10));
    expect(budget.inFlight).toBe(0);
    expect(budget.offer("f", conv(200, 400))).toBe("admitted"); // 50 + 0 + 200
  });

  it("refuses, and closes for good, only when nothing is in flight to free room", () => {
    const budget = new Budget({ tokens: 100 }, { usd: 0, tokens: 50 });
    expect(budget.offer("a", conv(60, 100))).toBe("refused"); // 50 + 60 > 100, nothing in flight
    expect(budget.exhausted).toBe(true);
    // Once refused, the budget stays closed even for what would fit: the task stream has ended.
    expect(budget.admits(conv(1, 1))).toBe(false);
    expect(budget.offer("b", conv(1, 1))).toBe("refused");
  });

  it("admits one conversation when nothing is spent yet, however large its reservation", () => {
    // A budget below one conversation's worst case: the run still starts one, and learns.
    const budget = new Budget({ usd: 0.01 });
    const big = { expected: { usd: 0.03, tokens: 9000 }, max: { usd: 0.03, tokens: 9000 } };
    expect(budget.offer("a", big)).toBe("admitted");
    expect(budget.offer("b", big)).toBe("wait"); // a is in flight: no second exception
    budget.record(usage({ cost_usd: 0.004 }));
    budget.settle(finished("a", 1000, 0.004));
    expect(budget.offer("b", big)).toBe("refused"); // something is spent now
    expect(budget.spent.usd).toBeCloseTo(0.004);
    // Not when an earlier run spent something on the folder (the rerun spends nothing more),
    // and not in strict mode.
    expect(new Budget({ usd: 0.01 }, { usd: 0.001, tokens: 10 }).offer("a", big)).toBe("refused");
    expect(new Budget({ usd: 0.01 }, undefined, { reserve: "max" }).offer("a", big)).toBe("refused");
  });

  it("counts calls of in-flight conversations against their reservation, not twice", () => {
    const budget = new Budget({ tokens: 1000 });
    budget.admit("a", conv(300, 500));
    budget.record(usage({ prompt_tokens: 100, completion_tokens: 20 })); // a's first call
    expect(budget.spent.tokens).toBe(120);
    expect(budget.outstanding.tokens).toBe(180); // 300 reserved, 120 of it already spent
    // spent 120 + outstanding 180 + reservation 700 = 1000 fits; 701 does not.
    expect(budget.admits(conv(700, 9999))).toBe(true);
    expect(budget.admits(conv(701, 9999))).toBe(false);
    // a overran its reservation: outstanding never goes below 0, what it spent counts in full.
    budget.record(usage({ prompt_tokens: 300, completion_tokens: 0 }));
    expect(budget.outstanding.tokens).toBe(0);
    expect(budget.spent.tokens).toBe(420);
    budget.settle(finished("a", 420));
    expect(budget.inFlight).toBe(0);
    expect(budget.outstanding.tokens).toBe(0);
    expect(budget.admits(conv(580, 9999))).toBe(true);
    expect(budget.admits(conv(581, 9999))).toBe(false);
  });

  it("frees the hold of a conversation a stop ended; its calls stay spent", () => {
    const budget = new Budget({ tokens: 1000 });
    budget.admit("a", conv(300, 500));
    budget.record(usage({ prompt_tokens: 100, completion_tokens: 20 }));
    let settled = 0;
    budget.onSettled(() => settled++);
    budget.release("a");
    expect(settled).toBe(1);
    expect(budget.inFlight).toBe(0);
    expect(budget.outstanding.tokens).toBe(0);
    expect(budget.spent.tokens).toBe(120);
    budget.release("a"); // nothing held any more: no second release
    expect(budget.inFlight).toBe(0);
    expect(settled).toBe(1);
  });

  it("releases a settled conversation's reservation even when it spent less", () => {
    const budget = new Budget({ usd: 1 });
    budget.admit("a", { expected: { usd: 0.5, tokens: 0 }, max: { usd: 0.6, tokens: 0 } });
    budget.record(usage({ cost_usd: 0.1 }));
    budget.settle(finished("a", 100, 0.1));
    expect(budget.outstanding.usd).toBe(0);
    expect(budget.spent.usd).toBeCloseTo(0.1);
    expect(budget.admits({ usd: 0.9, tokens: 0 })).toBe(true);
  });

  it("adds what earlier runs spent (cumulative per output folder)", () => {
    const budget = new Budget({ usd: 2 }, { usd: 1.5, tokens: 9999 });
    expect(budget.admits({ usd: 0.5, tokens: 0 })).toBe(true);
    expect(budget.admits({ usd: 0.75, tokens: 0 })).toBe(false);
    expect(budget.spent).toEqual({ usd: 1.5, tokens: 9999 });
    expect(budget.spentThisRun).toEqual({ usd: 0, tokens: 0 });
  });

  it("settles query-generation calls at once: they belong to no conversation", () => {
    const budget = new Budget({ tokens: 1000 });
    budget.admit("a", conv(300, 300));
    budget.record(usage({ operation: "query_generation", prompt_tokens: 100, completion_tokens: 0 }));
    // Had it counted as a's spending, a's outstanding share would have dropped to 200.
    expect(budget.outstanding.tokens).toBe(300);
    expect(budget.spent.tokens).toBe(100);
  });

  it("holds each ceiling with reserve: 'max'", () => {
    const budget = new Budget({ tokens: 1000 }, undefined, { reserve: "max" });
    expect(budget.offer("a", conv(100, 400))).toBe("admitted");
    expect(budget.offer("b", conv(100, 400))).toBe("admitted");
    expect(budget.offer("c", conv(100, 400))).toBe("wait"); // 800 held + 400
  });

  it("with no limit admits everything; rejects a negative or non-numeric limit", () => {
    const budget = new Budget();
    expect(budget.limited).toBe(false);
    expect(budget.admit("a", conv(1e12, 1e12))).toBe(true);
    expect(() => new Budget({ usd: -1 })).toThrow(/usd/);
    expect(() => new Budget({ tokens: Number.NaN })).toThrow(/tokens/);
  });

  it("describes itself for the end-of-run line, with what was left unspent and why", () => {
    const open = new Budget({ usd: 5 }, { usd: 0.0042, tokens: 10 });
    expect(open.describe()).toBe("budget: $0.0042 of $5.00 spent");
    const budget = new Budget({ usd: 5, tokens: 100_000 }, { usd: 4.5, tokens: 1234 });
    expect(budget.offer("a", { usd: 1, tokens: 1 })).toBe("refused");
    expect(budget.describe()).toBe(
      "budget reached: $4.50 of $5.00, 1,234 of 100,000 tokens spent; " +
        "$0.50 left unspent (the next conversation would reserve $1.00), " +
        "98,766 tokens left unspent (the next conversation would reserve 1)",
    );
  });
});

describe("spentInOutput", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("sums usage.ndjson and skips a line cut off by a crash", async () => {
    dir = await mkdtemp(join(tmpdir(), "convosim-budget-"));
    const ledger = join(dir, "usage.ndjson");
    await mkdir(dir, { recursive: true });
    const ok = finished("i1", 1000, 0.25);
    const failed: ConversationResult = {
      kind: "failure",
      failure: {
        status: "failed",
        interaction_id: "i2",
        persona_id: "p",
        query_id: "q",
        reason: "boom",
        error_kind: "server",
        attempts: 2,
        completed_turns: 0,
        failed_at: "2026-01-01T00:00:00.000Z",
        usage: [usage({ prompt_tokens: 50, completion_tokens: 10, cost_usd: 0.01 })],
      },
    };
    await writeFile(
      ledger,
      `${JSON.stringify(usageLedgerLine(ok))}\n${JSON.stringify(usageLedgerLine(failed))}\n`,
    );
    // A run killed mid-append leaves half a line; the next run starts on a fresh line after it.
    const third = JSON.stringify(usageLedgerLine(finished("i3", 7, 0.5)));
    await appendFile(ledger, third.slice(0, 40));
    await appendFile(ledger, `\n${JSON.stringify(usageLedgerLine(finished("i4", 100, 0.125)))}\n`);

    const spent = await spentInOutput(dir);
    expect(spent).toMatchObject({
      conversations: 3,
      completed: 2,
      failed: 1,
      malformed: 1,
      calls: 3,
      promptTokens: 1150,
      completionTokens: 10,
      tokens: 1160,
    });
    expect(spent.usd).toBeCloseTo(0.385);
  });

  it("counts neither replayed replies nor helper lines as conversations' spending twice", async () => {
    dir = await mkdtemp(join(tmpdir(), "convosim-budget-"));
    const replayedToo = finished("i1", 1000, 0.25);
    if (replayedToo.kind === "interaction")
      replayedToo.interaction.metadata.usage.push(
        usage({ prompt_tokens: 500, completion_tokens: 50, cost_usd: 0, replayed: true }),
      );
    const helper = helperLedgerLine("query_generation:p:1", "p", [
      usage({ operation: "query_generation", prompt_tokens: 30, completion_tokens: 20, cost_usd: 0.002 }),
    ]);
    await writeFile(
      join(dir, "usage.ndjson"),
      `${JSON.stringify(usageLedgerLine(replayedToo))}\n${JSON.stringify(helper)}\n`,
    );
    const spent = await spentInOutput(dir);
    // The replayed reply was no call and spent nothing; the query-generation call was paid.
    expect(spent).toMatchObject({ conversations: 1, completed: 1, calls: 2, tokens: 1050 });
    expect(spent.usd).toBeCloseTo(0.252);
  });

  it("counts what interrupted conversations spent, but not as saved conversations", async () => {
    dir = await mkdtemp(join(tmpdir(), "convosim-budget-"));
    const stopped = interruptedLedgerLine({
      interaction_id: "i9",
      persona_id: "p",
      completed_turns: 1,
      usage: [usage({ prompt_tokens: 200, completion_tokens: 40, cost_usd: 0.03 })],
    });
    await writeFile(
      join(dir, "usage.ndjson"),
      `${JSON.stringify(usageLedgerLine(finished("i1", 100, 0.01)))}\n${JSON.stringify(stopped)}\n`,
    );
    const spent = await spentInOutput(dir);
    expect(spent).toMatchObject({ conversations: 1, completed: 1, tokens: 340 });
    expect(spent.usd).toBeCloseTo(0.04);
    // A rerun's budget starts from it: $0.04 of $0.05 spent leaves room for $0.01, not more.
    const budget = new Budget({ usd: 0.05 }, spent);
    expect(budget.admits({ usd: 0.0099, tokens: 0 })).toBe(true);
    expect(budget.admits({ usd: 0.0101, tokens: 0 })).toBe(false);
  });

  it("is zero for a folder with no ledger (a first run)", async () => {
    dir = await mkdtemp(join(tmpdir(), "convosim-budget-"));
    const spent = await spentInOutput(join(dir, "not-yet"));
    expect(spent).toMatchObject({ usd: 0, tokens: 0, conversations: 0, malformed: 0 });
  });
});

describe("withinBudget (virtual time)", () => {
  it("holds a task that does not fit until a conversation settles; refuses when none is left in flight", () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    ts.run(({ cold, expectObservable, flush }) => {
      // One-turn conversations; each call takes 15 ms and reports 9 prompt + 2 completion tokens.
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 15, respond: () => "answer" });
      const user = new FakeChatModel({ scheduler: ts, respond: () => "unused" });
      const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 1, scheduler: ts });
      const budget = new Budget({ tokens: 45 });
      // Reserved at 20, each really spends 11. a@0: 0+0+20. b@10: 0+20+20. a settles @15.
      // c@20: 11+20+20 = 51 > 45: waits. b settles @25: 22+0+20 = 42: c starts @25.
      // d@30: 22+20+20 > 45: waits. c settles @40: 33+0+20 > 45 with nothing in flight: refused.
      const dropped: string[] = [];
      const admitted = cold("a 9ms b 9ms c 9ms d 9ms e 9ms f|").pipe(
        map((id) => makeTask({ interaction_id: id, seed: id.charCodeAt(0) })),
        withinBudget(
          budget,
          () => conv(20, 40),
          (task) => dropped.push(task.interaction_id),
        ),
        share(),
      );
      const results = admitted.pipe(
        converseAll({
          ...deps,
          concurrency: 4,
          events: { onCall: (record) => budget.record(record), onFinish: (result) => budget.settle(result) },
        }),
        map((r) => (r.kind === "interaction" ? r.interaction.interaction_id : "failed")),
      );
      expectObservable(admitted.pipe(map((t) => t.interaction_id))).toBe("a 9ms b 14ms c 14ms |");
      expectObservable(results).toBe("15ms a 9ms b 14ms (c|)");
      flush();
      expect(dropped).toEqual(["d", "e"]); // d refused; e had arrived and waited behind it
      expect(assistant.callCount).toBe(3);
      expect(budget.exhausted).toBe(true);
      expect(budget.spent.tokens).toBe(33);
      expect(budget.inFlight).toBe(0);
    });
  });

  it("drops the waiting tasks and completes when the stop signal fires", () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    ts.run(({ cold, expectObservable, flush }) => {
      const budget = new Budget({ tokens: 30 });
      const stop = new AbortController();
      ts.schedule(() => stop.abort(), 15);
      const dropped: string[] = [];
      // a holds 20 and never settles: b waits until the stop at 15 ms ends the stream.
      const tasks = cold("a 9ms b 9ms c|").pipe(
        map((id) => makeTask({ interaction_id: id })),
        withinBudget(
          budget,
          () => conv(20, 20),
          (task) => dropped.push(task.interaction_id),
          stop.signal,
        ),
        map((t) => t.interaction_id),
      );
      expectObservable(tasks).toBe("a 14ms |");
      flush();
      expect(dropped).toEqual(["b"]);
      expect(budget.exhausted).toBe(false); // stopped, not refused
    });
  });

  it("passes everything through when the budget has no limit", () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    ts.run(({ cold, expectObservable, flush }) => {
      let estimates = 0;
      const tasks = cold("a-b-c|").pipe(
        map((id) => makeTask({ interaction_id: id })),
        withinBudget(new Budget(), () => {
          estimates++;
          return conv(1, 1);
        }),
        map((t) => t.interaction_id),
      );
      expectObservable(tasks).toBe("a-b-c|");
      flush();
      expect(estimates).toBe(0); // nothing to enforce: no estimate is made
    });
  });
});

describe("a budgeted run, then a rerun with a larger budget (the pipeline as generate() wires it)", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const config = ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 2,
      max_turns: 2,
      max_workers: 4,
      assistant_model: { provider: "fake", model: "fake-model", max_completion_tokens: 64 },
      user_model: { provider: "fake", model: "fake-model", max_completion_tokens: 32 },
    },
  });
  const personas: Persona[] = Array.from({ length: 10 }, (_, p) => ({
    persona_id: `p${p}`,
    persona_features: { role: "nurse" },
    queries: [0, 1, 2].map((q) => ({ original_query: `how do I do thing ${q} for person ${p}?` })),
  }));

  async function run(out: string, tokens: number) {
    const ig = config.interaction_generation;
    const assistant = new FakeChatModel({ recordCalls: false, respond: (_r, i) => `answer number ${i}` });
    const userModel = new FakeChatModel({ recordCalls: false, respond: (_r, i) => `follow-up number ${i}` });
    const prices = new PriceTable();
    const completed = await loadCompleted(out);
    const budget = new Budget({ tokens }, await spentInOutput(out));
    const estimator = new RunEstimator(config, prices);
    const backpressure = new Backpressure(8);
    let started = 0;
    // As generate() reads: the reader waits for room in the backpressure window.
    const file = join(out, "..", "personas.jsonl");
    await writeFile(file, personas.map((p) => JSON.stringify(p)).join("\n"));
    const results = await lastValueFrom(
      readPersonas(file, { backpressure }).pipe(
        toTasks({ seed: ig.seed }),
        filter((task) => !completed.has(task.interaction_id)),
        withinBudget(budget, (task) => estimator.conversation(task)),
        admit(backpressure),
        converseAll({
          pool: new AssistantPool([{ model: assistant, weight: 1, temperature: 0, maxTokens: 64 }]),
          user: new UserSimulator(userModel, ig.user_model),
          limits: { minTurns: 2, maxTurns: 2 },
          callRetry: { count: 0, baseDelayMs: 0, maxDelayMs: 0 },
          maxRetries: 0,
          retryDelayMs: 0,
          prices,
          concurrency: ig.max_workers,
          backpressure,
          events: {
            onStart: () => void started++,
            onCall: (record) => budget.record(record),
            onFinish: (result) => budget.settle(result),
          },
        }),
        filesSink(out),
        toArray(),
      ),
    );
    return { budget, results, started, estimator };
  }

  it("stops within one wave of its budget, and the rerun completes the rest with nothing redone", async () => {
    const root = await mkdtemp(join(tmpdir(), "convosim-budget-run-"));
    dir = root;
    const out = join(root, "out");
    const one = await estimatorOfOne();
    const limit = Math.round(one.expected.tokens * 12); // room for about a dozen of the 30

    const first = await run(out, limit);
    expect(first.budget.exhausted).toBe(true);
    expect(first.results.length).toBe(first.started);
    expect(first.results.length).toBeGreaterThan(5);
    expect(first.results.length).toBeLessThan(30);
    // Past the limit by at most one wave: the in-flight window (8 + one persona's 3 tasks).
    const wave = 11 * (one.max.tokens - one.expected.tokens);
    expect(first.budget.spent.tokens).toBeLessThanOrEqual(limit + wave);
    const ledger = await spentInOutput(out);
    expect(ledger.tokens).toBe(first.budget.spent.tokens);

    const second = await run(out, limit * 4);
    expect(second.budget.exhausted).toBe(false);
    expect(second.budget.alreadySpent.tokens).toBe(ledger.tokens);
    expect(first.results.length + second.results.length).toBe(30);
    const ids = [...first.results, ...second.results].map((r) =>
      r.kind === "interaction" ? r.interaction.interaction_id : r.failure.interaction_id,
    );
    expect(new Set(ids).size).toBe(30); // nothing redone
    expect((await spentInOutput(out)).conversations).toBe(30);
  });

  async function estimatorOfOne() {
    const estimator = new RunEstimator(config, new PriceTable());
    const [task] = personaTasks(personas[0]!, { seed: 0 });
    return estimator.conversation(task!);
  }
});
