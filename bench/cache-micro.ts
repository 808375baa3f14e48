// Micro-benchmark of the response cache's own CPU (process.cpuUsage: user + system, every thread
// of the process, libuv's file-system threads included), outside any run:
//   - put, cold cache: 20,000 entries of 1–2 KB, either paced (one put per event-loop turn, as
//     results arrive in a run) or in a burst (all in one turn), then flush();
//   - get, warm: a new instance (a later run), its index built by a first get (reported apart),
//     then 20,000 hits and 20,000 misses;
//   - paced puts per segment write (group commit), for a cache that counts its writeGroups.
// The cost of the loop itself (an empty paced loop) is subtracted. Repeated 3× (BENCH_ROUNDS),
// medians reported, since the machine is shared.
//
//   npm run build && node dist/bench/cache-micro.js
//   node dist/bench/cache-micro.js --module <file.js> --class <Name>   another ResponseCache class,
//     e.g. the former one-file-per-entry cache, for a before/after comparison:
//       for f in file-cache entry types; do git show c3994cb~1:src/cache/$f.ts > /tmp/old/$f.ts; done
//       npx tsc --noCheck --module nodenext --target es2022 --outDir /tmp/old/js /tmp/old/file-cache.ts
//       node dist/bench/cache-micro.js --module /tmp/old/js/file-cache.js --class FileResponseCache
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { ResponseCache } from "../src/cache/types.js";
import type { ChatResult } from "../src/providers/types.js";
import { median, round } from "./measure.js";

type Factory = (dir: string) => ResponseCache;

const { values } = parseArgs({
  options: {
    module: { type: "string" },
    class: { type: "string" },
    entries: { type: "string", default: "20000" },
    rounds: { type: "string", default: process.env.BENCH_ROUNDS ?? "3" },
  },
});
const ENTRIES = Number(values.entries);
const ROUNDS = Number(values.rounds);

async function loadFactory(): Promise<{ name: string; create: Factory }> {
  if (values.module) {
    const name = values.class ?? "SegmentResponseCache";
    const module = (await import(pathToFileURL(resolve(values.module)).href)) as Record<string, unknown>;
    const Class = module[name] as new (dir: string) => ResponseCache;
    return { name, create: (dir) => new Class(dir) };
  }
  const { openResponseCache } = await import("../src/cache/location.js");
  return {
    name: "openResponseCache (default)",
    create: (dir) => openResponseCache({ dir }) as ResponseCache,
  };
}

/** Realistic replies: 1–2 KB of text (hex, so no JSON escaping flatters or penalises anyone). */
function workload(n: number): Array<[string, ChatResult]> {
  return Array.from({ length: n }, (_, i) => [
    createHash("sha256").update(`request ${i} ${Math.random()}`).digest("hex"),
    {
      text: randomBytes(512 + (i % 512)).toString("hex"),
      usage: { prompt_tokens: 800 + i, completion_tokens: 300, cached_tokens: 256 },
      finishReason: "stop",
      provider: "openai",
      model: "gpt-4o-mini",
    },
  ]);
}

const turn = () => new Promise<void>((done) => setImmediate(done));

/** µs of CPU per item for `body`, which handles `count` items. */
async function cpuPer(count: number, body: () => Promise<void> | void): Promise<number> {
  const start = process.cpuUsage();
  await body();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

async function round1(create: Factory, entries: Array<[string, ChatResult]>, root: string) {
  const loop = await cpuPer(entries.length, async () => {
    for (let i = 0; i < entries.length; i++) await turn();
  });
  const pacedDir = join(root, "paced");
  const paced = create(pacedDir);
  const putPaced =
    (await cpuPer(entries.length, async () => {
      for (const [key, result] of entries) {
        paced.put(key, result);
        await turn();
      }
      await paced.flush();
    })) - loop;
  await paced.close();
  // Group commit's effect on this machine (the test checks the grouping on a fake clock; how
  // many puts a 10 ms window gathers depends on the machine's speed, so it is a figure here).
  const pacedWrites = "writeGroups" in paced ? Number(paced.writeGroups) : Number.NaN;

  const burstDir = join(root, "burst");
  const burst = create(burstDir);
  const putBurst = await cpuPer(entries.length, async () => {
    for (const [key, result] of entries) burst.put(key, result);
    await burst.flush();
  });
  await burst.close();

  const reader = create(pacedDir);
  const firstGet = await cpuPer(1, async () => {
    await reader.get(entries[0]![0]);
  });
  const getHit = await cpuPer(entries.length, async () => {
    for (const [key] of entries) {
      const found = reader.get(key);
      if (!(found instanceof Promise ? await found : found)) throw new Error(`lost ${key}`);
    }
  });
  const misses = entries.map(([key]) => createHash("sha256").update(key).digest("hex"));
  const getMiss = await cpuPer(misses.length, async () => {
    for (const key of misses) await reader.get(key);
  });
  await reader.close();
  return {
    putPaced,
    putBurst,
    firstGetMs: firstGet / 1000,
    getHit,
    getMiss,
    pacedPutsPerWrite: entries.length / pacedWrites,
  };
}

async function main(): Promise<void> {
  const { name, create } = await loadFactory();
  const entries = workload(ENTRIES);
  const rounds: Array<Awaited<ReturnType<typeof round1>>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const root = await mkdtemp(join(tmpdir(), "convosim-cache-micro-"));
    try {
      rounds.push(await round1(create, entries, root));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  const med = (pick: (r: (typeof rounds)[number]) => number) => round(median(rounds.map(pick)), 1);
  const report = {
    cache: name,
    entries: ENTRIES,
    rounds: ROUNDS,
    put_paced_us: med((r) => r.putPaced),
    put_burst_us: med((r) => r.putBurst),
    first_get_ms: med((r) => r.firstGetMs),
    get_hit_us: med((r) => r.getHit),
    get_miss_us: med((r) => r.getMiss),
    paced_puts_per_write: med((r) => r.pacedPutsPerWrite),
    each_round: rounds.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 1)]))),
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
