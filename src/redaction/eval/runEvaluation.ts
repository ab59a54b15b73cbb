import type { PiiRow } from '../dataset/PiiRow.js';
import type { ChatTarget } from './ChatRedactionModel.js';
import { evaluateSample, type SampleCallOptions, type SampleOutcome } from './evaluateSample.js';
import { summarizeSystem, type SystemDescription, type SystemReport } from './summarizeSystem.js';

export type EvalSystem = SystemDescription & ChatTarget;

export interface EvalOptions extends SampleCallOptions {
  /** Requests in flight at once, over all systems together. */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalReport {
  createdAt: string;
  set: string;
  samples: number;
  detectors: string;
  systems: SystemReport[];
}

export interface EvalRun {
  report: EvalReport;
  /** Per system name, one outcome per sample in set order. */
  outcomes: Record<string, SampleOutcome[]>;
}

/**
 * Every system on the same samples. Work is dealt sample by sample across systems, so a run that
 * is stopped early has compared the systems on the same rows.
 */
export async function runEvaluation(setName: string, samples: readonly PiiRow[], systems: readonly EvalSystem[], options: EvalOptions): Promise<EvalRun> {
  const tasks = samples.flatMap((row, index) => systems.map((system) => ({ row, index, system })));
  const outcomes: Record<string, SampleOutcome[]> = Object.fromEntries(systems.map((s) => [s.name, new Array<SampleOutcome>(samples.length)]));
  let done = 0;
  options.onProgress?.(0, tasks.length);
  await forEachConcurrently(tasks, options.concurrency, async ({ row, index, system }) => {
    outcomes[system.name][index] = await evaluateSample(row, index, system, options);
    options.onProgress?.(++done, tasks.length);
  });
  const report: EvalReport = {
    createdAt: new Date().toISOString(),
    set: setName,
    samples: samples.length,
    detectors: options.detectors,
    systems: systems.map((system) => summarizeSystem(system, outcomes[system.name])),
  };
  return { report, outcomes };
}

async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
