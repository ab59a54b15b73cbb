import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { parseServerConfig } from '../config/serverConfig.js';
import { SUPERVISION_ENV } from '../config/supervision.js';

/** When the launcher gives up: more than `maxRestarts` crashes within `windowSeconds`. */
export interface RestartPolicy {
  maxRestarts: number;
  windowSeconds: number;
}

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
// After a second SIGTERM the serving process exits at once; if it cannot (a blocked event loop), it is killed.
const FORCED_EXIT_GRACE_MS = 3000;

/**
 * The wait before restarting after the latest of `crashTimes` (ms, oldest first): doubling from one second with
 * each crash still inside the window, at most 30 s; undefined when the crashes inside the window exceed the limit.
 */
export function restartDelay(crashTimes: number[], now: number, policy: RestartPolicy): number | undefined {
  const recent = crashTimes.filter((time) => now - time < policy.windowSeconds * 1000).length;
  if (recent > policy.maxRestarts) return undefined;
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, recent - 1));
}

/** "killed by SIGKILL" / "exit code 1": why a process ended, for the log. */
export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVELS;

export interface SuperviseOptions {
  /** The command that starts the serving process (node, its flags, bin/adaptd.js, `serve` and the user's flags). */
  command: string[];
  /** Its environment; the launcher adds SUPERVISION_ENV. */
  env: NodeJS.ProcessEnv;
  /** The user's `serve` flags, read for the restart policy and log level. */
  argv: string[];
}

/**
 * `adaptd serve` as users run it: the server runs in a child process, restarted after a crash with exponential
 * backoff until it crashes more than --max-restarts times within --restart-window seconds. SIGTERM/SIGINT/SIGHUP are
 * passed on once (the child drains); a second one makes the child exit at once. Resolves with the exit code.
 */
export function superviseServe(options: SuperviseOptions): Promise<number> {
  let policy: RestartPolicy = { maxRestarts: 5, windowSeconds: 60 };
  let threshold: number = LEVELS.info;
  try {
    const config = parseServerConfig(options.argv);
    policy = { maxRestarts: config.maxRestarts, windowSeconds: config.restartWindow };
    threshold = config.logLevel === 'silent' ? Infinity : LEVELS[config.logLevel];
  } catch {
    // A bad flag: the serving process reports it and exits 2, which ends supervision.
  }
  // Lines in the shape of the server's own (pino) logs, so they land in the same pipeline.
  const log = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (LEVELS[level] < threshold) return;
    process.stdout.write(`${JSON.stringify({ level: LEVELS[level], time: Date.now(), pid: process.pid, hostname: hostname(), name: 'adaptd-launcher', ...fields, msg })}\n`);
  };

  return new Promise((resolve) => {
    const crashes: number[] = [];
    let restarts = 0;
    let child: ChildProcess | undefined;
    let everReady = false;
    let stopSignals = 0;
    let backoff: NodeJS.Timeout | undefined;

    const finish = (code: number) => {
      for (const signal of SIGNALS) process.off(signal, onSignal);
      resolve(code);
    };

    const start = () => {
      const startedAt = Date.now();
      let ready = false;
      // Its own process group: a terminal's Ctrl-C reaches the launcher only, which passes it on once.
      const current = spawn(options.command[0], options.command.slice(1), {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        detached: true,
        env: { ...options.env, [SUPERVISION_ENV.supervised]: '1', [SUPERVISION_ENV.restarts]: String(restarts) },
      });
      child = current;
      current.on('message', (message: { adaptd?: string }) => {
        if (message?.adaptd !== 'ready') return;
        ready = everReady = true;
        if (restarts > 0) log('info', `the serving process is ready again after restart ${restarts}`, { restarts });
      });
      current.on('error', (error) => log('error', `could not start the serving process: ${error.message}`));
      // 'close', not 'exit': it comes after every message the process sent, its 'ready' included.
      current.once('close', (code, signal) => {
        child = undefined;
        const reason = exitReason(code, signal);
        if (stopSignals > 0) return finish(code ?? (signal ? 1 : 0));
        // A clean exit (someone stopped the serving process itself) and a failed first start are not crashes.
        if (code === 0) return finish(0);
        if (!everReady) return finish(code ?? 1);
        const now = Date.now();
        crashes.push(now);
        const delay = restartDelay(crashes, now, policy);
        const ranFor = `${((now - startedAt) / 1000).toFixed(1)} s`;
        const fields = { exitCode: code, signal, restarts, ranSeconds: (now - startedAt) / 1000, wasReady: ready };
        if (delay === undefined) {
          const recent = crashes.filter((time) => now - time < policy.windowSeconds * 1000).length;
          log('fatal', `the serving process crashed (${reason}) after ${ranFor}: ${recent} crashes within ${policy.windowSeconds} s exceed --max-restarts ${policy.maxRestarts}; giving up`, fields);
          return finish(1);
        }
        log('error', `the serving process crashed (${reason}) after ${ranFor}; restarting it in ${delay / 1000} s`, fields);
        backoff = setTimeout(() => {
          backoff = undefined;
          restarts++;
          start();
        }, delay);
      });
    };

    const onSignal = (signal: NodeJS.Signals) => {
      stopSignals++;
      if (!child) {
        clearTimeout(backoff);
        return finish(0);
      }
      child.kill(signal);
      if (stopSignals === 2) {
        const target = child;
        setTimeout(() => target.exitCode === null && target.signalCode === null && target.kill('SIGKILL'), FORCED_EXIT_GRACE_MS).unref();
      }
    };
    for (const signal of SIGNALS) process.on(signal, onSignal);
    start();
  });
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
