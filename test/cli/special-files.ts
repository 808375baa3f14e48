// Special files for output tests, made where a test can own them: a private character device
// node (root only: mknod) or, for anyone else, the system's own /dev node — which a non-root
// process cannot replace, so a broken build can never clobber /dev/null or /dev/full.
import { spawn, spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";

const DEVICES = { null: 3, full: 7 } as const;

/**
 * A character device like /dev/null or /dev/full: a node of our own in `dir` when we may make
 * one, else the system's one when we are not root, else undefined (skip the test).
 */
export function characterDevice(dir: string, name: keyof typeof DEVICES): string | undefined {
  const path = join(dir, `dev-${name}`);
  const made = spawnSync("mknod", ["-m", "666", path, "c", "1", String(DEVICES[name])]);
  if (made.status === 0 && statSync(path).isCharacterDevice()) return path;
  // Never hand the real device to a test running as root: a regression would replace it.
  return process.getuid?.() === 0 ? undefined : `/dev/${name}`;
}

/** A named pipe in `dir`, or undefined where mkfifo is missing. */
export function namedPipe(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  return spawnSync("mkfifo", [path]).status === 0 ? path : undefined;
}

/**
 * Reads a named pipe in a child process (`cat`), as a shell reader would. `stop()` ends the
 * read if no writer ever came (a FIFO that was replaced by a file keeps its reader waiting).
 */
export function readPipe(path: string): { text: Promise<string>; stop: () => void } {
  const reader = spawn("cat", [path], { stdio: ["ignore", "pipe", "ignore"] });
  let text = "";
  reader.stdout.on("data", (chunk) => (text += chunk));
  return {
    text: new Promise((resolve) => reader.on("close", () => resolve(text))),
    stop: () => reader.kill(),
  };
}
