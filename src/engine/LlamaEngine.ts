import {
  ChatMLChatWrapper,
  GeneralChatWrapper,
  Llama3ChatWrapper,
  Llama3_1ChatWrapper,
  LlamaLogLevel,
  LlamaGrammarEvaluationState,
  LlamaText,
  SpecialTokensText,
  type Llama,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { availableCpus } from './cpuBudget.js';
import { createSampler, describeCapabilities, loadLlama, type EngineCapabilities, type SamplerConfig } from './nativeBinding.js';
import { NativeMemoryGuard } from './nativeMemoryGuard.js';
import { ContextPool, type AdapterRef } from './ContextPool.js';
import { GrammarCache, type CompiledGrammar } from './GrammarCache.js';
import { GrammarFastForward, nativeGrammarState } from './GrammarFastForward.js';
import { ContextOverflowError, EngineError, EngineUnavailableError } from './engineErrors.js';

export type { AdapterRef } from './ContextPool.js';
export type { EngineCapabilities } from './nativeBinding.js';
export type { Token } from 'node-llama-cpp';

export interface EngineOptions {
  modelPath: string;
  gpu: 'auto' | 'cuda' | 'vulkan' | 'off';
  gpuLayers: 'auto' | 'max' | number;
  /** 0: every CPU this process may use. */
  threads: number;
  contextSize: number;
  sequencesPerContext: number;
  /** Patched engine: sequences of the shared context that only keep idle adapter sets' prompts (see ContextPool). */
  promptCacheSlots?: number;
  batchSize: number;
  /** Insert the text a grammar forces instead of decoding it token by token (default true; see GrammarFastForward). */
  grammarFastForward?: boolean;
  /** What compiled grammars of recent requests may cost together, in bytes (default 64 MiB; see GrammarCache). */
  grammarCacheBytes?: number;
  maxContexts: number;
  maxWaiting: number;
  /** 'auto': adaptd's patched native build when one is cached for this backend (scripts/build-native.sh); 'off': node-llama-cpp's prebuilt binary. */
  nativeEngine?: 'auto' | 'off';
  llamaLogs: boolean;
  log: (message: string) => void;
}

/** A piece of prompt: template text may contain special tokens, user text never becomes one. */
export interface PromptSegment {
  text: string;
  special: boolean;
}

export interface SamplingOptions {
  temperature: number;
  topP: number;
  seed?: number;
  presencePenalty: number;
  frequencyPenalty: number;
}

/**
 * The native sampler's settings for a request. Unset, node-llama-cpp's defaults (which its evaluate applied for
 * adaptd before): top-k 40 and top-p 0.95, narrowed by a request's own top_p below 1; greedy at temperature 0. A
 * request without a seed gets the current second, as there.
 */
function samplerConfig(sampling: SamplingOptions, grammarEvaluationState?: LlamaGrammarEvaluationState): SamplerConfig {
  return {
    temperature: sampling.temperature,
    minP: 0,
    topK: 40,
    topP: sampling.topP < 1 ? sampling.topP : 0.95,
    seed: Math.max(0, Math.floor(sampling.seed ?? Date.now() / 1000)),
    grammarEvaluationState,
  };
}

/** Presence and frequency penalties over `answerSoFar` (at least the last 64 tokens, all of a longer answer). */
function penaltyConfig(settings: SamplerConfig, sampling: SamplingOptions, answerSoFar: Token[]): SamplerConfig {
  return {
    ...settings,
    repeatPenalty: 1,
    repeatPenaltyMaxTokens: Math.max(64, answerSoFar.length),
    repeatPenaltyTokens: Uint32Array.from(answerSoFar),
    repeatPenaltyPresencePenalty: sampling.presencePenalty,
    repeatPenaltyFrequencyPenalty: sampling.frequencyPenalty,
  };
}

export interface GenerationRequest {
  adapters: AdapterRef[];
  promptTokens: Token[];
  /** Already checked against the context by `fitCompletion`. */
  maxTokens: number;
  sampling: SamplingOptions;
  stop: string[];
  /** GBNF text; the output is constrained to it. */
  grammar?: string;
  signal: AbortSignal;
}

export type FinishReason = 'stop' | 'length';

export type GenerationEvent =
  | { type: 'text'; text: string }
  /** `forcedTokens`: how many of the completion tokens a grammar forced and the engine inserted without sampling. */
  | { type: 'done'; finishReason: FinishReason; promptTokens: number; completionTokens: number; forcedTokens: number };

export interface BaseModelInfo {
  name: string;
  architecture: string;
  chatTemplate?: string;
  trainContextSize: number;
  bosToken?: string;
  eosToken?: string;
  /** Texts of control tokens (e.g. "<|eot_id|>"), which user text must never turn into. */
  specialTokenTexts: string[];
  sizeBytes: number;
  gpu: string | false;
  threads: number;
}

/**
 * What one resident adapter-set context reserves beside the shared model, by node-llama-cpp's estimate. Most of it is
 * llama.cpp's compute buffer, sized for a whole batch of output logits (vocabulary x batch size x 4 bytes: 250 MiB
 * for Llama 3's vocabulary at batch 512, measured); its pages are touched gradually, so RSS climbs towards
 * `resident contexts x this` under load and then stays there.
 */
export interface ContextMemoryEstimate {
  ramBytes: number;
  vramBytes: number;
}

/** The only owner of node-llama-cpp: one base model, a pool of contexts per adapter set, token generation. */
export class LlamaEngine {
  private readonly memoryGuard = new NativeMemoryGuard();
  private closed = false;

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    readonly pool: ContextPool,
    readonly info: BaseModelInfo,
    readonly contextSize: number,
    readonly contextMemory: ContextMemoryEstimate,
    readonly grammars: GrammarCache,
    /** What the loaded native engine can do (per-sequence LoRA or a context per adapter set); logged at start. */
    readonly capabilities: EngineCapabilities,
  ) {}

  static async load(options: EngineOptions): Promise<LlamaEngine> {
    const threads = options.threads > 0 ? options.threads : availableCpus();
    const { llama, capabilities } = await loadLlama({
      native: options.nativeEngine ?? 'auto',
      gpu: options.gpu === 'off' ? false : options.gpu,
      build: 'never',
      maxThreads: threads,
      logLevel: options.llamaLogs ? LlamaLogLevel.info : LlamaLogLevel.error,
      logger: (level, message) => {
        if (options.llamaLogs || level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) options.log(`llama.cpp: ${message.trim()}`);
      },
    });
    const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: options.gpuLayers });
    const metadata = model.fileInfo.metadata as Record<string, any>;
    const info: BaseModelInfo = {
      name: String(metadata.general?.name ?? 'model'),
      architecture: String(metadata.general?.architecture ?? 'unknown'),
      chatTemplate: metadata.tokenizer?.chat_template,
      trainContextSize: model.trainContextSize,
      bosToken: model.tokens.bosString ?? undefined,
      eosToken: model.tokens.eosString ?? undefined,
      specialTokenTexts: specialTokenTexts(model),
      sizeBytes: model.size,
      gpu: llama.gpu,
      threads,
    };
    const contextSize = Math.min(options.contextSize, model.trainContextSize);
    const pool = new ContextPool(model, {
      contextSize,
      sequencesPerContext: options.sequencesPerContext,
      batchSize: options.batchSize,
      threads,
      minThreads: minDecodeThreads(threads),
      maxContexts: options.maxContexts,
      maxWaiting: options.maxWaiting,
      perSequenceLora: capabilities.perSequenceLora,
      promptCacheSlots: options.promptCacheSlots,
    });
    options.log(describeCapabilities(capabilities));
    if (capabilities.perSequenceLora) options.log(`shared context: ${options.sequencesPerContext} sequences run requests, ${options.promptCacheSlots ?? 0} more keep the prompts of idle adapter sets (--prompt-cache-slots)`);
    const memory = await estimateContextMemory(model, contextSize, pool.sequencesPerCreatedContext, options);
    const grammars = new GrammarCache(llama, { fastForward: options.grammarFastForward ?? true, maxBytes: options.grammarCacheBytes ?? 64 * 2 ** 20 });
    return new LlamaEngine(llama, model, pool, info, contextSize, memory, grammars, capabilities);
  }

  tokenize(segments: PromptSegment[]): Token[] {
    const text = LlamaText(segments.map((s) => (s.special ? new SpecialTokensText(s.text) : s.text)));
    return text.tokenize(this.model.tokenizer);
  }

  /** A raw completion prompt: plain text (no special tokens), after BOS when the model wants one, as llama-server does. */
  tokenizeCompletionPrompt(text: string): Token[] {
    const tokens = this.model.tokenize(text, false);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  detokenize(tokens: Token[]): string {
    return this.model.detokenize(tokens);
  }

  /**
   * Renders plain-text turns with one of node-llama-cpp's built-in chat wrappers, for models whose own template
   * is missing or unusable. Llama 3.1's wrapper is given a fixed date so the prompt does not change at midnight.
   */
  wrapperPromptTokens(wrapperName: string, turns: Array<{ role: 'system' | 'user' | 'assistant'; text: string }>): Token[] {
    const wrapper = createChatWrapper(wrapperName);
    const chatHistory = turns.map((turn) =>
      turn.role === 'assistant' ? { type: 'model' as const, response: [turn.text] } : { type: turn.role, text: turn.text },
    );
    chatHistory.push({ type: 'model', response: [] });
    return wrapper.generateContextState({ chatHistory }).contextText.tokenize(this.model.tokenizer);
  }

  /** The completion budget for a prompt: the request's max_tokens, or all the context leaves; never truncation. */
  fitCompletion(promptTokens: number, requestedMaxTokens: number | undefined): number {
    const room = this.contextSize - promptTokens;
    if (requestedMaxTokens === undefined) {
      if (room < 1) throw new ContextOverflowError(promptTokens, 1, this.contextSize);
      return room;
    }
    if (requestedMaxTokens > room) throw new ContextOverflowError(promptTokens, requestedMaxTokens, this.contextSize);
    return requestedMaxTokens;
  }

  /** Compiles GBNF, or finds it compiled for an earlier request; a bad grammar is a GrammarError, not a crash. */
  compileGrammar(gbnf: string): Promise<CompiledGrammar> {
    return this.grammars.compile(gbnf);
  }

  /**
   * Generates text for one request on a sequence of its adapter set's context, as text deltas then one `done`.
   * Breaking out of the loop (a client that went away) or aborting the signal frees the sequence at once.
   */
  async *generate(request: GenerationRequest): AsyncGenerator<GenerationEvent> {
    if (this.closed) throw new EngineUnavailableError('the server is shutting down');
    const { promptTokens } = request;
    const grammar = request.grammar === undefined ? undefined : await this.compileGrammar(request.grammar);
    const lease = await this.pool.acquire(request.adapters, promptTokens, request.signal);
    try {
      const sequence = lease.sequence;
      // Keep the cached prefix; at least the last prompt token is evaluated again to get fresh logits.
      await lease.prepare(() => sequence.adaptStateToTokens(promptTokens.slice(0, -1), false));
      const generated: Token[] = [];
      const generatedText = new GeneratedText(this.model);
      const stops = new StopTextDetector(request.stop);
      const grammarState = grammar ? new LlamaGrammarEvaluationState({ model: this.model, grammar: grammar.native }) : undefined;
      const fastForward =
        grammar?.start && grammarState
          ? new GrammarFastForward(grammar.start, this.model, nativeGrammarState(this.llama, grammarState), this.info.specialTokenTexts)
          : undefined;
      let forcedTokens = 0;
      let emitted = 0;
      let finishReason: FinishReason | undefined;
      let finalText = '';
      const sampling = request.sampling;
      const penalise = sampling.presencePenalty !== 0 || sampling.frequencyPenalty !== 0;
      // Text a grammar forces at the very start goes in with the prompt's last tokens.
      const forcedAtStart = fastForward?.forcedTokens(request.maxTokens - 1) ?? [];
      /** Inserted tokens being evaluated now; they join `generated` with the token sampled after them. */
      let pendingForced = forcedAtStart;
      const sampler = createSampler(this.model);
      const samplerSettings = samplerConfig(sampling, grammarState);
      /** Adds tokens to the output, the first `inserted` of them forced; true when the answer is finished (a stop string or max_tokens). */
      const take = (tokens: Token[], inserted: number): boolean => {
        for (const [index, token] of tokens.entries()) {
          generated.push(token);
          if (index < inserted) forcedTokens++;
          const text = generatedText.append(token);
          const stopAt = stops.find(text, emitted);
          if (stopAt !== undefined) {
            [finishReason, finalText] = ['stop', text.slice(0, stopAt)];
            return true;
          }
          if (generated.length >= request.maxTokens) {
            [finishReason, finalText] = ['length', text];
            return true;
          }
        }
        return false;
      };
      try {
        sampler.applyConfig(samplerSettings);
        let evaluateNext = [...promptTokens.slice(sequence.nextTokenIndex), ...forcedAtStart];
        for (;;) {
          // Penalties count every token of the answer so far, inserted ones included.
          if (penalise) sampler.applyConfig(penaltyConfig(samplerSettings, sampling, [...generated, ...pendingForced]));
          const token = await lease.evaluate(evaluateNext, sampler, request.signal);
          request.signal.throwIfAborted();
          if (token === undefined || this.model.isEogToken(token)) {
            take(pendingForced, pendingForced.length);
            break;
          }
          if (take([...pendingForced, token], pendingForced.length)) break;
          const text = generatedText.text;
          const safeEnd = stops.safeEnd(text);
          if (safeEnd > emitted) {
            yield { type: 'text', text: text.slice(emitted, safeEnd) };
            emitted = safeEnd;
          }
          pendingForced = [];
          if (fastForward && generatedText.complete) {
            fastForward.follow(text);
            pendingForced = fastForward.forcedTokens(request.maxTokens - generated.length - 1);
          }
          // The sampled token is evaluated next, with any forced tokens after it in the same batch.
          evaluateNext = [token, ...pendingForced];
        }
      } finally {
        // Every evaluation this request queued has settled: none is using the sampler now.
        sampler.dispose();
      }
      request.signal.throwIfAborted();
      // The loop also ends when the model emits an end-of-generation token.
      if (finishReason === undefined) [finishReason, finalText] = ['stop', generatedText.text];
      if (finalText.length > emitted) yield { type: 'text', text: finalText.slice(emitted) };
      yield { type: 'done', finishReason, promptTokens: promptTokens.length, completionTokens: generated.length, forcedTokens };
    } finally {
      lease.release();
      this.memoryGuard.check();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/**
 * node-llama-cpp runs each decode and sampling step as a job on libuv's thread pool (UV_THREADPOOL_SIZE, default
 * 4), so consecutive steps land on different OS threads. Measured on 2 cores, 150M F16 model, 2 threads: 11-16
 * ms/token with a pool of 2-4 threads and 5.1-5.6 ms/token with a pool of one with the prebuilt binary (6.1-6.5 and
 * 5.0 with an OpenMP source build; llama-server 4.7-5.2). With one pool thread, decodes of different adapter sets cannot overlap anyway, so
 * each decode waits for the whole thread budget instead of splitting it: the same redactor requests alternating
 * over 2 and 8 adapters at concurrency 4 went from 1.80 and 1.94 to 2.13 and 2.36 requests/s. With a larger pool,
 * contexts keep decoding side by side on a share of the threads.
 */
export function minDecodeThreads(threads: number, env: NodeJS.ProcessEnv = process.env): number {
  return libuvPoolSize(env) === 1 ? threads : 1;
}

/** The pool size libuv itself reads from the environment at start-up. */
export function libuvPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/** node-llama-cpp's estimate for one context as the pool creates them; zero where it cannot estimate (an unusual GGUF). */
async function estimateContextMemory(model: LlamaModel, contextSize: number, sequences: number, options: EngineOptions): Promise<ContextMemoryEstimate> {
  try {
    const estimate = await model.fileInsights.estimateContextResourceRequirements({
      contextSize,
      sequences,
      batchSize: options.batchSize,
      modelGpuLayers: model.gpuLayers,
    });
    return { ramBytes: estimate.cpuRam, vramBytes: estimate.gpuVram };
  } catch (error) {
    options.log(`could not estimate the memory of a context: ${error instanceof Error ? error.message : String(error)}`);
    return { ramBytes: 0, vramBytes: 0 };
  }
}

export const CHAT_WRAPPERS = ['llama3.1', 'llama3', 'chatML', 'general'] as const;

function createChatWrapper(name: string) {
  switch (name) {
    case 'llama3.1': return new Llama3_1ChatWrapper({ todayDate: new Date('2024-07-26T00:00:00Z'), cuttingKnowledgeDate: null });
    case 'llama3': return new Llama3ChatWrapper();
    case 'chatML': return new ChatMLChatWrapper();
    case 'general': return new GeneralChatWrapper();
    default: throw new EngineError(`unknown chat wrapper "${name}"; choose one of ${CHAT_WRAPPERS.join(', ')}`);
  }
}

function specialTokenTexts(model: LlamaModel): string[] {
  const texts: string[] = [];
  for (const token of model.iterateAllTokens()) {
    if (!model.isSpecialToken(token)) continue;
    const text = model.detokenize([token], true);
    if (text.length > 0) texts.push(text);
  }
  return texts;
}

/**
 * The text of the tokens generated so far. Only new tokens are detokenised (with the few before them as context, for
 * tokenizers whose spacing depends on it): detokenising the whole list at every step made each token cost time in
 * proportion to the answer's length. Tokens that end inside a UTF-8 character stay pending until it is complete.
 */
export class GeneratedText {
  private settled = '';
  private context: Token[] = [];
  private pending: Token[] = [];
  private pendingText = '';

  constructor(private readonly model: Pick<LlamaModel, 'detokenize'>) {}

  append(token: Token): string {
    this.pending.push(token);
    this.pendingText = this.model.detokenize(this.pending, false, this.context);
    if (!this.pendingText.endsWith('\uFFFD')) {
      this.settled += this.pendingText;
      this.context = [...this.context, ...this.pending].slice(-4);
      this.pending = [];
      this.pendingText = '';
    }
    return this.text;
  }

  get text(): string {
    return this.settled + this.pendingText;
  }

  /** False while the last tokens end in part of a UTF-8 character. */
  get complete(): boolean {
    return this.pending.length === 0;
  }
}

/** Finds the first stop string in generated text, and how much text is surely not the start of one. */
export class StopTextDetector {
  constructor(private readonly stops: string[]) {}

  /** Where the first stop string starts; `emitted` text held none and ended in no part of one, so the search starts there. */
  find(text: string, emitted = 0): number | undefined {
    let first: number | undefined;
    for (const stop of this.stops) {
      const at = text.indexOf(stop, emitted);
      if (at >= 0 && (first === undefined || at < first)) first = at;
    }
    return first;
  }

  /** Where text may be emitted up to: before a partial UTF-8 character at the end, and before any start of a stop string. */
  safeEnd(text: string): number {
    let complete = text.length;
    while (complete > 0 && text.charCodeAt(complete - 1) === 0xfffd) complete--;
    let end = complete;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, complete); length > 0; length--) {
        if (text.startsWith(stop.slice(0, length), complete - length)) {
          end = Math.min(end, complete - length);
          break;
        }
      }
    }
    return end;
  }
}
