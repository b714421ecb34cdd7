// One run at a time per project: `.spillway/lock` created with O_EXCL holds the owner's pid. A lock whose owner is
// dead (SIGKILL, power loss) is taken over. A second run either fails at once with who holds it, or waits.
import { mkdirSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SpillwayError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readInfo(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

export interface ProjectLockOptions {
  /** wait for the holder to finish instead of failing (polls every 100 ms) */
  wait?: boolean;
  /** give up waiting after this long (default: forever) */
  timeoutMs?: number;
  command?: string;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the project lock; returns the release function. */
export async function acquireProjectLock(root: string, options: ProjectLockOptions = {}): Promise<() => void> {
  const dir = join(root, '.spillway');
  const path = join(dir, 'lock');
  mkdirSync(dir, { recursive: true });
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: options.command ?? 'run' };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const current = readInfo(path);
        if (current?.pid === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readInfo(path);
    if (holder === undefined) {
      // Being written right now by another process, or torn by a crash during creation: give it a moment.
      await sleep(50);
      const again = readInfo(path);
      if (again === undefined) {
        const stale = `${path}.stale-${process.pid}`;
        try {
          renameSync(path, stale);
          rmSync(stale, { force: true });
        } catch {
          /* someone else cleaned it */
        }
      }
      continue;
    }
    if (holder.host === hostname() && !alive(holder.pid)) {
      // The owner died without releasing (e.g. SIGKILL). Move the file aside atomically; only one taker wins.
      const stale = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, stale);
        const moved = readInfo(stale);
        rmSync(stale, { force: true });
        if (moved && moved.pid !== holder.pid) {
          // We moved a fresh lock somebody just took: put it back is impossible atomically, so fail loudly.
          throw new SpillwayError('locked', 'lost a race while removing a stale project lock; please retry');
        }
      } catch (error) {
        if (error instanceof SpillwayError) throw error;
      }
      continue;
    }
    if (!options.wait || Date.now() > deadline || options.signal?.aborted) {
      throw new SpillwayError('locked', `another spillway ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.started}) holds the project lock`, {
        file: path,
        hint: options.wait ? 'gave up waiting; try again later' : 'wait for it to finish, or pass --wait to queue behind it',
      });
    }
    await sleep(100);
  }
}
