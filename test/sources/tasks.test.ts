import { createHash } from "node:crypto";
import { from, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import type { Persona, Task } from "../../src/schema/persona.js";
import {
  interactionId,
  quotaShortfall,
  safeId,
  type ToTasksOptions,
  toTasks,
} from "../../src/sources/tasks.js";

const persona = (id: string, queries: Persona["queries"], extra: Partial<Persona> = {}): Persona => ({
  persona_id: id,
  persona_features: { role: "pm" },
  queries,
  ...extra,
});

function tasksOf(personas: Persona[], options: ToTasksOptions): Promise<Task[]> {
  return lastValueFrom(from(personas).pipe(toTasks(options), toArray()));
}

const queries = [
  { original_query: "How do I write a PRD?" },
  { original_query: "Prioritise my backlog", adapted_query: "pls help me prioritise my backlog" },
  { original_query: "Email a customer about a delay" },
];

describe("toTasks", () => {
  it("emits one task per query with the reference's fields", async () => {
    const tasks = await tasksOf([persona("p1", queries, { system_prompt: "Be brief." })], { seed: 3 });
    expect(tasks).toHaveLength(3);
    expect(tasks[1]).toMatchObject({
      persona_id: "p1",
      persona_features: { role: "pm" },
      system_prompt: "Be brief.",
      original_query: "Prioritise my backlog",
      initial_query: "pls help me prioritise my backlog",
      sample_index: 0,
    });
    expect(tasks[0]?.initial_query).toBe("How do I write a PRD?");
    expect(tasks[0]).not.toHaveProperty("supplement_round");
    for (const task of tasks) {
      expect(task.interaction_id).toMatch(/^interaction_p1_[0-9a-f]{12}$/);
      expect(task.query_id).toMatch(/^q_[0-9a-f]{12}$/);
      expect(Number.isInteger(task.seed) && task.seed >= 0 && task.seed < 2 ** 32).toBe(true);
    }
  });

  it("derives the documented interaction_id", () => {
    const digest = createHash("sha256").update("p1\0q7\0Hello\u00000").digest("hex").slice(0, 12);
    expect(interactionId("p1", "q7", "Hello", 0)).toBe(`interaction_p1_${digest}`);
  });

  it("gives the same ids and seeds on every run", async () => {
    const first = await tasksOf([persona("p1", queries)], { seed: 42 });
    const second = await tasksOf([persona("p1", queries)], { seed: 42 });
    expect(second).toEqual(first);
    const otherSeed = await tasksOf([persona("p1", queries)], { seed: 43 });
    expect(otherSeed.map((t) => t.interaction_id)).toEqual(first.map((t) => t.interaction_id));
    expect(otherSeed.map((t) => t.seed)).not.toEqual(first.map((t) => t.seed));
  });

  it("keeps ids when queries without query_id are reordered", async () => {
    const byText = (tasks: Task[]) =>
      Object.fromEntries(tasks.map((t) => [t.original_query, [t.query_id, t.interaction_id, t.seed]]));
    const forward = await tasksOf([persona("p1", queries)], { seed: 1 });
    const reversed = await tasksOf([persona("p1", [...queries].reverse())], { seed: 1 });
    expect(byText(reversed)).toEqual(byText(forward));
  });

  it("keeps a given query_id and tells identical unnamed queries apart", async () => {
    const tasks = await tasksOf(
      [
        persona("p1", [
          { query_id: "prd", original_query: "How do I write a PRD?" },
          { original_query: "same" },
          { original_query: "same" },
        ]),
      ],
      { seed: 0 },
    );
    expect(tasks[0]?.query_id).toBe("prd");
    expect(tasks[2]?.query_id).toBe(`${tasks[1]?.query_id}_2`);
    expect(new Set(tasks.map((t) => t.interaction_id)).size).toBe(3);
  });

  it("rejects duplicate explicit query_ids", async () => {
    const error = await tasksOf(
      [
        persona("p1", [
          { query_id: "a", original_query: "x" },
          { query_id: "a", original_query: "y" },
        ]),
      ],
      { seed: 0 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe("queries[1].query_id");
  });

  it("emits samplesPerQuery samples, each with its own id and seed", async () => {
    const tasks = await tasksOf([persona("p1", queries.slice(0, 2))], { seed: 5, samplesPerQuery: 3 });
    expect(tasks.map((t) => [t.original_query, t.sample_index])).toEqual([
      ["How do I write a PRD?", 0],
      ["How do I write a PRD?", 1],
      ["How do I write a PRD?", 2],
      ["Prioritise my backlog", 0],
      ["Prioritise my backlog", 1],
      ["Prioritise my backlog", 2],
    ]);
    expect(new Set(tasks.map((t) => t.interaction_id)).size).toBe(6);
    expect(new Set(tasks.map((t) => t.seed)).size).toBe(6);
  });

  it("sanitises hostile persona ids in the interaction_id", async () => {
    const hostile = `../../etc/passwd; rm -rf / ${"x".repeat(100)}`;
    const [task] = await tasksOf([persona(hostile, [{ original_query: "hi" }])], { seed: 0 });
    expect(task?.persona_id).toBe(hostile);
    expect(task?.interaction_id).toMatch(/^interaction_[A-Za-z0-9._-]{1,64}_[0-9a-f]{12}$/);
    expect(task?.interaction_id).not.toContain("/");
    expect(safeId("a/b c\u00e9\n")).toBe("a_b_c__");
    expect(safeId("y".repeat(80))).toHaveLength(64);
    // Two ids that sanitise alike still get distinct interaction ids.
    const [a] = await tasksOf([persona("a/b", [{ original_query: "hi" }])], { seed: 0 });
    const [b] = await tasksOf([persona("a:b", [{ original_query: "hi" }])], { seed: 0 });
    expect(a?.interaction_id).not.toBe(b?.interaction_id);
  });

  it("takes the first queriesPerPersona queries and reports shortfalls", async () => {
    const tasks = await tasksOf([persona("p1", queries), persona("p2", queries.slice(0, 1))], {
      seed: 0,
      queriesPerPersona: 2,
    });
    expect(tasks.map((t) => `${t.persona_id}:${t.original_query}`)).toEqual([
      "p1:How do I write a PRD?",
      "p1:Prioritise my backlog",
      "p2:How do I write a PRD?",
    ]);
    expect(quotaShortfall(persona("p2", queries.slice(0, 1)), 2)).toBe(1);
    expect(quotaShortfall(persona("p1", queries), 2)).toBe(0);
    expect(quotaShortfall(persona("p3", []), 3)).toBe(3);
    expect(quotaShortfall(persona("p3", []))).toBe(0);
  });

  it("tags supplement tasks and emits nothing for a persona without queries", async () => {
    const tasks = await tasksOf([persona("empty", []), persona("p1", queries.slice(0, 1))], {
      seed: 0,
      supplementRound: 2,
    });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.supplement_round).toBe(2);
  });

  it("rejects nonsensical options up front", () => {
    expect(() => toTasks({ seed: 1.5 })).toThrow(InputError);
    expect(() => toTasks({ seed: 0, samplesPerQuery: 0 })).toThrow(/samples_per_query|at least 1/);
  });
});
