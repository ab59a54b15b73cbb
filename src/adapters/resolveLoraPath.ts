import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { resolveInsideRoots } from './adapterName.js';
import { AdapterPathError } from './adapterErrors.js';
import { adapterSourceAt, fileVersion } from './AdapterSource.js';
import { PEFT_CONFIG_FILE } from './peft/peftFiles.js';
import type { AdapterFormat } from './AdapterCatalogue.js';

/**
 * The adapter a vLLM-style load request points at: a GGUF file or a PEFT folder that must lie inside one of the
 * allowed roots (symlinks followed), with its format and content version.
 */
export function resolveLoraPath(requestedPath: string, roots: string[]): { source: string; format: AdapterFormat; version: string } {
  const source = resolveInsideRoots(requestedPath, roots);
  if (!source) throw new AdapterPathError(`lora_path must be an existing file or folder inside an allowed adapters root (${roots.length} configured)`);
  const stats = statSync(source);
  const format: AdapterFormat = stats.isDirectory() ? 'peft' : 'gguf';
  if (format === 'peft' && !existsSync(path.join(source, PEFT_CONFIG_FILE))) {
    throw new AdapterPathError(`lora_path is a folder without ${PEFT_CONFIG_FILE}`);
  }
  // A file whose name is not one the directory scan takes up (say lora.bin) is versioned by its own stats.
  return { source, format, version: adapterSourceAt(source)?.version ?? fileVersion(stats) };
}
