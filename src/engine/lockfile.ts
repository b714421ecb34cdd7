// pipeline.lock: read and (atomically) written here; the format is lockfile-format.ts.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SpillwayError } from '../errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import type { Lockfile } from './lockfile-format.js';

export const DEFAULT_LOCKFILE = 'pipeline.lock';

/** Reads `<projectRoot>/pipeline.lock` (or an explicit lock path); undefined when there is none yet. */
export function readLockfile(projectRoot: string, lockPath: string = join(projectRoot, DEFAULT_LOCKFILE)): Lockfile | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const lock = JSON.parse(text) as Lockfile;
    if (lock.spillway_lock !== 1 || typeof lock.stages !== 'object' || lock.stages === null) throw new Error('not a spillway lockfile');
    return lock;
  } catch (error) {
    throw new SpillwayError('invalidPipeline', `cannot read lockfile: ${(error as Error).message}`, {
      file: relative(process.cwd(), lockPath) || lockPath,
      expected: 'a pipeline.lock written by spillway (JSON with "spillway_lock": 1)',
      hint: 'restore it from version control, or delete it to re-run every stage',
    });
  }
}

/** Writes the lockfile atomically (temp, fsync, rename, fsync dir), keys in a stable order. */
export function writeLockfile(projectRoot: string, lock: Lockfile, lockPath: string = join(projectRoot, DEFAULT_LOCKFILE)): void {
  writeFileAtomic(lockPath, `${JSON.stringify(lock, null, 2)}\n`, { durable: true });
}
