import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { formatCsvRecord, readCsvRecords } from './csvRecords.js';
import { UsageError } from './commandIo.js';

export const INPUT_FORMATS = ['jsonl', 'csv', 'text'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** Why a row cannot be redacted. Never quotes the row: reasons end up in files and logs. */
export interface RowProblem {
  code: string;
  reason: string;
}

/** One input row: its document and how to write it back redacted, or why it is unusable. */
export type InputRow =
  | { row: number; text: string; render: (redacted: string) => string }
  | { row: number; problem: RowProblem };

export interface DocumentSource {
  /** Written once at the top of OUT (the CSV header). */
  header: string;
  /** Every row in file order; `row` counts from 1 (for CSV: data records after the header). */
  rows: AsyncGenerator<InputRow>;
}

export interface DocumentOptions {
  /** JSONL: the field holding the document. */
  field: string;
  /** CSV: the column holding the document. */
  column: string;
}

/** The format named by --format, else the one the file name says; anything unrecognised is one document per line. */
export function formatOf(file: string, given: string | undefined): InputFormat {
  if (given !== undefined) {
    if (!(INPUT_FORMATS as readonly string[]).includes(given)) throw new UsageError(`--format must be one of ${INPUT_FORMATS.join(', ')}`);
    return given as InputFormat;
  }
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.csv$/i.test(file)) return 'csv';
  return 'text';
}

export async function openDocuments(file: string, format: InputFormat, options: DocumentOptions): Promise<DocumentSource> {
  if (format === 'csv') return openCsv(file, options.column);
  const rows = format === 'jsonl' ? jsonlRows(file, options.field) : textRows(file);
  return { header: '', rows };
}

const EMPTY: RowProblem = { code: 'empty', reason: 'the document is empty' };
const isBlank = (text: string) => text.trim().length === 0;

async function* lines(file: string): AsyncGenerator<string> {
  yield* createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
}

async function* textRows(file: string): AsyncGenerator<InputRow> {
  let row = 0;
  for await (const line of lines(file)) {
    row++;
    const text = row === 1 ? line.replace(/^\uFEFF/, '') : line;
    yield isBlank(text) ? { row, problem: EMPTY } : { row, text, render: (redacted) => `${redacted}\n` };
  }
}

async function* jsonlRows(file: string, field: string): AsyncGenerator<InputRow> {
  let row = 0;
  for await (const line of lines(file)) {
    row++;
    yield jsonlRow(row, row === 1 ? line.replace(/^\uFEFF/, '') : line, field);
  }
}

function jsonlRow(row: number, line: string, field: string): InputRow {
  if (isBlank(line)) return { row, problem: EMPTY };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { row, problem: { code: 'invalid_json', reason: 'the line is not valid JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { row, problem: { code: 'not_an_object', reason: 'the line is not a JSON object' } };
  }
  const record = value as Record<string, unknown>;
  const text = record[field];
  if (text === undefined) return { row, problem: { code: 'missing_field', reason: `the object has no "${field}" field` } };
  if (typeof text !== 'string') return { row, problem: { code: 'not_a_string', reason: `the "${field}" field is not a string` } };
  if (isBlank(text)) return { row, problem: EMPTY };
  // The row keeps its other fields and key order; only the document is replaced.
  return { row, text, render: (redacted) => `${JSON.stringify({ ...record, [field]: redacted })}\n` };
}

async function openCsv(file: string, column: string): Promise<DocumentSource> {
  const records = readCsvRecords(file);
  const first = await records.next();
  if (first.done) throw new UsageError(`${file} is empty: a CSV file needs a header line`);
  const header = first.value.fields;
  const index = header.indexOf(column);
  if (index < 0) throw new UsageError(`the CSV header has no column "${column}" (choose one with --column)`);
  return { header: formatCsvRecord(header), rows: csvRows(records, index, column) };
}

async function* csvRows(records: AsyncGenerator<{ fields: string[]; unterminated?: boolean }>, index: number, column: string): AsyncGenerator<InputRow> {
  let row = 0;
  for await (const { fields, unterminated } of records) {
    row++;
    if (unterminated) yield { row, problem: { code: 'unterminated_quote', reason: 'the file ends inside a quoted field' } };
    else if (fields.length <= index) yield { row, problem: { code: 'missing_field', reason: `the record has no "${column}" column` } };
    else if (isBlank(fields[index])) yield { row, problem: EMPTY };
    else yield { row, text: fields[index], render: (redacted) => formatCsvRecord(fields.map((f, i) => (i === index ? redacted : f))) };
  }
}

/** How many rows `openDocuments` will yield, for the progress bar's total and ETA. */
export async function countRows(file: string, format: InputFormat): Promise<number> {
  let count = 0;
  if (format === 'csv') {
    for await (const _record of readCsvRecords(file)) count++;
    return Math.max(0, count - 1);
  }
  for await (const _line of lines(file)) count++;
  return count;
}
