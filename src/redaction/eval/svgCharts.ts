// Charts for the HTML report as inline SVG strings: drawn where the report is written, so the
// page needs no script, no library and no network to show them.

export const SERIES_COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#4b5563'];

export interface Series {
  name: string;
  values: readonly number[];
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const FONT = 'font-family="system-ui, sans-serif" font-size="11"';

/** Horizontal bars, one group per category and one bar per series, on a 0..1 axis. */
export function groupedBarChart(id: string, categories: readonly string[], series: readonly Series[]): string {
  const bar = 9;
  const group = bar * series.length + 8;
  const left = 170;
  const plot = 420;
  const top = 24;
  const height = top + group * categories.length + 30;
  const width = left + plot + 60;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((v) => {
    const x = left + v * plot;
    return `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 26}" stroke="#e5e7eb"/><text x="${x}" y="${height - 12}" text-anchor="middle" ${FONT}>${v}</text>`;
  });
  const bars = categories.flatMap((category, i) => {
    const y0 = top + i * group;
    const label = `<text x="${left - 6}" y="${y0 + (bar * series.length) / 2 + 4}" text-anchor="end" ${FONT}>${escapeXml(category)}</text>`;
    const rects = series.map((s, j) => {
      const value = s.values[i] ?? 0;
      const w = Math.max(value * plot, value > 0 ? 1 : 0);
      return `<rect class="bar" x="${left}" y="${y0 + j * bar}" width="${w.toFixed(1)}" height="${bar - 1}" fill="${color(j)}"><title>${escapeXml(`${s.name} · ${category}: ${value.toFixed(3)}`)}</title></rect>`;
    });
    return [label, ...rects];
  });
  return svg(id, width, height, [...ticks, ...bars, legend(series.map((s) => s.name), left, 4)]);
}

/** One histogram per series on a shared millisecond axis, with p50 and p95 marked. */
export function latencyHistograms(id: string, series: ReadonlyArray<Series & { p50: number | null; p95: number | null }>, bins = 20): string {
  const all = series.flatMap((s) => s.values);
  const max = Math.max(1, ...all);
  const binWidth = max / bins;
  const left = 50;
  const plot = 520;
  const rowHeight = 90;
  const top = 24;
  const height = top + rowHeight * series.length + 24;
  const width = left + plot + 40;
  const rows = series.map((s, j) => histogramRow(s, j, { binWidth, bins, left, plot, y0: top + j * rowHeight, rowHeight: rowHeight - 20, max }));
  const axis = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const x = left + f * plot;
    return `<text x="${x}" y="${height - 8}" text-anchor="middle" ${FONT}>${Math.round(f * max)} ms</text>`;
  });
  return svg(id, width, height, [...rows, ...axis, legend(series.map((s) => s.name), left, 4)]);
}

interface RowGeometry {
  binWidth: number;
  bins: number;
  left: number;
  plot: number;
  y0: number;
  rowHeight: number;
  max: number;
}

function histogramRow(s: Series & { p50: number | null; p95: number | null }, j: number, g: RowGeometry): string {
  const counts = new Array<number>(g.bins).fill(0);
  for (const v of s.values) counts[Math.min(g.bins - 1, Math.floor(v / g.binWidth))]++;
  const tallest = Math.max(1, ...counts);
  const baseline = g.y0 + g.rowHeight;
  const bars = counts.map((count, i) => {
    const h = (count / tallest) * (g.rowHeight - 10);
    const x = g.left + (i * g.plot) / g.bins;
    const range = `${Math.round(i * g.binWidth)}–${Math.round((i + 1) * g.binWidth)} ms`;
    return `<rect class="bar" x="${x.toFixed(1)}" y="${(baseline - h).toFixed(1)}" width="${(g.plot / g.bins - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${color(j)}"><title>${escapeXml(`${s.name}: ${count} in ${range}`)}</title></rect>`;
  });
  const marks = (['p50', 'p95'] as const).flatMap((name) => {
    const value = s[name];
    if (value === null) return [];
    const x = g.left + (value / g.max) * g.plot;
    return [`<line x1="${x.toFixed(1)}" y1="${g.y0}" x2="${x.toFixed(1)}" y2="${baseline}" stroke="#111827" stroke-dasharray="3 2"/><text x="${(x + 3).toFixed(1)}" y="${g.y0 + 9}" ${FONT}>${name} ${Math.round(value)} ms</text>`];
  });
  const axis = `<line x1="${g.left}" y1="${baseline}" x2="${g.left + g.plot}" y2="${baseline}" stroke="#9ca3af"/>`;
  return [axis, ...bars, ...marks].join('');
}

function legend(names: readonly string[], x: number, y: number): string {
  return names
    .map((name, j) => `<rect x="${x + j * 140}" y="${y}" width="10" height="10" fill="${color(j)}"/><text x="${x + j * 140 + 14}" y="${y + 9}" ${FONT}>${escapeXml(name)}</text>`)
    .join('');
}

function svg(id: string, width: number, height: number, parts: readonly string[]): string {
  return `<svg id="${escapeXml(id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}</svg>`;
}

function color(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length];
}
