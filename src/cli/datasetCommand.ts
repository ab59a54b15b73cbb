import { createReadStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildDataset, type BuildSummary } from '../redaction/dataset/buildDataset.js';
import { loadLabelMap } from '../redaction/dataset/labelMap.js';
import { PII_LANGUAGES, type PiiLanguage } from '../redaction/dataset/PiiRow.js';
import { DEFAULT_SPLIT, parseSplitRatios, SPLIT_NAMES, type SplitName } from '../redaction/dataset/splitAssignment.js';
import { synthesizeRows } from '../redaction/dataset/synthesizeRows.js';
import { loadRedactorSpec } from '../redaction/redactCall/redactorSpec.js';
import { AtomicOutputFile, writeFileAtomic } from './AtomicOutputFile.js';
import { integerFlag, processIo, UsageError, runCommand, type CommandIo } from './commandIo.js';
import { ProgressReporter } from './progress.js';

export const DATASET_SYNTH_USAGE = `Usage: adaptd dataset synth --out FILE [--rows N] [--seed S] [--languages en,fr,de,it] [--json]

Writes N rows of realistic fake PII in the pii-masking-200k schema (source_text, target_text,
privacy_mask with code-point offsets, language, set); the same options give the same rows.
`;

export const DATASET_BUILD_USAGE = `Usage: adaptd dataset build IN.jsonl --out DIR [--label-map FILE] [--languages en,fr]
       [--seed S] [--split 0.8,0.1,0.1] [--categories FILE] [--prompt FILE] [--tool FILE] [--json]

Reads pii-masking-200k-style JSONL (a local file; nothing is downloaded), renames labels
(later releases' GIVENNAME, SURNAME, TELEPHONENUM, … by default; --label-map adds or overrides,
null drops a label), keeps the given languages, drops duplicate texts and splits by a hash of
text and seed. Writes DIR/train.jsonl and DIR/validation.jsonl (OpenAI fine-tuning JSONL with
the redactor's system prompt and redact tool), DIR/test.jsonl (labelled rows for adaptd eval)
and DIR/build-summary.json. Bad lines are counted and reported, not fatal.
`;

/** The flags both dataset commands take. */
const DATASET_OPTIONS = {
  out: { type: 'string' },
  seed: { type: 'string' },
  languages: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** `adaptd dataset synth`. */
export async function runDatasetSynth(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const options = { ...DATASET_OPTIONS, rows: { type: 'string' } } as const;
  return runCommand(io, DATASET_SYNTH_USAGE, argv, { options }, async ({ values }) => {
    if (!values.out) throw new UsageError('--out is required');
    const rows = integerFlag('rows', values.rows, 1000, 1);
    const seed = integerFlag('seed', values.seed, 1);
    const languages = synthLanguages(values.languages);
    const file = new AtomicOutputFile(values.out);
    const progress = new ProgressReporter({ label: 'synth', total: rows, unit: 'rows', json: values.json, stream: io.stderr });
    for (const row of synthesizeRows({ rows, seed, languages })) {
      await file.writeLine(JSON.stringify(row));
      progress.advance();
    }
    await file.commit();
    progress.finish();
    const result = { out: values.out, rows, seed, languages };
    io.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `wrote ${rows} rows (${languages.join(', ')}, seed ${seed}) to ${values.out}\n`);
    return 0;
  });
}

/** `adaptd dataset build`. */
export async function runDatasetBuild(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const options = {
    ...DATASET_OPTIONS,
    'label-map': { type: 'string' },
    split: { type: 'string' },
    categories: { type: 'string' },
    prompt: { type: 'string' },
    tool: { type: 'string' },
  } as const;
  return runCommand(io, DATASET_BUILD_USAGE, argv, { options, allowPositionals: true }, async ({ values, positionals }) => {
    if (positionals.length !== 1) throw new UsageError('give exactly one input file');
    if (!values.out) throw new UsageError('--out is required');
    const split = values.split === undefined ? DEFAULT_SPLIT : parseSplitRatios(values.split);
    if (!split) throw new UsageError(`--split must be three non-negative shares like 0.8,0.1,0.1, not "${values.split}"`);
    const options = {
      spec: loadRedactorSpec({ categoriesPath: values.categories, promptPath: values.prompt, toolPath: values.tool }),
      labelMap: loadLabelMap(values['label-map']),
      languages: languageList(values.languages),
      seed: integerFlag('seed', values.seed, 1),
      split,
    };
    const summary = await writeSplits(positionals[0], values.out, options, values.json, io);
    writeFileAtomic(path.join(values.out, 'build-summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    io.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : describeBuild(summary, values.out));
    return SPLIT_NAMES.some((name) => summary.written[name] > 0) ? 0 : 1;
  });
}

async function writeSplits(input: string, outDir: string, options: Parameters<typeof buildDataset>[1], json: boolean, io: CommandIo): Promise<BuildSummary> {
  mkdirSync(outDir, { recursive: true });
  const files = Object.fromEntries(SPLIT_NAMES.map((name) => [name, new AtomicOutputFile(path.join(outDir, `${name}.jsonl`))])) as Record<SplitName, AtomicOutputFile>;
  const progress = new ProgressReporter({ label: 'build', unit: 'lines', json, stream: io.stderr });
  try {
    const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
    const summary = await buildDataset(counted(lines, progress), options, (name, line) => files[name].writeLine(line));
    for (const file of Object.values(files)) await file.commit();
    progress.finish();
    return summary;
  } catch (error) {
    for (const file of Object.values(files)) await file.discard();
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`cannot read ${input}: no such file`);
    throw error;
  }
}

async function* counted(lines: AsyncIterable<string>, progress: ProgressReporter): AsyncGenerator<string> {
  for await (const line of lines) {
    yield line;
    progress.advance();
  }
}

function describeBuild(summary: BuildSummary, outDir: string): string {
  const { written } = summary;
  const lines = [
    `read ${summary.lines} lines: ${written.train} train, ${written.validation} validation, ${written.test} test ` +
      `(${summary.duplicates} duplicates, ${summary.otherLanguage} in other languages, ${summary.bad.count} bad lines) → ${outDir}`,
  ];
  for (const [reason, count] of Object.entries(summary.bad.byReason)) {
    lines.push(`  ${reason}: ${count} (first at line ${summary.bad.firstLines[reason].join(', ')})`);
  }
  if (summary.droppedEntities > 0) lines.push(`  ${summary.droppedEntities} entities dropped by the label map`);
  return `${lines.join('\n')}\n`;
}

/** A comma-separated list of language codes; any code, since other releases have other languages. */
function languageList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const languages = text.split(',').map((l) => l.trim()).filter(Boolean);
  if (languages.length === 0) throw new UsageError(`--languages needs at least one language code`);
  return languages;
}

function synthLanguages(text: string | undefined): PiiLanguage[] {
  const languages = languageList(text) ?? [...PII_LANGUAGES];
  const unknown = languages.filter((l) => !(PII_LANGUAGES as readonly string[]).includes(l));
  if (unknown.length > 0) throw new UsageError(`synth writes ${PII_LANGUAGES.join(', ')}; not ${unknown.join(', ')}`);
  return languages as PiiLanguage[];
}
