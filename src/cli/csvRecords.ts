import { createReadStream } from 'node:fs';

/** One CSV record; `unterminated` when the file ended inside a quoted field. */
export interface CsvRecord {
  fields: string[];
  unterminated?: boolean;
}

/**
 * An RFC 4180 reader fed in chunks: quoted fields may hold commas, doubled quotes and line breaks, so a record
 * is not a line. Lenient where files in the wild are: text after a closing quote is kept, a lone CR ends a record.
 */
export class CsvRecordParser {
  private field = '';
  private fields: string[] = [];
  private state: 'start' | 'plain' | 'quoted' | 'closed' = 'start';
  private skipLineFeed = false;

  push(chunk: string): CsvRecord[] {
    const records: CsvRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (this.skipLineFeed) {
        this.skipLineFeed = false;
        if (ch === '\n') continue;
      }
      if (this.state === 'quoted') {
        if (ch === '"') this.state = 'closed';
        else this.field += ch;
        continue;
      }
      if (ch === '"' && this.state === 'closed') {
        // A doubled quote inside a quoted field.
        this.field += '"';
        this.state = 'quoted';
      } else if (ch === '"' && this.state === 'start') this.state = 'quoted';
      else if (ch === ',') this.endField();
      else if (ch === '\n' || ch === '\r') {
        this.skipLineFeed = ch === '\r';
        records.push(this.endRecord());
      } else {
        this.field += ch;
        this.state = this.state === 'start' ? 'plain' : this.state;
      }
    }
    return records;
  }

  /** The last record when the file does not end with a line break. */
  end(): CsvRecord[] {
    if (this.state === 'quoted') return [{ ...this.endRecord(), unterminated: true }];
    return this.fields.length > 0 || this.field !== '' || this.state !== 'start' ? [this.endRecord()] : [];
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = 'start';
  }

  private endRecord(): CsvRecord {
    this.endField();
    const record = { fields: this.fields };
    this.fields = [];
    return record;
  }
}

/** The records of a CSV file, read as a stream. A UTF-8 byte order mark is dropped. */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const parser = new CsvRecordParser();
  let first = true;
  for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    yield* parser.push(first ? chunk.replace(/^\uFEFF/, '') : chunk);
    first = false;
  }
  yield* parser.end();
}

/** One CSV line: fields holding a comma, a quote or a line break are quoted, quotes doubled. */
export function formatCsvRecord(fields: readonly string[]): string {
  return `${fields.map((field) => (/[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field)).join(',')}\n`;
}
