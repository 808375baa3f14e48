// Supplement rounds inside a real run (fake provider): personas without queries, or short of
// queries_per_persona, get generated queries until their quota is met or rounds run out.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { of } from "rxjs";
import { describe, expect, it } from "vitest";
import { spentInOutput } from "../../src/run/budget.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { ConversationResult } from "../../src/schema/interaction.js";
import type { Persona } from "../../src/schema/persona.js";

function config(queryGeneration: boolean) {
  return ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 1,
      max_turns: 1,
      queries_per_persona: 3,
      max_supplement_rounds: 4,
      assistant_model: { provider: "fake", model: "a" },
      user_model: { provider: "fake", model: "u" },
      query_generation: { enabled: queryGeneration },
    },
  });
}

async function run(personas: Persona[], queryGeneration: boolean) {
  const results: ConversationResult[] = [];
  const sink = new PassThrough();
  sink.resume();
  const summary = await generate({
    config: config(queryGeneration),
    personas: of(...personas),
    ndjson: sink,
    onResult: (r) => results.push(r),
  });
  return { summary, results };
}

describe("supplement rounds in generate()", () => {
  it("fills each persona's quota with generated queries", async () => {
    const personas: Persona[] = [
      { persona_id: "none", persona_features: { role: "chef" }, queries: [] },
      {
        persona_id: "one",
        persona_features: { role: "pilot" },
        queries: [{ original_query: "How do I plan a long-haul rest schedule?" }],
      },
    ];
    const { summary, results } = await run(personas, true);
    const byPersona = (id: string) =>
      results.filter((r) => r.kind === "interaction" && r.interaction.persona_id === id);
    expect(byPersona("none")).toHaveLength(3);
    expect(byPersona("one")).toHaveLength(3);
    const rounds = results.map((r) =>
      r.kind === "interaction" ? r.interaction.metadata.supplement_round : undefined,
    );
    expect(rounds.filter((r) => r !== undefined).length).toBe(5); // all but the given query came from rounds
    expect(summary.failed).toBe(0);
    const ops = results.flatMap((r) =>
      r.kind === "interaction" ? r.interaction.metadata.usage.map((u) => u.operation) : [],
    );
    expect(ops).not.toContain("query_generation"); // query generation is accounted in the run, not in one interaction
  });

  it("writes query-generation spending to DIR/usage.ndjson, so a budget rerun counts it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "convosim-supplement-"));
    try {
      const out = join(dir, "out");
      const summary = await generate({
        config: config(true),
        personas: of({ persona_id: "none", persona_features: { role: "chef" }, queries: [] }),
        out,
        cache: false,
      });
      const lines = (await readFile(join(out, "usage.ndjson"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { status: string; persona_id: string; calls: number });
      const helper = lines.filter((l) => l.status === "query_generation");
      expect(helper.length).toBeGreaterThan(0);
      expect(helper.every((l) => l.persona_id === "none" && l.calls === 1)).toBe(true);
      const spent = await spentInOutput(out);
      // Everything the run spent, its query-generation calls included; only real conversations counted.
      expect(spent.tokens).toBe(summary.promptTokens + summary.completionTokens);
      expect(spent.calls).toBe(summary.calls);
      expect(spent.conversations).toBe(summary.done);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is off by default: personas run only their own queries", async () => {
    const personas: Persona[] = [
      {
        persona_id: "one",
        persona_features: {},
        queries: [{ original_query: "How do I plan a long-haul rest schedule?" }],
      },
    ];
    const { results } = await run(personas, false);
    expect(results).toHaveLength(1);
  });
});
