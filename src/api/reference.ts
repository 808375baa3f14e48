// The reference's classes in TypeScript form, for code written against its API:
// InteractionGenerator, AssistantModel (with lockModel/unlockModel), UserFeedbackModel.
// They are thin shells over the pipeline pieces; new code can compose those directly.
import { from, lastValueFrom, mergeMap, toArray } from "rxjs";
import { assertModelBlocks } from "../config/model-blocks.js";
import type { AssistantPool, PoolMember } from "../conversation/assistant-pool.js";
import type { NoiseHook } from "../conversation/noise-hook.js";
import { randomStream, seedFrom } from "../conversation/random.js";
import type { UserSimulator } from "../conversation/user-simulator.js";
import { type ConverseDeps, conversation } from "../operators/converse.js";
import { formatProgress, ProgressTracker } from "../operators/progress.js";
import { buildRuntime, type Runtime, runtimeDistractor } from "../run/runtime.js";
import { ConvosimConfig, type ConvosimConfigInput } from "../schema/config.js";
import type { GuardName, Interaction, Message } from "../schema/interaction.js";
import type { PersonaInput, Task } from "../schema/persona.js";
import { PersonaInput as PersonaSchema } from "../schema/persona.js";
import type { InteractionStorage } from "../sinks/interaction-storage.js";
import { derivedQueryId, interactionId, personaTasks, taskSeed } from "../sources/tasks.js";

export class AssistantModel {
  #locked: PoolMember | undefined;
  #calls = 0;
  constructor(readonly pool: AssistantPool) {}

  /** Chooses the model for the next conversation (seeded when a seed is given). */
  lockModel(seed?: number): PoolMember {
    this.#locked = this.pool.choose(seed ?? Math.floor(randomStream("lock", this.#calls++)() * 2 ** 32));
    return this.#locked;
  }

  unlockModel(): void {
    this.#locked = undefined;
  }

  /** The reply to `userQuery` after `conversationHistory`, sent as a real chat. */
  async respond(
    userQuery: string,
    conversationHistory: readonly Pick<Message, "role" | "content">[] = [],
  ): Promise<string> {
    const member = this.#locked ?? this.pool.choose(seedFrom("respond", this.#calls++));
    const messages = [
      ...(member.systemPrompt ? [{ role: "system" as const, content: member.systemPrompt }] : []),
      ...conversationHistory.map((m) => ({ role: m.role, content: m.content })),
      { role: "user" as const, content: userQuery },
    ];
    const result = await member.model.complete({
      messages,
      temperature: member.temperature,
      maxTokens: member.maxTokens,
    });
    return result.text;
  }
}

export class UserFeedbackModel {
  constructor(
    readonly simulator: UserSimulator,
    readonly minTurns = 1,
  ) {}

  /** The next user message, or null when the simulated user is satisfied. */
  async generateFeedback(
    personaFeatures: Record<string, unknown>,
    conversationHistory: readonly Message[],
    assistantResponse: string,
    currentTurn: number,
    targetTurns: number,
  ): Promise<string | null> {
    const last = conversationHistory[conversationHistory.length - 1];
    const messages: Message[] =
      last?.role === "assistant"
        ? [...conversationHistory]
        : [
            ...conversationHistory,
            {
              role: "assistant",
              content: assistantResponse,
              timestamp: new Date().toISOString(),
              metadata: {},
            },
          ];
    const original = messages.find((m) => m.role === "user")?.content ?? "";
    const prompt = this.simulator.conversationPrompt({
      persona_features: personaFeatures,
      original_query: original,
    });
    let rejected: { guard: GuardName; detail: string } | undefined;
    for (let reask = 0; reask <= this.simulator.config.max_reasks; reask++) {
      const context = {
        persona_features: personaFeatures,
        original_query: original,
        messages,
        completed_turns: currentTurn,
        target_turns: targetTurns,
        may_stop: currentTurn >= this.minTurns,
        intent: "followup" as const,
        seed: seedFrom("feedback", currentTurn, reask),
        reask,
        rejected,
        prompt,
      };
      const result = await this.simulator.model.complete(this.simulator.buildRequest(context));
      const reply = this.simulator.interpret(result.text, context, result.finishReason);
      if (reply.kind === "stop") return null;
      if (reply.kind === "message") return reply.content;
      rejected = reply;
    }
    throw new Error("simulated user gave no usable reply");
  }
}

export interface GenerateInteractionArgs {
  persona_id: string;
  persona_features: Record<string, unknown>;
  initial_query: string;
  system_prompt?: string;
  original_query?: string;
  target_turns?: number;
  query_id?: string;
}

export class InteractionGenerator {
  readonly config: ConvosimConfig;
  #runtime: Promise<Runtime> | undefined;
  #distractor: NoiseHook | undefined;

  /**
   * `options.distractor`: noise on user messages (see createDistractor). Without it, the
   * config's distractor block applies when distractor.enabled is true.
   */
  constructor(
    config: ConvosimConfigInput | ConvosimConfig,
    readonly options: { distractor?: NoiseHook } = {},
  ) {
    this.config = ConvosimConfig.parse(config);
    // A model block naming a hosted model without provider must not run the embedded model.
    assertModelBlocks(config, this.config);
    this.#distractor = options.distractor;
  }

  /** The distractor in use (the one given, or the config's once the runtime is built). */
  get distractor(): NoiseHook | undefined {
    return this.#distractor;
  }

  #deps(runtime: Runtime): ConverseDeps {
    const ig = this.config.interaction_generation;
    return {
      pool: runtime.pool,
      user: runtime.user,
      limits: { minTurns: ig.min_turns, maxTurns: ig.max_turns },
      ...(this.#distractor ? { noise: this.#distractor } : {}),
      callRetry: runtime.callRetry,
      maxRetries: ig.max_retries,
      retryDelayMs: ig.retry_delay * 1000,
      prices: runtime.prices,
      // Hosted endpoints are paced here too (rate limits, Retry-After), as in generate().
      admissionFor: runtime.admissionFor,
      assistantReasks: ig.assistant_model.max_reasks,
      ...(runtime.judge ? { judge: runtime.judge } : {}),
      ...(runtime.verifier ? { verifier: runtime.verifier } : {}),
    };
  }

  runtime(): Promise<Runtime> {
    this.#runtime ??= buildRuntime(this.config).then((runtime) => {
      this.#distractor ??= runtimeDistractor(this.config, runtime);
      return runtime;
    });
    return this.#runtime;
  }

  /** One conversation; null when it failed after its retries (the reference's contract). */
  async generateInteraction(args: GenerateInteractionArgs): Promise<Interaction | null> {
    const original = args.original_query ?? args.initial_query;
    const queryId = args.query_id ?? derivedQueryId(original);
    const id = interactionId(args.persona_id, queryId, original, 0);
    const task: Task = {
      interaction_id: id,
      persona_id: args.persona_id,
      persona_features: args.persona_features,
      ...(args.system_prompt !== undefined ? { system_prompt: args.system_prompt } : {}),
      query_id: queryId,
      original_query: original,
      initial_query: args.initial_query,
      sample_index: 0,
      seed: taskSeed(this.config.interaction_generation.seed, id),
      ...(args.target_turns !== undefined ? { target_turns: args.target_turns } : {}),
    };
    const result = await lastValueFrom(conversation(task, this.#deps(await this.runtime())));
    return result.kind === "interaction" ? result.interaction : null;
  }

  /** Many conversations, maxWorkers at a time; each saved by `storage` as it finishes. */
  async generateInteractionsBatch(
    personasWithQueries: readonly PersonaInput[],
    options: { showProgress?: boolean; maxWorkers?: number; storage?: InteractionStorage } = {},
  ): Promise<Interaction[]> {
    const ig = this.config.interaction_generation;
    const runtime = await this.runtime();
    const progress = new ProgressTracker();
    const tasks = personasWithQueries.flatMap((input) =>
      personaTasks(PersonaSchema.parse(input), { seed: ig.seed, samplesPerQuery: ig.samples_per_query }),
    );
    const deps = { ...this.#deps(runtime), events: progress };
    const ticker = options.showProgress
      ? setInterval(
          () => process.stderr.write(`\r${formatProgress(progress.snapshot(), tasks.length)}`),
          1000,
        )
      : undefined;
    try {
      const results = await lastValueFrom(
        from(tasks).pipe(
          mergeMap(async (task) => {
            progress.onStart();
            const result = await lastValueFrom(conversation(task, deps));
            progress.onFinish(result);
            if (result.kind === "interaction" && options.storage)
              await options.storage.save(result.interaction);
            if (result.kind === "failure" && options.storage)
              await options.storage.saveFailure(result.failure);
            return result;
          }, options.maxWorkers ?? ig.max_workers),
          toArray(),
        ),
        { defaultValue: [] },
      );
      return results.flatMap((r) => (r.kind === "interaction" ? [r.interaction] : []));
    } finally {
      if (ticker) clearInterval(ticker);
      if (options.showProgress)
        process.stderr.write(`\r${formatProgress(progress.snapshot(), tasks.length)}\n`);
      await options.storage?.flush();
    }
  }

  async close(): Promise<void> {
    if (this.#runtime) await (await this.#runtime).close();
  }
}
