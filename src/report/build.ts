// `convosim report`: one pass over the output folder feeds both the statistics and the
// conversation sample, then the page is rendered and written atomically (a reader never
// sees half a report) — or, to a device or named pipe, written through in place.
import { writeFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { openOutputFile, refuseInsideFolder } from "../exports/output-file.js";
import { computeStats, type RunStats } from "../run/stats.js";
import { withDiskFullPath } from "../shared/fs-errors.js";
import { atomicWriteFile } from "../sinks/atomic-file.js";
import type { CorruptFileError } from "../sinks/layout.js";
import { DEFAULT_SAMPLE_SIZE } from "./defaults.js";
import { renderPage } from "./page.js";
import { figures } from "./plots.js";
import { ConversationSampler } from "./sample.js";
import { simulatedUserFigures } from "./simulated-user.js";

export { DEFAULT_SAMPLE_SIZE };

export interface ReportOptions {
  /** Conversations shown in the browsable sample (default 200; 0 shows none). */
  sample?: number;
  /** Seed of the sample: the same seed and folder give the same sample. Default 0. */
  seed?: number;
  /** Page title (default "convosim report: <folder name>"). */
  title?: string;
  /** The time printed on the page (default now); fix it for byte-identical rebuilds. */
  generatedAt?: Date;
  /** Hears of each interaction file that cannot be read (skipped; see RunStats.unreadable_files). */
  onUnreadable?: (error: CorruptFileError) => void;
}

export interface Report {
  html: string;
  stats: RunStats;
  /** Conversations in the sample. */
  sampled: number;
  /** Plots in the page. */
  plots: number;
}

export async function buildReport(dir: string, options: ReportOptions = {}): Promise<Report> {
  const size = options.sample ?? DEFAULT_SAMPLE_SIZE;
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError(`sample must be an integer ≥ 0 (got ${size})`);
  const seed = options.seed ?? 0;
  const sampler = new ConversationSampler(size, seed);
  const stats = await computeStats(dir, {
    onInteraction: (interaction) => sampler.offer(interaction),
    ...(options.onUnreadable ? { onUnreadable: options.onUnreadable } : {}),
  });
  const sample = sampler.result();
  const plots = figures(stats);
  const userFigures = simulatedUserFigures(stats);
  const html = renderPage({
    title: options.title ?? `convosim report: ${basename(resolve(dir))}`,
    source: dir,
    generatedAt: options.generatedAt ?? new Date(),
    stats,
    figures: plots,
    userFigures,
    sample,
    seed,
  });
  return { html, stats, sampled: sample.length, plots: plots.length + userFigures.length };
}

/** Inside the folder reported on, only an .html file (the default DIR/report.html) may be written. */
const htmlOutsideInteractions = (relative: string): boolean =>
  relative.endsWith(".html") && !relative.startsWith("interactions");

/**
 * Builds the report of `dir` and writes it to `output`: a regular file atomically (temp file,
 * then rename; through a symlink, its target is replaced), a device or named pipe in place.
 * Refused before any reading: a folder, and a path inside `dir` other than an .html file.
 */
export async function writeReport(dir: string, output: string, options: ReportOptions = {}): Promise<Report> {
  await refuseInsideFolder(output, dir, "--output", htmlOutsideInteractions);
  const file = await openOutputFile(output, "--output", "");
  const report = await buildReport(dir, options);
  try {
    if (file.renameTo === undefined) await writeFile(file.writePath, report.html);
    else await atomicWriteFile(file.renameTo, report.html);
  } catch (error) {
    throw withDiskFullPath(error, output);
  }
  return report;
}
