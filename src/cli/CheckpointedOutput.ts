import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { UsageError } from './commandIo.js';

/** What a run has committed so far; kept in OUT.checkpoint.json. */
export interface CheckpointState {
  /** Input rows finished, in input order: each is in OUT or in the errors file. */
  rows: number;
  redacted: number;
  errors: number;
  /** Error rows by code. */
  reasons: Record<string, number>;
}

interface CheckpointFile extends CheckpointState {
  version: 1;
  /** The input and the options that shape the output: a checkpoint only resumes the same run. */
  fingerprint: string;
  outBytes: number;
  errorsBytes: number;
  /** Every row is in; only the renames may be left to do. */
  complete: boolean;
}

export interface OutputPaths {
  out: string;
  errors: string;
}

const FLUSH_INTERVAL_MS = 200;
const FLUSH_BYTES = 1 << 20;

/**
 * OUT and the errors file, written under temporary names and renamed into place only when every row is in, with a
 * checkpoint that records how many input rows are committed and how long both files were then. A run killed at any
 * point resumes from the checkpoint: the temporary files are cut back to the recorded lengths (dropping rows written
 * after it) and the input is skipped to the recorded row, so no row is lost or written twice. Data is synced
 * before the checkpoint that counts it is renamed into place.
 */
export class CheckpointedOutput {
  private readonly checkpointPath: string;
  private readonly outFd: number;
  private readonly errorsFd: number;
  private state: CheckpointState;
  private outBytes: number;
  private errorsBytes: number;
  private pendingOut = '';
  private pendingErrors = '';
  private lastFlush = Date.now();

  private constructor(
    private readonly paths: OutputPaths,
    private readonly fingerprint: string,
    saved: CheckpointFile | undefined,
  ) {
    this.checkpointPath = checkpointPathOf(paths.out);
    this.state = saved ? { rows: saved.rows, redacted: saved.redacted, errors: saved.errors, reasons: { ...saved.reasons } } : { rows: 0, redacted: 0, errors: 0, reasons: {} };
    this.outFd = openCut(partialOf(paths.out), saved?.outBytes);
    this.errorsFd = openCut(partialOf(paths.errors), saved?.errorsBytes);
    this.outBytes = saved?.outBytes ?? 0;
    this.errorsBytes = saved?.errorsBytes ?? 0;
  }

  /**
   * Resumes the run the checkpoint belongs to, or starts a new one (`restart`, or no checkpoint). Returns
   * undefined when the checkpoint says the run had already finished; the files are then put in place.
   */
  static open(paths: OutputPaths, fingerprint: string, restart: boolean): CheckpointedOutput | undefined {
    const checkpointPath = checkpointPathOf(paths.out);
    if (restart) rmSync(checkpointPath, { force: true });
    const saved = readCheckpoint(checkpointPath);
    if (saved && saved.fingerprint !== fingerprint) {
      throw new UsageError(`${checkpointPath} belongs to a run with another input file or other options: rerun that, or add --restart`);
    }
    if (saved?.complete) {
      finishRenames(paths);
      rmSync(checkpointPath, { force: true });
      return undefined;
    }
    return new CheckpointedOutput(paths, fingerprint, saved);
  }

  get committed(): Readonly<CheckpointState> {
    return this.state;
  }

  /** Only for a new run: written once before the first row. */
  writeHeader(header: string): void {
    if (this.state.rows === 0 && this.outBytes === 0 && header) this.pendingOut += header;
  }

  redacted(line: string): void {
    this.pendingOut += line;
    this.state.rows++;
    this.state.redacted++;
    this.flushIfDue();
  }

  failed(row: number, problem: { code: string; reason: string }): void {
    this.pendingErrors += `${JSON.stringify({ row, code: problem.code, reason: problem.reason })}\n`;
    this.state.rows++;
    this.state.errors++;
    this.state.reasons[problem.code] = (this.state.reasons[problem.code] ?? 0) + 1;
    this.flushIfDue();
  }

  /** Writes what is pending and moves the checkpoint to it; synchronous, so a signal handler can call it. */
  flush(complete = false): void {
    this.outBytes += writeAt(this.outFd, this.pendingOut, this.outBytes);
    this.errorsBytes += writeAt(this.errorsFd, this.pendingErrors, this.errorsBytes);
    this.pendingOut = '';
    this.pendingErrors = '';
    fdatasyncSync(this.outFd);
    fdatasyncSync(this.errorsFd);
    const file: CheckpointFile = { version: 1, fingerprint: this.fingerprint, ...this.state, outBytes: this.outBytes, errorsBytes: this.errorsBytes, complete };
    writeFileSync(`${this.checkpointPath}.tmp`, JSON.stringify(file));
    renameSync(`${this.checkpointPath}.tmp`, this.checkpointPath);
    this.lastFlush = Date.now();
  }

  /** Every row is in: OUT and the errors file take their names, the checkpoint goes. */
  finish(): void {
    this.flush(true);
    this.close();
    finishRenames(this.paths);
    rmSync(this.checkpointPath, { force: true });
  }

  /** Stops without finishing: what is committed stays for the next run. */
  suspend(): void {
    this.flush();
    this.close();
  }

  private close(): void {
    closeSync(this.outFd);
    closeSync(this.errorsFd);
  }

  private flushIfDue(): void {
    if (Date.now() - this.lastFlush >= FLUSH_INTERVAL_MS || this.pendingOut.length + this.pendingErrors.length >= FLUSH_BYTES) this.flush();
  }
}

export const checkpointPathOf = (out: string) => `${out}.checkpoint.json`;
export const partialOf = (file: string) => `${file}.partial`;

function readCheckpoint(path: string): CheckpointFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as CheckpointFile;
    if (file.version === 1) return file;
  } catch {
    // Renamed into place whole, so it cannot be half written; anything else is not ours.
  }
  throw new UsageError(`${path} is not a checkpoint this version can resume: remove it or add --restart`);
}

/** Opens a partial file, cut back to what the checkpoint counted (new run: emptied). */
function openCut(path: string, length: number | undefined): number {
  const fd = openSync(path, length === undefined ? 'w' : existsSync(path) ? 'r+' : 'w');
  const size = fstatSync(fd).size;
  if (length !== undefined && size < length) {
    closeSync(fd);
    throw new UsageError(`${path} is shorter than its checkpoint says (${size} < ${length} bytes): it was changed; add --restart`);
  }
  if (length !== undefined) ftruncateSync(fd, length);
  return fd;
}

/** Writes at the committed length, which is the file's end: openCut cut it there. */
function writeAt(fd: number, text: string, position: number): number {
  if (!text) return 0;
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
  return bytes.length;
}

// Errors first: OUT appearing is the sign the run finished, so it comes last.
function finishRenames(paths: OutputPaths): void {
  if (existsSync(partialOf(paths.errors))) renameSync(partialOf(paths.errors), paths.errors);
  if (existsSync(partialOf(paths.out))) renameSync(partialOf(paths.out), paths.out);
}
