import { parseArgs } from 'node:util';
import { PeftConversionError } from '../adapters/adapterErrors.js';
import { convertPeftToGguf } from '../adapters/peft/convertPeftToGguf.js';

/** `adaptd adapters convert PEFT_DIR OUT.gguf [--outtype f16|f32] [--json]`: PEFT export → GGUF LoRA, no Python. */
export async function runAdaptersConvert(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { outtype: { type: 'string', default: 'f16' }, json: { type: 'boolean', default: false } },
  });
  const [peftDir, outPath] = positionals;
  if (!peftDir || !outPath || positionals.length > 2 || !['f16', 'f32'].includes(values.outtype!)) {
    process.stderr.write('usage: adaptd adapters convert PEFT_DIR OUT.gguf [--outtype f16|f32] [--json]\n');
    return 2;
  }
  try {
    const result = convertPeftToGguf({ peftDir, outPath, outType: values.outtype as 'f16' | 'f32' });
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ out: outPath, ...result })}\n`
        : `wrote ${outPath}: ${result.tensorCount} tensors, rank ${result.rank}, alpha ${result.alpha}, ${result.seconds.toFixed(2)} s\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof PeftConversionError)) throw error;
    process.stderr.write(`adaptd: cannot convert ${peftDir}: ${error.message} (${error.reason})\n`);
    return 1;
  }
}
