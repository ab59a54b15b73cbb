import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ProgressReporter } from './progress.js';

/** The default base for a real deployment: Llama 3.1 8B Instruct, Q4_K_M. */
export const DEFAULT_MODEL_URL =
  'https://huggingface.co/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/resolve/main/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf';

/**
 * `adaptd pull [--url URL] [--out FILE]`: downloads a GGUF with a progress bar. An interrupted download leaves a
 * `.partial` file that the next run continues with an HTTP Range request; the final name appears only when complete.
 */
export async function runPull(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: 'string', default: DEFAULT_MODEL_URL }, out: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const url = values.url!;
  const out = values.out ?? path.join('models', decodeURIComponent(new URL(url).pathname.split('/').pop() || 'model.gguf'));
  if (existsSync(out)) {
    process.stdout.write(values.json ? `${JSON.stringify({ path: out, downloaded: 0 })}\n` : `${out} is already complete\n`);
    return 0;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  const partial = `${out}.partial`;
  const have = existsSync(partial) ? statSync(partial).size : 0;
  const response = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, redirect: 'follow' });
  if (response.status === 416) {
    renameSync(partial, out);
    return 0;
  }
  if (!response.ok || !response.body) throw new Error(`download failed: HTTP ${response.status} from ${new URL(url).host}`);
  // A server that ignores Range sends the whole file again: start over rather than append a second copy.
  const resumed = response.status === 206;
  const length = Number(response.headers.get('content-length') ?? 0);
  const progress = new ProgressReporter({ label: path.basename(out), total: length ? length + (resumed ? have : 0) : undefined, unit: 'B', json: values.json });
  if (resumed) progress.skip(have);
  const file = createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
  let downloaded = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (!file.write(chunk)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
    downloaded += chunk.length;
    progress.advance(chunk.length);
  }
  await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  progress.finish();
  renameSync(partial, out);
  process.stdout.write(values.json ? `${JSON.stringify({ path: out, downloaded, resumedFrom: resumed ? have : 0 })}\n` : `saved ${out}\n`);
  return 0;
}
