// Reservations learned from observed replies: the worst case until a role has MIN_CALLS replies,
// then the p90 share of the cap; failed calls teach nothing; a conversation's reservation falls
// from its ceiling to what replies of the observed size cost.
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { MIN_CALLS, ObservedCompletions, ReservationEstimator } from "../../src/run/estimate-observed.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import { usage } from "../sinks/fixtures.js";
import { makeTask } from "../support/pipeline-fixtures.js";

describe("ObservedCompletions", () => {
  const observed = () =>
    new ObservedCompletions((r) =>
      r.operation === "assistant_response" ? { role: "assistant", cap: 1000 } : undefined,
    );

  it("keeps the worst case until a role has MIN_CALLS replies, then takes their p90", () => {
    const seen = observed();
    for (let i = 0; i < MIN_CALLS - 1; i++) seen.record(usage({ completion_tokens: 100 }));
    expect(seen.ratios().assistant).toBe(1);
    seen.record(usage({ completion_tokens: 100 }));
    // 100 of 1,000 = 0.1, rounded up to the top of its 1/64 bin.
    expect(seen.ratios().assistant).toBeCloseTo(7 / 64, 10);
    expect(seen.ratios().user).toBe(1); // never seen: still the worst case
  });

  it("covers nine replies in ten: one long reply among many short ones does not set the share", () => {
    const seen = observed();
    for (let i = 0; i < 18; i++) seen.record(usage({ completion_tokens: 200 }));
    seen.record(usage({ completion_tokens: 990 }));
    seen.record(usage({ completion_tokens: 990 }));
    expect(seen.ratios().assistant).toBeCloseTo(13 / 64, 10); // 0.2 → its bin's top
    seen.record(usage({ completion_tokens: 990 })); // 3 of 21 long: now above the 90th percentile
    expect(seen.ratios().assistant).toBe(1);
  });

  it("learns nothing from failed calls or operations it has no cap for", () => {
    const seen = observed();
    for (let i = 0; i < 10; i++) seen.record(usage({ completion_tokens: 0, failed: "server" }));
    for (let i = 0; i < 10; i++) seen.record(usage({ operation: "distractor", completion_tokens: 5 }));
    expect(seen.count("assistant")).toBe(0);
    expect(seen.ratios().assistant).toBe(1);
  });
});

describe("ReservationEstimator", () => {
  const config = ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 2,
      max_turns: 4,
      assistant_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: 1024 },
      user_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: 256 },
    },
  });

  it("reserves a conversation at its ceiling first, at the observed sizes once learned", () => {
    const estimator = new ReservationEstimator(config, new PriceTable());
    const task = makeTask({ seed: 7 });
    const first = estimator.conversation(task);
    expect(first.expected).toEqual(first.max); // nothing seen yet: the worst case
    for (let i = 0; i < MIN_CALLS; i++) {
      estimator.observe(usage({ model: "gpt-4o-mini", completion_tokens: 150 }));
      estimator.observe(usage({ operation: "user_feedback", model: "gpt-4o-mini", completion_tokens: 30 }));
    }
    const learned = estimator.conversation(task);
    expect(learned.max).toEqual(first.max); // the ceiling does not move
    // Replies at about 15 % of the cap: the reservation falls well below the ceiling.
    expect(learned.expected.usd).toBeGreaterThan(0);
    expect(learned.expected.usd).toBeLessThan(0.5 * first.max.usd);
    expect(learned.expected.tokens).toBeLessThan(0.6 * first.max.tokens);
  });
});
