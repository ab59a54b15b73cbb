import { createWriteStream, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * A file written line by line under a temporary name and renamed into place only when complete,
 * so a killed run never leaves a half file that looks finished.
 */
export class AtomicOutputFile {
  private readonly temporary: string;
  private readonly stream: WriteStream;

  constructor(private readonly path: string) {
    this.temporary = `${path}.partial`;
    this.stream = createWriteStream(this.temporary);
  }

  async writeLine(line: string): Promise<void> {
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    renameSync(this.temporary, this.path);
  }

  async discard(): Promise<void> {
    this.stream.destroy();
    await once(this.stream, 'close').catch(() => undefined);
    rmSync(this.temporary, { force: true });
  }
}

/** A whole file written under a temporary name and renamed into place: readers never see half of it. */
export function writeFileAtomic(path: string, text: string): void {
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
}
