import { join } from 'node:path';
import type { Test } from 'tap';
import { LlamaCompletion, type LlamaModel } from 'node-llama-cpp';
import { convertPeftToGguf } from '../../src/adapters/peft/convertPeftToGguf.js';
import { describeBaseModel } from '../../src/adapters/validateAdapter.js';
import { writePeftExport } from '../../src/demo/peftExport.js';
import { BEHAVIOUR_MODEL, writeSyntheticLlama } from '../../src/demo/syntheticLlama.js';
import { loadTestModel } from './testLlama.js';

/**
 * The behaviour model loaded on the real engine in a test's own folder, with probes that compare adapters by
 * their greedy output and their next-token distribution, and a PEFT export → GGUF conversion step.
 */
export function loraEngineHarness(t: Test) {
  const dir = t.testdir();
  const path = (name: string) => join(dir, name);
  const modelPath = path('model.gguf');
  writeSyntheticLlama(modelPath, BEHAVIOUR_MODEL);
  const base = describeBaseModel(modelPath);
  const PROMPT = 'Hello there, how are you';

  let model: LlamaModel;
  t.before(async () => {
    const loaded = await loadTestModel(modelPath);
    model = loaded.model;
    t.teardown(loaded.close);
  });

  async function greedy(adapter: string | undefined, scale = 1): Promise<string> {
    const context = await model.createContext({
      contextSize: 256,
      threads: 2,
      lora: adapter ? { adapters: [{ filePath: adapter, scale }] } : undefined,
    });
    try {
      return await new LlamaCompletion({ contextSequence: context.getSequence() })
        .generateCompletion(PROMPT, { maxTokens: 6, temperature: 0 });
    } finally {
      await context.dispose();
    }
  }

  /** The next-token distribution after the prompt, as a token → probability map. */
  async function nextToken(adapter: string | undefined): Promise<Map<number, number>> {
    const context = await model.createContext({
      contextSize: 256,
      threads: 2,
      lora: adapter ? { adapters: [{ filePath: adapter, scale: 1 }] } : undefined,
    });
    try {
      const tokens = model.tokenize(PROMPT);
      const input = [...tokens.slice(0, -1), [tokens.at(-1)!, { generateNext: { probabilities: true } }] as const];
      const [result] = (await context.getSequence().controlledEvaluate(input as never)).slice(-1);
      return result!.next.probabilities!;
    } finally {
      await context.dispose();
    }
  }

  /** Largest probability difference over the 200 likeliest tokens of either distribution. */
  function maxDifference(p: Map<number, number>, q: Map<number, number>): number {
    const tokens = new Set([...[...p.keys()].slice(0, 200), ...[...q.keys()].slice(0, 200)]);
    return Math.max(...[...tokens].map((token) => Math.abs((p.get(token) ?? 0) - (q.get(token) ?? 0))));
  }

  function convert(name: string, spec: Parameters<typeof writePeftExport>[1], outType?: 'f16' | 'f32'): string {
    const outPath = path(`${name}.gguf`);
    writePeftExport(path(name), spec);
    convertPeftToGguf({ peftDir: path(name), outPath, outType });
    return outPath;
  }

  return { dir, path, modelPath, base, model: () => model, greedy, nextToken, maxDifference, convert };
}
