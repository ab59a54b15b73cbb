import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { truncate } from '../helpers/files.js';
import { PeftConversionError, type PeftConversionReason } from '../../src/adapters/adapterErrors.js';
import { convertPeftToGguf } from '../../src/adapters/peft/convertPeftToGguf.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../../src/adapters/peft/peftFiles.js';
import { encodePeftValues, writePeftExport, writeSafetensors, type PeftExportSpec } from '../../src/demo/peftExport.js';
import type { LoraPair } from '../../src/demo/syntheticLlama.js';

// Every export that cannot become an equivalent GGUF LoRA is refused with its reason, and leaves no file behind.
const root = t.testdir();
const width = 64;
const outputs = 96;
const rank = 4;
const pair = (target: string, r = rank, inputs = width, outs = outputs): LoraPair => ({
  target,
  inputs,
  outputs: outs,
  a: new Float32Array(r * inputs).fill(0.01),
  b: new Float32Array(outs * r).fill(0.02),
});
const good: PeftExportSpec = { pairs: [pair('blk.0.attn_q.weight'), pair('blk.1.attn_q.weight')], rank, alpha: 8, dtype: 'BF16' };
const weightsOf = (dir: string) => join(dir, PEFT_WEIGHTS_FILE);
const prefix = 'base_model.model.model.layers.0.self_attn';

/** Raw tensors for exports the demo writer would never produce. */
const tensor = (name: string, shape: number[], dtype = 'F32', fill = 0.01) => ({
  name,
  dtype,
  shape,
  data: dtype === 'F32' ? encodePeftValues(new Float32Array(shape[0] * shape[1]).fill(fill), 'F32') : Buffer.alloc(shape[0] * shape[1] * 8),
});

interface Case {
  name: string;
  reason: PeftConversionReason;
  message: RegExp;
  /** Writes the export into dir (starting from nothing). */
  make: (dir: string) => void;
  outType?: 'f16' | 'f32';
}

const cases: Case[] = [
  {
    name: 'DoRA', reason: 'dora', message: /use_dora/,
    make: (dir) => writePeftExport(dir, { ...good, extraConfig: { use_dora: true } }),
  },
  {
    name: 'modules_to_save', reason: 'modules-to-save', message: /modules_to_save \[lm_head, embed_tokens\]/,
    make: (dir) => writePeftExport(dir, { ...good, extraConfig: { modules_to_save: ['lm_head', 'embed_tokens'] } }),
  },
  {
    name: 'another PEFT type', reason: 'unsupported-peft-type', message: /"IA3"/,
    make: (dir) => writePeftExport(dir, { ...good, extraConfig: { peft_type: 'IA3' } }),
  },
  {
    name: 'trained biases of the base layers', reason: 'bias', message: /bias tensors \(base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.bias\)/,
    make: (dir) => {
      writePeftExport(dir, { ...good, extraConfig: { bias: 'all', target_modules: ['q_proj'] } });
      writeSafetensors(weightsOf(dir), [
        tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width]), tensor(`${prefix}.q_proj.lora_B.weight`, [width, rank]),
        { name: `${prefix}.q_proj.bias`, dtype: 'F32', shape: [width], data: encodePeftValues(new Float32Array(width).fill(0.01), 'F32') },
      ]);
    },
  },
  {
    name: 'a LoRA bias (lora_bias)', reason: 'bias', message: /bias tensors \(.*q_proj\.lora_B\.bias\)/,
    make: (dir) => {
      writePeftExport(dir, { ...good, extraConfig: { lora_bias: true, target_modules: ['q_proj'] } });
      writeSafetensors(weightsOf(dir), [
        tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width]), tensor(`${prefix}.q_proj.lora_B.weight`, [width, rank]),
        { name: `${prefix}.q_proj.lora_B.bias`, dtype: 'F32', shape: [width], data: encodePeftValues(new Float32Array(width).fill(0.01), 'F32') },
      ]);
    },
  },
  {
    name: 'the weights of two adapters in one file', reason: 'unsupported-tensor', message: /several adapters \(default, other\)/,
    make: (dir) => {
      writePeftExport(dir, { ...good, extraConfig: { target_modules: ['q_proj', 'k_proj'] } });
      writeSafetensors(weightsOf(dir), [
        tensor(`${prefix}.q_proj.lora_A.default.weight`, [rank, width]), tensor(`${prefix}.q_proj.lora_B.default.weight`, [width, rank]),
        tensor(`${prefix}.k_proj.lora_A.other.weight`, [rank, width]), tensor(`${prefix}.k_proj.lora_B.other.weight`, [width, rank]),
      ]);
    },
  },
  {
    name: 'a config that is not JSON', reason: 'invalid-config', message: /not valid JSON/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeFileSync(join(dir, PEFT_CONFIG_FILE), '{"peft_type": "LORA", ');
    },
  },
  {
    name: 'a config without r', reason: 'invalid-config', message: /r: /,
    make: (dir) => writePeftExport(dir, { ...good, extraConfig: { r: undefined } }),
  },
  {
    name: 'config r disagreeing with the tensors', reason: 'config-mismatch', message: /rank 4 but adapter_config\.json says r = 8/,
    make: (dir) => writePeftExport(dir, { ...good, rank: 8 }),
  },
  {
    name: 'a target module without tensors', reason: 'config-mismatch', message: /targets v_proj but .* no tensors/,
    make: (dir) => writePeftExport(dir, { ...good, extraConfig: { target_modules: ['q_proj', 'v_proj'] } }),
  },
  {
    name: 'tensors for a module the config does not target', reason: 'config-mismatch', message: /does not include .*model\.layers\.0\.self_attn\.q_proj/,
    make: (dir) => writePeftExport(dir, { ...good, extraConfig: { target_modules: ['k_proj'] } }),
  },
  {
    name: 'an unknown module name', reason: 'unknown-module', message: /model\.layers\.0\.self_attn\.qkv_proj, vision_tower\.proj/,
    make: (dir) => {
      writePeftExport(dir, { ...good, extraConfig: { target_modules: ['q_proj', 'qkv_proj', 'proj'] } });
      writeSafetensors(weightsOf(dir), [
        tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width]), tensor(`${prefix}.q_proj.lora_B.weight`, [width, rank]),
        tensor(`${prefix}.qkv_proj.lora_A.weight`, [rank, width]), tensor(`${prefix}.qkv_proj.lora_B.weight`, [width * 3, rank]),
        tensor('base_model.model.vision_tower.proj.lora_A.weight', [rank, width]),
        tensor('base_model.model.vision_tower.proj.lora_B.weight', [width, rank]),
      ]);
    },
  },
  {
    name: 'a full weight instead of a LoRA pair', reason: 'unsupported-tensor', message: /embed_tokens\.weight.*tokens added/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeSafetensors(weightsOf(dir), [
        tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width]), tensor(`${prefix}.q_proj.lora_B.weight`, [width, rank]),
        tensor('base_model.model.model.embed_tokens.weight', [128, width]),
      ]);
    },
  },
  {
    name: 'lora_A without lora_B', reason: 'unpaired', message: /model\.layers\.0\.self_attn\.q_proj has a lora_A tensor but no lora_B/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeSafetensors(weightsOf(dir), [tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width])]);
    },
  },
  {
    name: 'A and B of different ranks', reason: 'shape-mismatch', message: /A \[4, 64\] has rank 4 but lora B \[64, 2\] has rank 2/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeSafetensors(weightsOf(dir), [tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width]), tensor(`${prefix}.q_proj.lora_B.weight`, [width, 2])]);
    },
  },
  {
    name: 'an unsupported dtype', reason: 'unsupported-dtype', message: /q_proj\.lora_A\.weight has dtype F64/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeSafetensors(weightsOf(dir), [
        tensor(`${prefix}.q_proj.lora_A.weight`, [rank, width], 'F64'), tensor(`${prefix}.q_proj.lora_B.weight`, [width, rank], 'F64'),
      ]);
    },
  },
  {
    name: 'a truncated safetensors file', reason: 'truncated', message: /truncated.*blk|truncated.*layers\.1/,
    make: (dir) => {
      writePeftExport(dir, good);
      truncate(weightsOf(dir), statSync(weightsOf(dir)).size - 100);
    },
  },
  {
    name: 'a safetensors header cut short', reason: 'truncated', message: /header needs/,
    make: (dir) => {
      writePeftExport(dir, good);
      truncate(weightsOf(dir), 40);
    },
  },
  {
    name: 'a file that is not safetensors', reason: 'invalid-safetensors', message: /not a safetensors file/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeFileSync(weightsOf(dir), Buffer.concat([Buffer.from('GGUF\x03\x00\x00\x00'), Buffer.alloc(64)]));
    },
  },
  {
    name: 'data_offsets that disagree with the shape', reason: 'invalid-safetensors', message: /needs 1024 bytes but its data_offsets \[0, 1000\]/,
    make: (dir) => {
      writePeftExport(dir, good);
      const header = JSON.stringify({ [`${prefix}.q_proj.lora_A.weight`]: { dtype: 'F32', shape: [rank, width], data_offsets: [0, 1000] } });
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(header.length));
      writeFileSync(weightsOf(dir), Buffer.concat([length, Buffer.from(header), Buffer.alloc(1000)]));
    },
  },
  {
    name: 'no tensors at all', reason: 'empty', message: /no LoRA tensors/,
    make: (dir) => {
      writePeftExport(dir, good);
      writeSafetensors(weightsOf(dir), []);
    },
  },
  {
    name: 'a missing adapter_config.json', reason: 'missing-file', message: /no adapter_config\.json/,
    make: (dir) => {
      writePeftExport(dir, good);
      rmSync(join(dir, PEFT_CONFIG_FILE));
    },
  },
  {
    name: 'a missing adapter_model.safetensors', reason: 'missing-file', message: /no adapter_model\.safetensors/,
    make: (dir) => {
      writePeftExport(dir, good);
      rmSync(weightsOf(dir));
    },
  },
  {
    name: 'a pickled adapter_model.bin', reason: 'pickled-weights', message: /adapter_model\.bin, a Python pickle.*safe_serialization=True/,
    make: (dir) => {
      writePeftExport(dir, good);
      renameSync(weightsOf(dir), join(dir, 'adapter_model.bin'));
    },
  },
  {
    name: 'a directory that does not exist', reason: 'missing-file', message: /not a directory/,
    make: () => undefined,
  },
  {
    // Fails while the output is being written, so it also proves the partial file is removed.
    name: 'values too large for f16', reason: 'f16-overflow', message: /outType 'f32'/,
    make: (dir) => {
      const big = pair('blk.1.attn_q.weight');
      big.b.fill(1e6);
      writePeftExport(dir, { ...good, pairs: [pair('blk.0.attn_q.weight'), big], dtype: 'F32' });
    },
  },
];

t.test('a well-formed export converts (the base of every bad case)', async (t) => {
  const dir = join(root, 'good');
  const outDir = join(root, 'good-out');
  mkdirSync(outDir);
  writePeftExport(dir, good);
  const result = convertPeftToGguf({ peftDir: dir, outPath: join(outDir, 'adapter.gguf') });
  t.match(result, { tensorCount: 4, rank: 4, alpha: 8, targets: ['blk.0.attn_q.weight', 'blk.1.attn_q.weight'] });
  t.same(readdirSync(outDir), ['adapter.gguf']);
  t.equal(readFileSync(join(outDir, 'adapter.gguf')).subarray(0, 4).toString(), 'GGUF');
  // And with f32 output, too large values are fine.
  const big = pair('blk.0.attn_q.weight');
  big.b.fill(1e6);
  writePeftExport(join(root, 'big'), { ...good, pairs: [big], dtype: 'F32' });
  t.ok(convertPeftToGguf({ peftDir: join(root, 'big'), outPath: join(outDir, 'big.gguf'), outType: 'f32' }));
});

cases.forEach((testCase, index) => {
  t.test(`${testCase.name} → ${testCase.reason}`, async (t) => {
    const dir = join(root, `case-${index}`);
    const outDir = join(root, `case-${index}-out`);
    mkdirSync(outDir);
    testCase.make(dir);
    let error: unknown;
    try {
      convertPeftToGguf({ peftDir: dir, outPath: join(outDir, 'adapter.gguf'), outType: testCase.outType });
    } catch (caught) {
      error = caught;
    }
    t.type(error, PeftConversionError);
    t.equal((error as PeftConversionError).reason, testCase.reason);
    t.match((error as Error).message, testCase.message);
    t.same(readdirSync(outDir), [], 'nothing is left in the output directory');
  });
});
