// `generate` without --config uses ./convosim.yaml when there is one (what `convosim init`
// writes), as eslint, vitest and promptfoo find theirs; it says so, since a file picked up
// silently would change a run without a word.
import { existsSync } from "node:fs";

export const DEFAULT_CONFIG_FILE = "convosim.yaml";

/** The config to load: --config as given, else ./convosim.yaml if present, else none (defaults). */
export function chooseConfig(
  explicit: string | undefined,
  say: (line: string) => void,
  cwdHas: (name: string) => boolean = existsSync,
): string | undefined {
  if (explicit !== undefined) return explicit;
  if (!cwdHas(DEFAULT_CONFIG_FILE)) return undefined;
  say(`config: ./${DEFAULT_CONFIG_FILE}`);
  return DEFAULT_CONFIG_FILE;
}
