// Atomic file writes: temp file in the same directory, fsync, rename. A crash leaves either the old or the new file.
import { closeSync, copyFileSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
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

// ---------------------------------------------------------------------------------------------------------------
// Leftovers of a process killed mid-write (SIGKILL, power loss): `<file>.tmp-<pid>-<n>-<rand>` (writeFileAtomic,
// copyFileAtomic), `<dir>.tmp-<pid>-<rand>` and `<dir>.old-<pid>` (a dir output being swapped), `<file>.tmp-<pid>`
// (the transpile cache), `.spillway/lock.new-<pid>-…` and `lock.old-<pid>-…` (the project lock). Each name carries
// the writer's pid; one whose process is gone is garbage. Only names spillway makes, in places spillway writes, are
// touched: a user's `thesis.old-2019` is never a leftover.

const LEFTOVER = /\.(?:tmp|old)-(\d+)(?:-[a-z0-9]+){0,2}$/;
const LOCK_LEFTOVER = /^lock\.(?:new|old)-(\d+)-/;
/** in the project root, only temp copies of a lockfile (pipeline.lock.tmp-<pid>-<n>-<rand>) */
const ROOT_LEFTOVER = /\.lock\.tmp-(\d+)-\d+-[a-z0-9]+$/;
/** spillway's own directories, where every leftover-shaped name is spillway's */
const OWN_DIRS = new Set(['.spillway', 'artifacts']);

function pidGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function removeLeftover(path: string, removed: string[], label: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    removed.push(label);
  } catch {
    /* best effort: tried again next time */
  }
}

function isRealDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Removes leftovers whose writer is dead, and returns their project-relative paths. Call it holding the project lock.
 * Always: the project root (lockfile temps) and the top of .spillway/, two directory listings. With `deep` (after a
 * crash): all of .spillway/ and artifacts/ (store objects, run cache). Leftovers next to output paths are removed by
 * cleanStaleOutputTemps, which knows the declared outputs.
 */
export function cleanStaleTemps(root: string, options: { deep: boolean }): string[] {
  const removed: string[] = [];
  const visit = (dir: string, rel: string) => {
    let entries: { name: string; isDirectory(): boolean }[];
    try {
      // Shallow (every run): names alone, a third of the cost of directory entries with their types; the one
      // directory it enters, .spillway, is looked at alone, without following a symlink: a .spillway linked to a
      // directory elsewhere is not entered, as with directory entries (its files there may be anyone's).
      entries = options.deep ? readdirSync(dir, { withFileTypes: true }) : readdirSync(dir).map((name) => ({ name, isDirectory: () => name === '.spillway' && isRealDirectory(join(dir, name)) }));
    } catch {
      return;
    }
    for (const e of entries) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const match = rel === '' ? ROOT_LEFTOVER.exec(e.name) : (LEFTOVER.exec(e.name) ?? (rel === '.spillway' ? LOCK_LEFTOVER.exec(e.name) : null));
      if (match) {
        if (pidGone(Number(match[1]))) removeLeftover(join(dir, e.name), removed, relPath);
        continue;
      }
      if (!e.isDirectory()) continue;
      if (rel === '' ? OWN_DIRS.has(e.name) && (options.deep || e.name === '.spillway') : options.deep) visit(join(dir, e.name), relPath);
    }
  };
  visit(root, '');
  return removed;
}

/**
 * Removes `<out>.tmp-<pid>…` and `<out>.old-<pid>` left next to declared file/dir outputs (project-relative paths)
 * by a killed writer: one listing per output directory.
 */
export function cleanStaleOutputTemps(root: string, outPaths: string[]): string[] {
  const removed: string[] = [];
  const byDir = new Map<string, Set<string>>();
  for (const p of outPaths) {
    const clean = p.replace(/\/+$/, '');
    const slash = clean.lastIndexOf('/');
    const dir = slash < 0 ? '' : clean.slice(0, slash);
    const names = byDir.get(dir) ?? new Set<string>();
    names.add(clean.slice(slash + 1));
    byDir.set(dir, names);
  }
  for (const [dir, names] of byDir) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    for (const name of entries) {
      const match = LEFTOVER.exec(name);
      if (!match || !names.has(name.slice(0, match.index)) || !pidGone(Number(match[1]))) continue;
      removeLeftover(join(root, dir, name), removed, dir ? `${dir}/${name}` : name);
    }
  }
  return removed;
}
