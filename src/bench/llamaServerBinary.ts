import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { availableCpus } from '../engine/cpuBudget.js';

/** Where the reference build lives: outside the repository, shared by every checkout, never built in CI. */
export const LLAMA_CPP_CACHE = path.join(homedir(), '.cache', 'adaptd');
const SOURCE_DIR = path.join(LLAMA_CPP_CACHE, 'llama.cpp-src');
export const DEFAULT_LLAMA_SERVER = path.join(SOURCE_DIR, 'build', 'bin', 'llama-server');
const BUILD_LOG = path.join(LLAMA_CPP_CACHE, 'build.log');

/** The same switches as the reference build in benchmarks.md; GGML_NATIVE tunes it for this CPU, as a self-hoster would. */
export const LLAMA_SERVER_CMAKE_FLAGS = ['-DLLAMA_CURL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DGGML_NATIVE=ON'];

export class LlamaServerBuildError extends Error {
  override name = 'LlamaServerBuildError';
}

/** The llama.cpp source node-llama-cpp was built from, shipped inside its npm package as a git bundle. */
export function llamaCppBundlePath(): string {
  const require = createRequire(import.meta.url);
  // The package's entry is dist/index.js; the bundle sits in llama/ next to dist/.
  return path.join(path.dirname(path.dirname(require.resolve('node-llama-cpp'))), 'llama', 'gitRelease.bundle');
}

/**
 * The llama-server to compare against: the given path, else the cached build, else a fresh build of the bundled
 * source (about 15 minutes on 2 cores; its output goes to ~/.cache/adaptd/build.log).
 */
export async function findOrBuildLlamaServer(explicitPath: string | undefined, log: (line: string) => void): Promise<string> {
  if (explicitPath) {
    if (!isExecutable(explicitPath)) throw new LlamaServerBuildError(`--llama-server ${explicitPath} is not an executable file`);
    return explicitPath;
  }
  if (isExecutable(DEFAULT_LLAMA_SERVER)) return DEFAULT_LLAMA_SERVER;
  mkdirSync(LLAMA_CPP_CACHE, { recursive: true });
  const bundle = llamaCppBundlePath();
  if (!existsSync(bundle)) throw new LlamaServerBuildError(`node-llama-cpp ships no llama.cpp source bundle at ${bundle}; pass --llama-server PATH`);
  log(`building llama-server from ${bundle} in ${SOURCE_DIR} (about 15 minutes on 2 cores; log: ${BUILD_LOG})`);
  if (!existsSync(path.join(SOURCE_DIR, 'CMakeLists.txt'))) await run('git', ['clone', '--quiet', bundle, SOURCE_DIR], LLAMA_CPP_CACHE);
  await run('cmake', ['-S', '.', '-B', 'build', '-DCMAKE_BUILD_TYPE=Release', ...LLAMA_SERVER_CMAKE_FLAGS], SOURCE_DIR);
  await run('cmake', ['--build', 'build', '--config', 'Release', '--target', 'llama-server', '-j', String(availableCpus())], SOURCE_DIR);
  if (!isExecutable(DEFAULT_LLAMA_SERVER)) throw new LlamaServerBuildError(`the build finished without ${DEFAULT_LLAMA_SERVER}; see ${BUILD_LOG}`);
  log(`built ${DEFAULT_LLAMA_SERVER}`);
  return DEFAULT_LLAMA_SERVER;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const logFile = createWriteStream(BUILD_LOG, { flags: 'a' });
    logFile.write(`\n$ ${command} ${args.join(' ')}   (in ${cwd})\n`);
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(logFile, { end: false });
    child.stderr.pipe(logFile, { end: false });
    child.on('error', (error) => {
      logFile.end();
      reject(new LlamaServerBuildError(`${command} could not start (${error.message}); install it or pass --llama-server PATH`));
    });
    child.on('close', (code) => {
      logFile.end();
      if (code === 0) resolve();
      else reject(new LlamaServerBuildError(`${command} ${args[0]} failed with exit code ${code}; see ${BUILD_LOG}`));
    });
  });
}
