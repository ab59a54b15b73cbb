import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Where the commands write and what environment they read: the process by
 * default, a capture in tests. stderr is a WriteStream because the progress bar asks it isTTY.
 */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export function processIo(): CommandIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** A mistake in the command line: reported with the usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs a command body: `--help` prints the usage, usage mistakes (ours and node:util parseArgs') exit 2. */
export async function withUsage(io: CommandIo, usage: string, argv: readonly string[], body: () => Promise<number>): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(usage);
    return 0;
  }
  try {
    return await body();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!(error instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS')) throw error;
    io.stderr.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
}

/** A whole number ≥ min from a flag, or a UsageError naming the flag. */
export function integerFlag(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, not "${value}"`);
  return number;
}

/**
 * A command with flags: `--help` prints the usage, the flags are parsed with node:util's parseArgs (unknown flags
 * and stray positionals are usage mistakes unless allowed), and usage mistakes exit 2.
 */
export function runCommand<const T extends Omit<ParseArgsConfig, 'args'>>(
  io: CommandIo,
  usage: string,
  argv: string[],
  config: T,
  body: (parsed: ReturnType<typeof parseArgs<T & { args: string[] }>>) => Promise<number>,
): Promise<number> {
  return withUsage(io, usage, argv, () => body(parseArgs({ ...config, args: argv })));
}

/** The parsed flags of an option table, as runCommand hands them to a command body. */
export type CommandFlags<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>['values'];
