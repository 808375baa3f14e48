// `convosim stats DIR [--json]`: the run's statistics as readable text, or one JSON document
// (stdout only, so `convosim stats DIR --json | jq` always gets valid JSON).
import type { Command } from "commander";
import { terminalJson } from "../shared/terminal-text.js";

/** Writes `text` to stdout; a reader gone (`| head`) is an EPIPE error, which ends quietly. */
async function print(text: string): Promise<void> {
  const { StreamAppender } = await import("../sinks/append.js");
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
      // Loaded here, not at the top: every command registers this one (src/cli/main.ts, start-up).
      const { requireOutputFolder } = await import("./output-folder-arg.js");
      await requireOutputFolder(dir);
      const { computeStats, formatStats } = await import("../run/stats.js");
      const { unreadableFileLine } = await import("../run/output-reader.js");
      const stats = await computeStats(dir, {
        onUnreadable: (error) => process.stderr.write(`${unreadableFileLine(error)}\n`),
      });
      await print(
        options.json ? `${terminalJson(JSON.stringify(stats, null, 2))}\n` : `${formatStats(stats)}\n`,
      );
    });
}
