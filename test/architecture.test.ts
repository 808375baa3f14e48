// The layering of docs/architecture.md, enforced: imports point downstream only
// (sources → operators → conversation → providers; sinks depend on schema only), and no
// module imports itself round in a cycle.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../src");

// What each top-level folder of src/ may import besides itself (shared/ — small helpers that
// import nothing — is open to every folder).
const RUN_DEPS = [
  "config",
  "sources",
  "operators",
  "conversation",
  "providers",
  "sinks",
  "limits",
  "cache",
  "noise",
];
const LAYERS: Record<string, readonly string[]> = {
  shared: [],
  schema: [],
  config: ["schema"],
  providers: ["schema"],
  conversation: ["schema", "providers"],
  limits: ["schema", "providers"],
  cache: ["schema", "providers"],
  noise: ["schema", "providers"],
  operators: ["schema", "conversation", "providers", "limits", "cache", "noise"],
  sources: ["schema", "config"],
  sinks: ["schema"],
  run: ["schema", ...RUN_DEPS],
  exports: ["schema", "config", "sinks", "run"],
  report: ["schema", "sinks", "run", "exports"],
  queue: ["schema", ...RUN_DEPS, "run"],
  api: ["schema", ...RUN_DEPS, "run", "exports", "report"],
  cli: ["schema", ...RUN_DEPS, "run", "queue", "api", "exports", "report"],
  ".": ["schema", ...RUN_DEPS, "run", "api", "exports", "report"],
};
const ALLOWED: Record<string, readonly string[]> = Object.fromEntries(
  Object.entries(LAYERS).map(([layer, deps]) => [layer, layer === "shared" ? deps : [...deps, "shared"]]),
);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const layerOf = (path: string) => {
  const rel = relative(SRC, path);
  return rel.includes("/") ? rel.split("/")[0]! : ".";
};

function imports(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]!);
  return found.map((spec) => resolve(dirname(path), spec).replace(/\.js$/, ".ts"));
}

describe("architecture", () => {
  const all = files(SRC);

  it("imports point downstream only", () => {
    const violations: string[] = [];
    for (const file of all) {
      const from = layerOf(file);
      for (const target of imports(file)) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from]?.includes(to))
          violations.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("has no import cycles", () => {
    const graph = new Map(all.map((f) => [f, imports(f).filter((t) => t.startsWith(SRC))]));
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "visiting") {
        cycles.push([...path.slice(path.indexOf(node)), node].map((p) => relative(SRC, p)).join(" → "));
        return;
      }
      state.set(node, "visiting");
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, "done");
    };
    for (const file of all) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("keeps files small enough to read (none over 500 lines)", () => {
    const long = all
      .filter((f) => readFileSync(f, "utf8").split("\n").length > 500)
      .map((f) => relative(SRC, f));
    expect(long).toEqual([]);
  });
});
