// Two small chart helpers that write inline SVG (no charting library, nothing fetched):
// horizontal bars for categories, vertical columns for histograms. Both take one or more
// series (grouped bars with a legend). Every label is escaped: model names, strategies and
// feature values come from the data.
import { clip, escapeHtml } from "./escape.js";

export interface Series {
  name: string;
  values: readonly number[];
}

export interface ChartSpec {
  title: string;
  categories: readonly string[];
  series: readonly Series[];
  /** How a value is printed next to its bar and in tooltips. */
  format?: (value: number) => string;
}

export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"] as const;
const color = (i: number) => PALETTE[i % PALETTE.length] ?? "#4e79a7";
const WIDTH = 640;
const CHAR = 6.6; // average glyph width of the 12px sans-serif used for labels

export const formatNumber = (value: number): string =>
  Number.isInteger(value)
    ? value.toLocaleString("en-US")
    : value.toLocaleString("en-US", { maximumFractionDigits: 2 });

const num = (value: number) => Number(value.toFixed(1));

function open(title: string, width: number, height: number): string {
  const t = escapeHtml(title);
  return `<svg class="chart" role="img" aria-label="${t}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title>${t}</title><text class="chart-title" x="0" y="16">${t}</text>`;
}

function legend(series: readonly Series[], y: number, x0: number): string {
  if (series.length < 2) return "";
  let x = x0;
  return series
    .map((s, i) => {
      const item = `<rect x="${num(x)}" y="${y - 9}" width="10" height="10" fill="${color(i)}"></rect><text class="legend" x="${num(x + 14)}" y="${y}">${escapeHtml(s.name)}</text>`;
      x += 24 + s.name.length * CHAR;
      return item;
    })
    .join("");
}

/** Horizontal bars: one row per category, one bar per series in each row. */
export function barChart(spec: ChartSpec): string {
  const format = spec.format ?? formatNumber;
  const label = 190;
  const valueRoom = 90;
  const plot = WIDTH - label - valueRoom;
  const bar = spec.series.length > 1 ? 12 : 16;
  const row = bar * spec.series.length + 8;
  const top = spec.series.length > 1 ? 44 : 28;
  const height = top + row * spec.categories.length + 8;
  const max = Math.max(0, ...spec.series.flatMap((s) => s.values));
  const parts = [open(spec.title, WIDTH, height), legend(spec.series, 36, label)];
  spec.categories.forEach((category, c) => {
    const y0 = top + row * c;
    const name = escapeHtml(category);
    parts.push(
      `<text class="label" x="${label - 8}" y="${num(y0 + (row - 8) / 2 + 4)}" text-anchor="end">${escapeHtml(clip(category, Math.floor((label - 12) / CHAR)))}<title>${name}</title></text>`,
    );
    spec.series.forEach((s, i) => {
      const value = s.values[c] ?? 0;
      const w = max > 0 ? (value / max) * plot : 0;
      const y = y0 + i * bar;
      const what = spec.series.length > 1 ? `${name} (${escapeHtml(s.name)})` : name;
      parts.push(
        `<rect x="${label}" y="${y}" width="${num(Math.max(w, value > 0 ? 1 : 0))}" height="${bar - 2}" fill="${color(i)}"><title>${what}: ${escapeHtml(format(value))}</title></rect>`,
        `<text class="value" x="${num(label + w + 4)}" y="${y + bar - 5}">${escapeHtml(format(value))}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("");
}

/** A round step for about four grid lines up to `max`. */
function gridStep(max: number): number {
  if (max <= 0) return 1;
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  return Number.isInteger(max) ? Math.max(1, Math.ceil(step)) : step;
}

/** Vertical columns over ordered categories (histogram bins), grouped by series. */
export function columnChart(spec: ChartSpec): string {
  const format = spec.format ?? formatNumber;
  const height = 260;
  const left = 56;
  const right = 8;
  const top = spec.series.length > 1 ? 48 : 32;
  const bottom = 40;
  const plotW = WIDTH - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...spec.series.flatMap((s) => s.values));
  const step = gridStep(max);
  const ceiling = max > 0 ? Math.ceil(max / step) * step : 1;
  const y = (value: number) => top + plotH - (value / ceiling) * plotH;
  const parts = [open(spec.title, WIDTH, height), legend(spec.series, 36, left)];
  for (let tick = 0; tick <= ceiling + step / 2; tick += step) {
    parts.push(
      `<line class="grid" x1="${left}" x2="${WIDTH - right}" y1="${num(y(tick))}" y2="${num(y(tick))}"></line>`,
      `<text class="tick" x="${left - 6}" y="${num(y(tick) + 4)}" text-anchor="end">${escapeHtml(format(tick))}</text>`,
    );
  }
  const group = plotW / Math.max(1, spec.categories.length);
  const barW = (group * 0.8) / Math.max(1, spec.series.length);
  spec.categories.forEach((category, c) => {
    const x0 = left + group * c + group * 0.1;
    spec.series.forEach((s, i) => {
      const value = s.values[c] ?? 0;
      const what = spec.series.length > 1 ? `${category} (${s.name})` : category;
      parts.push(
        `<rect x="${num(x0 + i * barW)}" y="${num(y(value))}" width="${num(Math.max(1, barW - 1))}" height="${num(top + plotH - y(value))}" fill="${color(i)}"><title>${escapeHtml(`${what}: ${format(value)}`)}</title></rect>`,
      );
    });
    parts.push(
      `<text class="label" x="${num(x0 + group * 0.4)}" y="${height - bottom + 16}" text-anchor="middle">${escapeHtml(clip(category, Math.max(3, Math.floor(group / CHAR))))}</text>`,
    );
  });
  parts.push(
    `<line class="axis" x1="${left}" x2="${WIDTH - right}" y1="${top + plotH}" y2="${top + plotH}"></line>`,
    "</svg>",
  );
  return parts.join("");
}
