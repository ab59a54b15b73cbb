import { createReadStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { readRow } from '../redaction/dataset/buildDataset.js';
import { loadLabelMap } from '../redaction/dataset/labelMap.js';
import type { PiiRow } from '../redaction/dataset/PiiRow.js';
import type { ChatCompletionsClient } from '../redaction/eval/ChatRedactionModel.js';
import { EndpointError } from '../redaction/redactionErrors.js';
import { renderHtmlReport } from '../redaction/eval/renderHtmlReport.js';
import { renderMarkdownReport } from '../redaction/eval/renderMarkdownReport.js';
import { runEvaluation, type EvalRun, type EvalSystem } from '../redaction/eval/runEvaluation.js';
import { DETECTOR_CHOICES, type DetectorChoice } from '../redaction/redactCall/redactDocument.js';
import { loadRedactorSpec, type RedactorSpec } from '../redaction/redactCall/redactorSpec.js';
import { writeFileAtomic } from './AtomicOutputFile.js';
import { integerFlag, processIo, UsageError, runCommand, type CommandFlags, type CommandIo } from './commandIo.js';
import { parseSystemSpec, perSystemValues, type EvalSystemSpec } from './evalSystemSpec.js';
import { ProgressReporter } from './progress.js';

export const EVAL_USAGE = `Usage: adaptd eval --set TEST.jsonl --system NAME=URL#MODEL[+adapter[:scale]...] [--system ...] --out DIR
       [--concurrency N] [--limit N] [--price [NAME=]USD_PER_MILLION_TOKENS] [--api-key-env [NAME=]VAR]
       [--max-tokens N] [--timeout SECONDS] [--retries N] [--detectors llm|rules|hybrid]
       [--label-map FILE] [--categories FILE] [--prompt FILE] [--tool FILE] [--json]

Runs every system on the same labelled rows (pii-masking-200k schema, e.g. the test.jsonl of
adaptd dataset build) through its OpenAI-compatible chat API, forcing the redact tool call, and
writes DIR/report.md, DIR/report.json, DIR/report.html and DIR/samples.jsonl.
URL is the client's base URL (http://127.0.0.1:8080/v1; a bare host gets /v1). Adapters after
MODEL go into adaptd's "lora" field. The API key comes from the environment: --api-key-env VAR
(or NAME=VAR per system), else OPENAI_API_KEY.
`;

const DEFAULT_MAX_TOKENS = 4096;

/** `adaptd eval`. */
export async function runEval(argv: string[], io: CommandIo = processIo()): Promise<number> {
  return runCommand(io, EVAL_USAGE, argv, { options: EVAL_OPTIONS }, async (parsed) => {
    const values = checkEvalArgs(parsed.values);
    const spec = loadRedactorSpec({ categoriesPath: values.categories, promptPath: values.prompt, toolPath: values.tool });
    const { rows, bad } = await readEvalSet(values.set, spec, values['label-map'], integerFlag('limit', values.limit, Infinity, 1));
    if (bad > 0) io.stderr.write(`skipped ${bad} unusable lines of ${values.set} (adaptd dataset build reports why)\n`);
    if (rows.length === 0) throw new UsageError(`${values.set} has no usable rows`);
    const systems = buildSystems(values, io.env);
    const progress = new ProgressReporter({ label: 'eval', total: rows.length * systems.length, unit: 'calls', json: values.json, stream: io.stderr });
    const run = await runEvaluation(values.set, rows, systems, {
      spec,
      detectors: values.detectors as DetectorChoice,
      maxTokens: integerFlag('max-tokens', values['max-tokens'], DEFAULT_MAX_TOKENS, 1),
      timeoutMs: integerFlag('timeout', values.timeout, 300, 1) * 1000,
      concurrency: integerFlag('concurrency', values.concurrency, 4, 1),
      onProgress: (done) => (done > 0 ? progress.advance() : undefined),
    });
    progress.finish();
    writeReports(values.out, run);
    io.stdout.write(values.json ? `${JSON.stringify(run.report)}\n` : `${renderMarkdownReport(run.report)}\nreports in ${values.out}\n`);
    return 0;
  });
}

const EVAL_OPTIONS = {
  set: { type: 'string' },
  system: { type: 'string', multiple: true, default: [] as string[] },
  out: { type: 'string' },
  concurrency: { type: 'string' },
  limit: { type: 'string' },
  price: { type: 'string', multiple: true, default: [] as string[] },
  'api-key-env': { type: 'string', multiple: true, default: [] as string[] },
  'max-tokens': { type: 'string' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  detectors: { type: 'string', default: 'llm' },
  'label-map': { type: 'string' },
  categories: { type: 'string' },
  prompt: { type: 'string' },
  tool: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function checkEvalArgs(values: CommandFlags<typeof EVAL_OPTIONS>) {
  if (!values.set) throw new UsageError('--set is required');
  if (!values.out) throw new UsageError('--out is required');
  if (values.system.length === 0) throw new UsageError('give at least one --system');
  if (!(DETECTOR_CHOICES as readonly string[]).includes(values.detectors)) throw new UsageError(`--detectors is one of ${DETECTOR_CHOICES.join(', ')}`);
  return { ...values, set: values.set, out: values.out };
}

type EvalValues = ReturnType<typeof checkEvalArgs>;

/** Labelled rows, renamed by the label map like dataset build does; unusable lines are counted. */
async function readEvalSet(file: string, spec: RedactorSpec, labelMapPath: string | undefined, limit: number) {
  const labelMap = loadLabelMap(labelMapPath);
  const rows: PiiRow[] = [];
  let bad = 0;
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => input.once('open', () => resolve()).once('error', reject));
  await opened.catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read --set ${file}: ${error.code ?? error.message}`);
  });
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (rows.length >= limit) break;
    if (line.trim() === '') continue;
    const verdict = readRow(line, { spec, labelMap });
    if ('row' in verdict) rows.push(verdict.row);
    else bad++;
  }
  input.destroy();
  return { rows, bad };
}

function buildSystems(values: EvalValues, env: NodeJS.ProcessEnv): EvalSystem[] {
  const specs = values.system.map(parseSystemSpec);
  const names = specs.map((s) => s.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new UsageError(`two systems are named "${duplicate}"`);
  const prices = perSystemValues('price', values.price);
  const keys = perSystemValues('api-key-env', values['api-key-env']);
  for (const name of [...prices.keys(), ...keys.keys()]) {
    if (name !== '*' && !names.includes(name)) throw new UsageError(`--price / --api-key-env name "${name}", which is no --system`);
  }
  const retries = integerFlag('retries', values.retries, 2);
  return specs.map((spec) => ({
    name: spec.name,
    endpoint: spec.baseURL,
    model: spec.model,
    lora: spec.lora,
    pricePerMillionTokens: price(prices.get(spec.name) ?? prices.get('*')),
    client: chatClient(spec, apiKey(keys.get(spec.name) ?? keys.get('*'), env), retries),
  }));
}

function price(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--price must be USD per million tokens, not "${text}"`);
  return value;
}

// A local server usually checks no key, but the client insists on one.
function apiKey(variable: string | undefined, env: NodeJS.ProcessEnv): string {
  if (variable === undefined) return env.OPENAI_API_KEY || 'unused';
  const key = env[variable];
  if (!key) throw new UsageError(`--api-key-env names ${variable}, which is not set`);
  return key;
}

/** The official openai client behind the eval's client interface; `lora` travels as an extra body field. */
function chatClient(spec: EvalSystemSpec, key: string, retries: number): ChatCompletionsClient {
  const openai = new OpenAI({ baseURL: spec.baseURL, apiKey: key, maxRetries: retries });
  return {
    create: (body, options) =>
      openai.chat.completions.create(body as ChatCompletionCreateParamsNonStreaming, { signal: options.signal }).catch((error: unknown) => {
        throw endpointError(error);
      }),
  };
}

// The openai client's error classes become the eval's own; an abort stays as it is, since the
// redactor turns its own deadline into a timeout.
function endpointError(error: unknown): unknown {
  if (error instanceof OpenAI.APIConnectionTimeoutError) return new EndpointError('timeout', error.message);
  if (error instanceof OpenAI.APIConnectionError) return new EndpointError('connection', error.message);
  if (error instanceof OpenAI.APIError && error.status !== undefined) return new EndpointError('http', error.message, error.status);
  return error;
}

function writeReports(outDir: string, run: EvalRun): void {
  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(path.join(outDir, 'report.json'), `${JSON.stringify(run.report, null, 2)}\n`);
  writeFileAtomic(path.join(outDir, 'report.md'), renderMarkdownReport(run.report));
  writeFileAtomic(path.join(outDir, 'report.html'), renderHtmlReport(run.report));
  const samples = Object.entries(run.outcomes).flatMap(([system, outcomes]) =>
    outcomes.map(({ counts: _counts, ...outcome }) => JSON.stringify({ system, ...outcome })),
  );
  writeFileAtomic(path.join(outDir, 'samples.jsonl'), samples.length > 0 ? `${samples.join('\n')}\n` : '');
}
