// A second process writing to a shared response cache: stores `count` entries with the real
// SegmentResponseCache (transpiled from src/cache/ by the test), closes it, prints its stats.
// Usage: node writer-child.mjs <dir with segment-cache.js> <cache dir> <count>
import { createHash } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, cacheDir, count] = process.argv.slice(2);
const { SegmentResponseCache } = await import(pathToFileURL(join(moduleDir, "segment-cache.js")).href);
const cache = new SegmentResponseCache(cacheDir);
for (let n = 0; n < Number(count); n++)
  cache.put(createHash("sha256").update(`child ${n}`).digest("hex"), {
    text: `from the child, ${n}`,
    usage: { prompt_tokens: n, completion_tokens: 1 },
    finishReason: "stop",
    provider: "openai",
    model: "child",
  });
await cache.close();
process.stdout.write(JSON.stringify(cache.stats()));
