import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';

/**
 * node-llama-cpp as tests that load a model directly use it: the CPU, the prebuilt binary (never a build),
 * quiet logs. The returned close disposes the model, then the binding.
 */
export async function loadTestModel(modelPath: string, maxThreads = 2): Promise<{ llama: Llama; model: LlamaModel; close: () => Promise<void> }> {
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads, logLevel: LlamaLogLevel.error });
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
