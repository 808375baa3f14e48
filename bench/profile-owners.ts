// Reads a .cpuprofile (node --cpu-prof) and attributes every sample to its owner: the nearest
// frame on the stack that belongs to convosim (dist/src/<file>) or to a package
// (node_modules/<name>). Node internals called from convosim's code — abort signals, promises,
// file handles — thus count as convosim's, which is where the cost was decided. Prints a table,
// in microseconds per call when the number of calls is given.
//   node dist/bench/profile-owners.js PROFILE.cpuprofile [CALLS] [ROWS]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, callsArg, rowsArg] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-owners PROFILE.cpuprofile [CALLS] [ROWS]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const calls = Number(callsArg ?? 0);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);

const SPECIAL = new Set(["(garbage collector)", "(idle)", "(program)"]);
function ownerOfFrame(n: ProfileNode): string | undefined {
  const { url, functionName } = n.callFrame;
  if (SPECIAL.has(functionName)) return functionName;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  const own = /dist\/(src|bench)\/(.*)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return undefined;
}

const cache = new Map<number, string>();
function owner(id: number): string {
  const known = cache.get(id);
  if (known) return known;
  const node = byId.get(id);
  let result = "node (no caller in js: timers, I/O callbacks, microtasks)";
  if (node) {
    const own = ownerOfFrame(node);
    const up = parent.get(id);
    if (own) result = own;
    else if (up !== undefined && byId.get(up)?.callFrame.functionName !== "(root)") result = owner(up);
  }
  cache.set(id, result);
  return result;
}

const totals = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const who = owner(id);
  totals.set(who, (totals.get(who) ?? 0) + dt);
  total += dt;
});

const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 30));
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms sampled${calls ? `, ${calls} calls` : ""}\n`);
for (const [who, us] of rows) {
  const perCall = calls ? `${(us / calls).toFixed(1).padStart(8)} µs/call` : "";
  process.stdout.write(
    `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}% ${perCall}  ${who}\n`,
  );
}
