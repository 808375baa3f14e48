// Preloaded into a process the bench cannot instrument otherwise (the convosim CLI), with
// `node --import <this file>`: when the process exits, its own CPU time and peak RSS are written
// as JSON to the file named by CONVOSIM_BENCH_USAGE. Nothing else changes in the process.
import { writeFileSync } from "node:fs";

const target = process.env.CONVOSIM_BENCH_USAGE;
if (target) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(
      target,
      JSON.stringify({
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        systemMs: usage.systemCPUTime / 1000,
        maxRssMb: usage.maxRSS / 1024,
      }),
    );
  });
}
