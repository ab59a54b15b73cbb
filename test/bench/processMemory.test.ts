import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import { processMemory, resetPeakMemory } from '../../src/bench/benchServers.js';

t.test('the peak resident memory can be restarted from the current one, so a workload measures only its own peak', async (t) => {
  // A process that touches 300 MB, gives it back to the system, then waits.
  const child = spawn(process.execPath, ['--expose-gc', '-e', 'let a = Buffer.alloc(300 * 2 ** 20, 1); a = null; gc(); const t = setInterval(() => { if (process.memoryUsage.rss() < 150 * 2 ** 20) { clearInterval(t); console.log("freed"); setTimeout(() => {}, 30000); } }, 20);'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill());
  await once(child.stdout!, 'data');
  const before = processMemory(child.pid!);
  t.ok(before.peakRssMiB >= 300, `the peak includes the 300 MB (${before.peakRssMiB.toFixed(0)} MiB)`);
  t.ok(before.rssMiB < 200, `which is no longer resident (${before.rssMiB.toFixed(0)} MiB)`);
  t.ok(resetPeakMemory(child.pid!));
  const after = processMemory(child.pid!);
  t.ok(after.peakRssMiB < 200, `the peak starts again from the current RSS (${after.peakRssMiB.toFixed(0)} MiB)`);
  t.notOk(resetPeakMemory(2 ** 22 + 12345), 'a process that does not exist is a false, not an exception');
});
