import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';

/** node-llama-cpp as tests use it directly: the CPU, the prebuilt binary (never a build), quiet logs. */
export function getTestLlama(maxThreads = 2): Promise<Llama> {
  return getLlama({ gpu: false, build: 'never', maxThreads, logLevel: LlamaLogLevel.error });
}

/** A model loaded through getTestLlama. The returned close disposes the model, then the binding. */
export async function loadTestModel(modelPath: string, maxThreads = 2): Promise<{ llama: Llama; model: LlamaModel; close: () => Promise<void> }> {
  const llama = await getTestLlama(maxThreads);
  const model = await llama.loadModel({ modelPath });
  return {
    llama,
    model,
    close: async () => {
      await model.dispose();
      await llama.dispose();
    },
  };
}
