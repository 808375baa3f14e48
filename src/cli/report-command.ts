// `convosim report DIR [-o FILE]`: the run's statistics as plots plus a filterable sample of
// conversations, in one HTML file that opens offline.
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { DEFAULT_SAMPLE_SIZE } from "../report/defaults.js";

export interface ReportCommandOptions {
  output?: string;
  sample?: number;
  seed?: number;
  title?: string;
}

function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isInteger(parsed) || parsed < 0)
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0 (got ${value})`);
    return parsed;
  };
}

export async function runReport(
  dir: string,
  options: ReportCommandOptions,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  // Loaded here, not at the top: every command registers this one, and only `report` renders.
  const { requireOutputFolder } = await import("./output-folder-arg.js");
  await requireOutputFolder(dir);
  const { writeReport } = await import("../report/build.js");
  const { unreadableFileLine } = await import("../run/output-reader.js");
  const output = options.output ?? join(dir, "report.html");
  const report = await writeReport(dir, output, {
    ...(options.sample !== undefined ? { sample: options.sample } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.title !== undefined ? { title: options.title } : {}),
    onUnreadable: (error) => stderr.write(`${unreadableFileLine(error)}\n`),
  });
  stderr.write(
    `wrote ${output}: ${report.plots} plots, ${report.sampled} of ${report.stats.interactions} conversations in the sample\n`,
  );
}

export function registerReportCommand(program: Command): void {
  program
    .command("report <dir>")
    .description(
      "one self-contained HTML file: plots of the statistics and a filterable sample of conversations",
    )
    .option("-o, --output <file>", "where to write the report (default DIR/report.html)")
    .option(
      "--sample <n>",
      `conversations in the browsable sample (default ${DEFAULT_SAMPLE_SIZE})`,
      nonNegativeInteger("--sample"),
    )
    .option("--seed <n>", "seed of the sample (default 0)", nonNegativeInteger("--seed"))
    .option("--title <text>", "page title")
    .action(async (dir: string, options: ReportCommandOptions) => {
      await runReport(dir, options);
    });
}
