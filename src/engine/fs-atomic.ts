// Atomic file writes: temp file in the same directory, fsync, rename. A crash leaves either the old or the new file.
import { closeSync, copyFileSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

export function writeFileAtomic(path: string, data: string | Uint8Array, options: { durable?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempName(path);
  try {
    const fd = openSync(temp, 'w');
    try {
      const buffer = typeof data === 'string' ? Buffer.from(data) : data;
      let offset = 0;
      while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
      fsyncSync(fd);
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

export function copyFileAtomic(source: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const temp = tempName(target);
  try {
    copyFileSync(source, temp, constants.COPYFILE_FICLONE);
    const fd = openSync(temp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Leftovers of a process killed mid-write (SIGKILL, power loss): `<file>.tmp-<pid>-<n>-<rand>` (writeFileAtomic,
// copyFileAtomic), `<dir>.tmp-<pid>-<rand>` and `<dir>.old-<pid>` (a dir output being swapped), `<file>.tmp-<pid>`
// (the transpile cache), `.spillway/lock.new-<pid>-…` and `lock.old-<pid>-…` (the project lock). Each name carries
// the writer's pid; one whose process is gone is garbage.

const LEFTOVER = /\.(?:tmp|old)-(\d+)(?:-[a-z0-9]+){0,2}$/;
const LOCK_LEFTOVER = /^lock\.(?:new|old)-(\d+)-/;
const SKIP = new Set(['node_modules', '.git']);

function pidGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes leftovers whose writer is dead, and returns their project-relative paths. Call it holding the project lock.
 * `deep` walks the whole project (except node_modules and .git): after a crash. Otherwise only the project root
 * (pipeline.lock.tmp-…) and .spillway/ are looked at, which costs two directory listings.
 */
export function cleanStaleTemps(root: string, options: { deep: boolean }): string[] {
  const removed: string[] = [];
  const visit = (dir: string, rel: string, recurse: boolean) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const match = LEFTOVER.exec(e.name) ?? (rel === '.spillway' ? LOCK_LEFTOVER.exec(e.name) : null);
      if (match && pidGone(Number(match[1]))) {
        try {
          rmSync(join(dir, e.name), { recursive: true, force: true });
          removed.push(relPath);
        } catch {
          /* best effort: tried again next time */
        }
        continue;
      }
      if (e.isDirectory() && !SKIP.has(e.name) && (recurse || (rel === '' && e.name === '.spillway'))) visit(join(dir, e.name), relPath, recurse);
    }
  };
  visit(root, '', options.deep);
  return removed;
}
