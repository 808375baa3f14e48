// `convosim noise`, the work (its flags: noise-command.ts): preview and tune the noise layers.
// Reads messages from stdin, one per line, and prints one JSON result per line, or with --report
// a realism summary per persona type.
// The noiser is built from an options object by buildNoiser, so further layers (semantic,
// --config) can slot in without touching the reading and printing.
import { InputError } from "../config/errors.js";
import { applyNoise, type NoiseOptions } from "../noise/apply.js";
import { formatRealismReport, PERSONA_TYPES, realismReport } from "../noise/report.js";
import type { NoiseResult } from "../schema/noise.js";
import { terminalJson, terminalText } from "../shared/terminal-text.js";
import { StreamAppender } from "../sinks/append.js";
import { readLines } from "../sources/lines.js";
import { openInput } from "../sources/open.js";
import { EXIT } from "./fail.js";
import { distractorNoiser, wantsDistractor } from "./noise-distractor.js";

export interface NoiseCommandOptions {
  /** Persona features as JSON (or a persona record with `persona_features`). */
  persona?: string;
  seed?: number;
  probability?: number;
  /** Turn every message is treated as (default 1); later turns are noisier. */
  turn?: number;
  channel?: string;
  report?: boolean;
  /** With --report: print the report as JSON. */
  json?: boolean;
  /** Preview the distractor of this config (gate, layer weights, strategy file, steering). */
  config?: string;
  /** Turn the semantic (model-driven) layers on (docs/noise-generation.md). */
  semantic?: boolean;
}

export interface NoiseIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
}

/** Noises message `index` (0-based line number) of the input. */
export type Noiser = (text: string, index: number) => NoiseResult | Promise<NoiseResult>;

/** The persona features of --persona: an object of features, or a persona with persona_features. */
export function parsePersona(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  const hint = `pass a JSON object, e.g. --persona '{"communication_style":"casual","device":"mobile"}'`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError({
      file: "command line",
      field: "--persona",
      message: `not valid JSON (${(error as Error).message}); ${hint}`,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError({
      file: "command line",
      field: "--persona",
      message: "must be a JSON object",
      hint,
    });
  }
  const record = value as Record<string, unknown>;
  const nested = record.persona_features ?? record.features;
  if (nested !== undefined && nested !== null && typeof nested === "object" && !Array.isArray(nested)) {
    return nested as Record<string, unknown>;
  }
  return record;
}

/** The NoiseOptions the flags stand for (shared by the per-line output and the report). */
export function noiseOptionsOf(options: NoiseCommandOptions): NoiseOptions {
  return {
    seed: options.seed ?? 0,
    probability: options.probability ?? 0.25,
    turn: options.turn ?? 1,
    ...(options.channel ? { channel: options.channel } : {}),
  };
}

/** The rule-based noiser: each line is its own interaction ("line:<n>"), so lines are independent. */
export function buildNoiser(options: NoiseCommandOptions): Noiser {
  const persona = parsePersona(options.persona);
  const base = noiseOptionsOf(options);
  return (text, index) => applyNoise(text, persona, { ...base, interactionId: `line:${index + 1}` });
}

/** The fields printed for one message (NoiseResult with original_text first). */
function printable(result: NoiseResult) {
  const { original_text, noisy_text, layer, applied_strategies, edits, changed, layers, channel, ...rest } =
    result;
  return { original_text, noisy_text, layer, applied_strategies, edits, changed, layers, channel, ...rest };
}

/**
 * Stdin's lines through the persona reader's line splitter: a line over 16 MiB, NUL bytes or
 * invalid UTF-8 are bad input naming the line (readline would buffer an endless line for ever).
 */
async function* lines(stdin: NodeJS.ReadableStream): AsyncGenerator<string> {
  const source = await openInput(stdin, "stdin");
  for await (const line of readLines(source)) yield line.text;
}

export async function runNoise(
  options: NoiseCommandOptions,
  io: NoiseIO = { stdin: process.stdin, stdout: process.stdout },
): Promise<number> {
  // --config/--semantic: the config's distractor (src/cli/noise-distractor.ts) instead.
  const preview = wantsDistractor(options)
    ? await distractorNoiser(options, parsePersona(options.persona))
    : undefined;
  // One appender for the whole run: each write waits for stdout, and a reader gone (`| head`)
  // fails the next write with EPIPE (ended quietly by fail.ts) instead of crashing the process.
  const stdout = new StreamAppender(io.stdout);
  const write = (text: string): Promise<void> => stdout.append(text);
  try {
    const noiser: Noiser = preview ? preview.noise : buildNoiser(options); // validates --persona before reading anything
    if (options.report) {
      // The report measures the rule-based layers (no model calls), whatever the flags.
      const messages: string[] = [];
      for await (const line of lines(io.stdin)) if (line.trim() !== "") messages.push(line);
      const personas =
        options.persona === undefined
          ? PERSONA_TYPES
          : { custom: parsePersona(options.persona), ...PERSONA_TYPES };
      const report = realismReport(messages, personas, noiseOptionsOf(options));
      await write(
        options.json
          ? `${terminalJson(JSON.stringify(report, null, 2))}\n`
          : terminalText(formatRealismReport(report)),
      );
      return EXIT.ok;
    }
    let index = 0;
    for await (const line of lines(io.stdin)) {
      await write(`${terminalJson(JSON.stringify(printable(await noiser(line, index++))))}\n`);
    }
    return EXIT.ok;
  } finally {
    await stdout.close();
    // The preview's model (if any) is released on every way out, the report and errors included.
    await preview?.close();
  }
}
