// Stop markers, found the way models actually write them: "###STOP###", but also "###stop###",
// "### STOP###", "**###STOP###**", "\"###STOP###\"", "###STOP###." — and removed from any text
// that is saved, so no marker ever reaches the data.

/** Escapes a string for use inside a RegExp. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A tolerant pattern for one marker: case-insensitive; the marker's words may be separated by
 * spaces, underscores or hyphens; each run of symbols ("###") may be longer or shorter; spaces
 * may stand between the symbols and the words; markdown emphasis, quotes and brackets around it
 * are part of the match (so removing the match leaves no `**""**` behind).
 */
export function markerPattern(marker: string): RegExp {
  let cached = patterns.get(marker);
  if (!cached) {
    cached = buildMarkerPattern(marker);
    patterns.set(marker, cached);
  }
  // A global pattern keeps state (lastIndex) between uses: each caller gets a fresh one.
  return new RegExp(cached);
}

// Markers are one or two per run: their patterns are built once.
const patterns = new Map<string, RegExp>();
const brokenPatterns = new Map<string, RegExp | undefined>();

function buildMarkerPattern(marker: string): RegExp {
  const parts = marker.match(/[A-Za-z0-9]+|[^A-Za-z0-9\s]+/g) ?? [marker];
  const body = parts
    .map((part, index) => {
      const isWord = /^[A-Za-z0-9]/.test(part);
      if (isWord) {
        const previousIsWord = index > 0 && /^[A-Za-z0-9]/.test(parts[index - 1] ?? "");
        return `${previousIsWord ? "[\\s_-]*" : ""}${escapeRegExp(part)}`;
      }
      // A symbol run: each distinct symbol one or more times, spaces allowed around it.
      const symbols = [...new Set(part)].map((c) => `${escapeRegExp(c)}+`).join("");
      const between = index > 0 && index < parts.length - 1;
      // "_" or "-" between two words is a separator, already allowed above.
      if (between && /^[_-]+$/.test(part)) return "[\\s_-]*";
      return `\\s*${symbols}\\s*`;
    })
    .join("");
  const wrap = "[\\s\"'`*_~()\\[\\]“”‘’]*";
  return new RegExp(`${wrap}${body}${wrap}[.!]?`, "gi");
}

/**
 * A broken form of a marker, as small models write it: the marker's words with only one of its
 * symbol runs ("**Stop###", "### stop"), or nothing but its words ("STOP.", "**Give up**"). Such
 * a reply means the marker; saved, it would be a message that is no message.
 */
function brokenMarkerPattern(marker: string): RegExp | undefined {
  if (!brokenPatterns.has(marker)) brokenPatterns.set(marker, buildBrokenMarkerPattern(marker));
  return brokenPatterns.get(marker);
}

function buildBrokenMarkerPattern(marker: string): RegExp | undefined {
  const words = marker.match(/[A-Za-z0-9]+/g);
  const symbols = marker.match(/[^A-Za-z0-9\s_-]+/g);
  if (!words || !symbols) return undefined;
  const body = words.map(escapeRegExp).join("[\\s_-]*");
  const run = `(?:${[...new Set(symbols.join(""))].map((c) => `${escapeRegExp(c)}+`).join("|")})`;
  const wrap = "[\\s\"'`*_~()\\[\\]“”‘’]*";
  return new RegExp(`${run}${wrap}${body}|${body}${wrap}${run}|^${wrap}${body}${wrap}[.!]?${wrap}$`, "i");
}

export interface MarkerSet {
  /** The user is satisfied. */
  stop: string;
  /** The user is stuck, the request is out of scope, or it needs a human (τ²-bench's exits). */
  giveUp: string;
}

/** Which marker a text contains, if any (stop wins when both appear). */
/**
 * Every form of a marker contains its words ("stop"; "give", "up"): a text without them is
 * skipped before any pattern runs. Most replies are, and the patterns are slow on long texts.
 */
function mentions(lowerText: string, marker: string): boolean {
  let words = markerWords.get(marker);
  if (!words) {
    words = (marker.match(/[A-Za-z0-9]+/g) ?? [marker]).map((w) => w.toLowerCase());
    markerWords.set(marker, words);
  }
  return words.every((word) => lowerText.includes(word));
}
const markerWords = new Map<string, string[]>();

export function findMarker(text: string, markers: MarkerSet): "stop" | "give_up" | undefined {
  const lower = text.toLowerCase();
  const stop = mentions(lower, markers.stop);
  const giveUp = mentions(lower, markers.giveUp);
  if (!stop && !giveUp) return undefined;
  if (stop && markerPattern(markers.stop).test(text)) return "stop";
  if (giveUp && markerPattern(markers.giveUp).test(text)) return "give_up";
  if (stop && brokenMarkerPattern(markers.stop)?.test(text)) return "stop";
  if (giveUp && brokenMarkerPattern(markers.giveUp)?.test(text)) return "give_up";
  return undefined;
}

/** The text with every form of the markers removed and the space around them tidied. */
export function stripMarkers(text: string, markers: MarkerSet): string {
  let out = text;
  const lower = text.toLowerCase();
  for (const marker of [markers.stop, markers.giveUp]) {
    if (!mentions(lower, marker)) continue;
    out = out.replace(markerPattern(marker), " ");
    const broken = brokenMarkerPattern(marker);
    if (broken) out = out.replace(new RegExp(broken.source, "gi"), " ");
  }
  return out
    .replace(/[ \t]{2,}/g, " ")
    .replace(/ +\n/g, "\n")
    .trim();
}
