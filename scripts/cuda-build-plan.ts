/**
 * Prints the CUDA architectures of a native engine build as shell assignments, for scripts/build-native.sh --cuda:
 *   node --import tsx scripts/cuda-build-plan.ts --archs LIST|local|default --local "9.0;8.6"
 * The architecture rules live in src/engine/cudaBuildPlan.ts (unit-tested there).
 */
import { parseArgs } from 'node:util';
import { planCudaBuild } from '../src/engine/cudaBuildPlan.js';

const { values } = parseArgs({ options: { archs: { type: 'string' }, local: { type: 'string', default: '' } } });
try {
  const localArchs = values.local.split(/[;,\s]+/).filter(Boolean).map((cc) => Math.round(Number(cc) * 10));
  const plan = planCudaBuild(values.archs, localArchs);
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  process.stdout.write(`plan_archs=${quote(plan.archs.join(';'))}\nplan_arch_source=${plan.source}\nplan_cmake_archs=${quote(plan.cmakeArchitectures)}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
