// `convosim stats DIR [--json]`: the run's statistics as readable text, or one JSON document
// (stdout only, so `convosim stats DIR --json | jq` always gets valid JSON).
import type { Command } from "commander";
import { unreadableFileLine } from "../run/output-reader.js";
import { computeStats, formatStats } from "../run/stats.js";
import { terminalJson } from "../shared/terminal-text.js";
import { StreamAppender } from "../sinks/append.js";
import { requireOutputFolder } from "./output-folder-arg.js";

/** Writes `text` to stdout; a reader gone (`| head`) is an EPIPE error, which ends quietly. */
async function print(text: string): Promise<void> {
  const stdout = new StreamAppender(process.stdout);
  try {
    await stdout.append(text);
  } finally {
    await stdout.close();
  }
}

export function registerStatsCommand(program: Command): void {
  program
    .command("stats <dir>")
    .description(
      "counts, success rate, turns, message lengths, stop reasons, models, persona coverage, noise, tokens and cost, failures",
    )
    .option("--json", "print one JSON document")
    .action(async (dir: string, options: { json?: boolean }) => {
      await requireOutputFolder(dir);
      const stats = await computeStats(dir, {
        onUnreadable: (error) => process.stderr.write(`${unreadableFileLine(error)}\n`),
      });
      await print(
        options.json ? `${terminalJson(JSON.stringify(stats, null, 2))}\n` : `${formatStats(stats)}\n`,
      );
    });
}
