import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** What is awaited, for the error when it does not happen. */
  what: string;
  /** Default 30 s: generous, because a loaded machine is slow and a met condition returns at once anyway. */
  timeoutMs?: number;
  intervalMs?: number;
}

type Met<T> = Exclude<T, undefined | null | false>;

/**
 * Polls `probe` until it returns something other than undefined, null or false, and returns that; throws naming
 * `what` when `timeoutMs` has passed. Tests wait for the condition they need, never for a fixed time: a fixed sleep
 * is too short on a loaded machine and too long on an idle one.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitForOptions): Promise<Met<T>> {
  const { what, timeoutMs = 30_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as Met<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
