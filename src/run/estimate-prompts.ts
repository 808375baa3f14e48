// Prompt sizes for the estimate, measured on the real prompts: the simulated user's request is
// built by UserSimulator.buildRequest, the query generator's by QueryGenerator.buildRequest, the
// scenario generator's, stop judge's and turn verifier's by their buildRequest, the style rewrite
// from its template as styleTransfer renders it. Counted at about four characters per token
// (providers/estimate.ts) plus a few tokens per chat message.
import { describePersona, personaGuidance } from "../conversation/persona-text.js";
import { QueryGenerator } from "../conversation/query-generator.js";
import { ScenarioGenerator } from "../conversation/scenario-generator.js";
import { describeScenario } from "../conversation/scenario-text.js";
import { StopJudge } from "../conversation/stop-judge.js";
import { loadTemplate, renderTemplate } from "../conversation/templates.js";
import { transcriptText } from "../conversation/transcript-text.js";
import { TurnVerifier } from "../conversation/turn-verifier.js";
import { UserSimulator } from "../conversation/user-simulator.js";
import { estimatePromptTokens, estimateTokens } from "../providers/estimate.js";
import type { ChatModel } from "../providers/types.js";
import type { ConvosimConfig } from "../schema/config.js";
import type { Message, ScenarioRecord } from "../schema/interaction.js";

/** Per chat message: role and separator tokens that chars/4 does not see (OpenAI's rule of thumb). */
export const MESSAGE_OVERHEAD = 4;
// What generate() gives the helper operators: the styleTransfer and QueryGenerator defaults.
export const STYLE_MAX_TOKENS = 256;
export const QUERY_GENERATION_MAX_TOKENS = 512;
// What the scenario generator, stop judge and turn verifier ask for (their buildRequest's maxTokens).
export const SCENARIO_MAX_TOKENS = 400;
export const JUDGE_MAX_TOKENS = 128;
export const VERIFIER_MAX_TOKENS = 128;

/**
 * The real prompt builders hold a model; this one refuses every call, so measuring a prompt can
 * never spend anything.
 */
export const NO_CALLS: ChatModel = {
  provider: "estimate",
  model: "none",
  complete: () => Promise.reject(new Error("an estimate makes no model call")),
};

type Who = {
  persona_features: Readonly<Record<string, unknown>>;
  system_prompt?: string | undefined;
  /** A scenario given with the query: the user's system prompt shows it. */
  scenario?: ScenarioRecord | undefined;
};

const CHARS_PER_TOKEN = 4;

function message(role: Message["role"], content: string): Message {
  return { role, content, timestamp: "", metadata: {} };
}

export class PromptSizer {
  /** Tokens the assistant's system prompt adds to every assistant call (0 without one). */
  readonly assistantSystem: number;
  private readonly user: UserSimulator;
  private readonly styleTemplate: string | undefined;
  private readonly queries: QueryGenerator | undefined;
  private readonly scenarios: ScenarioGenerator | undefined;
  private readonly judgeBuilder: StopJudge | undefined;
  private readonly verifierBuilder: TurnVerifier | undefined;
  /**
   * What the stop judge's transcript holds per message, in tokens: at most `message` of its text
   * (transcriptText shortens long ones) plus `label` ("User: ", the blank line between).
   */
  readonly transcript: { message: number; label: number };
  /** The most of the assistant's reply the verifier is shown (it cuts the reply), in tokens. */
  readonly verifierReply: number;
  /** The headings a generated scenario is shown under (describeScenario), besides its own text. */
  readonly scenarioHeadings: number;

  constructor(private readonly ig: ConvosimConfig["interaction_generation"]) {
    const system = ig.assistant_model.system_prompt;
    this.assistantSystem = system ? estimateTokens(system) + MESSAGE_OVERHEAD : 0;
    this.user = new UserSimulator(NO_CALLS, ig.user_model);
    if (ig.style_transfer.enabled)
      this.styleTemplate = loadTemplate(ig.style_transfer.prompt_template ?? "style_transfer");
    if (ig.query_generation.enabled)
      this.queries = new QueryGenerator({ model: NO_CALLS, template: ig.query_generation.prompt_template });
    if (ig.scenario_generation.enabled)
      this.scenarios = new ScenarioGenerator(NO_CALLS, ig.scenario_generation.prompt_template);
    if (ig.stop_judge.enabled) this.judgeBuilder = new StopJudge(NO_CALLS, ig.stop_judge.prompt_template);
    if (ig.turn_verifier.enabled)
      this.verifierBuilder = new TurnVerifier(NO_CALLS, ig.turn_verifier.prompt_template);
    // Measured on the real text functions, not copied from them.
    const long = "x".repeat(100_000);
    const labels = transcriptText([message("user", ""), message("assistant", "")]).length + 2;
    this.transcript = {
      message:
        (transcriptText([message("user", long)]).length - transcriptText([message("user", "")]).length) /
        CHARS_PER_TOKEN,
      label: labels / 2 / CHARS_PER_TOKEN,
    };
    this.verifierReply = this.verifierBuilder
      ? (this.verifierBuilder.buildRequest({}, undefined, long, "", 0).messages[0]!.content.length -
          this.verifierBuilder.buildRequest({}, undefined, "", "", 0).messages[0]!.content.length) /
        CHARS_PER_TOKEN
      : 0;
    const headings = describeScenario({
      goal: "-",
      expected_outcome: "-",
      known: ["-", "-", "-", "-"],
      unknown: ["-", "-"],
      constraints: ["-", "-"],
      source: "generated",
    });
    this.scenarioHeadings = estimateTokens(headings);
  }

  /**
   * What every simulated-user call sends besides the history: its system prompt, the opening
   * placeholder and the turn note, rendered by the real buildRequest around an empty history.
   * `withSystem: false` leaves the system prompt's text out (its size given some other way).
   */
  userFixed(who: Who, originalQuery: string, withSystem = true): number {
    const empty = { role: "user" as const, content: "", timestamp: "", metadata: {} };
    const request = this.user.buildRequest({
      persona_features: who.persona_features,
      system_prompt: who.system_prompt,
      original_query: originalQuery,
      scenario: who.scenario,
      messages: [empty, { ...empty, role: "assistant" }],
      completed_turns: 1,
      target_turns: this.ig.max_turns,
      may_stop: true, // the longer turn note
      intent: "feedback",
      seed: 0,
      reask: 0,
    });
    const sent = withSystem ? request.messages : request.messages.slice(1);
    // The opening and the reply slots are counted with the history, not here.
    return estimatePromptTokens(sent) + 2 * MESSAGE_OVERHEAD;
  }

  /** The style-transfer request (one message). */
  style(features: Readonly<Record<string, unknown>>, originalQuery: string): number {
    const prompt = renderTemplate(this.styleTemplate ?? "", {
      persona_description: describePersona(features),
      persona_guidance: personaGuidance(features),
      original_query: originalQuery,
    });
    return estimateTokens(prompt) + MESSAGE_OVERHEAD;
  }

  /** The query generator's request for `needed` new queries. */
  queryGeneration(features: Readonly<Record<string, unknown>>, needed: number, existing: string[]): number {
    if (!this.queries) return 0;
    const request = this.queries.buildRequest(features, needed, existing, 0);
    return estimatePromptTokens(request.messages) + MESSAGE_OVERHEAD;
  }

  /** The scenario generator's request (one message). */
  scenarioGeneration(features: Readonly<Record<string, unknown>>, originalQuery: string): number {
    if (!this.scenarios) return 0;
    const request = this.scenarios.buildRequest(features, originalQuery, 0);
    return estimatePromptTokens(request.messages) + MESSAGE_OVERHEAD;
  }

  /**
   * The stop judge's request around an empty transcript: template, query and expected outcome
   * (the scenario's, else the sentence made of the query). The transcript is counted apart.
   */
  judge(originalQuery: string, scenario: ScenarioRecord | undefined): number {
    if (!this.judgeBuilder) return 0;
    const request = this.judgeBuilder.buildRequest(originalQuery, scenario, [], 0);
    return estimatePromptTokens(request.messages) + MESSAGE_OVERHEAD;
  }

  /** The turn verifier's request with no reply and no candidate: template, persona and scenario. */
  verifier(features: Readonly<Record<string, unknown>>, scenario: ScenarioRecord | undefined): number {
    if (!this.verifierBuilder) return 0;
    const request = this.verifierBuilder.buildRequest(features, scenario, "", "", 0);
    return estimatePromptTokens(request.messages) + MESSAGE_OVERHEAD;
  }
}
