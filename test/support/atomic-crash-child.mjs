// Crash-test child: writes interaction-sized and large files with the real atomicWriteFile, or
// the real FileWriterThread (transpiled from src/sinks/ by the test), in a tight loop, creating
// new files and replacing existing ones, until the parent kills it with SIGKILL.
// Usage: node atomic-crash-child.mjs <folder of transpiled modules> <directory> [pool|thread]
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, dir, mode = "pool"] = process.argv.slice(2);
const { atomicWriteFile } = await import(pathToFileURL(join(modules, "atomic-file.js")).href);
const { FileWriterThread } = await import(pathToFileURL(join(modules, "writer-thread.js")).href);
const thread = new FileWriterThread();
const write = mode === "thread" ? (path, data) => thread.write(path, data) : atomicWriteFile;

for (let n = 0; ; n++) {
  // 1 KB … 2 MB: large writes make a kill in the middle of writeFile likely.
  const size = 1024 * 2 ** (n % 12);
  const payload = randomBytes(size / 2).toString("hex");
  const sha = createHash("sha256").update(payload).digest("hex");
  const id = `c_${n % 25}`;
  // Shaped as an interaction, so that resume's default check accepts every complete file.
  const record = {
    interaction_id: id,
    persona_id: "p",
    messages: [],
    num_turns: 0,
    metadata: {},
    n,
    sha,
    payload,
  };
  await write(join(dir, `${id}.json`), JSON.stringify(record));
  if (n === 0) process.stdout.write("ready\n");
}
