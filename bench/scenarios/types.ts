// What every scenario returns: a JSON-able result that bench/index.ts writes to
// bench/results/<name>.json and renders into BENCHMARKS.md. The headline is "measured / ideal":
// the measured figure next to the bound it is judged against, the bound being either computed
// (latency × calls / workers) or measured in the same run (the bare SDK on the same calls).
export interface Check {
  /** What is judged, e.g. "peak RSS". */
  what: string;
  measured: number;
  unit: string;
  /** As written in the issue, e.g. "< 1.5 GB". */
  target: string;
  met: boolean;
}

export interface ScenarioResult {
  name: string;
  title: string;
  /** One or two sentences: what ran, against what. */
  setup: string;
  /** The headline pair; absent for skipped scenarios. */
  headline?: {
    label: string;
    measured: number;
    ideal: number;
    unit: string;
    /** What "ideal" is, e.g. "calls × latency / workers" or "bare SDK, same calls, same run". */
    idealIs: string;
  };
  checks: Check[];
  /** Set when the scenario could not run its measurement; the reason is printed, no figure. */
  skipped?: string;
  notes: string[];
  /** Side-by-side figures (e.g. one row per tool), rendered as markdown tables before the notes. */
  tables?: Array<{ caption: string; header: string[]; rows: string[][] }>;
  /** Every run's raw measurement, for whoever wants to recompute. */
  details: Record<string, unknown>;
  durationS: number;
}

export type Scenario = () => Promise<Omit<ScenarioResult, "durationS">>;

export function check(what: string, measured: number, unit: string, target: string, met: boolean): Check {
  return { what, measured, unit, target, met };
}
