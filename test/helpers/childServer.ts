import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (its logs included). */
  output: () => string;
  exited: Promise<number | null>;
}

/** adaptd as users run it: a separate process started through the CLI, ready once it prints its URL. */
export async function startChildServer(flags: Record<string, string | number>, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const argv = Object.entries({ port: 0, ...flags }).flatMap(([k, v]) => [`--${k}`, String(v)]);
  // Started exactly as `npm start` starts it.
  const child = spawn(process.execPath, ['bin/adaptd.js', 'serve', ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.slice(-2000)}`)), 120_000);
    const check = () => {
      const match = /adaptd ready at (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output.slice(-2000)}`));
    });
  });
  return { url, process: child, output: () => output, exited };
}
