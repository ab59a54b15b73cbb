// Where a redactor request's time goes, on both servers, with the benchmark model of `adaptd bench`: warm time to
// first token and time per generated token, with the answer under the redact tool's JSON-schema grammar and without
// it; then every latency of 16 requests on one adapter at concurrency 4 (is any request served late?).
// Usage: npx tsx scripts/bench-redactor-breakdown.ts [--requests 10] [--data-dir models/generated]
// Needs llama-server as `adaptd bench` finds or builds it (run that once first).
import { parseArgs } from 'node:util';
import { ensureBenchModels } from '../src/bench/benchModels.js';
import { sendAll, sendChat } from '../src/bench/benchClient.js';
import { benchDocuments, redactorPrompt, redactorRequest, type ChatBody } from '../src/bench/benchRequests.js';
import { startAdaptd, startLlamaServer, type BenchTarget } from '../src/bench/benchServers.js';
import { DEFAULT_LLAMA_SERVER } from '../src/bench/llamaServerBinary.js';
import { median } from '../src/bench/benchStats.js';
import { loadRedactorSpec } from '../src/redaction/redactCall/redactorSpec.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '10' }, 'data-dir': { type: 'string', default: 'models/generated' } } });
const requests = Number(values.requests);
const models = ensureBenchModels(values['data-dir'], 2, false);
const settings = { ...models, threads: 2, parallel: 4, contextPerSequence: 2048, logFile: '/dev/null' };
const prompt = redactorPrompt(loadRedactorSpec());
// Both servers get the same documents, in the same order: 2 x (1 + requests) one at a time, then 4 + 16 at concurrency 4.
const documents = benchDocuments(2 * (requests + 1) + 20);
let nextDocument = 0;

/** A streamed redactor request on adapter 0, each with a document of its own; the grammar can be left out. */
function redactorBody(target: BenchTarget, grammar: boolean): ChatBody {
  const body: ChatBody = { ...redactorRequest(prompt, documents[nextDocument++], 32, true), ...target.select(0) };
  if (!grammar) delete body.response_format;
  return body;
}

const ms = (value: number | null) => (value === null ? 'n/a' : value.toFixed(0));

async function breakdown(target: BenchTarget): Promise<void> {
  nextDocument = 0;
  for (const grammar of [true, false]) {
    await sendChat(target.url, redactorBody(target, grammar)); // fills the prompt cache where the server keeps one
    const runs = [];
    for (let i = 0; i < requests; i++) runs.push(await sendChat(target.url, redactorBody(target, grammar)));
    const answered = runs.filter((r) => r.ok);
    const perToken = median(answered.map((r) => (r.latencyMs - (r.firstTokenMs ?? 0)) / Math.max(1, (r.completionTokens ?? 0) - 1)));
    const failed = runs.filter((r) => !r.ok);
    console.log(
      `${target.name}, ${grammar ? 'with' : 'without'} the grammar: first token ${ms(median(answered.map((r) => r.firstTokenMs ?? 0)))} ms, ` +
        `${perToken?.toFixed(2)} ms per token, request ${ms(median(answered.map((r) => r.latencyMs)))} ms` +
        (failed.length ? `, ${failed.length} failed (${failed[0].error})` : ''),
    );
  }
  await sendAll(target.url, Array.from({ length: 4 }, () => redactorBody(target, true)), 4);
  const { outcomes } = await sendAll(target.url, Array.from({ length: 16 }, () => redactorBody(target, true)), 4);
  const latencies = outcomes.map((o) => (o.ok ? o.latencyMs.toFixed(0) : (o.error ?? 'failed')));
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
