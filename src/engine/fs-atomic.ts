// Atomic file writes: temp file in the same directory, fsync, rename. A crash leaves either the old or the new file.
import { closeSync, copyFileSync, constants, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

let counter = 0;
function tempName(path: string): string {
  counter += 1;
  return `${path}.tmp-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

function fsyncDir(dir: string): void {
  // Makes the rename itself durable; not supported everywhere (e.g. some network filesystems), so best effort.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

/**
 * `durable`: also fsync the directory, so the rename itself survives a power loss (the lockfile). `sync: false`: skip
 * the file's fsync, for files whose loss costs only time (readable copies checked against the store on every run,
 * sealed caches, logs): still atomic (never torn), not durable.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: { durable?: boolean; sync?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempName(path);
  try {
    const fd = openSync(temp, 'w');
    try {
      const buffer = typeof data === 'string' ? Buffer.from(data) : data;
      let offset = 0;
      while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
      if (options.sync !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    if (options.durable) fsyncDir(dirname(path));
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function copyFileAtomic(source: string, target: string, options: { sync?: boolean } = {}): void {
  mkdirSync(dirname(target), { recursive: true });
  const temp = tempName(target);
  try {
    copyFileSync(source, temp, constants.COPYFILE_FICLONE);
    if (options.sync !== false) {
      const fd = openSync(temp, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
