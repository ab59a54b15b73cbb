import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableCpus } from '../engine/cpuBudget.js';
import { loadRedactorSpec } from '../redaction/redactCall/redactorSpec.js';
import { benchAdapterName, ensureBenchModels, type BenchModels } from './benchModels.js';
import { rateFigure, type BenchCheck, type BenchFigure, type BenchReport } from './benchReport.js';
import { alternatingAdapters, benchDocuments, redactorPrompt } from './benchRequests.js';
import { performanceEnvironment, processMemory, startAdaptd, startLlamaServer, type BenchTarget, type BenchTargetName, type ServerSettings } from './benchServers.js';
import type { WorkloadStats } from './benchStats.js';
import { aggregateWorkload, churnWorkload, decodeWorkload, firstTokenWorkload, redactorWorkload, type BenchInputs, type DecodeStats } from './benchWorkloads.js';
import { findOrBuildLlamaServer } from './llamaServerBinary.js';

export interface BenchOptions {
  outDir: string;
  dataDir: string;
  /** 0: the CPUs this process may use. */
  threads: number;
  requests: number;
  quick: boolean;
  llamaServer?: string;
  /** Run one server only (no ratios): `adaptd` is how CI checks the harness without a llama-server build. */
  only?: BenchTargetName;
  /** Concurrencies of the aggregate and redactor workloads (default 1, 4, 8). */
  concurrencies?: number[];
  /** Workloads to run (default: all of BENCH_WORKLOADS). */
  workloads?: BenchWorkload[];
  /** An external base GGUF and LoRA GGUFs instead of the generated ones. */
  model?: string;
  adapters?: string[];
  /** Passed to both servers: adaptd --gpu, llama-server -ngl 999 (auto) or 0 (off). */
  gpu?: 'auto' | 'off';
  command: string;
  log: (line: string) => void;
}

export const BENCH_WORKLOADS = ['decode', 'aggregate', 'redactor', 'redactor-plain', 'first-token', 'churn'] as const;
export type BenchWorkload = (typeof BENCH_WORKLOADS)[number];

/** Tokens of each answer in the aggregate workload. */
const AGGREGATE_ANSWER_TOKENS = 64;
/** Adapters the mixed aggregate workload spreads over (request i uses adapter i mod 8). */
const AGGREGATE_MIX = 8;

/** The shape of a run; --quick shrinks it (tiny model, few requests) so the harness itself can be tested. */
interface BenchPlan {
  adapterCount: number;
  decodeTokens: number;
  decodeRuns: number;
  redactorTokens: number;
  requests: number;
  concurrencies: number[];
  mixes: number[];
  /** The adapter no workload touches before the first-token test, so its first request is truly cold. */
  firstTokenAdapter: number;
  firstTokenWarmRuns: number;
  churnResident: number;
  churnRequests: number;
  churnConcurrency: number;
  /** Resident adapter sets of the main adaptd: every mixed adapter plus the base, so only the churn evicts. */
  mainResident: number;
  parallel: number;
  /** adaptd's --prompt-cache-slots: one per adapter of the largest mix, so every set in rotation keeps its prompt. */
  promptCacheSlots: number;
  contextPerSequence: number;
}

function benchPlan(options: BenchOptions): BenchPlan {
  const adapterCount = options.adapters?.length || (options.quick ? 10 : 12);
  const concurrencies = options.concurrencies ?? (options.quick ? [1, 4] : [1, 4, 8]);
  const mixes = [2, 8].filter((mix) => mix <= adapterCount);
  return {
    adapterCount,
    decodeTokens: options.quick ? 16 : 128,
    decodeRuns: options.quick ? 1 : 5,
    redactorTokens: options.quick ? 8 : 32,
    requests: options.quick ? Math.min(options.requests, 4) : options.requests,
    concurrencies,
    mixes,
    firstTokenAdapter: Math.min(8, adapterCount - 1),
    firstTokenWarmRuns: 3,
    churnResident: options.quick ? 2 : 4,
    churnRequests: options.quick ? adapterCount : 2 * adapterCount,
    churnConcurrency: 4,
    mainResident: Math.min(8, adapterCount),
    // llama-server needs a slot per request in flight (-np >= concurrency); adaptd gets as many sequences.
    parallel: Math.max(4, ...concurrencies),
    promptCacheSlots: Math.max(0, ...mixes),
    contextPerSequence: 2048,
  };
}

/** Memory may exceed the resident-set reference by this share before the churn counts as unbounded. */
const RSS_TOLERANCE = 0.1;
const WARM_FIRST_TOKEN_SHARE = 0.15;
const MIXED_RSS_SLACK_MIB = 64;

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const started = Date.now();
  const plan = benchPlan(options);
  const threads = options.threads > 0 ? options.threads : availableCpus();
  const log = (line: string) => options.log(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  const loadAtStart = os.loadavg()[0];
  mkdirSync(options.outDir, { recursive: true });

  const names: BenchTargetName[] = options.only ? [options.only] : ['adaptd', 'llama-server'];
  const binary = names.includes('llama-server') ? await findOrBuildLlamaServer(options.llamaServer, log) : undefined;
  log(`models: ${options.quick ? 'the tiny behaviour model (--quick)' : 'the 150M-parameter benchmark model'} and ${plan.adapterCount} LoRAs (generated once, cached in ${options.dataDir}/bench)`);
  const models = options.model ? externalModels(options.model, options.adapters ?? [], options.outDir) : ensureBenchModels(options.dataDir, plan.adapterCount, options.quick);
  const runs = (workload: BenchWorkload) => !options.workloads || options.workloads.includes(workload);
  const settings = (name: string): ServerSettings => ({
    ...models,
    gpu: options.gpu,
    threads,
    parallel: plan.parallel,
    contextPerSequence: plan.contextPerSequence,
    logFile: path.join(options.outDir, `${name}.log`),
  });
  const spec = loadRedactorSpec();
  const documents = benchDocuments(plan.requests * 2 + plan.churnRequests + 16);
  const inputs: BenchInputs = {
    prompt: redactorPrompt(spec),
    documents: documents.slice(0, plan.requests + plan.churnRequests),
    warmupDocuments: documents.slice(plan.requests + plan.churnRequests),
    redactorTokens: plan.redactorTokens,
  };

  const figures: BenchFigure[] = [];
  const checks: BenchCheck[] = [];
  const warnings: string[] = [];
  const servers: BenchReport['servers'] = {};
  const environment: Record<string, string> = {};
  const targets = new Map<BenchTargetName, BenchTarget>();
  const stopAll = () => Promise.all([...targets.values()].map((t) => t.stop()));
  // The servers are child processes that outlive an interrupted run unless they are stopped.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const name of names) {
      log(`starting ${name} (${threads} threads, ${plan.parallel} parallel, ${plan.contextPerSequence} tokens per sequence)`);
      const target = name === 'adaptd' ? await startAdaptd(settings('adaptd'), plan.mainResident, plan.promptCacheSlots) : await startLlamaServer(binary!, settings('llama-server'));
      targets.set(name, target);
      servers[name] = target.command;
      environment[`${name} environment`] = performanceEnvironment(target.pid);
    }

    // Servers take turns going first, so a burst of load from elsewhere does not always hit the same one.
    let turn = 0;
    const eachTarget = async <T>(label: string, measure: (target: BenchTarget) => Promise<T>, describe: (result: T) => string) => {
      const order = [...targets.values()];
      if (turn++ % 2 === 1) order.reverse();
      const results: Partial<Record<BenchTargetName, T>> = {};
      for (const target of order) {
        log(`${target.name}: ${label} ...`);
        const result = await measure(target);
        results[target.name] = result;
        log(`${target.name}: ${label}: ${describe(result)}`);
      }
      return results;
    };
    const pair = <T>(results: Partial<Record<BenchTargetName, T>>, value: (result: T) => number | null) => ({
      adaptd: results.adaptd === undefined ? null : value(results.adaptd),
      llamaServer: results['llama-server'] === undefined ? null : value(results['llama-server']),
    });
    const noteRequests = (label: string, results: Partial<Record<BenchTargetName, WorkloadStats>>) => {
      for (const [name, stats] of Object.entries(results)) {
        if (stats.failed > 0) warnings.push(`${name}, ${label}: ${stats.failed} of ${stats.requests} requests failed (${stats.errors.join('; ')})`);
        if (stats.shortAnswers > 0) warnings.push(`${name}, ${label}: ${stats.shortAnswers} answers did not have ${plan.redactorTokens} tokens`);
        for (const { request, ms } of stats.outliers) warnings.push(`${name}, ${label}: request ${request + 1} of ${stats.requests} took ${ms} ms, over 4 times the median (${stats.p50Ms?.toFixed(0)} ms)`);
      }
      const prompts = new Set(Object.values(results).map((s) => s.promptTokens));
      if (prompts.size > 1) warnings.push(`${label}: the servers counted different prompt sizes (${[...prompts].join(' vs ')} tokens)`);
    };
    const describeStats = (s: WorkloadStats) =>
      `${s.requestsPerSecond.toFixed(2)} req/s, p50 ${s.p50Ms?.toFixed(0)} ms, p95 ${s.p95Ms?.toFixed(0)} ms, ${s.failed} failed, prompt ${s.promptTokens} tokens`;

    if (runs('decode')) {
    log(`decode: ${[...targets.keys()].join(' and ')} taking turns ...`);
    const decodeStats = await decodeWorkload([...targets.values()], plan.decodeTokens, plan.decodeRuns);
    const decode: Partial<Record<BenchTargetName, DecodeStats>> = {};
    for (const [target, stats] of decodeStats) {
      decode[target.name] = stats;
      log(`${target.name}: decode: ${stats.tokensPerSecond?.toFixed(1)} tokens/s`);
    }
    figures.push({ workload: `decode, one stream, ${plan.decodeTokens} tokens`, metric: 'tokens/s', better: 'higher', ...pair(decode, (d) => d.tokensPerSecond), target: 0.95 });
    for (const [name, d] of Object.entries(decode)) {
      if (d.failed > 0) warnings.push(`${name}, decode: ${d.failed} runs failed (${d.errors.join('; ')})`);
      if (d.shortAnswers > 0) warnings.push(`${name}, decode: ${d.shortAnswers} runs ended before ${plan.decodeTokens} tokens`);
    }
    }

    const aggregateMix = Math.min(AGGREGATE_MIX, plan.adapterCount);
    const ownAggregate = new Map<string, number>();
    // adaptd's RSS after one adapter at every concurrency (the context warm) and after the mix: the mixed sets
    // may add their adapters' weights and little else.
    const ownRssAfter = new Map<number, number>();
    for (const adapters of runs('aggregate') ? [1, aggregateMix] : []) {
      for (const concurrency of plan.concurrencies) {
        const label = `aggregate, plain chat, ${AGGREGATE_ANSWER_TOKENS}-token answers, ${adapters === 1 ? '1 adapter' : `${adapters} adapters mixed`}, concurrency ${concurrency}`;
        const requests = Math.max(2 * concurrency, adapters === 1 ? 4 : adapters);
        const results = await eachTarget(label, (t) => aggregateWorkload(t, alternatingAdapters(requests, adapters), concurrency, AGGREGATE_ANSWER_TOKENS), (a) => `${a.tokensPerSecond.toFixed(1)} tokens/s, ${a.failed} failed`);
        for (const [name, a] of Object.entries(results)) if (a.failed > 0) warnings.push(`${name}, ${label}: ${a.failed} of ${a.requests} requests failed (${a.errors.join('; ')})`);
        const target = adapters === 1 ? (concurrency === 1 ? undefined : 1) : concurrency >= 8 ? 2 : undefined;
        figures.push({ workload: label, metric: 'tokens/s', better: 'higher', ...pair(results, (a) => a.tokensPerSecond), target });
        if (results.adaptd) ownAggregate.set(`${adapters}/${concurrency}`, results.adaptd.tokensPerSecond);
      }
      const adaptd = targets.get('adaptd');
      if (adaptd) ownRssAfter.set(adapters, processMemory(adaptd.pid).rssMiB);
    }
    const [warmRss, mixedRss] = [ownRssAfter.get(1), ownRssAfter.get(aggregateMix)];
    if (warmRss !== undefined && mixedRss !== undefined && aggregateMix > 1) {
      const weightsMiB = models.adapterPaths.slice(0, aggregateMix).reduce((sum, file) => sum + statSync(file).size, 0) / 2 ** 20;
      const bound = warmRss + weightsMiB + MIXED_RSS_SLACK_MIB;
      checks.push({
        name: `adaptd resident memory with ${aggregateMix} adapter sets in use ≤ warm start-up + their weights + ${MIXED_RSS_SLACK_MIB} MiB`,
        passed: mixedRss <= bound,
        detail: `RSS ${mixedRss.toFixed(0)} MiB after the mixed workloads ≤ ${bound.toFixed(0)} MiB (${warmRss.toFixed(0)} MiB after one adapter + ${weightsMiB.toFixed(1)} MiB of adapters + ${MIXED_RSS_SLACK_MIB})`,
      });
    }
    for (const concurrency of plan.concurrencies.filter((c) => c >= 8)) {
      const one = ownAggregate.get(`1/${concurrency}`);
      const mixed = ownAggregate.get(`${aggregateMix}/${concurrency}`);
      if (one && mixed) {
        checks.push({ name: `adaptd aggregate, ${aggregateMix} adapters mixed ≥ 0.85× one adapter at concurrency ${concurrency}`, passed: mixed >= 0.85 * one, detail: `${mixed.toFixed(1)} vs ${one.toFixed(1)} tokens/s: ${(mixed / one).toFixed(2)}×` });
      }
    }

    const redactorViews = [...(runs('redactor') ? [true] : []), ...(runs('redactor-plain') ? [false] : [])];
    for (const grammar of redactorViews) for (const adapters of grammar ? [1, ...plan.mixes] : [1]) {
      for (const concurrency of plan.concurrencies.filter((c) => c <= 4)) {
        const view = grammar ? 'redactor' : 'redactor without schema';
        const label = adapters === 1 ? `${view}, 1 adapter, concurrency ${concurrency}` : `${view}, alternating over ${adapters} adapters, concurrency ${concurrency}`;
        const load = { adapters: alternatingAdapters(plan.requests, adapters), concurrency, grammar };
        const results = await eachTarget(label, (t) => redactorWorkload(t, inputs, load), describeStats);
        noteRequests(label, results);
        figures.push(
          { workload: label, metric: 'req/s', better: 'higher', ...pair(results, (s) => s.requestsPerSecond), target: adapters === 1 ? 0.95 : 2 },
          { workload: label, metric: 'p50 ms', better: 'lower', ...pair(results, (s) => s.p50Ms) },
          { workload: label, metric: 'p95 ms', better: 'lower', ...pair(results, (s) => s.p95Ms) },
        );
      }
    }

    if (runs('first-token')) {
    const firstToken = await eachTarget(
      'time to first token',
      (t) => firstTokenWorkload(t, inputs, plan.firstTokenAdapter, plan.firstTokenWarmRuns),
      (f) => `cold ${f.coldMs?.toFixed(0)} ms, warm ${f.warmMs?.toFixed(0)} ms`,
    );
    const ttftLabel = 'redactor time to first token';
    figures.push(
      { workload: ttftLabel, metric: 'cold ms', better: 'lower', ...pair(firstToken, (f) => f.coldMs) },
      { workload: ttftLabel, metric: 'warm ms', better: 'lower', ...pair(firstToken, (f) => f.warmMs) },
    );
    const ownFirstToken = firstToken.adaptd;
    if (ownFirstToken) {
      const share = ownFirstToken.coldMs && ownFirstToken.warmMs !== null ? ownFirstToken.warmMs / ownFirstToken.coldMs : null;
      checks.push({
        name: `adaptd warm time to first token ≤ ${WARM_FIRST_TOKEN_SHARE * 100}% of cold`,
        passed: share === null ? null : share <= WARM_FIRST_TOKEN_SHARE,
        detail: share === null ? 'not measured' : `${ownFirstToken.warmMs!.toFixed(0)} ms warm vs ${ownFirstToken.coldMs!.toFixed(0)} ms cold: ${(share * 100).toFixed(1)}%`,
      });
    }
    }

    // The churn runs on an adaptd that may keep only a few adapter sets; llama-server keeps all it loaded.
    const main = runs('churn') && plan.adapterCount > plan.churnResident ? targets.get('adaptd') : undefined;
    if (runs('churn') && plan.adapterCount > plan.churnResident) {
    if (main) {
      await main.stop();
      log(`starting adaptd for the churn (--max-resident-adapters ${plan.churnResident})`);
      const churnTarget = await startAdaptd(settings('adaptd-churn'), plan.churnResident);
      targets.set('adaptd', churnTarget);
      servers['adaptd (churn)'] = churnTarget.command;
    }
    const churnLabel = `adapter churn, ${plan.churnRequests} requests over ${plan.adapterCount} adapters, ${plan.churnResident} resident, concurrency ${plan.churnConcurrency}`;
    const churn = await eachTarget(
      'adapter churn',
      (t) => churnWorkload(t, inputs, { adapters: plan.adapterCount, resident: plan.churnResident, requests: plan.churnRequests, concurrency: plan.churnConcurrency }),
      (c) => `${describeStats(c)}, RSS warm ${c.warmRssMiB.toFixed(0)} MiB, peak ${c.peakRssMiB.toFixed(0)} MiB`,
    );
    noteRequests('adapter churn', churn);
    figures.push(
      { workload: churnLabel, metric: 'req/s', better: 'higher', ...pair(churn, (c) => c.requestsPerSecond) },
      { workload: churnLabel, metric: 'p95 ms', better: 'lower', ...pair(churn, (c) => c.p95Ms) },
      { workload: churnLabel, metric: 'peak RSS MiB', better: 'lower', ...pair(churn, (c) => c.peakRssMiB) },
    );
    const ownChurn = churn.adaptd;
    if (ownChurn) {
      const bound = ownChurn.warmRssMiB * (1 + RSS_TOLERANCE);
      checks.push(
        { name: 'adapter churn: no failed request', passed: ownChurn.failed === 0, detail: `${ownChurn.failed} of ${ownChurn.requests} failed` },
        {
          name: `adapter churn: resident memory bounded by ${plan.churnResident} resident adapter sets`,
          passed: ownChurn.peakRssMiB <= bound,
          detail:
            `peak RSS ${ownChurn.peakRssMiB.toFixed(0)} MiB (highest sample during the churn ${ownChurn.peakSampledRssMiB.toFixed(0)} MiB) ` +
            `≤ bound ${bound.toFixed(0)} MiB (RSS with ${plan.churnResident} sets warm, ${ownChurn.warmRssMiB.toFixed(0)} MiB, + ${RSS_TOLERANCE * 100}%)`,
        },
      );
    }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }

  const loadAtEnd = os.loadavg()[0];
  if (Math.max(loadAtStart, loadAtEnd) > threads / 2) {
    warnings.push(`the machine was busy (load average ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end, for ${threads} threads): rerun on a quiet machine`);
  }
  return {
    command: options.command,
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machineFacts(loadAtStart, loadAtEnd, binary),
    settings: {
      threads,
      model: options.model ?? (options.quick ? 'behaviour model (64 wide, 2 layers; --quick)' : '150M-parameter Llama 3 architecture, F16 (512 wide, 8 layers, 128k vocabulary)'),
      adapters: options.adapters?.length ? options.adapters.join(', ') : `${plan.adapterCount} LoRAs, rank ${options.quick ? 4 : 16}, on the attention projections`,
      'parallel sequences / slots': plan.parallel,
      'adaptd prompt-cache slots': plan.promptCacheSlots,
      'context per sequence': plan.contextPerSequence,
      'redactor requests per workload': plan.requests,
      'redactor answer tokens': plan.redactorTokens,
      'redactor prompt': 'the shipped system prompt (56 categories) with the redact tool spec, a ~70-token document; JSON-schema-constrained answer',
      ...environment,
    },
    servers,
    figures: figures.map(rateFigure),
    checks,
    warnings,
  };
}

/**
 * A user's GGUF and LoRAs under the benchmark's adapter names (bench-00, bench-01, ...: symbolic links in the report
 * folder), so adaptd serves them by those names and llama-server loads them in the same order.
 */
function externalModels(modelPath: string, adapterPaths: string[], outDir: string): Omit<BenchModels, 'shape'> {
  const adaptersDir = path.join(outDir, 'adapters');
  rmSync(adaptersDir, { recursive: true, force: true });
  mkdirSync(adaptersDir, { recursive: true });
  const adapterNames = adapterPaths.map((_, i) => benchAdapterName(i));
  adapterPaths.forEach((file, i) => symlinkSync(path.resolve(file), path.join(adaptersDir, `${adapterNames[i]}.gguf`)));
  return { modelPath: path.resolve(modelPath), adaptersDir, adapterNames, adapterPaths: adapterPaths.map((file) => path.resolve(file)) };
}

function machineFacts(loadAtStart: number, loadAtEnd: number, binary: string | undefined): Record<string, string | number> {
  const facts: Record<string, string | number> = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    'CPUs available to this process': availableCpus(),
    'memory GiB': Number((os.totalmem() / 2 ** 30).toFixed(1)),
    'load average at start / end': `${loadAtStart.toFixed(2)} / ${loadAtEnd.toFixed(2)}`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
  // llama-server prints its version on stderr; a missing git is no reason to fail the run.
  const quiet = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
    return result.status === 0 ? `${result.stdout}${result.stderr}`.trim() : '';
  };
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD']);
  if (commit) facts['adaptd commit'] = commit;
  if (binary) {
    const version = /version: .*$/m.exec(quiet(binary, ['--version']));
    if (version) facts['llama-server'] = version[0];
  }
  return facts;
}
