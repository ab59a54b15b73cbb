import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getLlama, Llama, type LlamaOptions as GetLlamaOptions, type LlamaContext, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp';

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

interface SamplingAddonContext {
  sampleToken(batchLogitIndex: number, sampler: unknown, ...details: unknown[]): Promise<number>;
  sampleTokens?(batchLogitIndexes: Int32Array, samplers: unknown[]): Promise<Int32Array>;
}

/** Sets up a context adaptd decodes on: batches in sequence order, and their sequences sampled together. */
export function prepareBatching(context: LlamaContext): DecodeRhythm {
  addInSequenceOrder(context);
  return groupSampling(context);
}

/**
 * Makes every decode add its sequences in ascending sequence id. node-llama-cpp adds them in the order they queued,
 * and a batch whose sequence ids were out of order cost llama.cpp about what several decodes cost: four
 * sequences added as 1, 2, 0, 3 took 47 ms a decode against 30 ms as 0, 1, 2, 3 (150M model, one thread), and
 * requests that started at different times kept such orders for whole answers. One queued decode per sequence is
 * the library's rule, so only the order changes; when prompts overflow a batch, lower ids get their chunk first.
 */
function addInSequenceOrder(context: LlamaContext): void {
  const internals = context as unknown as { _queuedDecodes: Array<{ sequenceId: number }>; _scheduleDecode(): void };
  const schedule = internals._scheduleDecode.bind(context);
  Object.defineProperty(context, '_scheduleDecode', {
    value: () => {
      internals._queuedDecodes.sort((a, b) => a.sequenceId - b.sequenceId);
      schedule();
    },
    configurable: true,
    writable: true,
  });
}

/**
 * Samples the sequences of one decode together and hands their tokens back at the same moment.
 *
 * node-llama-cpp samples each sequence of a decode in its own thread-pool job and, once all are done, starts the
 * next decode with the sequences that queued their next token by then. The last sequence sampled resolved just
 * before that check, but reaches its next decode only some microtasks later, so it missed every other batch:
 * batches alternated between B-1 sequences and 1, and throughput at concurrency 4 stayed near that of one stream.
 * Calls made in the same event-loop turn (one decode's) are grouped here: one native call with the patched build
 * (sampleTokens), else node-llama-cpp's per-sequence calls; either way every sequence gets its token in the same
 * turn and queues its next one in time for the same batch. Calls that ask for probabilities keep the library's path.
 *
 * That alone keeps sequences together only while they are in step. A sequence that queued its token while a decode
 * without it was running (a request that started a step late) made the library's loop decode it alone right after,
 * while the others sampled: at concurrency 8, batches alternated between 7 sequences and 1 for whole answers. The
 * returned `whenDecodeSettles` lets such a sequence wait until that decode's tokens are handed out, and join them.
 */
function groupSampling(context: LlamaContext): DecodeRhythm {
  const addon = (context as unknown as { _ctx: SamplingAddonContext & { decodeBatch(): Promise<void> } })._ctx;
  const sampleOne = addon.sampleToken.bind(addon);
  const sampleAll = addon.sampleTokens?.bind(addon);
  let group: Array<{ index: number; sampler: unknown; resolve: (token: number) => void; reject: (error: unknown) => void }> = [];
  /** The decode running now, or whose tokens are being sampled; settled once they are handed out. */
  let decoding: { settled: Promise<void>; settle: () => void } | undefined;
  let flushing = 0;
  const settleDecode = () => {
    const finished = decoding;
    decoding = undefined;
    finished?.settle();
  };
  const flush = () => {
    const calls = group;
    group = [];
    flushing++;
    const handedOut = () => {
      // The sampled sequences resume first; a waiter resumes a turn later, as they queue their next tokens.
      if (--flushing === 0 && group.length === 0) settleDecode();
    };
    if (sampleAll) {
      sampleAll(Int32Array.from(calls.map((c) => c.index)), calls.map((c) => c.sampler))
        .then(
          (tokens) => calls.forEach((call, i) => call.resolve(tokens[i])),
          (error: unknown) => calls.forEach((call) => call.reject(error)),
        )
        .finally(handedOut);
      return;
    }
    void Promise.allSettled(calls.map((c) => sampleOne(c.index, c.sampler)))
      .then((outcomes) =>
        outcomes.forEach((outcome, i) => (outcome.status === 'fulfilled' ? calls[i].resolve(outcome.value) : calls[i].reject(outcome.reason))),
      )
      .finally(handedOut);
  };
  const sampleGrouped: SamplingAddonContext['sampleToken'] = (index, sampler, ...details) => {
    if (details.length > 0) return sampleOne(index, sampler, ...details);
    return new Promise((resolve, reject) => {
      if (group.length === 0) setImmediate(flush);
      group.push({ index, sampler, resolve, reject });
    });
  };
  const decode = addon.decodeBatch.bind(addon);
  const decodeTracked = () => {
    if (!decoding) {
      let settle = () => {};
      const settled = new Promise<void>((resolve) => (settle = () => setImmediate(resolve)));
      decoding = { settled, settle };
    }
    // The library asks for the decode's samples in the microtasks after it returns, before any other turn: if none
    // were asked for by the next turn (a prompt chunk without logits), nothing is being handed out.
    return decode().finally(() =>
      setImmediate(() => {
        if (flushing === 0 && group.length === 0) settleDecode();
      }),
    );
  };
  // The addon's methods are read-only on its prototype; an own property of this instance takes precedence.
  Object.defineProperty(addon, 'sampleToken', { value: sampleGrouped, configurable: true, writable: true });
  Object.defineProperty(addon, 'decodeBatch', { value: decodeTracked, configurable: true, writable: true });
  return { whenDecodeSettles: () => decoding?.settled };
}

/** When a sequence that has its token may ask for the next one without missing the batch (see `groupSampling`). */
export interface DecodeRhythm {
  /** Undefined when no decode is running or being sampled; otherwise settles a turn after its tokens are handed out. */
  whenDecodeSettles(): Promise<void> | undefined;
}
