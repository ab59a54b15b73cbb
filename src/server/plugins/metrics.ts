import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdapterCatalogue } from '../../adapters/AdapterCatalogue.js';
import type { ContextPool } from '../../engine/ContextPool.js';
import type { ContextMemoryEstimate } from '../../engine/LlamaEngine.js';
import type { GenerationMetrics } from '../../serving/GenerationServing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The `model` a generation request resolved to, for per-adapter metrics. */
    adapterLabel?: string;
  }
}


const MAX_ADAPTER_LABELS = 200;

/** Caps distinct adapter label values, so a registry of thousands of adapters cannot explode series counts. */
class AdapterLabels {
  private readonly seen = new Set<string>();
  label(adapter: string | undefined): string {
    if (!adapter) return 'none';
    if (this.seen.has(adapter)) return adapter;
    if (this.seen.size >= MAX_ADAPTER_LABELS) return 'other';
    this.seen.add(adapter);
    return adapter;
  }
}

export interface MetricsOptions {
  pool: ContextPool;
  catalogue: AdapterCatalogue;
  maxResidentAdapters: number;
  contextMemory: ContextMemoryEstimate;
  /** Restarts of the serving process by the launcher before this one started. */
  restarts: number;
}

/**
 * Prometheus metrics at GET /metrics: adaptd's own series, labelled by adapter, and the vllm:* series that the
 * Kubernetes inference gateway's endpoint picker reads to route a request to a pod where its LoRA is running.
 */
export function createMetrics(options: MetricsOptions) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'adaptd_' });
  const labels = new AdapterLabels();
  const requests = new Counter({ name: 'adaptd_requests_total', help: 'HTTP requests by route, adapter and status', labelNames: ['route', 'adapter', 'status'], registers: [registry] });
  const errors = new Counter({ name: 'adaptd_errors_total', help: 'HTTP responses with status >= 400, by route and status', labelNames: ['route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'adaptd_request_duration_seconds',
    help: 'Time from request to the end of the response',
    labelNames: ['route', 'adapter'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'adaptd_time_to_first_token_seconds',
    help: 'Time from request to the first generated text',
    labelNames: ['adapter'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const promptTokens = new Counter({ name: 'adaptd_prompt_tokens_total', help: 'Prompt tokens evaluated, by adapter', labelNames: ['adapter'], registers: [registry] });
  const completionTokens = new Counter({ name: 'adaptd_completion_tokens_total', help: 'Tokens generated, by adapter', labelNames: ['adapter'], registers: [registry] });
  const forcedTokens = new Counter({
    name: 'adaptd_grammar_forced_tokens_total',
    help: 'Completion tokens a grammar forced, inserted in a batch without decoding each (--grammar-fast-forward), by adapter',
    labelNames: ['adapter'],
    registers: [registry],
  });
  const { pool } = options;
  new Gauge({ name: 'adaptd_queue_depth', help: 'Requests waiting for a sequence', registers: [registry], collect() { this.set(pool.waiting); } });
  new Gauge({ name: 'adaptd_requests_running', help: 'Requests holding a sequence', registers: [registry], collect() { this.set(pool.load.running); } });
  new Gauge({ name: 'adaptd_resident_adapters', help: 'Adapters whose weights are in memory', registers: [registry], collect() { this.set(pool.residentAdapterNames.size); } });
  new Gauge({ name: 'adaptd_resident_contexts', help: 'Adapter-set contexts in memory', registers: [registry], collect() { this.set(pool.residentSets.length); } });
  const contextMemory = new Gauge({ name: 'adaptd_context_memory_estimate_bytes', help: 'Memory one resident adapter-set context reserves beside the model, estimated at start-up', labelNames: ['device'], registers: [registry] });
  contextMemory.set({ device: 'ram' }, options.contextMemory.ramBytes);
  contextMemory.set({ device: 'vram' }, options.contextMemory.vramBytes);
  new Gauge({ name: 'adaptd_max_resident_contexts', help: 'Adapter-set contexts allowed in memory at once (--max-resident-adapters)', registers: [registry] }).set(options.maxResidentAdapters);
  // Carried over from the launcher, so the count survives the restarts it counts.
  new Counter({ name: 'adaptd_restarts_total', help: 'Times the launcher restarted the serving process after a crash', registers: [registry] }).inc(options.restarts);
  new Gauge({ name: 'adaptd_registered_adapters', help: 'Adapters in the catalogue', registers: [registry], collect() { this.set(options.catalogue.list().length); } });

  // The series the gateway's endpoint picker scrapes, named and shaped as vLLM publishes them.
  new Gauge({ name: 'vllm:num_requests_waiting', help: 'Requests waiting to be processed', registers: [registry], collect() { this.set(pool.waiting); } });
  new Gauge({ name: 'vllm:num_requests_running', help: 'Requests being processed', registers: [registry], collect() { this.set(pool.load.running); } });
  new Gauge({ name: 'vllm:kv_cache_usage_perc', help: 'Fraction of KV-cache capacity in use (0-1)', registers: [registry], collect() { this.set(pool.load.kvUsage); } });
  new Gauge({
    name: 'vllm:lora_requests_info',
    help: 'Running and waiting LoRA adapters; the value is the current Unix time',
    labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'],
    registers: [registry],
    collect() {
      // One series only: the previous label set is dropped before the current one is written.
      this.reset();
      const { running, waiting } = pool.adapterActivity;
      this.set({ max_lora: String(options.maxResidentAdapters), running_lora_adapters: running.join(','), waiting_lora_adapters: waiting.join(',') }, Date.now() / 1000);
    },
  });

  const generation: GenerationMetrics = {
    firstToken: (adapter, seconds) => ttft.observe({ adapter: labels.label(adapter) }, seconds),
    tokens: (adapter, prompt, completion, forced) => {
      promptTokens.inc({ adapter: labels.label(adapter) }, prompt);
      completionTokens.inc({ adapter: labels.label(adapter) }, completion);
      forcedTokens.inc({ adapter: labels.label(adapter) }, forced);
    },
  };

  const plugin = fp(async (app: FastifyInstance) => {
    app.decorateRequest('adapterLabel', undefined);
    // Counted when the connection's response closes, so requests whose client left mid-stream are counted too
    // (as 499, the conventional "client closed request"), which onResponse alone would miss.
    app.addHook('onRequest', async (request, reply) => {
      reply.raw.once('close', () => {
        const route = request.routeOptions.url ?? 'unmatched';
        if (route === '/metrics') return;
        const adapter = labels.label(request.adapterLabel);
        const status = String(reply.raw.writableFinished ? reply.statusCode : 499);
        requests.inc({ route, adapter, status });
        if (Number(status) >= 400) errors.inc({ route, status });
        duration.observe({ route, adapter }, reply.elapsedTime / 1000);
      });
    });
    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['adaptd'] }, config: { public: true } }, async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  });
  return { plugin, generation, registry };
}
