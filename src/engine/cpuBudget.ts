import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * CPUs this process may really use: the affinity mask (which availableParallelism honours) capped by a cgroup v2
 * or v1 CPU quota. node-llama-cpp's own default is at least 4 threads, which on a 2-core box made decoding
 * hundreds of times slower through oversubscription.
 */
export function availableCpus(): number {
  const byAffinity = availableParallelism();
  const quota = cgroupCpuQuota();
  return Math.max(1, quota === undefined ? byAffinity : Math.min(byAffinity, Math.floor(quota) || 1));
}

function cgroupCpuQuota(): number | undefined {
  try {
    const [max, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (max !== 'max') return Number(max) / Number(period);
    return undefined;
  } catch {
    // cgroup v1 layout
  }
  try {
    const quota = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', 'utf8'));
    const period = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_period_us', 'utf8'));
    return quota > 0 && period > 0 ? quota / period : undefined;
  } catch {
    return undefined;
  }
}
