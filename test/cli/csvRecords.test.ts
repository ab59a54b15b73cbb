import t from 'tap';
import { CsvRecordParser, formatCsvRecord } from '../../src/cli/csvRecords.js';

const parse = (text: string, chunkSize = text.length || 1) => {
  const parser = new CsvRecordParser();
  const records = [];
  for (let i = 0; i < text.length; i += chunkSize) records.push(...parser.push(text.slice(i, i + chunkSize)));
  return [...records, ...parser.end()];
};

const CASES: Array<[what: string, csv: string, fields: string[][]]> = [
  ['plain', 'a,b\n1,2\n', [['a', 'b'], ['1', '2']]],
  ['no final line break', 'a,b\n1,2', [['a', 'b'], ['1', '2']]],
  ['CRLF', 'a,b\r\n1,2\r\n', [['a', 'b'], ['1', '2']]],
  ['quoted comma', 'a,"x, y"\n', [['a', 'x, y']]],
  ['doubled quote', '"say ""hi"""\n', [['say "hi"']]],
  ['line break inside quotes', '"one\ntwo",3\n', [['one\ntwo', '3']]],
  ['CRLF inside quotes', '"one\r\ntwo"\r\n', [['one\r\ntwo']]],
  ['empty fields', ',,\n', [['', '', '']]],
  ['blank line is an empty record', 'a\n\nb\n', [['a'], [''], ['b']]],
  ['a quote inside a plain field is kept', 'ab"c,d\n', [['ab"c', 'd']]],
  ['empty quoted field', '"",x\n', [['', 'x']]],
];

t.test('records, whatever the chunk boundaries', async (t) => {
  for (const [what, csv, fields] of CASES) {
    for (const size of [1, 2, 3, 7, csv.length]) {
      t.same(parse(csv, size).map((r) => r.fields), fields, `${what} (chunks of ${size})`);
    }
  }
});

t.test('a file ending inside quotes is flagged, not silently closed', async (t) => {
  const records = parse('a,b\n1,"open\n');
  t.same(records.at(-1), { fields: ['1', 'open\n'], unterminated: true });
});

t.test('formatting round-trips through the parser', async (t) => {
  const rows = [['plain', 'with, comma', 'with "quote"', 'multi\nline', 'cr\r\nlf', '']];
  const text = rows.map(formatCsvRecord).join('');
  t.equal(text, 'plain,"with, comma","with ""quote""","multi\nline","cr\r\nlf",\n');
  t.same(parse(text).map((r) => r.fields), rows);
});
