// Shared by the bench runners: what one measured run reports.
export interface RunMeasurement {
  label: string;
  wallMs: number;
  /** User + system CPU of this process. */
  cpuMs: number;
  /** Peak resident set size of this process. */
  maxRssMb: number;
  calls: number;
  [key: string]: unknown;
}

export function measureSince(
  label: string,
  startedAt: number,
  cpuAtStart: NodeJS.CpuUsage,
  calls: number,
): RunMeasurement {
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    label,
    wallMs: performance.now() - startedAt,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    calls,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
