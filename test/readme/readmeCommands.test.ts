import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/bench/benchServers.js';
import { waitFor } from '../helpers/waitFor.js';

// Every shell command in README.md, run as written, in README order (a later command uses what an earlier one
// made), in a fresh copy of the repository: its files as git would commit them and the installed node_modules,
// no generated models, no data. The one liberty taken: the demo server listens on a free port, and commands that
// name 127.0.0.1:8080 or localhost:8080 are pointed at it.

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell']);

// What is not run, and why. A reason that no longer matches a README command fails the test, so the list stays true.
const SKIPPED: ReadonlyArray<{ command: RegExp; why: string }> = [
  { command: /^npm ci\b/, why: 'installs from the npm registry (network); the copy uses the installed node_modules' },
  { command: /^npm test\b/, why: 'the whole suite, 10+ minutes, of which this file is a part' },
  { command: /^scripts\/build-native\.sh\b(?!.*--print-plan)/, why: 'builds the native engine: about 17 minutes on 2 cores, CUDA kernels need the CUDA toolkit' },
  { command: /^docker\b/, why: 'needs a Docker engine and images from Docker Hub (network)' },
];
// Started in the background for the commands after it, and stopped at the end.
const SERVER_COMMAND = /^npm start\b/;
const COMMAND_TIMEOUT_MS = 90_000;

interface Block {
  language: string;
  commands: string[];
}

/** Fenced code blocks; a shell block's lines, with backslash continuations joined, are its commands. */
function readmeBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(([, language, body]) => ({
    language,
    commands: body
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  }));
}

const blocks = readmeBlocks(readFileSync('README.md', 'utf8'));
const commands = blocks.filter((b) => SHELL_LANGUAGES.has(b.language)).flatMap((b) => b.commands);

t.test('the README has the commands this test knows how to treat', async (t) => {
  t.ok(commands.length >= 8, `${commands.length} shell commands`);
  t.equal(commands.filter((c) => SERVER_COMMAND.test(c)).length, 1, 'one command starts the server');
  for (const { command, why } of SKIPPED) t.ok(commands.some((c) => command.test(c)), `a command still matches the skip "${why}"`);
  for (const block of blocks.filter((b) => !SHELL_LANGUAGES.has(b.language))) {
    t.comment(`not a shell block (${block.language || 'no language'}): ${block.commands[0]?.slice(0, 60) ?? ''}`);
  }
});

t.test('every README shell command runs as written on a fresh copy', async (t) => {
  const root = freshCopy();
  const port = await freePort();
  const pointed = (command: string) => command.replace(/\b(127\.0\.0\.1|localhost):8080\b/g, `$1:${port}`);
  let server: ChildProcess | undefined;
  t.teardown(async () => {
    await stopGroup(server);
    rmSync(root, { recursive: true, force: true });
  });

  for (const command of commands) {
    const skip = SKIPPED.find((s) => s.command.test(command));
    if (skip) {
      t.comment(`skipped: ${command.slice(0, 70)} — ${skip.why}`);
      continue;
    }
    if (SERVER_COMMAND.test(command)) {
      const started = Date.now();
      server = startServer(command, root, port);
      const output = outputOf(server);
      await waitFor(() => {
        if (server!.exitCode !== null) throw new Error(`\`${command}\` exited: ${output().slice(-2000)}`);
        return output().includes(`adaptd ready at http://127.0.0.1:${port}`);
      }, { what: `\`${command}\` to print that it is ready`, timeoutMs: 180_000, intervalMs: 100 });
      t.pass(`${command.slice(0, 70)}: serving on port ${port} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      continue;
    }
    const started = Date.now();
    const result = await run(pointed(command), root);
    t.equal(result.code, 0, `${command.slice(0, 70)}: exit 0 (${((Date.now() - started) / 1000).toFixed(1)} s)`, { output: result.output.slice(-3000) });
    t.notOk(errorEnvelope(result.output), `${command.slice(0, 70)}: no error answer`, { output: result.output.slice(-3000) });
  }
});

/** The repository's tracked and new (not ignored) files, and a link to the installed node_modules. */
function freshCopy(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'adaptd-readme-'));
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
  for (const file of new Set(listed.split('\0'))) {
    if (file === '' || file === 'node_modules' || !existsSync(file)) continue;
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    copyFileSync(file, path.join(root, file));
  }
  symlinkSync(realpathSync('node_modules'), path.join(root, 'node_modules'));
  return root;
}

// Its own process group, so that npm, the launcher and the server it restarts stop together.
function startServer(command: string, cwd: string, port: number): ChildProcess {
  return spawn('bash', ['-c', command], { cwd, detached: true, env: { ...userEnvironment(), ADAPTD_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** This environment without adaptd's own settings, which a user following the README has not made. */
function userEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ADAPTD_')));
}

function outputOf(child: ChildProcess): () => string {
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return () => output;
}

async function run(command: string, cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('bash', ['-c', command], { cwd, detached: true, env: userEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = outputOf(child);
  const timer = setTimeout(() => void stopGroup(child), COMMAND_TIMEOUT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output: output() };
}

async function stopGroup(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  await exited;
}

/** An OpenAI error envelope printed by a command (curl -s exits 0 on a 404). */
function errorEnvelope(output: string): boolean {
  try {
    const parsed: unknown = JSON.parse(output);
    return typeof parsed === 'object' && parsed !== null && 'error' in parsed;
  } catch {
    return false;
  }
}
