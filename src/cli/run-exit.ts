// A finished run's exit code and the line that explains it, the same for a local run
// (generate-command.ts) and a queued one (queue-commands.ts): interrupted 130, an endpoint given
// up on 3 (a refused key 2), the budget reached 4, some conversations failed 3, else 0.
import { describeDown } from "../operators/progress.js";
import type { RunSummary } from "../run/generate.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
import { terminalLine } from "../shared/terminal-text.js";
import { EXIT } from "./fail.js";

export function runExitCode(summary: RunSummary): number {
  if (summary.interrupted) return EXIT.interrupted;
  if (summary.endpointsDown.length > 0) return endpointDownExit(summary);
  if (summary.notStarted > 0) {
    // A queued run: a worker gave up on an endpoint and handed its conversations back unstarted.
    process.stderr.write(
      `${summary.notStarted} conversation(s) not started: a worker gave up on their endpoint (see failures.ndjson) — rerun to retry\n`,
    );
    // A refused key is bad input, as in a local run (exit 2); an endpoint down is exit 3.
    const refused = summary.failureCounts.some((count) => count.error_kind === "auth");
    return refused ? EXIT.authRefused : EXIT.endpointDown;
  }
  if (summary.budgetExhausted) {
    process.stderr.write(
      `${summary.budgetSummary ?? "budget reached"}; rerun with a larger budget to continue\n`,
    );
    return EXIT.budgetReached;
  }
  return summary.failed > 0 ? EXIT.someFailed : EXIT.ok;
}

/** "endpoint … down: …; 30 conversations not started — rerun to retry", and its exit code. */
function endpointDownExit(summary: RunSummary): number {
  const notStarted =
    summary.notStarted > 0
      ? `; ${summary.notStarted} conversation${summary.notStarted === 1 ? "" : "s"} not started — rerun to retry`
      : "; rerun to retry";
  for (const down of summary.endpointsDown)
    process.stderr.write(`${terminalLine(scrubSecrets(describeDown(down)))}${notStarted}\n`);
  return summary.endpointsDown.some((down) => down.kind === "auth") ? EXIT.authRefused : EXIT.endpointDown;
}
