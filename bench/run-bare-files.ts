// Child process: the output files' share of the bound convosim is compared with. Writes the
// interaction files of an earlier convosim run (DIR/interactions/*.json, read into memory first,
// not measured) into a fresh folder, one plain writeFile at a time — what any program saving the
// same output, one JSON file per interaction, must pay at least. On this bench's machine nearly
// all of it is the kernel's cost of creating a file. Prints one JSON RunMeasurement, with `calls`
// the number of model calls those interactions took (so per-call figures line up with generate()).
//   node dist/bench/run-bare-files.js --from DIR --out DIR --calls N
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { measureSince } from "./measure.js";

const { values } = parseArgs({
  options: { from: { type: "string" }, out: { type: "string" }, calls: { type: "string" } },
});
if (!values.from || !values.out || !values.calls) {
  throw new Error("run-bare-files: --from, --out and --calls are required");
}
const source = join(values.from, "interactions");
const files = readdirSync(source)
  .filter((name) => name.endsWith(".json"))
  .map((name) => ({ name, text: readFileSync(join(source, name), "utf8") }));
if (files.length === 0) throw new Error(`run-bare-files: no interaction files in ${source}`);
mkdirSync(values.out, { recursive: true });

const startedAt = performance.now();
const cpu = process.cpuUsage();
for (const file of files) await writeFile(join(values.out, file.name), file.text);
process.stdout.write(
  `${JSON.stringify({ ...measureSince("bare files", startedAt, cpu, Number(values.calls)), files: files.length })}\n`,
);
