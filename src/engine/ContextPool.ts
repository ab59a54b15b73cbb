import path from 'node:path';
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { AdapterLoadError, EngineUnavailableError, QueueFullError } from './engineErrors.js';
import { DecodeLoop } from './DecodeLoop.js';
import { contextDriver, loadLoraHandle, sequenceId, setSequenceAdapters, withContextLock, type NativeSampler } from './nativeBinding.js';

/** One adapter of a request, resolved by the catalogue to a file and a content version. */
export interface AdapterRef {
  name: string;
  filePath: string;
  /** Changes whenever the file's content may have changed (size, mtime, inode). */
  version: string;
  scale: number;
}

export interface ContextPoolOptions {
  contextSize: number;
  sequencesPerContext: number;
  batchSize: number;
  threads: number;
  /** Threads a decode waits for before it starts (see `minDecodeThreads` in LlamaEngine). */
  minThreads: number;
  maxContexts: number;
  maxWaiting: number;
  /**
   * The native engine applies adapters per sequence: every adapter set shares one context and its sequences, so
   * requests on different adapters are decoded together; `maxContexts` then bounds the adapter sets kept loaded.
   */
  perSequenceLora?: boolean;
  /**
   * Shared context only: sequences beyond `sequencesPerContext` that run nothing but keep the cached prompts of adapter
   * sets not running now. A prefix is reused only under the set that computed it, so with more sets in rotation
   * than running sequences each returning set re-evaluated its whole shared prompt (8 sets over 4 sequences: the
   * redactor's 1.4k-token prompt on most requests). At most `sequencesPerContext` sequences run at once either way.
   */
  promptCacheSlots?: number;
}

/** The one context all adapter sets share when adapters are applied per sequence. */
interface SharedContext {
  context: LlamaContext;
  freeSequences: LlamaContextSequence[];
  allSequences: LlamaContextSequence[];
  /** The adapter set each sequence's KV cache was computed under: a prefix is reused only under the same set. */
  cacheKeys: Map<LlamaContextSequence, string>;
  /** Sequences whose adapters are set natively; each adapter named adds its delta to every decode's graph. */
  withAdapters: Set<LlamaContextSequence>;
  loop: DecodeLoop;
}

/** A free sequence a request could run on: its id, the prompt prefix it holds under the request's adapter set
 * (undefined when it holds another set's cache), and whether it holds nothing. */
export interface SequenceCandidate {
  id: number;
  cachedPrefix: number | undefined;
  empty: boolean;
}

/** Cached prompt tokens worth running a request far from the others for (see pickSequence). */
export const WORTHWHILE_PREFIX = 64;

/**
 * Which free sequence a request runs on (its index in `candidates`, in the order they were freed, longest first).
 * The one holding the longest prefix of its prompt evaluates the fewest tokens. In the shared context (`runningIds`
 * given) a prefix shorter than WORTHWHILE_PREFIX counts as none, and then what matters first is the running
 * sequences' id range: a decode's attention spans every sequence from the lowest id in it to the highest (8
 * running sequences over ids 0-11 took 43 ms a step against 32 ms over 0-7), so the candidate that widens it least
 * wins; among those a short prefix of its own set, then an empty sequence, then another set's cache.
 */
export function pickSequence(candidates: SequenceCandidate[], runningIds?: number[]): number {
  const [low, high] = runningIds?.length ? [Math.min(...runningIds), Math.max(...runningIds)] : [undefined, undefined];
  const widening = (id: number) => (low === undefined || high === undefined ? 0 : Math.max(high, id) - Math.min(low, id) - (high - low));
  const score = ({ id, cachedPrefix, empty }: SequenceCandidate): number[] => {
    if (!runningIds) return [cachedPrefix ?? -1];
    if (cachedPrefix !== undefined && cachedPrefix >= WORTHWHILE_PREFIX) return [cachedPrefix, 0, 0];
    return [-1, -widening(id), cachedPrefix !== undefined ? 2 : empty ? 1 : 0];
  };
  const better = (a: number[], b: number[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
    return false;
  };
  let best = 0;
  candidates.forEach((candidate, index) => {
    if (better(score(candidate), score(candidates[best]))) best = index;
  });
  return best;
}

/** The adapters applied (scale 0 means "not applied"), in a canonical order: LoRA deltas add, so order is moot. */
export function adapterSetKey(adapters: AdapterRef[]): string {
  return adapters
    .filter((a) => a.scale !== 0)
    .map((a) => `${a.filePath}@${a.version}*${a.scale}`)
    .sort()
    .join('|');
}

interface PooledContext {
  key: string;
  adapters: AdapterRef[];
  context: LlamaContext;
  freeSequences: LlamaContextSequence[];
  allSequences: LlamaContextSequence[];
  busy: number;
  lastUsed: number;
  loraKeys: string[];
  /** Native adapter handles and scales, for sequences of the shared context (per-sequence LoRA). */
  sequenceLoras?: { handles: unknown[]; scales: number[] };
  /** Set when an adapter it uses was deleted or replaced: evicted as soon as it falls idle. */
  stale: boolean;
  /** The context's batch loop; in the shared context, the one all sets' requests decode in. */
  loop: DecodeLoop;
}

/** A sequence lent to one request; `release` returns it (its KV cache stays, for prefix reuse). */
export interface SequenceLease {
  sequence: LlamaContextSequence;
  /**
   * Runs the trimming of the sequence's cache to the new prompt (and, in the shared context, sets its adapters).
   * Trims take the context's lock, which the batch loop holds while it runs and lets go of after the step running
   * now when a trim waits (`DecodeLoop.between`), so a request arriving while others generate waits for one decode.
   */
  prepare<T>(work: () => Promise<T>): Promise<T>;
  /** Evaluates tokens on the sequence in the context's batch loop (see `DecodeLoop.evaluate`). */
  evaluate(tokens: Token[], sampler?: NativeSampler, signal?: AbortSignal): Promise<Token | undefined>;
  release(): void;
}

interface LoadedLora {
  // node-llama-cpp's native adapter handle; typed loosely because it is internal to the library.
  handle: { dispose(): Promise<void> };
  resolvedPath: string;
  refs: number;
}

interface Waiter {
  /** The adapter set it waits for, so waiting is visible per adapter and admission can be fair. */
  key: string;
  adapterNames: string[];
  wake: () => void;
}

/**
 * Contexts keyed by adapter set. LoRA weights load once per model and are applied per context, so each adapter
 * set gets its own context, whose sequences serve that set's concurrent requests and are decoded in one batch.
 * Idle contexts are evicted least-recently-used, and an adapter's weights are freed once no context uses them.
 */
export class ContextPool {
  private readonly contexts = new Map<string, PooledContext>();
  private readonly creating = new Map<string, Promise<unknown>>();
  private readonly loras = new Map<string, LoadedLora>();
  private readonly waiters = new Set<Waiter>();
  private shared?: Promise<SharedContext>;
  private sharedResolved?: SharedContext;
  private closed = false;
  /** Context creation and disposal, one at a time (see `create`). */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(
    private readonly model: LlamaModel,
    private readonly options: ContextPoolOptions,
  ) {}

  get waiting(): number {
    return this.waiters.size;
  }

  get residentSets(): Array<{ adapters: string[]; busy: number; lastUsed: number }> {
    return [...this.contexts.values()].map((c) => ({ adapters: c.adapters.map((a) => a.name), busy: c.busy, lastUsed: c.lastUsed }));
  }

  /** Names of adapters whose weights are in memory now. */
  get residentAdapterNames(): Set<string> {
    return new Set([...this.contexts.values()].flatMap((c) => c.adapters.map((a) => a.name)));
  }

  async acquire(adapters: AdapterRef[], promptTokens: Token[], signal: AbortSignal): Promise<SequenceLease> {
    const applied = adapters.filter((a) => a.scale !== 0);
    const key = adapterSetKey(applied);
    let queued = false;
    for (;;) {
      if (this.closed) throw new EngineUnavailableError('the server is shutting down');
      signal.throwIfAborted();
      const pooled = this.contexts.get(key);
      // A set in the shared context exists only once the shared context does, so no await is needed here.
      if (pooled && this.canLend(pooled)) return this.ready(this.lend(pooled, promptTokens, this.sharedResolved));
      const pending = this.creating.get(key);
      if (pending) {
        await pending;
        continue;
      }
      // Room is claimed synchronously and the new context is lent to the request that made it before anyone
      // is told, so concurrent requests can neither overshoot the limit nor evict a context nobody used yet.
      const room = pooled ? undefined : this.claimRoom();
      if (room) {
        const lease = await this.create(key, applied, promptTokens, room.victim);
        if (lease) return this.ready(lease);
        continue;
      }
      if (!queued && !this.admits(key)) throw new QueueFullError(1);
      queued = true;
      await this.waitForChange(signal, key, applied.map((a) => a.name));
    }
  }

  /** A free sequence, and in the shared context fewer than `sequencesPerContext` running (the rest only cache). */
  private canLend(pooled: PooledContext): boolean {
    const running = pooled.allSequences.length - pooled.freeSequences.length;
    return pooled.freeSequences.length > 0 && (!this.options.perSequenceLora || running < this.options.sequencesPerContext);
  }

  /** In the shared context a lent sequence gets its set's adapters, and loses a cache made under others, at once. */
  private async ready(lease: SequenceLease): Promise<SequenceLease> {
    if (!this.options.perSequenceLora) return lease;
    try {
      await lease.prepare(() => Promise.resolve());
      return lease;
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  private lend(pooled: PooledContext, promptTokens: Token[], shared?: SharedContext): SequenceLease {
    // In a shared context only a cache computed under the same adapter set counts (see pickSequence).
    const runningIds = shared?.allSequences.filter((sequence) => !shared.freeSequences.includes(sequence)).map(sequenceId);
    const best = pickSequence(
      pooled.freeSequences.map((sequence) => {
        const sameSet = !shared || shared.cacheKeys.get(sequence) === pooled.key;
        return { id: sequenceId(sequence), cachedPrefix: sameSet ? sequence.compareContextTokens(promptTokens).firstDifferentIndex : undefined, empty: sequence.nextTokenIndex === 0 };
      }),
      runningIds,
    );
    const [sequence] = pooled.freeSequences.splice(best, 1);
    pooled.busy++;
    pooled.lastUsed = Date.now();
    let released = false;
    return {
      sequence,
      prepare: (work) =>
        pooled.loop.between(async () => {
          if (shared) {
            if (shared.cacheKeys.get(sequence) !== pooled.key) {
              shared.cacheKeys.delete(sequence);
              await sequence.clearHistory();
            }
            const { handles, scales } = pooled.sequenceLoras!;
            await withContextLock(shared.context, () => {
              // Idle sequences drop their adapters here, under the lock this request takes anyway: an adapter
              // no running request uses would otherwise stay in every decode's graph.
              for (const idle of shared.freeSequences) if (shared.withAdapters.delete(idle)) setSequenceAdapters(shared.context, idle, [], []);
              setSequenceAdapters(shared.context, sequence, handles, scales);
              shared.withAdapters.add(sequence);
            });
            shared.cacheKeys.set(sequence, pooled.key);
          }
          return work();
        }),
      evaluate: (tokens, sampler, signal) => pooled.loop.evaluate(sequence, tokens, sampler, signal),
      release: () => {
        if (released) return;
        released = true;
        // An idle sequence's adapters have no effect on its (absent) tokens; they are cleared under the context's
        // lock when the next request starts or the set is evicted, not here, where the lock is not held.
        pooled.busy--;
        pooled.lastUsed = Date.now();
        pooled.freeSequences.push(sequence);
        if (pooled.stale && pooled.busy === 0) void this.evict(pooled).finally(() => this.notify());
        else this.notify();
      },
    };
  }

  /** Room for one more context now: free room, or the least-recently-used idle context, detached at once. */
  private claimRoom(): { victim?: PooledContext } | undefined {
    if (this.contexts.size + this.creating.size < this.options.maxContexts) return {};
    const idle = [...this.contexts.values()].filter((c) => c.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle) return undefined;
    this.contexts.delete(idle.key);
    return { victim: idle };
  }

  /**
   * Contexts are created and disposed one at a time: node-llama-cpp shares LoRA weights between contexts by path,
   * and weights freed while another context was being created with them crashed the process (SIGSEGV under
   * adapter churn). The victim's memory is freed before the new context takes its own, so RSS stays bounded.
   */
  private create(key: string, adapters: AdapterRef[], promptTokens: Token[], victim?: PooledContext): Promise<SequenceLease | undefined> {
    const creation = this.serialized(async () => {
      if (victim) await this.disposeDetached(victim);
      const pooled = await this.createContext(key, adapters);
      // In the shared context every sequence may be busy with other sets: then this request waits like any other.
      return this.canLend(pooled) ? this.lend(pooled, promptTokens, this.sharedResolved) : undefined;
    }).finally(() => {
      this.creating.delete(key);
      this.notify();
    });
    this.creating.set(key, creation);
    return creation;
  }

  private async createContext(key: string, adapters: AdapterRef[]): Promise<PooledContext> {
    const loraKeys = adapters.map((a) => `${path.resolve(a.filePath)}@${a.version}`);
    this.forgetStaleLoraVersions(adapters);
    if (this.options.perSequenceLora) return this.joinSharedContext(key, adapters, loraKeys);
    let context: LlamaContext;
    try {
      context = await this.model.createContext({
        contextSize: this.options.contextSize,
        sequences: this.options.sequencesPerContext,
        batchSize: this.options.batchSize,
        threads: { ideal: this.options.threads, min: this.options.minThreads },
        failedCreationRemedy: false,
        lora: adapters.length > 0 ? { adapters: adapters.map((a) => ({ filePath: a.filePath, scale: a.scale })) } : undefined,
      });
    } catch (error) {
      const culprit = adapters.find((a) => !this.modelLoras().has(path.resolve(a.filePath)));
      throw new AdapterLoadError(culprit?.name ?? adapters.map((a) => a.name).join('+'), error);
    }
    adapters.forEach((adapter, index) => this.retainLora(loraKeys[index], path.resolve(adapter.filePath)));
    const freeSequences: LlamaContextSequence[] = [];
    for (let i = 0; i < this.options.sequencesPerContext; i++) freeSequences.push(context.getSequence());
    const pooled: PooledContext = { key, adapters, context, freeSequences, allSequences: [...freeSequences], busy: 0, lastUsed: Date.now(), loraKeys, stale: false, loop: new DecodeLoop(contextDriver(context)) };
    this.contexts.set(key, pooled);
    return pooled;
  }

  /** A set in the shared context: only its adapters' weights are loaded; sequences come from the shared list. */
  private async joinSharedContext(key: string, adapters: AdapterRef[], loraKeys: string[]): Promise<PooledContext> {
    const shared = await this.sharedContext();
    const handles: unknown[] = [];
    for (const adapter of adapters) {
      try {
        handles.push(await loadLoraHandle(this.model, adapter.filePath));
      } catch (error) {
        throw new AdapterLoadError(adapter.name, error);
      }
    }
    adapters.forEach((adapter, index) => this.retainLora(loraKeys[index], path.resolve(adapter.filePath)));
    const sequenceLoras = { handles, scales: adapters.map((a) => a.scale) };
    const pooled: PooledContext = { key, adapters, context: shared.context, freeSequences: shared.freeSequences, allSequences: shared.allSequences, busy: 0, lastUsed: Date.now(), loraKeys, sequenceLoras, stale: false, loop: shared.loop };
    this.contexts.set(key, pooled);
    return pooled;
  }

  /**
   * Before a set's weights are freed, no sequence may name them and no decode may be using them: the change is made
   * under the context's lock, which the batch loop lets go of after the step running now (`DecodeLoop.between`).
   */
  private async clearSharedSequences(): Promise<void> {
    const shared = this.sharedResolved;
    if (!shared) return;
    await shared.loop.between(() =>
      withContextLock(shared.context, () => {
        for (const sequence of shared.freeSequences) if (shared.withAdapters.delete(sequence)) setSequenceAdapters(shared.context, sequence, [], []);
      }),
    );
  }

  /**
   * Sequences each context holds: a context per adapter set holds `sequencesPerContext`; the shared context holds
   * those that run requests and those that only keep other sets' prompts.
   */
  get sequencesPerCreatedContext(): number {
    return this.options.sequencesPerContext + (this.options.perSequenceLora ? (this.options.promptCacheSlots ?? 0) : 0);
  }

  private sharedContext(): Promise<SharedContext> {
    this.shared ??= (async () => {
      const context = await this.model.createContext({
        contextSize: this.options.contextSize,
        sequences: this.sequencesPerCreatedContext,
        batchSize: this.options.batchSize,
        threads: { ideal: this.options.threads, min: this.options.minThreads },
        failedCreationRemedy: false,
      });
      const allSequences = Array.from({ length: this.sequencesPerCreatedContext }, () => context.getSequence());
      this.sharedResolved = { context, freeSequences: [...allSequences], allSequences, cacheKeys: new Map(), withAdapters: new Set(), loop: new DecodeLoop(contextDriver(context)) };
      return this.sharedResolved;
    })();
    return this.shared;
  }

  // node-llama-cpp caches adapter weights by path for the model's lifetime and offers no public way to free
  // them; this is the one place that reaches into that cache, to release weights and to pick up replaced files.
  private modelLoras(): Map<string, { dispose(): Promise<void> }> {
    return (this.model as unknown as { _loraAdapters: Map<string, { dispose(): Promise<void> }> })._loraAdapters;
  }

  /** A file replaced under the same path must load afresh; contexts still using the old weights keep them. */
  private forgetStaleLoraVersions(adapters: AdapterRef[]): void {
    for (const adapter of adapters) {
      const resolvedPath = path.resolve(adapter.filePath);
      const current = `${resolvedPath}@${adapter.version}`;
      const cached = this.modelLoras().get(resolvedPath);
      if (cached && !this.loras.get(current)) {
        const owner = [...this.loras.values()].find((l) => l.handle === cached);
        if (owner) this.modelLoras().delete(resolvedPath);
      }
    }
  }

  private retainLora(loraKey: string, resolvedPath: string): void {
    const existing = this.loras.get(loraKey);
    if (existing) {
      existing.refs++;
      return;
    }
    const handle = this.modelLoras().get(resolvedPath);
    if (handle) this.loras.set(loraKey, { handle, resolvedPath, refs: 1 });
  }

  private async releaseLora(loraKey: string): Promise<void> {
    const loaded = this.loras.get(loraKey);
    if (!loaded || --loaded.refs > 0) return;
    this.loras.delete(loraKey);
    if (this.modelLoras().get(loaded.resolvedPath) === loaded.handle) this.modelLoras().delete(loaded.resolvedPath);
    await loaded.handle.dispose();
  }

  private evict(pooled: PooledContext): Promise<void> {
    if (this.contexts.get(pooled.key) !== pooled) return Promise.resolve();
    this.contexts.delete(pooled.key);
    return this.serialized(() => this.disposeDetached(pooled));
  }

  private async disposeDetached(pooled: PooledContext): Promise<void> {
    // A set in the shared context owns only its adapters; caches computed under them are never reused by others.
    // Its idle sequences still name its adapters natively: they must not when the weights are freed.
    if (pooled.sequenceLoras) await this.clearSharedSequences();
    else await pooled.context.dispose();
    for (const loraKey of pooled.loraKeys) await this.releaseLora(loraKey);
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.lifecycle.then(work);
    this.lifecycle = result.then(() => undefined, () => undefined);
    return result;
  }

  /** Drops idle contexts that use an adapter, e.g. after it was deleted or replaced; busy ones finish first. */
  async evictAdapter(filePath: string): Promise<void> {
    const resolvedPath = path.resolve(filePath);
    for (const pooled of [...this.contexts.values()]) {
      if (!pooled.adapters.some((a) => path.resolve(a.filePath) === resolvedPath)) continue;
      pooled.stale = true;
      if (pooled.busy === 0) await this.evict(pooled);
    }
  }

  /**
   * Admission to the wait queue. When it is full, a set may still queue while it holds less than an even share,
   * so one adapter's flood cannot lock out another adapter's trickle.
   */
  private admits(key: string): boolean {
    if (this.waiters.size < this.options.maxWaiting) return true;
    const perKey = new Map<string, number>();
    for (const waiter of this.waiters) perKey.set(waiter.key, (perKey.get(waiter.key) ?? 0) + 1);
    const share = Math.max(1, Math.floor(this.options.maxWaiting / (perKey.has(key) ? perKey.size : perKey.size + 1)));
    return (perKey.get(key) ?? 0) < share;
  }

  /** Adapter names of requests holding a sequence now, and of requests waiting for one. */
  get adapterActivity(): { running: string[]; waiting: string[] } {
    const running = new Set([...this.contexts.values()].filter((c) => c.busy > 0).flatMap((c) => c.adapters.map((a) => a.name)));
    const waiting = new Set([...this.waiters].flatMap((w) => w.adapterNames));
    return { running: [...running].sort(), waiting: [...waiting].sort() };
  }

  /** Busy sequences, and the share of the resident KV capacity their tokens fill. */
  get load(): { running: number; kvUsage: number } {
    let running = 0;
    let used = 0;
    const counted = new Set<LlamaContextSequence>();
    for (const pooled of this.contexts.values()) {
      running += pooled.busy;
      for (const sequence of pooled.allSequences) {
        if (counted.has(sequence) || pooled.freeSequences.includes(sequence)) continue;
        counted.add(sequence);
        used += sequence.nextTokenIndex;
      }
    }
    const sequences = (this.options.perSequenceLora ? 1 : this.options.maxContexts) * this.sequencesPerCreatedContext;
    const capacity = sequences * this.options.contextSize;
    return { running, kvUsage: capacity > 0 ? Math.min(1, used / capacity) : 0 };
  }

  private waitForChange(signal: AbortSignal, key: string, adapterNames: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        key,
        adapterNames,
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Wakes waiters interleaved by adapter set, so the first retry after a release is not always the flood's. */
  private notify(): void {
    const byKey = new Map<string, Waiter[]>();
    for (const waiter of this.waiters) byKey.set(waiter.key, [...(byKey.get(waiter.key) ?? []), waiter]);
    const queues = [...byKey.values()];
    for (let round = 0; queues.some((q) => q.length > round); round++) for (const queue of queues) queue[round]?.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.notify();
    await Promise.allSettled([...this.creating.values()]);
    for (const pooled of [...this.contexts.values()]) await this.evict(pooled);
    if (this.shared) await (await this.shared).context.dispose();
  }
}
