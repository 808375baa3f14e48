// `convosim generate`: parse, validate everything that can be validated before spending,
// run the public generate(), render progress on stderr, and pick the exit code.
import { existsSync } from "node:fs";
import { from, lastValueFrom, tap } from "rxjs";
import { applyEndpointEnvironment, describeEndpointEnvironment } from "../config/endpoint-env.js";
import { loadEnvFile } from "../config/env-file.js";
import { InputError } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import { PriceTable } from "../conversation/pricing.js";
import type { ProgressSnapshot } from "../operators/progress.js";
import { setCallLogger } from "../providers/call-log.js";
import { warmModelThreadFor } from "../providers/registry.js";
import { spentInOutput } from "../run/budget.js";
import { estimateRunFrom } from "../run/estimate.js";
import { generate, type RunSummary, requireQueries } from "../run/generate.js";
import { applyHeapPolicy } from "../run/heap.js";
import { preflightOutputFolder, preflightResponseCache } from "../run/preflight.js";
import { checkRuntimeConfig, inConfigFile, modelConfigs } from "../run/runtime.js";
import type { Persona } from "../schema/persona.js";
import { terminalLine } from "../shared/terminal-text.js";
import { loadCompleted } from "../sinks/completed.js";
import { outputPaths } from "../sinks/layout.js";
import { readPersonas } from "../sources/read-personas.js";
import { samplePersonas } from "../sources/samples.js";
import { personaTasks } from "../sources/tasks.js";
import { chooseConfig } from "./default-config.js";
import { EXIT } from "./fail.js";
import { applyModelFlags, type ModelFlags, modelOverrides } from "./model-flags.js";
import { liveProgress, progressDisplay } from "./progress-display.js";
import { runCoordinator } from "./queue-commands.js";
import { runExitCode } from "./run-exit.js";

export interface GenerateCommandOptions extends ModelFlags {
  config?: string;
  maxTurns?: number;
  minTurns?: number;
  personas?: string;
  out?: string;
  maxWorkers?: number;
  seed?: number;
  limit?: number;
  quiet?: boolean;
  /** commander turns --no-cache into cache: false. */
  cache?: boolean;
  cacheDir?: string;
  budgetUsd?: number;
  budgetTokens?: number;
  dryRun?: boolean;
  /** --env-file: variables for this run from a KEY=value file (src/config/env-file.ts). */
  envFile?: string;
  /** --verbose, or --log-level debug: a line per model request (src/providers/call-log.ts). */
  verbose?: boolean;
  logLevel?: "debug" | "info";
  /** --queue redis://…: this process coordinates workers (src/queue/). */
  queue?: string;
}

/**
 * The queue runs the conversation alone: a run that asks for the steps before the conversation
 * (style transfer, query or scenario generation) is refused rather than run without them
 * (docs/scaling.md, "not done yet").
 */
function refuseWhatTheQueueCannotDoYet(
  ig: Awaited<ReturnType<typeof loadConfig>>["interaction_generation"],
): void {
  const unsupported = [
    ...(ig.style_transfer.enabled ? ["interaction_generation.style_transfer"] : []),
    ...(ig.query_generation.enabled ? ["interaction_generation.query_generation"] : []),
    ...(ig.scenario_generation.enabled ? ["interaction_generation.scenario_generation"] : []),
  ];
  if (unsupported.length > 0)
    throw new InputError({
      field: "--queue",
      message: `cannot run ${unsupported.join(", ")} through the queue yet`,
      hint: "run without --queue, or turn these off for a queued run (docs/scaling.md)",
    });
}

/** Reads a persona file once without keeping it, so bad lines fail before any model call. */
async function prevalidate(
  path: string,
  queryGeneration: boolean,
  options: Parameters<typeof personaTasks>[1],
) {
  let tasks = 0;
  await lastValueFrom(
    readPersonas(path, { requireAny: true }).pipe(
      tap(requireQueries(queryGeneration, path)),
      tap((persona) => {
        tasks += personaTasks(persona, options).length;
      }),
    ),
    { defaultValue: undefined },
  );
  return tasks;
}

/** How long calls already sent may run on after the first Ctrl-C/SIGTERM (docs/outputs.md). */
export const STOP_GRACE_MS = 10_000;

export async function runGenerate(options: GenerateCommandOptions): Promise<number> {
  // First: the file's variables are what the config's ${VAR} and OPENAI_BASE_URL read.
  if (options.envFile !== undefined) await loadEnvFile(options.envFile);
  const overrides = {
    ...(options.maxWorkers !== undefined ? { max_workers: options.maxWorkers } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.maxTurns !== undefined ? { max_turns: options.maxTurns } : {}),
    ...(options.minTurns !== undefined ? { min_turns: options.minTurns } : {}),
    ...modelOverrides(options),
  };
  const configPath = chooseConfig(options.config, (line) => process.stderr.write(`${line}\n`));
  const config = applyModelFlags(await loadConfig(configPath, overrides), options);
  // After the model flags: a model chosen on the command line follows OPENAI_BASE_URL too.
  for (const line of describeEndpointEnvironment(applyEndpointEnvironment(config)))
    process.stderr.write(`${terminalLine(line)}\n`);
  try {
    // A missing key variable fails here, before any call; a dry run calls nothing, needs no key.
    checkRuntimeConfig(config, process.env, { requireKeys: options.dryRun !== true });
  } catch (error) {
    throw inConfigFile(error, configPath);
  }
  const ig = config.interaction_generation;
  applyHeapPolicy(ig.max_workers); // thousands in flight: keep the heap near the live set (run/heap.ts)
  const taskOptions = {
    seed: ig.seed,
    samplesPerQuery: ig.samples_per_query,
    ...(ig.queries_per_persona !== undefined ? { queriesPerPersona: ig.queries_per_persona } : {}),
  };

  const budget = {
    ...(options.budgetUsd !== undefined ? { usd: options.budgetUsd } : {}),
    ...(options.budgetTokens !== undefined ? { tokens: options.budgetTokens } : {}),
  };
  if (options.dryRun) return dryRun(config, options, budget);
  // The model thread loads the SDK while this thread reads the personas (the queue's coordinator
  // makes no model calls; --verbose keeps calls in-process).
  if (options.queue === undefined && !options.verbose && options.logLevel !== "debug")
    await warmModelThreadFor(modelConfigs(config).map(({ model }) => model));

  let personas: Parameters<typeof generate>[0]["personas"];
  let personasName: string;
  let total: number | undefined;
  if (options.personas === undefined) {
    const sample: Persona[] = samplePersonas();
    personas = from(sample);
    personasName = "built-in sample";
    total = sample.reduce((n, p) => n + personaTasks(p, taskOptions).length, 0);
  } else if (options.personas === "-") {
    personas = process.stdin;
    personasName = "stdin";
  } else {
    personas = options.personas;
    personasName = options.personas;
    total = await prevalidate(options.personas, ig.query_generation.enabled, taskOptions);
  }
  if (total !== undefined && options.limit !== undefined) total = Math.min(total, options.limit);
  if (options.queue !== undefined) {
    if (!options.out)
      throw new InputError({ field: "--queue", message: "needs --out DIR (the coordinator saves there)" });
    refuseWhatTheQueueCannotDoYet(ig);
    return runCoordinator(
      options.queue,
      {
        config,
        personas,
        personasName,
        out: options.out,
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(Object.keys(budget).length > 0 ? { budget } : {}),
      },
      { quiet: options.quiet === true, ...(total !== undefined ? { total } : {}) },
    );
  }

  // Before any call: an --out or --cache-dir that cannot be written fails now (exit 2), not
  // after paying for calls; an unusable default cache folder is a warning and no cache.
  if (options.out) await preflightOutputFolder(options.out);
  const cacheChoice = await preflightResponseCache(
    { enabled: options.cache !== false, ...(options.cacheDir ? { dir: options.cacheDir } : {}) },
    (line) => process.stderr.write(`${line}\n`),
  );

  const printer = options.quiet
    ? undefined
    : await progressDisplay(process.stderr, {
        ...(total !== undefined ? { total } : {}),
        live: liveProgress(process.stderr, process.stdout, options.out === undefined),
        failuresAt: options.out
          ? outputPaths(options.out).failures
          : "the NDJSON on stdout (records with error_kind)",
      });
  // Lines said during the run go above a live display, never into it.
  const say = (line: string) => (printer ? printer.note(line) : process.stderr.write(`${line}\n`));
  // Models are built inside generate(): the call log must be on before it starts.
  if (options.verbose || options.logLevel === "debug") setCallLogger((line) => say(terminalLine(line)));
  const stop = new AbortController();
  const abort = new AbortController();
  // First signal: stop (generate() calls onStop, which says what happens); second: abort the
  // calls in flight; third: exit at once, for a run that still does not end (docs/outputs.md).
  let signals = 0;
  let grace: NodeJS.Timeout | undefined;
  const onSigint = () => {
    signals++;
    if (signals === 1) {
      stop.abort();
      // A request already sent may hang (a stalled endpoint holds it until request_timeout):
      // calls still running this long after the stop are aborted, as by a second signal.
      grace = setTimeout(() => {
        say(`calls still running ${STOP_GRACE_MS / 1000} s after the stop: aborted`);
        abort.abort();
      }, STOP_GRACE_MS);
      grace.unref();
    } else if (signals === 2) {
      say("aborting the calls in flight; writing what was spent (signal again to exit at once)");
      abort.abort();
    } else {
      process.stderr.write("\nexiting at once: calls in flight may be missing from usage.ndjson\n");
      process.exit(EXIT.interrupted);
    }
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  try {
    const summary = await generate({
      config,
      personas,
      personasName,
      requirePersonas: true, // an empty input is nothing to do: exit 2, like prevalidate and --dry-run
      ...(options.out ? { out: options.out } : { ndjson: process.stdout }),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(cacheChoice.enabled ? {} : { cache: false as const }),
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(Object.keys(budget).length > 0 ? { budget } : {}),
      stopSignal: stop.signal,
      abortSignal: abort.signal,
      onStop: (s) =>
        say(
          `stopping (${s.done} done, ${s.inFlight} in flight): no new conversation starts; those in flight end at their next model call, unsaved — rerunning the same command redoes them, replaying their calls from the cache (signal again to abort calls in flight)`,
        ),
      onNotice: say,
      ...(printer ? { onProgress: (s: ProgressSnapshot) => printer.update(s) } : {}),
    });
    printer?.end(summary);
    if (options.out && !options.quiet) process.stderr.write(`${savedLine(options.out, summary)}\n`);
    return runExitCode(summary);
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    clearTimeout(grace);
    setCallLogger(undefined);
  }
}

/** The last line: a folder is named only when it exists and holds what this run saved. */
function savedLine(out: string, summary: RunSummary): string {
  const unsaved =
    summary.interruptedConversations > 0
      ? `; ${summary.interruptedConversations} stopped conversation(s) not saved (rerun to redo them)${existsSync(outputPaths(out).usage) ? `, their spend is in ${out}/usage.ndjson` : ""}`
      : "";
  const saved = summary.done + summary.failed > 0 && existsSync(outputPaths(out).index);
  return saved ? `saved to ${out}/ (index: ${out}/index.json)${unsaved}` : `nothing saved${unsaved}`;
}

/** --dry-run: what the run would cost, from the personas alone; no model call, no key needed. */
async function dryRun(
  config: Awaited<ReturnType<typeof loadConfig>>,
  options: GenerateCommandOptions,
  budget: { usd?: number; tokens?: number },
): Promise<number> {
  const ig = config.interaction_generation;
  const personas$ =
    options.personas === undefined
      ? from(samplePersonas())
      : readPersonas(options.personas === "-" ? process.stdin : options.personas, {
          name: options.personas === "-" ? "stdin" : options.personas,
          requireAny: true, // like prevalidate and a run: no personas is nothing to do
        }).pipe(tap(requireQueries(ig.query_generation.enabled, options.personas)));
  if (options.out) await preflightOutputFolder(options.out, { create: false });
  // Only files that really hold their interaction are done (a broken one would be redone).
  const completed = options.out ? await loadCompleted(options.out) : undefined;
  const estimate = await estimateRunFrom(config, personas$, new PriceTable(config.pricing), {
    ...(completed ? { skip: completed } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  });
  const spent = options.out ? await spentInOutput(options.out) : undefined;
  process.stdout.write(
    `${estimate.format({ ...(spent ? { spent } : {}), budget, ...(options.out ? { out: options.out } : {}) })}\n`,
  );
  return EXIT.ok;
}
