import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { AdapterPreparer } from './AdapterCatalogue.js';
import { convertPeftInWorker } from './peft/convertPeftInWorker.js';
import { describeBaseModel, validateLoraAdapter } from './validateAdapter.js';

// Part of the cache key: conversions cached by an older layout are redone (2: general.base_model.0.name is written).
const CONVERSION_LAYOUT = 2;

/**
 * Validates adapters against one base model (whose header is read once) and converts PEFT exports to GGUF,
 * caching each conversion by the export's version so an unchanged export is converted only once.
 */
export function createAdapterPreparer(options: { baseModelPath: string; conversionCacheDir: string }): AdapterPreparer {
  const base = describeBaseModel(options.baseModelPath);
  return {
    validateGguf(filePath) {
      return validateLoraAdapter(filePath, base);
    },
    async preparePeft(folder, name, version) {
      mkdirSync(options.conversionCacheDir, { recursive: true });
      const key = createHash('sha256').update(`${path.resolve(folder)}\0${version}\0${CONVERSION_LAYOUT}`).digest('hex').slice(0, 16);
      const filePath = path.join(options.conversionCacheDir, `${name}.${key}.gguf`);
      if (!existsSync(filePath)) {
        await convertPeftInWorker({ peftDir: folder, outPath: filePath, name });
        // Older conversions of the same adapter are no longer served once this one exists.
        for (const stale of readdirSync(options.conversionCacheDir)) {
          if (stale.startsWith(`${name}.`) && stale !== path.basename(filePath)) rmSync(path.join(options.conversionCacheDir, stale), { force: true });
        }
      }
      return { filePath, ...validateLoraAdapter(filePath, base) };
    },
  };
}
