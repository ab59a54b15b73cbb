import { readFileSync } from 'node:fs';
import t from 'tap';
import { loraEngineHarness } from '../helpers/loraEngineHarness.js';
import { validateLoraAdapter } from '../../src/adapters/validateAdapter.js';
import { projectionAdapterPairs } from '../../src/demo/peftExport.js';
import {
  behaviourAdapterPairs,
  writeLoraAdapter,
} from '../../src/demo/syntheticLlama.js';
import { readGguf } from '../../src/gguf/readGguf.js';

// The same adapter, written natively and as a PEFT export then converted, must make the real engine say the same.
const { path, base, greedy, nextToken, maxDifference, convert } = loraEngineHarness(t);

t.test('the behaviour adapter converted from bf16, f16 and f32 says what the native adapter says', async (t) => {
  const spec = behaviourAdapterPairs({ word: ' A', rank: 4, alpha: 8 });
  writeLoraAdapter(path('native-A.gguf'), { name: 'A', ...spec });
  t.equal(await greedy(undefined), ' W W W W W W');
  t.equal(await greedy(path('native-A.gguf')), ' A A A A A A');
  t.equal(await greedy(path('native-A.gguf'), 0.2), ' W W W W W W');
  const cases = [['BF16', undefined], ['F16', undefined], ['F32', undefined], ['BF16', 'f32']] as const;
  for (const [dtype, outType] of cases) {
    const converted = convert(`A-${dtype}-${outType ?? 'default'}`, { ...spec, dtype }, outType);
    t.match(validateLoraAdapter(converted, base), { rank: 4, alpha: 8, targets: ['output.weight'] });
    t.equal(await greedy(converted), ' A A A A A A', `${dtype} → ${outType ?? 'f16'} at scale 1`);
    t.equal(await greedy(converted, 0.2), ' W W W W W W', `${dtype} → ${outType ?? 'f16'} at scale 0.2`);
  }
});

t.test('an adapter on every attention and MLP projection converts to the native adapter, exactly', async (t) => {
  const shape = { width: 64, layers: 2, kvWidth: 32, feedForward: 128 };
  const pairs = projectionAdapterPairs(shape, { rank: 8, seed: 7, amplitude: 0.3 });
  writeLoraAdapter(path('native-projections.gguf'), { name: 'p', rank: 8, alpha: 16, pairs });
  const converted = convert('projections', { pairs, rank: 8, alpha: 16, dtype: 'F32' }, 'f32');

  const info = validateLoraAdapter(converted, base);
  t.equal(info.rank, 8);
  t.equal(info.tensorCount, 28);
  t.equal(info.targets.length, 14);

  // f32 in, f32 out and no rescaling: every tensor's bytes equal the native writer's.
  const tensorBytes = (file: string) => {
    const header = readGguf(file, { maxArrayItems: 16 });
    const bytes = readFileSync(file);
    return new Map(header.tensors.map((tensor) => {
      const start = header.dataOffset + tensor.offset;
      return [tensor.name, { dims: tensor.dims, data: bytes.subarray(start, start + tensor.dims[0] * tensor.dims[1] * 4) }];
    }));
  };
  const native = tensorBytes(path('native-projections.gguf'));
  for (const [name, tensor] of tensorBytes(converted)) {
    t.same(tensor.dims, native.get(name)?.dims, `${name} dims`);
    t.ok(native.get(name)?.data.equals(tensor.data), `${name} data`);
  }

  const baseline = await nextToken(undefined);
  const fromNative = await nextToken(path('native-projections.gguf'));
  t.ok(maxDifference(baseline, fromNative) > 1e-3, 'the adapter changes the next-token distribution');
  t.equal(maxDifference(fromNative, await nextToken(converted)), 0, 'converted = native');

  // bf16 export, f16 GGUF: the same adapter up to rounding.
  const rounded = convert('projections-bf16', { pairs, rank: 8, alpha: 16, dtype: 'BF16' });
  t.ok(validateLoraAdapter(rounded, base));
  t.ok(maxDifference(fromNative, await nextToken(rounded)) < 0.01, 'bf16 → f16 stays within rounding');
  const first = await greedy(rounded);
  t.equal(await greedy(rounded), first, 'greedy output is deterministic');
});
