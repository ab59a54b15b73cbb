/**
 * The child process of the start-up probe (cudaProbe.ts): loads a model with every layer on the GPU and decodes one
 * token, loaded as the server loads it (the patched native build when one is cached, else the prebuilt binary). A
 * backend that cannot run its kernels here aborts this process, not the server. Prints "decoded on <backend>".
 *   node --import tsx src/engine/cudaProbeChild.ts MODEL.gguf [cuda|auto|off] [auto|off]
 */
import { LlamaLogLevel } from 'node-llama-cpp';
import { loadLlama } from './nativeBinding.js';

const [modelPath, gpu = 'cuda', native = 'auto'] = process.argv.slice(2);
const { llama } = await loadLlama({ native: native as 'auto' | 'off', gpu: gpu === 'off' ? false : (gpu as 'cuda' | 'auto'), build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: gpu === 'off' ? 0 : 'max' });
const context = await model.createContext({ contextSize: 64 });
const sequence = context.getSequence();
const tokens = model.tokenize('probe');
for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
  void token;
  break;
}
process.stdout.write(`decoded on ${llama.gpu || 'cpu'}\n`);
await context.dispose();
await model.dispose();
await llama.dispose();
