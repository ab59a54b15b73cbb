import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { LlamaEngine, type AdapterRef, type EngineOptions, type Token } from '../../src/engine/LlamaEngine.js';

/** The behaviour model on the real engine, small enough for tests; `overrides` picks the native engine and sizes. */
export function loadBehaviourEngine(overrides: Partial<EngineOptions> = {}): Promise<LlamaEngine> {
  return LlamaEngine.load({
    modelPath: ensureTestModels().behaviourModel,
    gpu: 'off',
    gpuLayers: 0,
    threads: 1,
    contextSize: 256,
    sequencesPerContext: 2,
    batchSize: 128,
    maxContexts: 4,
    maxWaiting: 16,
    llamaLogs: false,
    log: () => {},
    ...overrides,
  });
}

/** A test adapter of the behaviour model by letter: its greedy output repeats " <letter>". */
export function behaviourAdapter(name: string, scale = 1): AdapterRef {
  return { name, filePath: ensureTestModels().adapters[name], version: 'test', scale };
}

/** The greedy answer to a prompt under some adapters. */
export async function greedyAnswer(engine: LlamaEngine, adapters: AdapterRef[], promptTokens: Token[], maxTokens = 4): Promise<string> {
  let text = '';
  const events = engine.generate({
    adapters,
    promptTokens,
    maxTokens,
    sampling: { temperature: 0, topP: 1, presencePenalty: 0, frequencyPenalty: 0 },
    stop: [],
    signal: new AbortController().signal,
  });
  for await (const event of events) if (event.type === 'text') text += event.text;
  return text;
}
