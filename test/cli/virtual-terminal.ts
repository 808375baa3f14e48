// A terminal screen small enough to trust: the escapes log-update and the old progress line
// use (cursor up/down/left, erase line, erase to end of line), autowrap at the last column,
// and wide characters taking two cells. What a person would see after a run of writes.
import stringWidth from "string-width";

// biome-ignore lint/suspicious/noControlCharactersInRegex: reading escapes is the point
const CSI = /^\x1b\[(\??)([\d;]*)([A-Za-z])/;
const graphemes = new Intl.Segmenter();

export class VirtualTerminal {
  readonly rows: string[][] = [[]];
  private row = 0;
  private col = 0;
  /** Every line as written, before wrapping: for "no line is wider than the terminal". */
  readonly written: string[] = [""];

  constructor(readonly width: number) {}

  write(text: string): boolean {
    let rest = text;
    while (rest.length > 0) {
      const csi = CSI.exec(rest);
      if (csi) {
        this.control(csi[1] === "?", csi[2] ?? "", csi[3] ?? "");
        rest = rest.slice(csi[0].length);
        continue;
      }
      const [first] = graphemes.segment(rest);
      const char = first?.segment ?? rest[0] ?? "";
      rest = rest.slice(char.length);
      if (char === "\r") this.col = 0;
      else if (char === "\n") {
        this.row++;
        this.col = 0;
        this.written.push("");
      } else this.put(char);
    }
    return true;
  }

  /** The screen's lines, trailing blanks dropped. */
  screen(): string[] {
    const lines = this.rows.map((cells) => cells.join("").trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  private line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row] as string[];
  }

  private put(char: string): void {
    this.written[this.written.length - 1] += char;
    const cells = Math.max(1, stringWidth(char));
    if (this.col + cells > this.width) {
      this.row++; // autowrap: the text goes on on the next row
      this.col = 0;
    }
    const line = this.line();
    while (line.length < this.col) line.push(" ");
    line[this.col] = char;
    for (let i = 1; i < cells; i++) line[this.col + i] = "";
    this.col += cells;
  }

  private control(privateMode: boolean, params: string, final: string): void {
    if (privateMode) return; // synchronized output, cursor shown/hidden: nothing on screen
    const n = Number(params || "1");
    const line = this.line();
    if (final === "A") this.row = Math.max(0, this.row - n);
    else if (final === "B") this.row += n;
    else if (final === "G") this.col = Number(params || "1") - 1;
    else if (final === "K" && params === "2") line.length = 0;
    else if (final === "K" && (params === "" || params === "0"))
      line.length = Math.min(line.length, this.col);
    else if (final === "J") this.rows.length = this.row + 1;
    else throw new Error(`escape ESC[${params}${final} not emulated`);
  }
}
