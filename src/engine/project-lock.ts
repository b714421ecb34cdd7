// One run at a time per project. The lock is the directory `.spillway/lock`, holding `owner.json` (pid, host, start,
// command, a random token). Every step that changes who holds it is one atomic directory operation, so it is sound
// with many contenders and on a network filesystem (NFS: mkdir and rename are atomic on the server; O_EXCL files and
// pid checks across hosts are not to be trusted):
//
// - take a free lock: build `.spillway/lock.new-<token>/owner.json`, then rename that directory to `.spillway/lock`.
//   rename(2) onto an existing non-empty directory fails, so exactly one contender succeeds, and the lock never exists
//   without its owner record (no torn lock to guess about).
// - take over a dead holder's lock (SIGKILL, power loss, pid reused): the same rename, into `<lock>/takeover`. That
//   slot belongs to this one instance of the lock, so exactly one contender wins the right to remove the dead
//   instance; it checks the owner tokens it saw are still there, renames the dead lock away and competes again for
//   a free lock like everyone else. Nobody ever deletes a lock by path after merely *looking* at it (the race of
//   the old stat-then-remove takeover, which let 2–3 processes hold the lock at once). A taker that dies in the
//   middle is itself taken over the same way (`<lock>/takeover/takeover`).
// - release: check the token is ours, rename the lock to a unique name, then delete that at leisure.
//
// Liveness: on the holder's host the pid is checked, together with the process start time (Linux /proc) so that a
// reused pid is recognized as dead. A holder on another host cannot be probed: it refreshes its owner file's mtime
// every few seconds, and a waiting contender declares it dead only after seeing the same mtime for `staleMs`.
//
// Why not `proper-lockfile`: its stale takeover is stat → rmdir → mkdir, the same race as before (a slower contender
// removes the lock a faster one has just created); it detects a dead holder only by mtime age (at least 2 s), and
// stores no owner, so "who holds it" could not be reported.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SpillwayError } from '../errors.js';
import { cleanStaleTemps } from './fs-atomic.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
  /** random id of this holding of the lock */
  token: string;
  /** the holder's process start time (Linux: clock ticks since boot, /proc/<pid>/stat field 22), to detect pid reuse */
  pstart?: string;
}

export interface ProjectLockOptions {
  /** wait for the holder to finish instead of failing (polls every 100 ms) */
  wait?: boolean;
  /** give up waiting after this long (default: forever) */
  timeoutMs?: number;
  command?: string;
  signal?: AbortSignal;
  /** a holder on another host is dead when its heartbeat has not moved for this long (default 30 s) */
  staleMs?: number;
  /** how often the holder refreshes its heartbeat (default 5 s; must be well below the contenders' staleMs) */
  heartbeatMs?: number;
}

export const LOCK_DIR = 'lock';
const OWNER = 'owner.json';
const TAKEOVER = 'takeover';
const HEARTBEAT_MS = 5_000;
/** left by whoever removes a dead holder's lock, so that the next holder (maybe another process) cleans up */
const CRASH_MARK = 'crashed';

function markCrash(spillway: string): void {
  try {
    writeFileSync(join(spillway, CRASH_MARK), '');
  } catch {
    /* best effort */
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Random hex (node:crypto is kept off the no-op path; uniqueness, not secrecy, is needed here). */
const randomHex = (chars: number) => Array.from({ length: chars }, () => Math.floor(Math.random() * 16).toString(16)).join('');

function processStart(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function processCommand(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(dir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, OWNER), 'utf8')) as LockInfo;
    return typeof info?.pid === 'number' && typeof info.token === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/** A directory holding owner.json, written before it is renamed into place. */
function makeCandidate(spillway: string, info: LockInfo, suffix: string): string {
  const dir = join(spillway, `${LOCK_DIR}.new-${info.pid}-${info.token}${suffix}`);
  try {
    mkdirSync(dir);
  } catch (error) {
    // a leftover of an earlier attempt under the same name (the token is random: practically never)
    if (errno(error) !== 'EEXIST') throw error;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
  }
  const fd = openSync(join(dir, OWNER), 'w');
  try {
    writeSync(fd, JSON.stringify(info));
    // no fsync (it cost ~10 ms per run): after a power loss, a lock with an empty owner file is judged by its age
  } finally {
    closeSync(fd);
  }
  return dir;
}

/** Renames `dir` away to a unique name and deletes it; false when it was already gone. */
function discard(spillway: string, dir: string, token: string): boolean {
  const grave = join(spillway, `${LOCK_DIR}.old-${process.pid}-${token.slice(0, 8)}-${randomHex(8)}`);
  try {
    renameSync(dir, grave);
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
  // The usual case, a lock with only its owner file, costs one unlink and one rmdir. A contender that resolved the old
  // path just before our rename may still drop its claim into the grave (rename onto a directory rm has just emptied
  // succeeds): harmless; retry the delete a few times, then leave it to the temp-file cleanup.
  try {
    unlinkSync(join(grave, OWNER));
    rmdirSync(grave);
    return true;
  } catch {
    /* not empty (takeover claims inside): the general way */
  }
  for (let i = 0; i < 5; i++) {
    try {
      rmSync(grave, { recursive: true, force: true });
      break;
    } catch {
      /* try again */
    }
  }
  return true;
}

/**
 * A lock directory without a readable owner file. A lock is renamed into place with its owner file, so this happens
 * only when the owner file was lost (power loss before it reached the disk, or a hand-made directory): once it is
 * older than OWNERLESS_MS it is a dead holder's; until then, wait (it may be an NFS client's stale view).
 */
const OWNERLESS = '(no owner file)';
const OWNERLESS_MS = 10_000;

function ownerless(dir: string): LockInfo | undefined {
  try {
    const st = statSync(dir);
    if (!st.isDirectory() || Date.now() - st.mtimeMs < OWNERLESS_MS) return undefined;
  } catch {
    return undefined;
  }
  return { pid: 0, host: '?', started: '?', command: '?', token: OWNERLESS };
}

type Liveness = { state: 'alive' } | { state: 'dead' } | { state: 'foreign'; command: string } | { state: 'remote' };

/** What is known about a lock holder from here, without waiting. */
function judge(info: LockInfo): Liveness {
  if (info.host !== hostname()) return { state: 'remote' };
  if (!pidAlive(info.pid)) return { state: 'dead' };
  const start = processStart(info.pid);
  if (info.pstart !== undefined && start !== undefined) return start === info.pstart ? { state: 'alive' } : { state: 'dead' };
  // No start time to compare (a lock written elsewhere, or no /proc): a live process that is not spillway means the
  // pid was reused, but we cannot be sure enough to take the lock, so we say how to clear it.
  const command = processCommand(info.pid);
  if (command !== undefined && !/spillway/.test(command)) return { state: 'foreign', command };
  return { state: 'alive' };
}

/** Tracks remote holders' heartbeats: dead once the owner file's mtime has not moved for staleMs of our time. */
class RemoteWatch {
  private seen = new Map<string, { mtime: number; since: number }>();
  constructor(private staleMs: number) {}
  dead(dir: string, info: LockInfo): boolean {
    let mtime: number;
    try {
      mtime = statSync(join(dir, OWNER)).mtimeMs;
    } catch {
      return false;
    }
    const key = `${dir}\0${info.token}`;
    const last = this.seen.get(key);
    if (!last || last.mtime !== mtime) {
      this.seen.set(key, { mtime, since: Date.now() });
      return false;
    }
    return Date.now() - last.since >= this.staleMs;
  }
}

type Attempt = { result: 'held' } | { result: 'retry'; tookOver?: boolean } | { result: 'busy'; holder: LockInfo; liveness: Liveness };

/**
 * One attempt: take the free lock, or take over a dead holder's. Never blocks. 'retry' means the state changed
 * under us (a lock vanished, a takeover finished): try again at once.
 */
function attempt(spillway: string, info: LockInfo, remote: RemoteWatch, canWaitForRemote: boolean): Attempt {
  const lock = join(spillway, LOCK_DIR);
  const candidate = makeCandidate(spillway, info, '');
  try {
    renameSync(candidate, lock);
    return { result: 'held' };
  } catch (error) {
    rmSync(candidate, { recursive: true, force: true });
    const code = errno(error);
    if (code === 'ENOTDIR') return legacyLock(spillway, lock);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
  // Held. Walk the chain lock → takeover → takeover… while each level's owner is dead.
  const chain: { dir: string; token: string }[] = [];
  let dir = lock;
  for (let depth = 0; depth < 16; depth++) {
    const owner = readOwner(dir) ?? ownerless(dir);
    if (owner === undefined) {
      // The level vanished (released, or removed by a taker): look again.
      return { result: 'retry' };
    }
    let liveness = owner.token === OWNERLESS ? ({ state: 'dead' } as const) : judge(owner);
    if (liveness.state === 'remote' && canWaitForRemote && remote.dead(dir, owner)) liveness = { state: 'dead' };
    if (liveness.state !== 'dead') {
      // A live holder, or a live taker busy removing a dead lock (then it is free in a moment).
      return depth === 0 ? { result: 'busy', holder: owner, liveness } : { result: 'retry' };
    }
    chain.push({ dir, token: owner.token });
    const slot = join(dir, TAKEOVER);
    const claim = makeCandidate(spillway, info, `-t${depth}`);
    try {
      renameSync(claim, slot);
    } catch (error) {
      rmSync(claim, { recursive: true, force: true });
      const code = errno(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        dir = slot; // somebody claimed this level: is that taker alive?
        continue;
      }
      if (code === 'ENOENT') return { result: 'retry' };
      throw error;
    }
    // We own the takeover slot of the instance at `dir`. Make sure every level is the instance we judged dead
    // (if the lock changed hands meanwhile, our claim landed in a different lock: withdraw it).
    const unchanged = (level: { dir: string; token: string }) => {
      const now = readOwner(level.dir);
      // an ownerless level has no token: it is still that level while it is still there without an owner
      return level.token === OWNERLESS ? now === undefined && existsSync(level.dir) : now?.token === level.token;
    };
    if (chain.every(unchanged)) {
      markCrash(spillway);
      discard(spillway, lock, info.token);
      return { result: 'retry', tookOver: true };
    } else if (readOwner(slot)?.token === info.token) {
      discard(spillway, slot, info.token);
    }
    return { result: 'retry' };
  }
  return { result: 'retry' };
}

/** A `.spillway/lock` *file* written by spillway ≤ 0.1 (O_EXCL scheme): removed if its owner is dead. */
function legacyLock(spillway: string, lock: string): Attempt {
  let old: { pid?: number; host?: string; started?: string; command?: string } = {};
  try {
    old = JSON.parse(readFileSync(lock, 'utf8')) as typeof old;
  } catch {
    /* torn */
  }
  const holder: LockInfo = { pid: old.pid ?? 0, host: old.host ?? '?', started: old.started ?? '?', command: old.command ?? 'run', token: 'legacy' };
  if (old.host === hostname() && typeof old.pid === 'number' && !pidAlive(old.pid)) {
    // Only a spillway of the previous version could race us here; the file is renamed away once.
    markCrash(spillway);
    try {
      renameSync(lock, join(spillway, `${LOCK_DIR}.old-legacy-${process.pid}`));
      rmSync(join(spillway, `${LOCK_DIR}.old-legacy-${process.pid}`), { force: true });
    } catch {
      /* someone else did */
    }
    return { result: 'retry', tookOver: true };
  }
  return { result: 'busy', holder, liveness: { state: 'alive' } };
}

function lockedError(path: string, holder: LockInfo, liveness: Liveness, waited: boolean): SpillwayError {
  const who = `another spillway ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.started}) holds the project lock`;
  let hint = waited ? 'gave up waiting; try again later' : 'wait for it to finish, or pass --wait to queue behind it';
  let message = who;
  if (liveness.state === 'foreign') {
    message = `${who}, but pid ${holder.pid} is now "${liveness.command.slice(0, 80)}", not spillway`;
    hint = `the lock was probably left by a crashed run whose pid has been reused; if no spillway run is active, remove it: rm -r ${path}`;
  } else if (liveness.state === 'remote') {
    hint = `${hint}; if no spillway run is active on ${holder.host}, remove the lock: rm -r ${path} (with --wait, a lock whose holder stops refreshing it is taken over)`;
  }
  return new SpillwayError('locked', message, { file: path, hint, context: { holder } });
}

/** Takes the project lock; returns the release function. */
export async function acquireProjectLock(root: string, options: ProjectLockOptions = {}): Promise<() => void> {
  const spillway = join(root, '.spillway');
  const lock = join(spillway, LOCK_DIR);
  try {
    mkdirSync(spillway, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    throw new SpillwayError('invalidInput', 'not a directory', {
      file: spillway,
      expected: "a directory: spillway keeps the project's lock and caches in .spillway/",
      hint: `move the file away (mv ${spillway} ${spillway}.bak) and run again`,
    });
  }
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const pstart = processStart('self');
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: options.command ?? 'run',
    token: `${Date.now().toString(16)}${randomHex(16)}`,
    ...(pstart !== undefined ? { pstart } : {}),
  };
  const remote = new RemoteWatch(options.staleMs ?? 30_000);
  let crashed = false;
  for (let spins = 0; ; spins++) {
    if (options.signal?.aborted) throw new SpillwayError('interrupted', 'interrupted while waiting for the project lock', { file: lock });
    const outcome = attempt(spillway, info, remote, options.wait === true);
    if (outcome.result === 'held') {
      const release = holding(spillway, lock, info, options.heartbeatMs ?? HEARTBEAT_MS);
      // Temp files of killed writers: cheap look at the root and .spillway/ always; the whole project after a crash
      // (we took the lock of a dead holder, or the stale marker says a holder died).
      const mark = join(spillway, CRASH_MARK);
      const deep = crashed || existsSync(mark);
      cleanStaleTemps(root, { deep });
      if (deep) rmSync(mark, { force: true });
      return release;
    }
    if (outcome.result === 'retry') {
      if (outcome.tookOver) crashed = true;
      // state changed under us; back off a little (randomized) if it keeps happening
      if (spins > 3) await sleep(5 + Math.random() * 20);
      continue;
    }
    spins = 0;
    if (!options.wait || Date.now() > deadline) throw lockedError(lock, outcome.holder, outcome.liveness, options.wait === true);
    await sleep(100);
  }
}

function holding(spillway: string, lock: string, info: LockInfo, heartbeatMs: number): () => void {
  // Heartbeat for contenders on other hosts (NFS): they cannot probe our pid, they watch this mtime.
  const timer = setInterval(() => {
    try {
      if (readOwner(lock)?.token === info.token) {
        const now = new Date();
        utimesSync(join(lock, OWNER), now, now);
      }
    } catch {
      /* best effort */
    }
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    if (readOwner(lock)?.token === info.token) discard(spillway, lock, info.token);
  };
}

/** Who holds the project lock now, if anyone (for messages and tests). */
export function lockHolder(root: string): LockInfo | undefined {
  return readOwner(join(root, '.spillway', LOCK_DIR));
}
