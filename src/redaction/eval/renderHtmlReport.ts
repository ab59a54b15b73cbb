import { labelF1, reportLabels, SUMMARY_COLUMNS } from './reportColumns.js';
import type { EvalReport } from './runEvaluation.js';
import { escapeXml, groupedBarChart, latencyHistograms } from './svgCharts.js';

// No script and a policy that forbids loading anything: the file can be mailed or archived
// and shows the same thing offline, and a browser would report any stray external URL.
const CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111827; max-width: 72rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d1d5db; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f3f4f6; }
figure { margin: 1.5rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
.note { color: #4b5563; font-size: 0.85rem; }
`;

/** A self-contained HTML page: the summary table, per-label F1 bars and latency histograms. */
export function renderHtmlReport(report: EvalReport): string {
  const labels = reportLabels(report.systems);
  const exactF1 = report.systems.map((s) => ({ name: s.name, values: labels.map((label) => labelF1(s, label, 'exact') ?? 0) }));
  const latency = report.systems.map((s) => ({ name: s.name, values: s.latencyMs.values, p50: s.latencyMs.p50, p95: s.latencyMs.p95 }));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_POLICY}">
<title>${escapeXml(`Redaction eval: ${report.set}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeXml(`Redaction eval: ${baseName(report.set)}`)}</h1>
<p class="note">${escapeXml(`${report.set}: ${report.samples} samples, detectors ${report.detectors}, ${report.createdAt}`)}</p>
${summaryTable(report)}
<p class="note">Score: sample score of redactor.md, mean over samples (an invalid call scores 0). Precision, recall and F1: micro-averaged, exact spans. Leak rate: true PII strings still readable after label-mode redaction, over validly answered samples.</p>
<figure><figcaption>F1 per label (exact spans)</figcaption>${groupedBarChart('label-f1', labels, exactF1)}</figure>
<figure><figcaption>Latency per request</figcaption>${latencyHistograms('latency', latency)}</figure>
</body>
</html>
`;
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() || file;
}

function summaryTable(report: EvalReport): string {
  const header = SUMMARY_COLUMNS.map((c) => `<th>${escapeXml(c.title)}</th>`).join('');
  const rows = report.systems.map((s) => `<tr>${SUMMARY_COLUMNS.map((c) => `<td>${escapeXml(c.cell(s))}</td>`).join('')}</tr>`);
  return `<table id="summary"><thead><tr>${header}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
