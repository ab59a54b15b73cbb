import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { parseServerConfig, ConfigError } from '../config/serverConfig.js';
import { REDACTION_MODES, type RedactionMode } from '../redaction/redactCall/applyRedaction.js';
import { mapOrdered } from '../redaction/mapOrdered.js';
import { DETECTOR_CHOICES, type DetectorChoice } from '../redaction/redactCall/redactDocument.js';
import { CheckpointedOutput, type CheckpointState } from './CheckpointedOutput.js';
import { integerFlag, processIo, UsageError, runCommand, type CommandFlags, type CommandIo } from './commandIo.js';
import { ProgressReporter } from './progress.js';
import { countRows, formatOf, openDocuments, type InputRow } from './redactInput.js';
import { FatalRedactError, HttpRedactor, LocalRedactor, type DocumentRedactor, type RedactSettings } from './redactTargets.js';

export const REDACT_USAGE = `Usage: adaptd redact IN OUT [--format jsonl|csv|text] [--field text] [--column text]
       [--server URL [--api-key-env VAR] | --model PATH [--adapters DIR]] [--adapter NAME]
       [--mode label|mask|pseudonymize] [--detectors llm|rules|hybrid] [--labels L1,L2]
       [--max-tokens N] [--timeout SECONDS] [--concurrency N] [--errors FILE] [--vault-path FILE]
       [--restart] [--json] [-- SERVER_OPTIONS]

Redacts every document of IN into OUT, keeping each row's other fields: JSONL (the --field of each
object, default "text"), CSV (the --column, default "text"; a header line is required) or plain text
(one document per line). The format comes from the file name (.jsonl/.ndjson, .csv, else text).

Where the redaction runs:
  --server URL   an adaptd server (POST URL/v1/redact, one row per request); the API key is read
                 from the environment variable --api-key-env names (default: OPENAI_API_KEY)
  --model PATH   adaptd started in this process on a loopback port with that GGUF (--adapters DIR for
                 the adapters; server options such as --context-size go after --)
  neither        --detectors rules only, in this process with no model at all (the fast path for rules)
--adapter NAME picks the adapter (default: the base model). Pseudonyms come from the vault of the
server; in this process from --vault-path (or ADAPTD_VAULT_PATH/ADAPTD_VAULT_KEY, as for serve).

Every input row ends either redacted in OUT or in the errors file (default OUT.errors.jsonl, one
{"row", "code", "reason"} per line; rows count from 1, for CSV the data records after the header):
empty documents, invalid JSON, a missing field, and documents whose redact call failed (fail closed).
OUT and the errors file are written under .partial names and renamed when the run is done; a
checkpoint (OUT.checkpoint.json) lets the same command resume a killed run without losing or
repeating a row (--restart discards it). Exit status: 0 all rows redacted, 3 some rows in the
errors file, 1 the run stopped (server unreachable, key refused, ...; rerun to resume), 2 usage.
`;

const DEFAULT_CONCURRENCY = 4;

type Options = ReturnType<typeof checkRedactArgs>;

/** `adaptd redact IN OUT`. */
export async function runRedact(argv: string[], io: CommandIo = processIo()): Promise<number> {
  return runCommand(io, REDACT_USAGE, argv, { options: REDACT_OPTIONS, allowPositionals: true }, async ({ values, positionals }) => {
    const options = checkRedactArgs(argv, values, positionals);
    const paths = { out: options.out, errors: options.errors };
    const output = CheckpointedOutput.open(paths, fingerprint(options), options.restart);
    if (!output) {
      io.stdout.write(options.json ? `${JSON.stringify({ out: paths.out, errors_file: paths.errors, complete: true })}\n` : `${paths.out} was already complete\n`);
      return 0;
    }
    const redactor = await openRedactor(options, io);
    try {
      return await redactAll(options, output, redactor, io);
    } finally {
      await redactor.close();
    }
  });
}

async function redactAll(options: Options, output: CheckpointedOutput, redactor: DocumentRedactor, io: CommandIo): Promise<number> {
  const resumedFrom = output.committed.rows;
  const total = await countRows(options.input, options.format);
  const source = await openDocuments(options.input, options.format, options);
  output.writeHeader(source.header);
  const progress = new ProgressReporter({ label: 'redact', total, unit: 'rows', json: options.json, stream: io.stderr });
  progress.skip(resumedFrom);
  const started = Date.now();
  // Ctrl-C or a polite kill keeps everything committed so far for the next run.
  const stop = () => {
    output.suspend();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const work = async (row: InputRow) => ('problem' in row ? row : { row: row.row, outcome: await redactor.redact(row.text), render: row.render });
    for await (const done of mapOrdered(skip(source.rows, resumedFrom), options.concurrency, work)) {
      if ('problem' in done) output.failed(done.row, done.problem);
      else if (done.outcome.ok) output.redacted(done.render(done.outcome.text));
      else output.failed(done.row, done.outcome.problem);
      progress.advance();
    }
  } catch (error) {
    output.suspend();
    if (!(error instanceof FatalRedactError)) throw error;
    io.stderr.write(`adaptd redact: ${error.message}\n${output.committed.rows} rows are committed; run the same command again to resume\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  output.finish();
  progress.finish();
  const seconds = (Date.now() - started) / 1000;
  io.stdout.write(summary(options, output.committed, resumedFrom, seconds));
  return output.committed.errors > 0 ? 3 : 0;
}

async function* skip<T>(rows: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  let seen = 0;
  for await (const row of rows) if (seen++ >= count) yield row;
}

function summary(options: Options, done: CheckpointState, resumedFrom: number, seconds: number): string {
  const rate = (done.rows - resumedFrom) / Math.max(seconds, 1e-3);
  if (options.json) {
    return `${JSON.stringify({
      out: options.out,
      errors_file: options.errors,
      rows: done.rows,
      redacted: done.redacted,
      errors: done.errors,
      reasons: done.reasons,
      resumed_from: resumedFrom,
      seconds,
      rows_per_second: rate,
    })}\n`;
  }
  const reasons = Object.entries(done.reasons).map(([code, n]) => `${code}: ${n}`).join(', ');
  const resumed = resumedFrom > 0 ? `, resumed after row ${resumedFrom}` : '';
  return (
    `${done.rows} rows: ${done.redacted} redacted → ${options.out}, ${done.errors} in ${options.errors}${reasons ? ` (${reasons})` : ''}\n` +
    `${(done.rows - resumedFrom)} rows in ${seconds.toFixed(1)} s, ${rate.toFixed(1)} rows/s${resumed}\n`
  );
}

/** The input and every option that shapes the output: a checkpoint resumes only an identical run. */
function fingerprint(options: Options): string {
  const input = statSync(options.input);
  const shape = {
    input: realpathSync(options.input),
    size: input.size,
    mtimeMs: input.mtimeMs,
    format: options.format,
    field: options.field,
    column: options.column,
    settings: options.settings,
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}

async function openRedactor(options: Options, io: CommandIo): Promise<DocumentRedactor> {
  if (options.server) return new HttpRedactor(options.server, options.settings, io.env[options.apiKeyEnv]);
  const serverArgs = [...(options.vaultPath ? ['--vault-path', options.vaultPath] : []), ...options.serverOptions];
  if (!options.model) {
    if (options.settings.detectors !== 'rules') {
      throw new UsageError(`--detectors ${options.settings.detectors} needs a model: give --server URL or --model PATH (or use --detectors rules)`);
    }
    return LocalRedactor.open(serverConfig(serverArgs, io), options.settings);
  }
  const { startServer } = await import('../main.js');
  // One redactor adapter set: sequences that only keep other sets' prompts would be KV cache never used.
  const flags = ['--model', options.model, '--host', '127.0.0.1', '--port', '0', '--log-level', 'error', '--parallel', String(Math.min(64, options.concurrency)), '--prompt-cache-slots', '0'];
  const server = await startServer(serverConfig([...flags, ...(options.adapters ? ['--adapters', options.adapters] : []), ...serverArgs], io));
  return new HttpRedactor(server.url, options.settings, undefined, server.close);
}

function serverConfig(argv: string[], io: CommandIo) {
  try {
    return parseServerConfig(argv, io.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`server option ${error.message}`);
    throw error;
  }
}

const REDACT_OPTIONS = {
  format: { type: 'string' },
  field: { type: 'string', default: 'text' },
  column: { type: 'string', default: 'text' },
  server: { type: 'string' },
  'api-key-env': { type: 'string', default: 'OPENAI_API_KEY' },
  model: { type: 'string' },
  adapters: { type: 'string' },
  adapter: { type: 'string' },
  mode: { type: 'string', default: 'label' },
  detectors: { type: 'string', default: 'hybrid' },
  labels: { type: 'string' },
  'max-tokens': { type: 'string' },
  timeout: { type: 'string' },
  concurrency: { type: 'string' },
  errors: { type: 'string' },
  'vault-path': { type: 'string' },
  restart: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

function checkRedactArgs(argv: readonly string[], values: CommandFlags<typeof REDACT_OPTIONS>, positionals: string[]) {
  const separator = argv.indexOf('--');
  const serverOptions = separator >= 0 ? argv.slice(separator + 1) : [];
  const files = separator >= 0 ? positionals.slice(0, positionals.length - serverOptions.length) : positionals;
  if (files.length !== 2) throw new UsageError('give the input file and the output file: adaptd redact IN OUT');
  const [input, out] = files;
  if (realpathOrSelf(input) === realpathOrSelf(out)) throw new UsageError('OUT must not be the input file');
  if (values.server && (values.model || values['vault-path'] || serverOptions.length > 0)) {
    throw new UsageError('--server redacts on that server, with its vault: drop --model, --vault-path and the server options');
  }
  statOrUsage(input);
  return {
    input,
    out,
    errors: values.errors ?? `${out}.errors.jsonl`,
    format: formatOf(input, values.format),
    field: values.field,
    column: values.column,
    server: values.server,
    apiKeyEnv: values['api-key-env'],
    model: values.model,
    adapters: values.adapters,
    vaultPath: values['vault-path'],
    serverOptions,
    concurrency: integerFlag('concurrency', values.concurrency, DEFAULT_CONCURRENCY, 1),
    restart: values.restart,
    json: values.json,
    settings: settingsOf(values),
  };
}

function settingsOf(values: Record<string, string | boolean | undefined>): RedactSettings {
  const mode = oneOf('mode', values.mode as string, REDACTION_MODES) as RedactionMode;
  const detectors = oneOf('detectors', values.detectors as string, DETECTOR_CHOICES) as DetectorChoice;
  const labels = typeof values.labels === 'string' ? values.labels.split(',').map((l) => l.trim()).filter(Boolean) : undefined;
  const maxTokens = values['max-tokens'] === undefined ? undefined : integerFlag('max-tokens', values['max-tokens'] as string, 0, 1);
  const timeout = values.timeout === undefined ? undefined : integerFlag('timeout', values.timeout as string, 0, 1);
  return {
    mode,
    detectors,
    ...(labels ? { labels } : {}),
    ...(typeof values.adapter === 'string' ? { model: values.adapter } : {}),
    ...(maxTokens ? { max_tokens: maxTokens } : {}),
    ...(timeout ? { deadline_ms: timeout * 1000 } : {}),
  };
}

function oneOf(flag: string, value: string, choices: readonly string[]): string {
  if (!choices.includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}`);
  return value;
}

function statOrUsage(file: string): void {
  try {
    if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function realpathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
