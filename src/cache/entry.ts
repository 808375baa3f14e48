// The on-disk form of one cache entry: two lines, a header and the result, e.g.
//   {"format":"convosim-response","version":1,"key":"ab12…","sha256":"9f…"}
//   {"text":"…","usage":{…},"finishReason":"stop","provider":"openai","model":"gpt-4o-mini"}
// The header's sha256 is over the second line's bytes, so an entry damaged after the fact (a
// power cut before the data reached the disk, a truncated copy, a hand edit) is detected and
// served as a miss, never as a reply. The key in the header catches a file under the wrong name.
//
// The segment log (segment-cache.ts) stores entries in this form back to back, so the same
// checksum guards every record; headerLayout() lets its scan find keys without parsing JSON.
//
// This module (like segment-cache.ts) imports only node:* and ./types.js, so the crash test can
// transpile it alone and run it in a child process that is killed mid-write.
import * as crypto from "node:crypto";
import { type CachedResult, isCachedResult } from "./types.js";

export const ENTRY_FORMAT = "convosim-response";
export const ENTRY_VERSION = 1;

interface Header {
  format: string;
  version: number;
  key: string;
  sha256: string;
}

// crypto.hash (one call, no Hash object) is Node ≥ 20.12; older 20.x use createHash. Same digest.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/** sha256 of a text's UTF-8 bytes, as 64 lowercase hex digits. */
export const sha256Hex = oneShotHash
  ? (text: string) => oneShotHash("sha256", text, "hex")
  : (text: string) => crypto.createHash("sha256").update(text).digest("hex");

export function encodeEntry(key: string, result: CachedResult): string {
  const body = JSON.stringify(result);
  const header: Header = { format: ENTRY_FORMAT, version: ENTRY_VERSION, key, sha256: sha256Hex(body) };
  return `${JSON.stringify(header)}\n${body}\n`;
}

/** Where the fixed parts of a header line are: the key and the digest are always 64 hex digits. */
export interface HeaderLayout {
  /** The header line's length in bytes, without its newline (it is ASCII). */
  length: number;
  keyAt: number;
  digestAt: number;
  /** The line as encodeEntry writes it, with the key and digest replaced by placeholders. */
  template: string;
}

let layout: HeaderLayout | undefined;

/** The layout of every header line, derived from the header encodeEntry writes (computed once). */
export function headerLayout(): HeaderLayout {
  if (!layout) {
    const key = "k".repeat(64);
    const sha256 = "s".repeat(64);
    const header: Header = { format: ENTRY_FORMAT, version: ENTRY_VERSION, key, sha256 };
    const template = JSON.stringify(header);
    layout = {
      length: template.length,
      keyAt: template.indexOf(key),
      digestAt: template.indexOf(sha256),
      template,
    };
  }
  return layout;
}

/** The stored result, or undefined when the text is not a whole, intact entry for `key`. */
export function decodeEntry(key: string, text: string): CachedResult | undefined {
  const split = text.indexOf("\n");
  if (split < 0 || !text.endsWith("\n")) return undefined;
  const body = text.slice(split + 1, -1);
  let header: Partial<Header>;
  let result: unknown;
  try {
    header = JSON.parse(text.slice(0, split)) as Partial<Header>;
    if (
      header.format !== ENTRY_FORMAT ||
      header.version !== ENTRY_VERSION ||
      header.key !== key ||
      header.sha256 !== sha256Hex(body)
    )
      return undefined;
    result = JSON.parse(body);
  } catch {
    return undefined;
  }
  return isCachedResult(result) ? result : undefined;
}
