// The optional stop judge (interaction_generation.stop_judge): after an assistant reply, a
// configured model says whether the scenario's expected outcome has been reached, as
// deepeval's per-turn completion check does. Its verdict and reason are recorded either way.
import type { ChatModel, ChatRequest } from "../providers/types.js";
import type { Message, ScenarioRecord } from "../schema/interaction.js";
import { booleanField, firstJsonObject, verdictRequest } from "./json-reply.js";
import { expectedOutcome } from "./scenario-text.js";
import { loadTemplate, renderTemplate } from "./templates.js";
import { transcriptText } from "./transcript-text.js";

export interface JudgeReading {
  reached: boolean;
  reason: string;
}

export class StopJudge {
  private readonly template: string;

  constructor(
    readonly model: ChatModel,
    template?: string,
  ) {
    this.template = loadTemplate(template ?? "stop_judge");
  }

  buildRequest(
    originalQuery: string,
    scenario: ScenarioRecord | undefined,
    messages: readonly Message[],
    seed: number,
  ): ChatRequest {
    const prompt = renderTemplate(this.template, {
      original_query: originalQuery,
      expected_outcome: expectedOutcome(scenario, originalQuery),
      transcript: transcriptText(messages),
    });
    return verdictRequest(prompt, seed);
  }

  /** An unreadable verdict counts as "not reached": the conversation goes on, the reason says why. */
  read(text: string): JudgeReading {
    const json = firstJsonObject(text);
    const reached = booleanField(json, "reached");
    const reason = typeof json?.reason === "string" ? json.reason.trim() : "";
    if (reached !== undefined) return { reached, reason: reason || "(no reason given)" };
    const word = /^\W*(yes|no)\b/i.exec(text);
    if (word) return { reached: word[1]?.toLowerCase() === "yes", reason: text.trim().slice(0, 200) };
    return { reached: false, reason: `unreadable verdict: ${text.trim().slice(0, 120)}` };
  }
}
