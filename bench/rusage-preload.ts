// Loaded with `node --import` into a convosim process the queue bench starts (coordinator,
// workers, in-process run): when the process exits, its own CPU time and peak RSS go to the file
// named by CONVOSIM_BENCH_RUSAGE, so the parent can add up every process of a run. Nothing else
// changes in the process.
import { writeFileSync } from "node:fs";

const path = process.env.CONVOSIM_BENCH_RUSAGE;
if (path) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(
      path,
      JSON.stringify({
        cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000,
        systemMs: u.systemCPUTime / 1000,
        maxRssMb: u.maxRSS / 1024,
      }),
    );
  });
}
