// A conversation a stop signal ended is not saved, but its calls were paid for: its ledger line
// carries them, and a budget rerun (spentInOutput) counts them as spent, not as a conversation.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spentInOutput } from "../../src/run/budget.js";
import type { UsageRecord } from "../../src/schema/interaction.js";
import { interruptedLedgerLine } from "../../src/sinks/usage-ledger.js";

const call = (over: Partial<UsageRecord> = {}): UsageRecord => ({
  operation: "assistant",
  provider: "openai",
  model: "m",
  prompt_tokens: 100,
  completion_tokens: 20,
  cost_usd: 0.01,
  ...over,
});

describe("interrupted ledger lines", () => {
  it("sum every call paid for, leave replayed ones out, and say they were interrupted", () => {
    const line = interruptedLedgerLine({
      interaction_id: "i1",
      persona_id: "p1",
      completed_turns: 3,
      usage: [call(), call({ operation: "user_simulator" }), call({ replayed: true, cost_usd: 0 })],
    });
    expect(line).toMatchObject({
      interaction_id: "i1",
      status: "interrupted",
      interrupted: true,
      completed_turns: 3,
      calls: 2,
      prompt_tokens: 200,
      completion_tokens: 40,
    });
    expect(line.cost_usd).toBeCloseTo(0.02);
    expect(line.by_model["openai/m"]?.calls).toBe(2);
  });

  it("count as spent in the output folder, but not as a saved conversation", async () => {
    const dir = await mkdtemp(join(tmpdir(), "convosim-ledger-"));
    try {
      const stopped = interruptedLedgerLine({
        interaction_id: "i1",
        persona_id: "p1",
        completed_turns: 1,
        usage: [call()],
      });
      const done = { ...stopped, interaction_id: "i2", status: "completed", interrupted: undefined };
      await writeFile(join(dir, "usage.ndjson"), `${JSON.stringify(stopped)}\n${JSON.stringify(done)}\n`);
      const spend = await spentInOutput(dir);
      expect(spend.calls).toBe(2);
      expect(spend.tokens).toBe(240);
      expect(spend.usd).toBeCloseTo(0.02);
      expect(spend.conversations).toBe(1);
      expect(spend.completed).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
