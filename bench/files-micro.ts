// Micro-benchmark of one JSON file per interaction: CPU per file (process.cpuUsage: every thread
// of the process, libuv's pool and the writer thread included) of
//   - fs/promises writeFile (what a plain program does; not atomic),
//   - atomicWriteFile (temp file + rename through libuv's pool: four hops per file),
//   - FileWriterThread (the same temp file + rename, synchronous on a thread of its own),
// each with one file at a time (how the files sink saves) and with 16 in flight. 1,200 files of
// 6 KB into a fresh folder (tmpfs when the machine has /dev/shm), 3 rounds, medians.
//   npm run build && node dist/bench/files-micro.js [--dir DIR] [--files N]
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { atomicWriteFile } from "../src/sinks/atomic-file.js";
import { FileWriterThread } from "../src/sinks/writer-thread.js";
import { median, round } from "./measure.js";

const { values } = parseArgs({
  options: {
    dir: {
      type: "string",
      default: join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "convosim-files-micro"),
    },
    files: { type: "string", default: "1200" },
  },
});
const FILES = Number(values.files);
const ROUNDS = 3;
const text = `${JSON.stringify({ messages: [{ content: "x".repeat(6000) }] }, null, 2)}\n`;
const dir = values.dir;

type Write = (path: string) => Promise<void>;

async function oneAtATime(write: Write): Promise<void> {
  for (let i = 0; i < FILES; i++) await write(join(dir, `f${i}.json`));
}

async function sixteenInFlight(write: Write): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < FILES; i++) {
    const p = write(join(dir, `f${i}.json`)).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 16) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** CPU per file in µs. */
async function measure(run: () => Promise<void>): Promise<number> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / FILES;
}

const thread = new FileWriterThread();
const writers: Record<string, Write> = {
  "fs/promises writeFile": (path) => writeFile(path, text),
  atomicWriteFile: (path) => atomicWriteFile(path, text),
  FileWriterThread: (path) => thread.write(path, text),
};
const results = new Map<string, number[]>();
const record = (name: string, value: number) => results.set(name, [...(results.get(name) ?? []), value]);
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, write] of Object.entries(writers)) {
    record(`${name}, one at a time`, await measure(() => oneAtATime(write)));
    record(`${name}, 16 in flight`, await measure(() => sixteenInFlight(write)));
  }
}
await thread.close();
rmSync(dir, { recursive: true, force: true });
console.log(`${FILES} files of ${text.length} bytes into ${dir}; CPU per file, µs (median of ${ROUNDS}):`);
for (const [name, list] of results)
  console.log(
    `  ${name.padEnd(36)} ${round(median(list), 1)}   (${list.map((v) => round(v, 1)).join(", ")})`,
  );
