import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getLlama, Llama, type LlamaGrammarEvaluationState, type LlamaOptions as GetLlamaOptions, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';

/**
 * Where node-llama-cpp's native layer comes from, and what it can do. adaptd's patched build (native/patches, built
 * by scripts/build-native.sh into a cache outside the repository) adds per-sequence LoRA and one-call sampling of a
 * batch; node-llama-cpp's prebuilt binary is the fallback, where each adapter set needs a context of its own.
 * This file is the one place that reaches into node-llama-cpp's internals for it (the version is pinned exactly).
 */
export interface EngineCapabilities {
  /** 'patched': adaptd's build from the cache; 'prebuilt': node-llama-cpp's own binary. */
  binary: 'patched' | 'prebuilt';
  /** Sequences of one context can use different adapters, so requests on different adapters share a decode. */
  perSequenceLora: boolean;
  /** All sequences of a decode are sampled in one native call. */
  batchSampling: boolean;
  backend: string;
  /** The patched build's folder, or why it is not used. */
  detail: string;
}

export interface NativeBuildInfo {
  key: string;
  backend: 'cpu' | 'cuda';
  cudaArchitectures: string;
  patchesHash: string;
  nodeLlamaCppVersion: string;
  llamaCppRelease: string;
  buildSeconds: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

export function nativeCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.ADAPTD_NATIVE_CACHE ?? path.join(homedir(), '.cache/adaptd/native');
}

/** The hash scripts/build-native.sh records for the patch set, so a build of other patches is never loaded. */
export function patchesHash(root = repoRoot): string {
  const hash = createHash('sha256');
  const patchDir = path.join(root, 'native/patches');
  for (const name of readdirSync(patchDir).filter((n) => n.endsWith('.patch')).sort()) hash.update(readFileSync(path.join(patchDir, name)));
  return hash.digest('hex').slice(0, 16);
}

export type NativeBuild = NativeBuildInfo & { addonPath: string };

/** node-llama-cpp's version, read synchronously (its package exports only its entry: dist/index.js). */
function nodeLlamaCppVersion(): string {
  const packageDir = path.dirname(path.dirname(require.resolve('node-llama-cpp')));
  return (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The cached builds for this patch set, node-llama-cpp version and backend, the one to load first: the most recently
 * built or selected (by its build-info.json's time). There are several CUDA builds when GPUs or arch lists differ.
 */
export function nativeBuilds(backend: 'cpu' | 'cuda', cacheRoot = nativeCacheRoot()): NativeBuild[] {
  if (!existsSync(cacheRoot)) return [];
  const wanted = { patchesHash: patchesHash(), version: nodeLlamaCppVersion() };
  const found: Array<NativeBuild & { mtime: number }> = [];
  for (const entry of readdirSync(cacheRoot)) {
    const infoPath = path.join(cacheRoot, entry, 'build-info.json');
    const addonPath = path.join(cacheRoot, entry, 'llama-addon.node');
    if (!existsSync(infoPath) || !existsSync(addonPath)) continue;
    try {
      const info = JSON.parse(readFileSync(infoPath, 'utf8')) as NativeBuildInfo;
      if (info.backend === backend && info.patchesHash === wanted.patchesHash && info.nodeLlamaCppVersion === wanted.version) {
        found.push({ ...info, addonPath, mtime: statSync(infoPath).mtimeMs });
      }
    } catch {
      // a half-written or foreign folder: not ours
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime).map(({ mtime: _, ...build }) => build);
}

/** The build loadLlama loads for this backend, if one was built. */
export const findNativeBuild = (backend: 'cpu' | 'cuda', cacheRoot = nativeCacheRoot()): NativeBuild | undefined => nativeBuilds(backend, cacheRoot)[0];

/**
 * Makes a cached build the one loaded from now on (the start-up CUDA check picks the build that runs on this GPU):
 * the newest build-info.json wins, here and in every later start or child process.
 */
export function selectNativeBuild(addonPath: string): void {
  const now = new Date();
  utimesSync(path.join(path.dirname(addonPath), 'build-info.json'), now, now);
}

/**
 * Loads llama.cpp: adaptd's patched build when one is cached for this backend, else node-llama-cpp's prebuilt
 * binary. The patched build is used on the CPU when the GPU is off or absent, and the CUDA build when asked for
 * one; a GPU machine without a CUDA build keeps the prebuilt binary (its GPU support beats per-sequence LoRA).
 */
export async function loadLlama(options: GetLlamaOptions & { native: 'auto' | 'off' }): Promise<{ llama: Llama; capabilities: EngineCapabilities }> {
  const { native, ...llamaOptions } = options;
  const gpuPresent = existsSync('/dev/nvidiactl');
  const backend = llamaOptions.gpu === false || !gpuPresent ? 'cpu' : 'cuda';
  const build = native === 'off' ? undefined : findNativeBuild(backend);
  if (build) {
    const bindings = require(build.addonPath) as unknown;
    // Llama._create is how node-llama-cpp itself loads a binary it found (getLlama.js); it takes the bindings and
    // the metadata its own builds record.
    const create = (Llama as unknown as { _create(options: Record<string, unknown>): Promise<Llama> })._create;
    const llama = await create.call(Llama, {
      bindings,
      bindingPath: build.addonPath,
      buildType: 'localBuild',
      buildMetadata: { buildOptions: { customCmakeOptions: {}, gpu: backend === 'cuda' ? 'cuda' : false, llamaCpp: { repo: 'ggml-org/llama.cpp', release: build.llamaCppRelease } } },
      logLevel: llamaOptions.logLevel,
      logger: llamaOptions.logger,
      maxThreads: llamaOptions.maxThreads,
      vramPadding: (total: number) => Math.floor(Math.min(total * 0.08, 1.6 * 2 ** 30)),
      ramPadding: (total: number) => Math.floor(Math.min(total * 0.25, 2 ** 30)),
      debug: false,
      numa: false,
      tempDir: false,
    });
    return { llama, capabilities: describe(llama, 'patched', `patched build ${path.dirname(build.addonPath)}`) };
  }
  const llama = await getLlama(llamaOptions);
  const why = native === 'off' ? 'patched build disabled' : `no patched ${backend} build cached (scripts/build-native.sh${backend === 'cuda' ? ' --cuda' : ''})`;
  return { llama, capabilities: describe(llama, 'prebuilt', why) };
}

function describe(llama: Llama, binary: 'patched' | 'prebuilt', detail: string): EngineCapabilities {
  const prototype = addonContextClass(llama).prototype as Record<string, unknown>;
  return {
    binary,
    perSequenceLora: typeof prototype.setSequenceLoras === 'function',
    batchSampling: typeof prototype.sampleTokens === 'function',
    backend: llama.gpu === false ? 'cpu' : llama.gpu,
    detail,
  };
}

/** One line for the start-up log and `adaptd doctor`. */
export function describeCapabilities(capabilities: EngineCapabilities): string {
  const lora = capabilities.perSequenceLora ? 'per-sequence LoRA (adapters share a decode)' : 'LoRA per context (a context per adapter set)';
  return `native engine: ${capabilities.binary} (${capabilities.backend}), ${lora}, ${capabilities.batchSampling ? 'batch sampling' : 'per-sequence sampling'}; ${capabilities.detail}`;
}

interface AddonContext {
  setSequenceLoras(sequenceId: number, loras: unknown[], scales: number[]): boolean;
}

function addonContextClass(llama: Llama): { prototype: object } {
  return (llama as unknown as { _bindings: { AddonContext: { prototype: object } } })._bindings.AddonContext;
}

/** The native adapter handle node-llama-cpp loads once per model and file (LlamaModel._getOrLoadLora). */
export function loadLoraHandle(model: LlamaModel, filePath: string): Promise<unknown> {
  return (model as unknown as { _getOrLoadLora(filePath: string): Promise<unknown> })._getOrLoadLora(filePath);
}

type WithLock = <T>(scope: readonly unknown[], work: () => T | Promise<T>) => Promise<T>;
let lifecycleUtils: Promise<{ withLock: WithLock }> | undefined;

/**
 * Runs `work` under node-llama-cpp's lock of a context: the lock its batch loop holds across every decode, and
 * trimming and clearing take. Changing a sequence's adapters while a decode builds its graph on the thread pool
 * would race with it. The lock lives in the lifecycle-utils module node-llama-cpp imports (withLock([context,
 * "context"]) in LlamaContext.js), so that very module is resolved from node-llama-cpp's own location.
 */
export async function withContextLock<T>(context: LlamaContext, work: () => T | Promise<T>): Promise<T> {
  lifecycleUtils ??= (async () => {
    const library = require.resolve('node-llama-cpp');
    return (await import(pathToFileURL(createRequire(library).resolve('lifecycle-utils')).href)) as { withLock: WithLock };
  })();
  const { withLock } = await lifecycleUtils;
  return withLock([context, 'context'], work);
}

/**
 * Sets the adapters of one sequence of a shared context (patched build only); an empty list clears them. Call it
 * under `withContextLock`.
 */
export function setSequenceAdapters(context: LlamaContext, sequence: LlamaContextSequence, loras: unknown[], scales: number[]): void {
  const addon = (context as unknown as { _ctx: AddonContext })._ctx;
  const id = sequenceId(sequence);
  if (!addon.setSequenceLoras(id, loras, scales)) throw new Error(`sequence ${id} is out of the context's range`);
}

/** A sequence's id in its context: llama.cpp's sequence id, which node-llama-cpp keeps private. */
export function sequenceId(sequence: LlamaContextSequence): number {
  return (sequence as unknown as { _sequenceId: number })._sequenceId;
}

/** What adaptd's batch loop (DecodeLoop) drives on a context: node-llama-cpp's native context, directly. */
export interface ContextDriver {
  batchSize: number;
  initBatch(size: number): void;
  /** Adds a sequence's tokens at `firstTokenIndex`; returns the batch's output index of each of `logitIndexes`. */
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  /**
   * Decodes the batch built since initBatch on the context's share of threads, then samples each of `outputIndexes`
   * with its sampler, accepting the token into it (grammar, penalties); -1 where a sampler produced none. The
   * patched build does both in one thread-pool job; the prebuilt binary in a decode job and a job per sampler.
   */
  decodeAndSample(outputIndexes: number[], samplers: NativeSampler[]): Promise<number[]>;
  /** Runs steps under the context's lock (the one trims and adapter changes take) and keeps it from disposal. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Called when the loop falls idle: node-llama-cpp frees the context's reserved threads a moment later. */
  idle(): void;
}

interface LoopAddonContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  setThreads(threads: number): void;
  sampleToken(outputIndex: number, sampler: unknown): Promise<number>;
  sampleTokens?(outputIndexes: Int32Array, samplers: unknown[], decodeFirst?: boolean): Promise<Int32Array>;
}

/** node-llama-cpp's bookkeeping around a decode, which its own batch loop does and adaptd's does alike. */
interface LoopContextInternals {
  _ctx: LoopAddonContext;
  _batchSize: number;
  _backendContextDisposeGuard: { createPreventDisposalHandle(): { dispose(): void } };
  _threadSplitterConsumer?: { getAllocationToConsume(): [number, { dispose(): void }] | null | Promise<[number, { dispose(): void }] | null> };
  _reserveThreads(): void;
  _scheduleToFreeReservedThreads(): void;
}

/**
 * Drives a context's decodes from adaptd (src/engine/DecodeLoop.ts) instead of node-llama-cpp's batch loop, which
 * spent about as much JavaScript per token and sequence as a small model's decode spends computing (locks, sampler
 * configuration, a promise chain per output, an event-loop turn before sampling): 0.5 ms of an 11 ms token on the
 * benchmark model. The same native calls, in the same order: initBatch, addToBatch per sequence, decodeBatch on the
 * context's share of threads (node-llama-cpp's thread splitter, as its loop uses it), then sampling.
 */
export function contextDriver(context: LlamaContext): ContextDriver {
  const internals = context as unknown as LoopContextInternals;
  const addon = internals._ctx;
  // Looked up once: the patched build's method, or none (the prebuilt binary).
  const sampleAll = typeof addon.sampleTokens === 'function' ? (indexes: Int32Array, samplers: unknown[], decodeFirst: boolean) => addon.sampleTokens!(indexes, samplers, decodeFirst) : undefined;
  return {
    batchSize: internals._batchSize,
    initBatch: (size) => addon.initBatch(size),
    addToBatch: (sequenceId, firstTokenIndex, tokens, logitIndexes) => addon.addToBatch(sequenceId, firstTokenIndex, tokens, logitIndexes),
    async decodeAndSample(outputIndexes, samplers) {
      internals._reserveThreads();
      const allocation = internals._threadSplitterConsumer?.getAllocationToConsume();
      const [threads, share] = (allocation instanceof Promise ? await allocation : allocation) ?? [];
      try {
        if (threads != null) addon.setThreads(threads);
        if (sampleAll && outputIndexes.length > 0) {
          return Array.from(await sampleAll(Int32Array.from(outputIndexes), samplers.map((s) => s.native), true));
        }
        await addon.decodeBatch();
      } finally {
        share?.dispose();
      }
      return Promise.all(outputIndexes.map((index, i) => addon.sampleToken(index, samplers[i].native)));
    },
    exclusive: (work) =>
      withContextLock(context, async () => {
        const undisposed = internals._backendContextDisposeGuard.createPreventDisposalHandle();
        try {
          return await work();
        } finally {
          undisposed.dispose();
        }
      }),
    idle: () => internals._scheduleToFreeReservedThreads(),
  };
}

/**
 * Records tokens a sequence has evaluated, as node-llama-cpp's own loop does after each decode: the sequence's
 * cache bookkeeping (nextTokenIndex, compareContextTokens, adaptStateToTokens, clearHistory) reads these.
 */
export function recordEvaluated(sequence: LlamaContextSequence, tokens: Token[]): void {
  const internals = sequence as unknown as { _contextTokens: Token[]; _nextTokenIndex: number };
  internals._contextTokens.push(...tokens);
  internals._nextTokenIndex += tokens.length;
}

/** The sampling settings of node-llama-cpp's native sampler (AddonSampler.applyConfig); absent ones are off. */
export interface SamplerConfig {
  temperature: number;
  minP: number;
  topK: number;
  topP: number;
  seed: number;
  repeatPenalty?: number;
  repeatPenaltyMaxTokens?: number;
  repeatPenaltyTokens?: Uint32Array;
  repeatPenaltyPresencePenalty?: number;
  repeatPenaltyFrequencyPenalty?: number;
  grammarEvaluationState?: LlamaGrammarEvaluationState;
}

/** One request's native sampler: its settings, its grammar's state and the tokens it accepted so far. */
export interface NativeSampler {
  readonly native: unknown;
  applyConfig(config: SamplerConfig): void;
  dispose(): void;
}

export function createSampler(model: LlamaModel): NativeSampler {
  const internals = model as unknown as { _llama: { _bindings: { AddonSampler: new (model: unknown) => { applyConfig(config: object): void; dispose(): void } } }; _model: unknown };
  const native = new internals._llama._bindings.AddonSampler(internals._model);
  return {
    native,
    applyConfig: ({ grammarEvaluationState, ...config }) =>
      native.applyConfig(grammarEvaluationState ? { ...config, grammarEvaluationState: (grammarEvaluationState as unknown as { _state: unknown })._state } : config),
    dispose: () => native.dispose(),
  };
}
