import { closeSync, ftruncateSync, openSync } from 'node:fs';

/** Cuts a file to `size` bytes in place, to make a truncated download or copy. */
export function truncate(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, size);
  closeSync(fd);
}

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
