// A small run for the simulated-user statistics: new-format follow-ups with rejections of
// several guards, unwrapped and continued-after-stop turns, per-conversation records, stop
// judge verdicts, a user_sim_failed interaction, old-format interactions (no asks record, one
// with only a rejections list), a near-identical pair and an identical pair, and failures.
// The expected figures are worked out by hand in stats-user-sim.test.ts.
import type { FailureRecord, GuardName, Interaction, Message } from "../../src/schema/interaction.js";
import { assistantMessage, makeFailure, makeInteraction, userMessage } from "./stats-fixtures.js";

const rejection = (guard: string) => ({ guard, detail: `rejected by ${guard}`, excerpt: "Assistant: sure…" });

function followUp(content: string, metadata: Record<string, unknown> = {}): Message {
  return { ...userMessage(content), metadata: { is_followup: true, was_noised: false, ...metadata } };
}

const reply = (n: number) => assistantMessage(`Here is answer number ${n}.`);

export function userSimInteractions(): Interaction[] {
  return [
    makeInteraction({
      id: "a_new",
      features: { communication_style: "casual" },
      stop: "user_satisfied",
      metadata: {
        user_simulator: {
          asks: 5,
          rejections: { speaks_as_assistant: 2, wrapped: 1 },
          prompt_format: "chat",
        },
        judge_verdicts: [
          { turn: 1, reached: false, reason: "no recipe yet" },
          { turn: 2, reached: false, reason: "starter not explained" },
        ],
      },
      messages: [
        userMessage("How do I bake sourdough bread at home?"),
        reply(1),
        followUp("ok what about the starter", {
          asks: 3,
          rejections: [rejection("speaks_as_assistant"), rejection("wrapped")],
          unwrapped: "quotes",
        }),
        reply(2),
        followUp("Thanks, that helps a lot.", {
          asks: 2,
          rejections: [rejection("speaks_as_assistant")],
          continued_after_stop: true,
        }),
        reply(3),
      ],
    }),
    makeInteraction({
      id: "b_new",
      features: { communication_style: "formal" },
      stop: "goal_reached",
      metadata: {
        user_simulator: { asks: 2, rejections: { too_long: 1 }, prompt_format: "transcript" },
        judge_verdicts: [
          { turn: 1, reached: false, reason: "no example" },
          { turn: 2, reached: true, reason: "example given" },
        ],
      },
      messages: [
        // Noised: the clean text (5 words) counts, not the noisy one (6 words).
        userMessage("pls explain recursion in pyhton asap", {
          clean: "Please explain recursion in Python.",
          noise: { layer: "surface_noise", applied_strategies: ["typo"] },
        }),
        reply(1),
        followUp("Could you show an example with a tree", { asks: 2, rejections: [rejection("too_long")] }),
        reply(2),
      ],
    }),
    makeInteraction({
      id: "c_failed",
      features: { communication_style: "casual" },
      stop: "user_sim_failed",
      metadata: {
        // The failing last step (4 rejected asks) left no message, only this record.
        user_simulator: {
          asks: 6,
          rejections: { stage_direction: 1, empty: 1, prompt_leak: 2, verifier: 1 },
          prompt_format: "chat",
        },
      },
      messages: [
        userMessage("My laptop will not turn on"),
        reply(1),
        followUp("I tried that. Tell me what else to check", {
          asks: 2,
          rejections: [rejection("stage_direction")],
          unwrapped: "json",
        }),
        reply(2),
      ],
    }),
    // Old format: no asks, no rejections, no record; the same user turns as a_new.
    makeInteraction({
      id: "d_old",
      features: { role: "engineer" },
      stop: "target_turns",
      messages: [
        userMessage("How do I bake sourdough bread at home?"),
        reply(1),
        followUp("ok what about the starter"),
        reply(2),
        followUp("Thanks, that helps a lot."),
        reply(3),
      ],
    }),
    // Older still: follow-ups without is_followup; the last lists a rejection but no asks.
    makeInteraction({
      id: "e_old",
      features: { communication_style: "casual" },
      stop: "max_turns",
      messages: [
        userMessage("I need a budget plan for a trip to Rome"),
        reply(1),
        userMessage("The hotel costs 120 euros per night"),
        reply(2),
        {
          ...userMessage("walk me through the flights"),
          metadata: { rejections: [rejection("copies_assistant")] },
        },
        reply(3),
      ],
    }),
    // e_old with its last word changed: a near-duplicate (Jaccard 19/21 over 3-grams).
    makeInteraction({
      id: "f_near",
      features: { communication_style: "casual" },
      stop: "target_turns",
      metadata: { user_simulator: { asks: 2, rejections: {}, prompt_format: "chat" } },
      messages: [
        userMessage("I need a budget plan for a trip to Rome"),
        reply(1),
        followUp("The hotel costs 120 euros per night", { asks: 1, rejections: [] }),
        reply(2),
        followUp("walk me through the trains", { asks: 1, rejections: [] }),
        reply(3),
      ],
    }),
  ];
}

export function userSimFailures(): FailureRecord[] {
  return [
    makeFailure("g_failed", {
      error_kind: "user_simulator",
      reason: "simulated user gave no usable reply after 3 asks (empty)",
      completed_turns: 1,
      user_rejections: [rejection("empty"), rejection("repeats_user"), rejection("empty")].map((r) => ({
        ...r,
        guard: r.guard as GuardName,
      })),
    }),
    makeFailure("h_failed"),
  ];
}
