// Counts and delays that multiply a run's work have ceilings, so no config makes a run that never
// ends: max_turns 200 (cost grows with the square of the turns), retries and supplement rounds
// 20, delays 600 s. Above them the config is refused, naming the field.
import { describe, expect, it } from "vitest";
import { ConvosimConfig } from "../../src/schema/config.js";

function issue(interactionGeneration: Record<string, unknown>): string | undefined {
  const parsed = ConvosimConfig.safeParse({ interaction_generation: interactionGeneration });
  if (parsed.success) return undefined;
  const first = parsed.error.issues[0];
  return `${first?.path.join(".")}: ${first?.message}`;
}

describe("config ceilings", () => {
  it("accepts each value at its ceiling", () => {
    expect(issue({ min_turns: 1, max_turns: 200 })).toBeUndefined();
    expect(issue({ max_retries: 20, retry_delay: 600, max_supplement_rounds: 20 })).toBeUndefined();
    expect(issue({ call_retries: { count: 20, base_delay: 600, max_delay: 600 } })).toBeUndefined();
  });

  it("refuses each value above it, naming the field", () => {
    expect(issue({ max_turns: 100_000 })).toMatch(/max_turns: max_turns is at most 200: each turn resends/);
    expect(issue({ max_retries: 1000 })).toMatch(/^interaction_generation\.max_retries:/);
    expect(issue({ retry_delay: 3600 })).toMatch(/^interaction_generation\.retry_delay:/);
    expect(issue({ max_supplement_rounds: 50 })).toMatch(/^interaction_generation\.max_supplement_rounds:/);
    expect(issue({ call_retries: { count: 1e6 } })).toMatch(/call_retries\.count:/);
    expect(issue({ call_retries: { base_delay: 601 } })).toMatch(/call_retries\.base_delay:/);
    expect(issue({ call_retries: { max_delay: 86_400 } })).toMatch(/call_retries\.max_delay:/);
  });
});
