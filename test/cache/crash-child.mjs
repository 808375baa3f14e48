// Crash-test child: stores response-cache entries with the real SegmentResponseCache (transpiled
// from src/cache/ by the test) in a tight loop — new keys and keys another child writes too,
// 1 KB to 2 MB each, several per write (group commit) — until the parent kills it with SIGKILL.
// Usage: node crash-child.mjs <dir with segment-cache.js> <cache dir> <writer name>
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, cacheDir, writer] = process.argv.slice(2);
const { SegmentResponseCache } = await import(pathToFileURL(join(moduleDir, "segment-cache.js")).href);
// Small segments, so kills also land around a rotation.
const cache = new SegmentResponseCache(cacheDir, { maxSegmentBytes: 8 * 2 ** 20 });
const sha = (text) => createHash("sha256").update(text).digest("hex");

for (let n = 0; ; n++) {
  // Large texts make a kill in the middle of a write likely.
  const payload = randomBytes(512 * 2 ** (n % 12)).toString("hex");
  // Half the keys are shared by every child (concurrent writers of one key), half are its own.
  const key = sha(n % 2 ? `key ${n % 25}` : `${writer} ${n}`);
  cache.put(key, {
    // Self-checking text, so the test can verify an entry without trusting the cache's own checksum.
    text: `${sha(payload)}:${writer}:${payload}`,
    usage: { prompt_tokens: n, completion_tokens: payload.length },
    finishReason: "stop",
    provider: "crash",
    model: writer,
  });
  if (n % 4 === 3) await cache.flush();
  if (n === 8) process.stdout.write("ready\n");
}
