// Where a redactor request's time goes, on both servers, with the benchmark model of `adaptd bench`: warm time to
// first token and time per generated token, with the answer under the redact tool's JSON-schema grammar and without
// it; then every latency of 16 requests on one adapter at concurrency 4 (is any request served late?).
// Usage: npx tsx scripts/bench-redactor-breakdown.ts [--requests 10] [--data-dir models/generated]
// Needs llama-server as `adaptd bench` finds or builds it (run that once first).
import { parseArgs } from 'node:util';
import { ensureBenchModels } from '../src/bench/benchModels.js';
import { benchDocuments, redactorPrompt, redactorRequest } from '../src/bench/benchRequests.js';
import { startAdaptd, startLlamaServer, type BenchTarget } from '../src/bench/benchServers.js';
import { DEFAULT_LLAMA_SERVER } from '../src/bench/llamaServerBinary.js';
import { loadRedactorSpec } from '../src/redaction/redactorSpec.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '10' }, 'data-dir': { type: 'string', default: 'models/generated' } } });
const requests = Number(values.requests);
const models = ensureBenchModels(values['data-dir'], 2, false);
const settings = { ...models, threads: 2, parallel: 4, contextPerSequence: 2048, logFile: '/dev/null' };
const prompt = redactorPrompt(loadRedactorSpec());
const documents = benchDocuments(4 * requests + 40);
let nextDocument = 0;

/** One streamed request: milliseconds to the first content chunk, and to the end. */
async function streamed(target: BenchTarget, grammar: boolean): Promise<{ firstMs: number; totalMs: number; tokens: number; status: number }> {
  const body: Record<string, unknown> = { ...redactorRequest(prompt, documents[nextDocument++], 32, true), ...target.select(0) };
  if (!grammar) delete body.response_format;
  const started = performance.now();
  const response = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let firstMs = 0;
  let tokens = 0;
  if (!response.ok) {
    process.stderr.write(`${target.name}: HTTP ${response.status}: ${(await response.text()).slice(0, 300)}\n`);
    return { firstMs, totalMs: performance.now() - started, tokens, status: response.status };
  }
  const decoder = new TextDecoder();
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    for (const line of decoder.decode(bytes, { stream: true }).split('\n')) {
      const usage = /"completion_tokens":(\d+)/.exec(line);
      if (usage) tokens = Number(usage[1]);
      if (!firstMs && line.includes('"content":"')) firstMs = performance.now() - started;
    }
  }
  return { firstMs, totalMs: performance.now() - started, tokens, status: response.status };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function breakdown(target: BenchTarget): Promise<void> {
  for (const grammar of [true, false]) {
    await streamed(target, grammar); // fills the prompt cache where the server keeps one
    const runs = [];
    for (let i = 0; i < requests; i++) runs.push(await streamed(target, grammar));
    const answered = runs.filter((r) => r.status === 200);
    const perToken = median(answered.map((r) => (r.totalMs - r.firstMs) / Math.max(1, r.tokens - 1)));
    const failed = runs.length - answered.length;
    console.log(
      `${target.name}, ${grammar ? 'with' : 'without'} the grammar: first token ${median(answered.map((r) => r.firstMs)).toFixed(0)} ms, ` +
        `${perToken.toFixed(2)} ms per token, request ${median(answered.map((r) => r.totalMs)).toFixed(0)} ms${failed ? `, ${failed} failed` : ''}`,
    );
  }
  const latencies: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, () => streamed(target, true)));
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < 16) {
        next++;
        const { totalMs, status } = await streamed(target, true);
        latencies.push(status === 200 ? totalMs.toFixed(0) : `HTTP ${status}`);
      }
    }),
  );
  console.log(`${target.name}, 16 requests at concurrency 4, ms: ${latencies.join(' ')}`);
}

for (const start of [() => startAdaptd(settings, 4), () => startLlamaServer(DEFAULT_LLAMA_SERVER, settings)]) {
  const target = await start();
  try {
    await breakdown(target);
  } finally {
    await target.stop();
  }
}
