// Keyboard geometry for slips: which keys a finger lands on instead of the intended one. The
// desktop QWERTY has staggered rows under square keys; a phone's keys are narrow and tall with
// wider row offsets, so fat-finger neighbours are mostly left and right, and the space bar lies
// under the bottom letter row.

export type LayoutName = "qwerty_desktop" | "qwerty_phone";

export interface Layout {
  name: LayoutName;
  /** Letter → neighbouring letters with weights (closer keys weigh more). */
  neighbours: ReadonlyMap<string, ReadonlyArray<readonly [key: string, weight: number]>>;
  /** Letters right above the space bar: a thumb aiming for space may hit them (and vice versa). */
  nearSpace: string;
}

interface Geometry {
  rows: readonly string[];
  /** Horizontal offset of each row, in key widths. */
  offsets: readonly number[];
  /** Vertical distance between rows, in key widths. */
  rowHeight: number;
  /** Keys farther than this (key widths, centre to centre) are not neighbours. */
  reach: number;
  nearSpace: string;
}

const GEOMETRY: Record<LayoutName, Geometry> = {
  // Standard ANSI stagger: Q is ¼ key left of A, A is ½ key left of Z.
  qwerty_desktop: {
    rows: ["qwertyuiop", "asdfghjkl", "zxcvbnm"],
    offsets: [0, 0.25, 0.75],
    rowHeight: 1,
    reach: 1.3,
    nearSpace: "cvbnm",
  },
  // Phone: A row centred under Q row (½ key), Z row inset by 1½ keys; keys ~1.5× taller than wide.
  qwerty_phone: {
    rows: ["qwertyuiop", "asdfghjkl", "zxcvbnm"],
    offsets: [0, 0.5, 1.5],
    rowHeight: 1.5,
    reach: 1.6,
    nearSpace: "xcvbnm",
  },
};

const built = new Map<LayoutName, Layout>();

export function layout(name: LayoutName): Layout {
  const existing = built.get(name);
  if (existing) return existing;
  const g = GEOMETRY[name];
  const position = new Map<string, readonly [number, number]>();
  g.rows.forEach((row, r) => {
    for (let c = 0; c < row.length; c++)
      position.set(row[c] as string, [c + (g.offsets[r] ?? 0), r * g.rowHeight]);
  });
  const neighbours = new Map<string, Array<readonly [string, number]>>();
  for (const [key, [x, y]] of position) {
    const near: Array<readonly [string, number]> = [];
    for (const [other, [ox, oy]] of position) {
      if (other === key) continue;
      const distance = Math.hypot(ox - x, oy - y);
      if (distance <= g.reach) near.push([other, 1 / (distance * distance)]);
    }
    neighbours.set(key, near);
  }
  const result: Layout = { name, neighbours, nearSpace: g.nearSpace };
  built.set(name, result);
  return result;
}
