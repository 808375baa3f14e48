// BENCHMARKS.md from the scenario results: a summary table (measured / ideal, targets met or
// not), then one section per scenario with its setup, checks and notes. Every number comes from
// bench/results/*.json.
import type { machine } from "./measure.js";
import type { ScenarioResult } from "./scenarios/types.js";

type Machine = ReturnType<typeof machine>;
type Result = ScenarioResult & { date: string; machine: Machine };

const fmt = (value: number) => (Number.isInteger(value) ? value.toLocaleString("en-US") : String(value));

function ratio(r: Result): string {
  const h = r.headline;
  if (!h || h.ideal === 0) return "";
  return `${(h.measured / h.ideal).toFixed(2)}`;
}

function verdict(r: Result): string {
  if (r.skipped) return "skipped";
  const met = r.checks.filter((c) => c.met).length;
  return met === r.checks.length ? `all ${met} met` : `${met} of ${r.checks.length} met`;
}

export function renderMarkdown(
  results: readonly Result[],
  run: { machine: Machine; date: string; totalS: number; wanted: readonly string[] },
): string {
  const m = run.machine;
  const lines: string[] = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` from `bench/results/*.json`; what each scenario does and how to run",
    "one alone: [docs/benchmarks.md](docs/benchmarks.md).",
    "",
    `Machine: ${m.cpus} × ${m.cpu}, ${m.memory_gb} GB, Node ${m.node}, ${m.platform}. ` +
      `Written ${run.date}` +
      (run.wanted.length > 0
        ? ` after running ${run.wanted.join(", ")} (${run.totalS.toFixed(0)} s); other scenarios keep the date shown.`
        : `; the whole suite took ${run.totalS.toFixed(0)} s.`),
    "",
    "| scenario | measured | ideal / bound | measured ÷ ideal | targets |",
    "|---|---|---|---|---|",
  ];
  for (const r of results) {
    const h = r.headline;
    lines.push(
      r.skipped || !h
        ? `| ${r.title} | — | — | — | ${verdict(r)} |`
        : `| ${r.title} | ${fmt(h.measured)} ${h.unit} | ${fmt(h.ideal)} ${h.unit} | ${ratio(r)} | ${verdict(r)} |`,
    );
  }
  for (const r of results) {
    lines.push("", `## ${r.title}`, "");
    lines.push(`Run ${r.date} in ${r.durationS.toFixed(0)} s. ${r.setup}`.trim(), "");
    if (r.skipped) {
      lines.push(`**Skipped:** ${r.skipped}.`);
      continue;
    }
    if (r.headline) {
      const h = r.headline;
      lines.push(
        `**${h.label}: ${fmt(h.measured)} ${h.unit}** against ${fmt(h.ideal)} ${h.unit} (${h.idealIs}).`,
        "",
      );
    }
    if (r.checks.length > 0) {
      lines.push("| check | measured | target | met |", "|---|---|---|---|");
      for (const c of r.checks) {
        const unit = c.unit ? ` ${c.unit}` : "";
        lines.push(`| ${c.what} | ${fmt(c.measured)}${unit} | ${c.target} | ${c.met ? "yes" : "**no**"} |`);
      }
      lines.push("");
    }
    for (const t of r.tables ?? []) {
      lines.push(
        `${t.caption}:`,
        "",
        `| ${t.header.join(" | ")} |`,
        `|${t.header.map(() => "---").join("|")}|`,
      );
      for (const row of t.rows) lines.push(`| ${row.join(" | ")} |`);
      lines.push("");
    }
    for (const note of r.notes) lines.push(`- ${note}`);
  }
  return `${lines.join("\n")}\n`;
}
