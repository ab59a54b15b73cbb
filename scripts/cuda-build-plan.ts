/**
 * Prints the plan of a CUDA backend build as shell assignments, for scripts/build-cuda-backend.sh:
 *   npx tsx scripts/cuda-build-plan.ts --archs LIST|local|default --local "90" --source-id SHA --toolkit 13.0 --cache-root DIR
 * The architecture rules and the cache key live in src/engine/cudaBuildPlan.ts (unit-tested there).
 */
import { parseArgs } from 'node:util';
import { planCudaBuild } from '../src/engine/cudaBuildPlan.js';

const { values } = parseArgs({
  options: {
    archs: { type: 'string' },
    local: { type: 'string', default: '' },
    'source-id': { type: 'string', default: 'unknown' },
    toolkit: { type: 'string', default: 'none' },
    'cache-root': { type: 'string' },
  },
});
if (!values['cache-root']) throw new Error('--cache-root is required');
try {
  const plan = planCudaBuild({
    request: values.archs,
    localArchs: values.local.split(/[;,\s]+/).filter(Boolean).map((cc) => Math.round(Number(cc) * 10)),
    sourceId: values['source-id'],
    toolkit: values.toolkit,
    cacheRoot: values['cache-root'],
  });
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  process.stdout.write(
    [
      `plan_archs=${quote(plan.archs.join(';'))}`,
      `plan_arch_source=${plan.source}`,
      `plan_cmake_archs=${quote(plan.cmakeArchitectures)}`,
      `plan_key=${plan.key}`,
      `plan_cache_dir=${quote(plan.cacheDir)}`,
    ].join('\n') + '\n',
  );
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
