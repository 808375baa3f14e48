// A scenario as prompt text for the simulated user: what it wants, when it is done, what it
// knows (to reveal gradually) and does not know (to admit, never invent), and its constraints.
import type { ScenarioRecord } from "../schema/interaction.js";

function list(title: string, items: readonly string[] | undefined): string[] {
  if (!items || items.length === 0) return [];
  return [title, ...items.map((item) => `- ${item}`)];
}

const HEADINGS = {
  you: {
    goal: "What you want from this conversation:",
    done: "You are done when:",
    known: "Facts you know (share each only when it matters or when you are asked, not all at once):",
    unknown: "Things you do not know (if asked, say you don't know; never make them up):",
    constraints: "Your constraints:",
  },
  user: {
    goal: "The user wants:",
    done: "The user is done when:",
    known: "The user knows (and shares only when it matters or when asked):",
    unknown: "The user does not know (and says so if asked):",
    constraints: "The user's constraints:",
  },
} as const;

/**
 * Empty for a scenario derived from the query alone: the original request is then the goal.
 * `voice`: "you" for the simulated user's own instructions, "user" for a transcript's preamble.
 */
export function describeScenario(
  scenario: ScenarioRecord | undefined,
  voice: "you" | "user" = "you",
): string {
  if (!scenario) return "";
  const h = HEADINGS[voice];
  const lines = [
    ...(scenario.goal ? [`${h.goal} ${scenario.goal}`] : []),
    ...(scenario.expected_outcome ? [`${h.done} ${scenario.expected_outcome}`] : []),
    ...list(h.known, scenario.known),
    ...list(h.unknown, scenario.unknown),
    ...list(h.constraints, scenario.constraints),
  ];
  return lines.join("\n");
}

/** Every fact the scenario gives the user: these may appear in its messages without being a leak. */
export function scenarioFacts(scenario: ScenarioRecord | undefined): string[] {
  if (!scenario) return [];
  return [
    scenario.goal ?? "",
    scenario.expected_outcome ?? "",
    ...(scenario.known ?? []),
    ...(scenario.unknown ?? []),
    ...(scenario.constraints ?? []),
  ].filter((text) => text !== "");
}

/** What the stop judge checks for: the expected outcome, else the goal, else the request itself. */
export function expectedOutcome(scenario: ScenarioRecord | undefined, originalQuery: string): string {
  return (
    scenario?.expected_outcome ?? scenario?.goal ?? `The user's request is fully answered: "${originalQuery}"`
  );
}
