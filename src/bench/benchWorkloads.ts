import { sendAll, sendChat, type RequestOutcome } from './benchClient.js';
import { decodeRequest, redactorRequest, type ChatBody, type RedactorPrompt } from './benchRequests.js';
import { processMemory, resetPeakMemory, type BenchTarget } from './benchServers.js';
import { median, summarisePool, type WorkloadStats } from './benchStats.js';

/** The texts every workload draws from; warm-up requests use their own documents so timed prompts are unseen. */
export interface BenchInputs {
  prompt: RedactorPrompt;
  documents: string[];
  warmupDocuments: string[];
  /** Tokens each redactor answer has (the redactor workloads' max_tokens). */
  redactorTokens: number;
}

export interface DecodeStats {
  runs: number;
  tokensPerSecond: number | null;
  shortAnswers: number;
  failed: number;
  errors: string[];
}

/**
 * One stream, a short prompt, `maxTokens` tokens: for each target, the median of `runs` runs after one untimed
 * warm-up. The targets take turns run by run (who goes first alternating): one stream's speed on a shared machine
 * drifts by 5-10% from one minute to the next, and a target's runs all taken in another minute than the other's
 * moved this ratio between 0.92 and 1.03 in three runs of this workload alone.
 */
export async function decodeWorkload(targets: BenchTarget[], maxTokens: number, runs: number): Promise<Map<BenchTarget, DecodeStats>> {
  for (const target of targets) await sendChat(target.url, { ...decodeRequest(8, 99), ...target.select(undefined) });
  const outcomes = new Map<BenchTarget, RequestOutcome[]>(targets.map((target) => [target, []]));
  for (let run = 0; run < runs; run++) {
    for (const target of run % 2 === 0 ? targets : [...targets].reverse()) {
      outcomes.get(target)!.push(await sendChat(target.url, { ...decodeRequest(maxTokens, run), ...target.select(undefined) }));
    }
  }
  const summary = (all: RequestOutcome[]): DecodeStats => {
    const answered = all.filter((o) => o.ok);
    return {
      runs,
      tokensPerSecond: median(answered.map((o) => (o.completionTokens ?? 0) / (o.latencyMs / 1000))),
      shortAnswers: answered.filter((o) => o.completionTokens !== maxTokens).length,
      failed: all.length - answered.length,
      errors: [...new Set(all.filter((o) => !o.ok).map((o) => o.error ?? 'unknown error'))],
    };
  };
  return new Map(targets.map((target) => [target, summary(outcomes.get(target)!)]));
}

export interface RedactorLoad {
  /** The adapter of each timed request, in order. */
  adapters: number[];
  concurrency: number;
  /** false: no response schema, so every answer token is decoded (default true). */
  grammar?: boolean;
}

export interface AggregateStats {
  /** Completion tokens of all requests over the wall time from the first request to the last answer. */
  tokensPerSecond: number;
  requests: number;
  failed: number;
  errors: string[];
}

/**
 * Plain chat with `answerTokens`-token answers, `concurrency` requests in flight, request i on adapter
 * `adapters[i]`: the total tokens/s a server gives all its clients, which is what batching is for.
 */
export async function aggregateWorkload(target: BenchTarget, adapters: number[], concurrency: number, answerTokens: number): Promise<AggregateStats> {
  const body = (adapter: number, variant: number) => ({ ...decodeRequest(answerTokens, variant), ...target.select(adapter) });
  await sendAll(target.url, [...new Set(adapters)].map((adapter, i) => ({ ...body(adapter, 900 + i), max_tokens: 4 })), concurrency);
  const { outcomes, wallMs } = await sendAll(target.url, adapters.map((adapter, i) => body(adapter, i)), concurrency);
  const seconds = wallMs / 1000;
  const answered = outcomes.filter((o) => o.ok);
  return {
    tokensPerSecond: answered.reduce((sum, o) => sum + (o.completionTokens ?? 0), 0) / seconds,
    requests: outcomes.length,
    failed: outcomes.length - answered.length,
    errors: [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.error ?? 'unknown error'))],
  };
}

/**
 * Redactor requests over some adapters at a concurrency. Before timing, each adapter gets `concurrency`
 * simultaneous requests, so every server starts from its steady state (prompt caches filled where it keeps them)
 * and the timed part measures serving, not loading.
 */
export async function redactorWorkload(target: BenchTarget, inputs: BenchInputs, load: RedactorLoad, onDone?: () => void): Promise<WorkloadStats> {
  await warmUp(target, inputs, load.adapters.slice(0, Math.max(load.concurrency, new Set(load.adapters).size)), load.concurrency);
  const bodies = load.adapters.map((adapter, i) => redactorBody(target, inputs, inputs.documents[i % inputs.documents.length], adapter, false, load.grammar));
  return summarisePool(await sendAll(target.url, bodies, load.concurrency, onDone), inputs.redactorTokens);
}

/**
 * The workload's own adapter pattern, untimed, until every adapter in it has run and every slot in flight has been
 * used: the steady state the timed requests then measure. (Warming each adapter with a full round of its own left
 * only the last few sets' prompts cached when more sets rotate than sequences run.)
 */
async function warmUp(target: BenchTarget, inputs: BenchInputs, adapters: number[], concurrency: number): Promise<void> {
  const bodies = adapters.map((adapter, i) => redactorBody(target, inputs, inputs.warmupDocuments[i % inputs.warmupDocuments.length], adapter));
  await sendAll(target.url, bodies, concurrency);
}

function redactorBody(target: BenchTarget, inputs: BenchInputs, document: string, adapter: number | undefined, stream = false, grammar = true): ChatBody {
  return { ...redactorRequest(inputs.prompt, document, inputs.redactorTokens, stream, grammar), ...target.select(adapter) };
}

export interface ChurnStats extends WorkloadStats {
  /** Resident memory once `resident` adapters were warm at the workload's concurrency: the reference for the bound. */
  warmRssMiB: number;
  /** The most resident memory seen during the churn (sampled every 50 ms) and the kernel's high-water mark since it began. */
  peakSampledRssMiB: number;
  peakRssMiB: number;
}

/**
 * Requests spread round-robin over every adapter, more than may be resident, so most requests need an adapter
 * that is not loaded: throughput, failures and memory while contexts are evicted and created.
 */
export async function churnWorkload(
  target: BenchTarget,
  inputs: BenchInputs,
  options: { adapters: number; resident: number; requests: number; concurrency: number },
  onDone?: () => void,
): Promise<ChurnStats> {
  await warmUp(target, inputs, Array.from({ length: options.resident }, (_, i) => i), options.concurrency);
  resetPeakMemory(target.pid);
  const warmRssMiB = processMemory(target.pid).rssMiB;
  let peakSampledRssMiB = warmRssMiB;
  const sampler = setInterval(() => {
    peakSampledRssMiB = Math.max(peakSampledRssMiB, processMemory(target.pid).rssMiB);
  }, 50);
  try {
    // Start after the warm adapters, so the first requests already miss.
    const bodies = Array.from({ length: options.requests }, (_, i) =>
      redactorBody(target, inputs, inputs.documents[i % inputs.documents.length], (options.resident + i) % options.adapters),
    );
    const stats = summarisePool(await sendAll(target.url, bodies, options.concurrency, onDone), inputs.redactorTokens);
    const memory = processMemory(target.pid);
    return { ...stats, warmRssMiB, peakSampledRssMiB: Math.max(peakSampledRssMiB, memory.rssMiB), peakRssMiB: memory.peakRssMiB };
  } finally {
    clearInterval(sampler);
  }
}

export interface FirstTokenStats {
  coldMs: number | null;
  warmMs: number | null;
  failed: number;
  errors: string[];
}

/**
 * Time to the first streamed token of a redactor request on an adapter no request has used yet (cold: the adapter
 * is applied and the whole prompt evaluated), then the median of `warmRuns` more with new documents (warm).
 */
export async function firstTokenWorkload(target: BenchTarget, inputs: BenchInputs, adapter: number, warmRuns: number): Promise<FirstTokenStats> {
  const outcomes: RequestOutcome[] = [];
  for (let run = 0; run <= warmRuns; run++) {
    outcomes.push(await sendChat(target.url, redactorBody(target, inputs, inputs.documents[run % inputs.documents.length], adapter, true)));
  }
  const [cold, ...warm] = outcomes;
  const warmTimes = warm.filter((o) => o.ok && o.firstTokenMs !== undefined).map((o) => o.firstTokenMs!);
  return {
    coldMs: cold.ok ? cold.firstTokenMs ?? null : null,
    warmMs: median(warmTimes),
    failed: outcomes.filter((o) => !o.ok).length,
    errors: [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.error ?? 'unknown error'))],
  };
}
