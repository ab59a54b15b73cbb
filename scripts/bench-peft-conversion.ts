// Times PEFT → GGUF conversion of an export shaped like a Llama 3 8B rank-16 LoRA on every attention and MLP
// projection (about 42M parameters, bf16) and reports the converter's peak memory.
// Usage: npx tsx scripts/bench-peft-conversion.ts [--out-type f16|f32] [--keep]
// The export is written by this process; the conversion runs in a fresh child so its peak RSS is its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertPeftToGguf } from '../src/adapters/peft/convertPeftToGguf.js';
import { PEFT_WEIGHTS_FILE } from '../src/adapters/peft/peftFiles.js';
import { LLAMA3_8B_PROJECTIONS, writeProjectionPeftExport } from '../src/demo/peftExport.js';

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const args = process.argv.slice(2);

if (args[0] === '--convert') {
  const [, peftDir, outPath, outType] = args;
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const result = convertPeftToGguf({ peftDir, outPath, outType: outType as 'f16' | 'f32' });
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ ...result, targets: result.targets.length, rssBefore, peakRss }));
} else {
  const outType = args.includes('--out-type') ? args[args.indexOf('--out-type') + 1] : 'f16';
  const dir = mkdtempSync(join(tmpdir(), 'adaptd-peft-bench-'));
  try {
    const peftDir = join(dir, 'llama3-8b-rank16');
    const started = performance.now();
    writeProjectionPeftExport(peftDir, LLAMA3_8B_PROJECTIONS, { rank: 16, alpha: 32, dtype: 'BF16', seed: 1, amplitude: 0.01 });
    const inputBytes = statSync(join(peftDir, PEFT_WEIGHTS_FILE)).size;
    console.log(`wrote the export (${megabytes(inputBytes)} of bf16 safetensors) in ${((performance.now() - started) / 1000).toFixed(2)} s`);

    const outPath = join(dir, 'adapter.gguf');
    const script = fileURLToPath(import.meta.url);
    const output = execFileSync(process.execPath, [...process.execArgv, script, '--convert', peftDir, outPath, outType], { encoding: 'utf8' });
    const report = JSON.parse(output);
    console.log(
      `converted ${report.targets} projections (${report.tensorCount} tensors, rank ${report.rank}) to ${outType} ` +
        `(${megabytes(statSync(outPath).size)}) in ${report.seconds.toFixed(2)} s; ` +
        `peak RSS ${megabytes(report.peakRss)} (${megabytes(report.rssBefore)} before converting)`,
    );
  } finally {
    if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}
