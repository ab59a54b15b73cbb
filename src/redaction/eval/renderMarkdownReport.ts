import { labelF1, formatRatio, reportLabels, SUMMARY_COLUMNS } from './reportColumns.js';
import type { EvalReport } from './runEvaluation.js';

/** The report as Markdown: the summary table, invalid calls by reason, and F1 per label. */
export function renderMarkdownReport(report: EvalReport): string {
  const lines = [
    `# Redaction eval: ${report.set}`,
    '',
    `${report.samples} samples, detectors \`${report.detectors}\`, ${report.createdAt}.`,
    '',
    table(SUMMARY_COLUMNS.map((c) => c.title), report.systems.map((s) => SUMMARY_COLUMNS.map((c) => c.cell(s)))),
    '',
    'Score: the sample score of redactor.md (greedy pairing, 0.75 × string similarity + 0.25 × same type), mean over samples; ' +
      'an invalid call scores 0. Precision, recall and F1 are micro-averaged over labels, exact spans. ' +
      'Leak rate: true PII strings still readable after label-mode redaction, over validly answered samples. ' +
      'Cost: total tokens × the given price per million tokens.',
    '',
    ...failureLines(report),
    '## F1 per label (exact / overlapping)',
    '',
    table(['label', ...report.systems.map((s) => s.name)], reportLabels(report.systems).map((label) => [
      label,
      ...report.systems.map((s) => `${formatRatio(labelF1(s, label, 'exact'))} / ${formatRatio(labelF1(s, label, 'overlap'))}`),
    ])),
    '',
  ];
  return lines.join('\n');
}

function failureLines(report: EvalReport): string[] {
  const withFailures = report.systems.filter((s) => s.invalidCalls > 0);
  if (withFailures.length === 0) return [];
  const described = withFailures.map((s) => {
    const reasons = Object.entries(s.failures).map(([reason, count]) => `${reason} ${count}`);
    return `- ${cell(s.name)}: ${reasons.join(', ')}`;
  });
  return ['## Invalid calls by reason', '', ...described, ''];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// A pipe or newline in a name would break the table.
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}
