// The peers' Python side: one venv per tool under bench/peers/.venv/<tool> (their dependencies
// conflict: curator pins an older openai than deepeval), created and filled from
// bench/peers/requirements/<tool>.txt (pinned versions) on first use and reused while the
// requirements are unchanged. A tool whose install fails (no network, no python3) is skipped
// with the reason, never fatal: the scenario measures whatever could be installed.
import { execFile } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Venv {
  tool: string;
  python: string;
}

const INSTALL_TIMEOUT_MS = 20 * 60_000;

function run(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, _out, err) => {
      if (!error) return resolve();
      // pip's last meaningful line says why (e.g. "No matching distribution found for …").
      const lines = String(err)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("WARNING: Location"));
      reject(new Error(lines.at(-1) ?? error.message));
    });
  });
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** The tool's venv, installed if missing or stale; or the reason it could not be. */
export async function ensureVenv(
  peersDir: string,
  tool: string,
): Promise<Venv | { tool: string; skipped: string }> {
  const venv = join(peersDir, ".venv", tool);
  const python = join(venv, "bin", "python");
  const requirements = await readFile(join(peersDir, "requirements", `${tool}.txt`), "utf8");
  const marker = join(venv, "installed-requirements.txt");
  const installed = await readFile(marker, "utf8").catch(() => undefined);
  if (installed === requirements && (await exists(python))) return { tool, python };
  try {
    process.stderr.write(`bench: peers: installing ${tool} into ${venv} (pip, pinned versions) …\n`);
    await run("python3", ["-m", "venv", "--clear", venv], 120_000);
    await run(
      python,
      [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        join(peersDir, "requirements", `${tool}.txt`),
      ],
      INSTALL_TIMEOUT_MS,
    );
    await writeFile(marker, requirements);
    return { tool, python };
  } catch (error) {
    return { tool, skipped: `${tool} could not be installed: ${(error as Error).message}` };
  }
}

/**
 * The environment every peer runs in: dummy keys, and every phone-home the tools have switched
 * off, so that nothing tries to reach a host other than the loopback stand-in.
 */
export const PEER_ENV: Record<string, string> = {
  OPENAI_API_KEY: "not-needed",
  DEEPEVAL_TELEMETRY_OPT_OUT: "YES",
  DEEPEVAL_GRPC_LOGGING: "NO",
  TELEMETRY_ENABLED: "false", // curator's posthog
  CURATOR_VIEWER: "0",
  CURATOR_DISABLE_RICH_DISPLAY: "1",
  HF_HUB_OFFLINE: "1",
  HF_DATASETS_OFFLINE: "1",
  LITELLM_LOCAL_MODEL_COST_MAP: "True",
  DO_NOT_TRACK: "1",
  NO_PROXY: "127.0.0.1,localhost",
  PYTHONWARNINGS: "ignore",
};
