// Prompt sizes for the estimate, measured on the real prompts: the simulated user's request is
// built by UserSimulator.buildRequest, the query generator's by QueryGenerator.buildRequest, the
// style rewrite from its template as styleTransfer renders it. Counted at about four characters
// per token (providers/estimate.ts) plus a few tokens per chat message.
import { describePersona, personaGuidance } from "../conversation/persona-text.js";
import { QueryGenerator } from "../conversation/query-generator.js";
import { loadTemplate, renderTemplate } from "../conversation/templates.js";
import { UserSimulator } from "../conversation/user-simulator.js";
import { estimatePromptTokens, estimateTokens } from "../providers/estimate.js";
import type { ChatModel } from "../providers/types.js";
import type { ConvosimConfig } from "../schema/config.js";

/** Per chat message: role and separator tokens that chars/4 does not see (OpenAI's rule of thumb). */
export const MESSAGE_OVERHEAD = 4;
// What generate() gives the helper operators: the styleTransfer and QueryGenerator defaults.
export const STYLE_MAX_TOKENS = 256;
export const QUERY_GENERATION_MAX_TOKENS = 512;

/**
 * The real prompt builders hold a model; this one refuses every call, so measuring a prompt can
 * never spend anything.
 */
export const NO_CALLS: ChatModel = {
  provider: "estimate",
  model: "none",
  complete: () => Promise.reject(new Error("an estimate makes no model call")),
};

type Who = { persona_features: Readonly<Record<string, unknown>>; system_prompt?: string | undefined };

export class PromptSizer {
  /** Tokens the assistant's system prompt adds to every assistant call (0 without one). */
  readonly assistantSystem: number;
  private readonly user: UserSimulator;
  private readonly styleTemplate: string | undefined;
  private readonly queries: QueryGenerator | undefined;

  constructor(private readonly ig: ConvosimConfig["interaction_generation"]) {
    const system = ig.assistant_model.system_prompt;
    this.assistantSystem = system ? estimateTokens(system) + MESSAGE_OVERHEAD : 0;
    this.user = new UserSimulator(NO_CALLS, ig.user_model);
    if (ig.style_transfer.enabled)
      this.styleTemplate = loadTemplate(ig.style_transfer.prompt_template ?? "style_transfer");
    if (ig.query_generation.enabled)
      this.queries = new QueryGenerator({ model: NO_CALLS, template: ig.query_generation.prompt_template });
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
}
