// Text from personas, queries, files and models made harmless for a terminal, at the edge where
// it is written to one. A raw ESC could clear the screen (ESC[2J), retitle the window
// (ESC]0;…BEL), hide what follows or, on some terminals, inject input; C1 controls (0x80–0x9f)
// do the same on terminals that honour them; bidi overrides reorder what a person reads.
// Each is shown as a visible escape instead (`\x1b`, `\x9b`, `\u{202e}`), so nothing is lost
// from view and nothing acts. The saved data is never changed: only what is printed.
// Imports nothing: every folder may use it.

// C0 controls except \t and \n, DEL, C1 controls, the bidi embeddings/overrides U+202A–U+202E
// and isolates U+2066–U+2069. Built from a string: the point is to match control characters.
const UNSAFE_CLASS = "[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]";
// The same plus \n and \t: for text that must stay on one line (progress, one-line errors).
const UNSAFE_IN_LINE_CLASS = "[\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]";
const UNSAFE = new RegExp(UNSAFE_CLASS);
const UNSAFE_ALL = new RegExp(UNSAFE_CLASS, "g");
const UNSAFE_IN_LINE = new RegExp(UNSAFE_IN_LINE_CLASS);
const UNSAFE_IN_LINE_ALL = new RegExp(UNSAFE_IN_LINE_CLASS, "g");

function visible(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (char === "\n") return "\\n";
  if (char === "\t") return "\\t";
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
  return `\\u{${code.toString(16)}}`;
}

/** Text for a terminal: control characters and bidi overrides become visible escapes; \n and \t stay. */
export function terminalText(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, visible) : text;
}

/** Like terminalText, and \n and \t escaped too: for what must stay one line (progress, a failure line). */
export function terminalLine(text: string): string {
  return UNSAFE_IN_LINE.test(text) ? text.replace(UNSAFE_IN_LINE_ALL, visible) : text;
}

// What JSON.stringify leaves raw that a terminal acts on: DEL, C1 controls, bidi overrides (it
// escapes C0 controls itself). Outside strings JSON is plain ASCII, so these only occur inside
// strings, where a \u escape stands for the same character.
const RAW_IN_JSON = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const RAW_IN_JSON_ALL = new RegExp(RAW_IN_JSON.source, "g");

/** JSON text safe on a terminal and equal once parsed: the characters above as \u escapes (e.g. \u009b). */
export function terminalJson(json: string): string {
  if (!RAW_IN_JSON.test(json)) return json;
  return json.replace(
    RAW_IN_JSON_ALL,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}
