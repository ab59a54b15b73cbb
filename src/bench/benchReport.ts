/** One measured figure of one workload on both servers. */
export interface BenchFigure {
  workload: string;
  metric: string;
  /** Whether more is better (throughput) or less (latency, memory). */
  better: 'higher' | 'lower';
  adaptd: number | null;
  llamaServer: number | null;
  /** The least acceptable ratio, where the issue sets one. */
  target?: number;
}

/** A figure with adaptd's advantage: >1 means adaptd did better, whichever way "better" points. */
export interface RatedFigure extends BenchFigure {
  ratio: number | null;
  met: boolean | null;
}

/** A target that is not a ratio (no failed request, memory bound, warm vs cold first token). */
export interface BenchCheck {
  name: string;
  passed: boolean | null;
  detail: string;
}

export interface BenchReport {
  command: string;
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  servers: Partial<Record<'adaptd' | 'llama-server' | 'adaptd (churn)', string>>;
  figures: RatedFigure[];
  checks: BenchCheck[];
  warnings: string[];
}

/** adaptd ÷ llama-server for throughput, llama-server ÷ adaptd for times: either way >1 favours adaptd. */
export function advantage(figure: BenchFigure): number | null {
  const { adaptd, llamaServer } = figure;
  if (adaptd === null || llamaServer === null || adaptd <= 0 || llamaServer <= 0) return null;
  return figure.better === 'higher' ? adaptd / llamaServer : llamaServer / adaptd;
}

export function rateFigure(figure: BenchFigure): RatedFigure {
  const ratio = advantage(figure);
  return { ...figure, ratio, met: figure.target === undefined || ratio === null ? null : ratio >= figure.target };
}

function formatValue(value: number | null, metric: string): string {
  if (value === null) return '–';
  if (metric.includes('ms') || metric.includes('MiB')) return value.toFixed(0);
  return value.toFixed(value >= 100 ? 0 : 2);
}

function verdict(met: boolean | null): string {
  return met === null ? '' : met ? 'met' : 'MISSED';
}

function tableRows(report: BenchReport): string[][] {
  return report.figures.map((f) => [
    f.workload,
    f.metric,
    formatValue(f.adaptd, f.metric),
    formatValue(f.llamaServer, f.metric),
    f.ratio === null ? '–' : `${f.ratio.toFixed(2)}×`,
    f.target === undefined ? '' : `≥ ${f.target.toFixed(2)}× ${verdict(f.met)}`.trim(),
  ]);
}

const HEADER = ['workload', 'metric', 'adaptd', 'llama-server', 'ratio', 'target'];

/** A fixed-width table for the terminal. */
export function renderTable(report: BenchReport): string {
  const rows = [HEADER, ...tableRows(report)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => [...row[column]].length)));
  const line = (row: string[]) => row.map((cell, column) => (column >= 2 && column <= 4 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
  const checks = report.checks.map((c) => `${c.passed === null ? '–' : c.passed ? 'ok' : 'FAILED'}  ${c.name}: ${c.detail}`);
  return [
    line(rows[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    'ratio: how many times better adaptd did (throughput ÷, times inverted); same run, model, threads and context',
    ...checks,
    ...report.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

/** The same as Markdown, with the command and machine, for the README and the results folder. */
export function renderMarkdown(report: BenchReport): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const tableLines = [HEADER, HEADER.map((_, i) => (i >= 2 && i <= 4 ? '---:' : '---')), ...tableRows(report)].map(
    (row) => `| ${row.map(escape).join(' | ')} |`,
  );
  const facts = (record: Record<string, string | number>) => Object.entries(record).map(([k, v]) => `- ${k}: ${v}`);
  return [
    `# adaptd bench, ${report.startedAt}`,
    '',
    `\`${report.command}\` (${report.durationSeconds.toFixed(0)} s)`,
    '',
    ...tableLines,
    '',
    'Ratio: how many times better adaptd did than llama-server in the same run (throughput divided, times and memory inverted).',
    '',
    '## Checks',
    ...report.checks.map((c) => `- ${c.passed === null ? 'not measured' : c.passed ? 'passed' : '**failed**'}: ${c.name}: ${c.detail}`),
    ...(report.warnings.length > 0 ? ['', '## Warnings', ...report.warnings.map((w) => `- ${w}`)] : []),
    '',
    '## Machine',
    ...facts(report.machine),
    '',
    '## Settings',
    ...facts(report.settings),
    '',
    '## Servers',
    ...Object.entries(report.servers).map(([name, command]) => `- ${name}: \`${command}\``),
    '',
  ].join('\n');
}
