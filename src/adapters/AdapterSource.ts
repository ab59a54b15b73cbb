import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { isValidAdapterName } from './adapterName.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, PICKLED_PEFT_WEIGHTS } from './peft/peftFiles.js';
import type { AdapterFormat } from './AdapterCatalogue.js';

/** A file or folder that holds an adapter: the name it is served under, its format, and its content version. */
export interface AdapterSource {
  name: string;
  format: AdapterFormat;
  /** Changes whenever the content changes (inode, size, mtime), so a replaced file is loaded afresh. */
  version: string;
}

export function fileVersion(stats: Stats): string {
  return `${stats.ino}-${stats.size}-${Math.round(stats.mtimeMs)}`;
}

function statIfFile(filePath: string): Stats | undefined {
  try {
    const stats = statSync(filePath);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What `source` holds, named after its file name: `NAME.gguf` is a GGUF LoRA, a folder `NAME` with a PEFT config
 * and weights a PEFT export. Anything else (hidden names, invalid names, half an export) is no adapter.
 */
export function adapterSourceAt(source: string): AdapterSource | undefined {
  const fileName = path.basename(source);
  if (fileName.startsWith('.')) return undefined;
  let stats: Stats;
  try {
    stats = statSync(source);
  } catch {
    return undefined;
  }
  if (stats.isFile() && fileName.endsWith('.gguf')) {
    const name = fileName.slice(0, -'.gguf'.length);
    return isValidAdapterName(name) ? { name, format: 'gguf', version: fileVersion(stats) } : undefined;
  }
  if (stats.isDirectory() && isValidAdapterName(fileName)) {
    try {
      const config = statSync(path.join(source, PEFT_CONFIG_FILE));
      // An older export's pickled weights are taken up too, so that their refusal (and how to fix it) is logged.
      const weights = [PEFT_WEIGHTS_FILE, PICKLED_PEFT_WEIGHTS].map((file) => statIfFile(path.join(source, file))).find(Boolean);
      return weights ? { name: fileName, format: 'peft', version: `${fileVersion(config)}+${fileVersion(weights)}` } : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
