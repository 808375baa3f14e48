// Finds the records of one segment file: for each, its key (as the two 32-bit words the index
// uses), its offset and its length. A record is an entry as encodeEntry writes it — a header line
// of fixed length holding the key, then a body line — so the scan reads the file in chunks,
// looks for newlines (memchr) and compares only header-length lines with the header template.
// Bodies are skipped, never parsed or hashed: checking a record is get()'s job (decodeEntry),
// so the scan costs little more than reading the file.
//
// What it tolerates: a last record cut short by kill -9 (a header with no body, or a body with no
// newline) is not reported; neither is a line that is not a header where one is expected. A body
// that was damaged is reported and then fails its checksum on get (a corrupt miss).
//
// Imports only node:* and ./entry.js, ./segment-index.js (see entry.ts for why).
import { readSync } from "node:fs";
import { type HeaderLayout, headerLayout } from "./entry.js";
import { wordOfBytes } from "./segment-index.js";

export type OnRecord = (high: number, low: number, offset: number, length: number) => void;

const NEWLINE = 10;
const KEY_DIGITS = 64;

/** The header's fixed bytes (all but key and digest): where they are and what they must be. */
interface Fixed {
  at: Uint16Array;
  bytes: Uint8Array;
}
let fixed: Fixed | undefined;

function fixedBytes(layout: HeaderLayout): Fixed {
  const at: number[] = [];
  for (let i = 0; i < layout.length; i++) {
    const inKey = i >= layout.keyAt && i < layout.keyAt + KEY_DIGITS;
    const inDigest = i >= layout.digestAt && i < layout.digestAt + KEY_DIGITS;
    if (!inKey && !inDigest) at.push(i);
  }
  return { at: Uint16Array.from(at), bytes: Uint8Array.from(at, (i) => layout.template.charCodeAt(i)) };
}

/** Whether the header-length line at `at` has the header's fixed bytes (a tight loop over ≈60). */
function isHeader(buffer: Buffer, at: number, { at: positions, bytes }: Fixed): boolean {
  for (let k = 0; k < positions.length; k++) if (buffer[at + positions[k]!] !== bytes[k]) return false;
  return true;
}

/**
 * Reports every whole record of the file open as `fd`, in file order (so a later record of a key
 * can replace an earlier one). `buffer` is scratch space, reused across files; it must hold more
 * than a header line. Returns the number of records reported. Throws on read errors.
 */
export function scanSegment(fd: number, buffer: Buffer, onRecord: OnRecord): number {
  const layout = headerLayout();
  // A read into a full buffer would return 0 and look like the end of the file.
  if (buffer.length <= layout.length) throw new RangeError("scan buffer smaller than a header line");
  fixed ??= fixedBytes(layout);
  const headerBytes = fixed;
  let records = 0;
  let base = 0; // file offset of buffer[0]
  let filled = 0; // bytes of buffer holding file data
  let searchFrom = 0; // where in buffer the next newline search starts
  let lineStart = 0; // file offset where the current line starts
  let header = -1; // file offset of a header line still waiting for its body line
  let high = 0;
  let low = 0;
  for (;;) {
    const read = readSync(fd, buffer, filled, buffer.length - filled, base + filled);
    if (read === 0) return records; // end of file: an unfinished record is left out
    filled += read;
    const view = buffer.subarray(0, filled);
    for (let nl = view.indexOf(NEWLINE, searchFrom); nl >= 0; nl = view.indexOf(NEWLINE, searchFrom)) {
      const end = base + nl + 1;
      const at = lineStart - base; // where the line starts in buffer, when it is still there
      if (at >= 0 && nl - at === layout.length && isHeader(buffer, at, headerBytes)) {
        high = wordOfBytes(buffer, at + layout.keyAt);
        low = wordOfBytes(buffer, at + layout.keyAt + 8);
        header = high >= 0 && low >= 0 ? lineStart : -1;
      } else if (header >= 0) {
        onRecord(high, low, header, end - header);
        records++;
        header = -1;
      }
      lineStart = end;
      searchFrom = nl + 1;
    }
    // Keep the unfinished line's beginning only while it could still turn out to be a header;
    // of a longer line (a body) only the position of its end matters.
    const partial = base + filled - lineStart;
    if (partial <= layout.length) {
      buffer.copy(buffer, 0, filled - partial, filled);
      base = lineStart;
      filled = partial;
      searchFrom = partial;
    } else {
      base += filled;
      filled = 0;
      searchFrom = 0;
    }
  }
}
