// The no-op record: what a run that found every stage up to date looked at, and what it reported. While the run
// decides, every file-system call it makes through node:fs is observed (each file stat'ed or read, with the stat it
// had; each directory listed, with its names; each path tested for existence or resolved), and every environment
// variable it reads. The engine's decisions are a function of those observations (and of its build, node, the working
// directory and the run's options, which key the record), so when every one of them still holds, the engine would
// decide exactly as it did: the next run checks them again, in a few milliseconds, instead of loading the pipeline,
// the lockfile and the stat cache and deciding stage by stage. This is the trust the stat cache already gives a file
// whose size, mtime, ctime and inode are unchanged (as make, ninja and git do), and no more: a file changed in place
// moves its ctime, which no one can set back, and nothing observed within the racy window of the recording is
// recorded (the run leaves no record, and the next no-op tries again). Any call the recorder cannot account for (a
// write outside the project lock, an asynchronous or streaming read, a child process, the environment enumerated)
// leaves no record either. A record whose observations do not hold is removed, and the engine decides as usual.
// The modules themselves (default imports), not namespace copies: their functions are replaced while recording, and a
// bundler's copy of a namespace (esbuild's) has getters only. statSync is imported by name to see whether the named
// imports of the rest of the engine see the replacement (see startNoopRecording).
import fs, { statSync as namedStatSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { checksumBytes, RACY_WINDOW_MS, seal, unsealBytes } from './hash.js';
import { writeFileAtomic } from './fs-atomic.js';
import { LOCK_DIR } from './project-lock.js';

/** Records live in the project's .spillway directory, one per key (the engine build and the run's options). */
const RECORD_NAME = /^noop-record-[0-9a-f]{16}\.json$/;
/** Records kept per project: the oldest beyond these are removed when one is written. */
const RECORDS_KEPT = 8;
const FORMAT = 1;

/**
 * One observation: [op, absolute path, what was seen]. `s`/`l`: stat/lstat, as [dev, ino, mode, size, mtimeMs,
 * ctimeMs] or an error code; `t`: lstat of which only the file type counts (the project's .spillway directory, whose
 * times every run's lock moves); `e`: exists; `a`: access with mode (1 or an error code); `d`: names listed (sorted;
 * with types as "name:t" when listed with types); `p`: realpath; `r`: readlink.
 */
type Observation = [op: 's' | 'l' | 't' | 'e' | 'a' | 'd' | 'p' | 'r', path: string, seen: unknown, mode?: number];

interface RecordFile<T> {
  format: number;
  key: string;
  /** the observations, in order; `marks` split them into phases (index of the first observation after the phase) */
  observations: Observation[];
  marks: [index: number, label: string][];
  /** environment variables read (null: unset) */
  env: Record<string, string | null>;
  payload: T;
}

/** What `checkNoopRecord` found: the recorded payload and, per mark, how long checking its observations took (ms). */
export interface NoopReplay<T> {
  payload: T;
  phases: { label: string; start_ms: number; end_ms: number }[];
}

/** The engine's own directory in a project. */
const internalDir = (root: string): string => join(resolve(root), '.spillway');

/** The record for `key` in the project at `root`. */
export function noopRecordPath(root: string, key: string): string {
  return join(internalDir(root), `noop-record-${checksumBytes(Buffer.from(key, 'utf8'))}.json`);
}

/**
 * What in .spillway is not observed: the project lock (taken, read back and released by every run), the record itself,
 * and the stat and pipeline caches, which hold only facts about files that are observed themselves (a hash for a
 * stat, a parse for a text): given the same files, the engine decides the same with or without them. Each with the
 * temporary names of its atomic writes.
 */
const OWN_ENTRY = new RegExp(`^(?:${LOCK_DIR}(?:$|\\.)|(?:noop-record-[0-9a-f]{16}\\.json|stat-cache\\.json|pipeline-cache\\.json)(?:$|\\.tmp-))`);

const statTuple = (st: fs.Stats): number[] => [st.dev, st.ino, st.mode, st.size, st.mtimeMs, st.ctimeMs];
const errorCode = (error: unknown): string => String((error as NodeJS.ErrnoException)?.code ?? 'ERROR');
/** Whether two observations' results are equal: numbers, strings, booleans and arrays of them. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What an observation would see now, made with the real (unwrapped) functions. */
function observe(real: RealFs, op: Observation[0], path: string, mode: number | undefined, internal: string): unknown {
  try {
    switch (op) {
      case 's': {
        const st = real.statSync(path, { throwIfNoEntry: false });
        return st === undefined ? 'ENOENT' : statTuple(st);
      }
      case 'l': {
        const st = real.lstatSync(path, { throwIfNoEntry: false });
        return st === undefined ? 'ENOENT' : statTuple(st);
      }
      case 't': {
        const st = real.lstatSync(path);
        return st.mode & fs.constants.S_IFMT;
      }
      case 'e':
        return real.existsSync(path);
      case 'a':
        real.accessSync(path, mode);
        return 1;
      case 'd': {
        const names = listing(real, path, mode === 1);
        return path === internal ? names.filter((n) => !OWN_ENTRY.test(mode === 1 ? n.slice(0, n.lastIndexOf(':')) : n)) : names;
      }
      case 'p':
        return real.realpathSync(path);
      case 'r':
        return real.readlinkSync(path);
    }
  } catch (error) {
    return errorCode(error);
  }
}

const TYPE_CODES: [keyof fs.Dirent, string][] = [['isFile', 'f'], ['isDirectory', 'd'], ['isSymbolicLink', 'l']];

function listing(real: RealFs, path: string, withTypes: boolean): string[] {
  if (!withTypes) return (real.readdirSync(path) as string[]).slice().sort();
  const entries = real.readdirSync(path, { withFileTypes: true }) as fs.Dirent[];
  return entries.map((e) => `${e.name}:${TYPE_CODES.find(([m]) => (e[m] as () => boolean).call(e))?.[1] ?? 'o'}`).sort();
}

type RealFs = Pick<typeof fs, 'statSync' | 'lstatSync' | 'existsSync' | 'accessSync' | 'readdirSync' | 'realpathSync' | 'readlinkSync'>;

const realFs: RealFs = { statSync: fs.statSync, lstatSync: fs.lstatSync, existsSync: fs.existsSync, accessSync: fs.accessSync, readdirSync: fs.readdirSync, realpathSync: fs.realpathSync, readlinkSync: fs.readlinkSync };

/**
 * The record's payload when it exists, matches `key` and every observation still holds; else undefined (a record that
 * does not hold is removed). Reads and stats only: no lock is taken and nothing is written, so a run in progress
 * elsewhere is never disturbed; a held project lock sends the caller to the engine (which waits or refuses as usual).
 */
export function checkNoopRecord<T>(root: string, key: string, now: () => number): NoopReplay<T> | undefined {
  const file = noopRecordPath(root, key);
  let record: RecordFile<T>;
  try {
    const text = unsealBytes(fs.readFileSync(file));
    if (text === undefined) return drop(file);
    record = JSON.parse(text) as RecordFile<T>;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') return drop(file);
    if (process.env.SPILLWAY_DEBUG_NOOP_RECORD) fs.writeSync(2, `no-op record not used: none for these options (${file})\n`);
    return undefined;
  }
  if (record?.format !== FORMAT || record.key !== key || !Array.isArray(record.observations) || !Array.isArray(record.marks)) return drop(file);
  const internal = internalDir(root);
  if (fs.existsSync(join(internal, LOCK_DIR))) {
    // a run holds the project: the engine decides (and waits, or says who holds it)
    if (process.env.SPILLWAY_DEBUG_NOOP_RECORD) fs.writeSync(2, 'no-op record not used: the project is locked\n');
    return undefined;
  }
  for (const [name, value] of Object.entries(record.env ?? {})) if ((process.env[name] ?? null) !== value) return drop(file, `environment variable ${name} changed`);
  const phases: NoopReplay<T>['phases'] = [];
  let at = 0;
  let start = now();
  const marks = [...record.marks, [record.observations.length, ''] as [number, string]];
  for (const [end, label] of marks) {
    for (; at < end; at++) {
      const [op, path, seen, mode] = record.observations[at];
      const current = observe(realFs, op, path, mode, internal);
      if (!same(current, seen)) return drop(file, `${OBSERVED[op]} ${path}: ${JSON.stringify(seen)} then, ${JSON.stringify(current)} now`);
    }
    const stop = now();
    if (label !== '') phases.push({ label, start_ms: start, end_ms: stop });
    start = stop;
  }
  return { payload: record.payload, phases };
}

/** Removes the oldest records beyond RECORDS_KEPT (other option sets, older engine builds). */
function pruneRecords(dir: string): void {
  try {
    const records = fs
      .readdirSync(dir)
      .filter((name) => RECORD_NAME.test(name))
      .map((name) => ({ path: join(dir, name), mtime: fs.statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of records.slice(RECORDS_KEPT)) fs.rmSync(old.path, { force: true });
  } catch {
    /* best effort: they are checked by key and never trusted beyond their observations */
  }
}

const OBSERVED = { s: 'stat', l: 'lstat', t: 'type', e: 'exists', a: 'access', d: 'listing', p: 'realpath', r: 'readlink' } as const;

/** Removes a record that does not hold (saying why when SPILLWAY_DEBUG_NOOP_RECORD is set). */
function drop(file: string, why = 'damaged or from another engine'): undefined {
  if (process.env.SPILLWAY_DEBUG_NOOP_RECORD) fs.writeSync(2, `no-op record not used: ${why}\n`);
  try {
    fs.rmSync(file, { force: true });
  } catch {
    /* best effort: a record that does not hold is checked (and fails) again next time */
  }
  return undefined;
}

/** Functions of node:fs that read through a file descriptor, or only touch one: accounted for where it was opened. */
const FD_ONLY = new Set(['fstatSync', 'readSync', 'readvSync', 'closeSync', 'writeSync', 'writevSync', 'fsyncSync', 'fdatasyncSync']);
/** Functions of node:fs that change the file system: allowed only on the project lock (and creating .spillway). */
const WRITES = ['writeFileSync', 'appendFileSync', 'mkdirSync', 'renameSync', 'rmSync', 'rmdirSync', 'unlinkSync', 'copyFileSync', 'cpSync', 'symlinkSync', 'linkSync', 'utimesSync', 'lutimesSync', 'chmodSync', 'lchmodSync', 'chownSync', 'lchownSync', 'truncateSync', 'mkdtempSync', 'ftruncateSync', 'futimesSync', 'fchmodSync', 'fchownSync'];

export interface NoopRecorder {
  /** Marks the end of a phase (a stage's decision, say): checking the record times each phase. */
  mark(label: string): void;
  /** Stops observing (restores node:fs, child_process and process.env); idempotent. */
  stop(): void;
  /** Why no record can be written, or undefined when one can. */
  unusable(): string | undefined;
  /** Stops and writes the record for `key` with `payload`; false (and nothing written) when it is unusable. */
  save(key: string, payload: unknown): boolean;
}

/**
 * Starts observing what this process looks at in the file system and the environment, for a no-op record of the
 * project at `root` (see the top of this file). Synchronous calls of node:fs are observed; any other way of reaching
 * the file system or another process makes the recording unusable, as does a change outside the project lock.
 */
export async function startNoopRecording(root: string): Promise<NoopRecorder> {
  const started = Date.now();
  const internal = internalDir(root);
  const observations: Observation[] = [];
  const seen = new Map<string, number>();
  const marks: [number, string][] = [];
  const env: Record<string, string | null> = Object.create(null); // (a variable named __proto__ is a variable)
  let problem: string | undefined;
  const taint = (why: string) => void (problem ??= why);

  // OWN_ENTRY in .spillway, and what describes the process rather than any file (its start time in /proc, its
  // standard streams and /dev/null): named one by one, not by directory, so that a project or its data under /dev
  // (/dev/shm, a tmpfs) or elsewhere is observed like any other.
  const PROCESS_FILES = /^\/proc\/|^\/dev\/(?:null|stdin|stdout|stderr|tty)$|^\/dev\/fd\//;
  const ignored = (abs: string) => {
    if (abs.startsWith(`${internal}${sep}`)) {
      const [entry] = abs.slice(internal.length + 1).split(sep);
      return OWN_ENTRY.test(entry);
    }
    return sep === '/' && PROCESS_FILES.test(abs);
  };
  const pathOf = (p: unknown): string | undefined => {
    if (typeof p === 'string') return resolve(p);
    if (Buffer.isBuffer(p)) return resolve(p.toString());
    if (p instanceof URL && p.protocol === 'file:') return resolve(decodeURIComponent(p.pathname));
    return undefined;
  };
  const note = (op: Observation[0], abs: string, mode?: number) => {
    if (problem !== undefined || ignored(abs)) return;
    const value = observe(realFs, op, abs, mode, internal);
    // Racy as in the stat cache and git: a file modified in the same clock tick as it was looked at can change again
    // without moving its mtime or ctime; one whose mtime is older than the window moves its mtime when written.
    if ((op === 's' || op === 'l') && Array.isArray(value) && value[4] > started - RACY_WINDOW_MS) {
      taint(`${abs} changed within ${RACY_WINDOW_MS} ms of the run`);
      return;
    }
    const id = `${op}${mode ?? ''}\0${abs}`;
    const before = seen.get(id);
    if (before !== undefined) {
      if (!same(observations[before][2], value)) taint(`${abs} changed during the run`);
      return;
    }
    seen.set(id, observations.length);
    observations.push(mode === undefined ? [op, abs, value] : [op, abs, value, mode]);
  };

  const restores: (() => void)[] = [];
  const wrap = (target: Record<string, unknown>, name: string, make: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown) => {
    const original = target[name];
    if (typeof original !== 'function') return;
    const wrapped = make(original as (...args: unknown[]) => unknown);
    for (const [k, v] of Object.entries(original)) (wrapped as unknown as Record<string, unknown>)[k] = v; // realpathSync.native
    target[name] = wrapped;
    restores.push(() => void (target[name] = original));
  };
  const fsTarget = fs as unknown as Record<string, unknown>;
  // (a path the call fails on is observed too: "missing" is what the engine learned)
  const observing = (op: Observation[0] | ((args: unknown[]) => Observation[0]), modeOf?: (args: unknown[]) => number | undefined) => (original: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      try {
        return original.apply(this, args);
      } finally {
        const abs = pathOf(args[0]);
        if (abs === undefined) taint('a file-system call by descriptor or of an unknown kind');
        else note(typeof op === 'function' ? op(args) : op, abs, modeOf?.(args));
      }
    };
  const options = (args: unknown[]) => (args[1] !== null && typeof args[1] === 'object' ? (args[1] as Record<string, unknown>) : {});
  wrap(fsTarget, 'statSync', observing('s'));
  wrap(fsTarget, 'lstatSync', observing((args) => (pathOf(args[0]) === internal ? 't' : 'l')));
  wrap(fsTarget, 'existsSync', observing('e'));
  wrap(fsTarget, 'accessSync', observing('a', (args) => (typeof args[1] === 'number' ? args[1] : fs.constants.F_OK)));
  wrap(fsTarget, 'readdirSync', (original) => {
    const observed = observing('d', (args) => (options(args).withFileTypes === true ? 1 : 0))(original);
    return function (this: unknown, ...args: unknown[]) {
      if (options(args).recursive === true) taint('a recursive listing'); // recorded as one level: not accounted for
      return observed.apply(this, args);
    };
  });
  wrap(fsTarget, 'readlinkSync', observing('r'));
  wrap(fsTarget, 'realpathSync', observing('p'));
  const realpathNative = (fs.realpathSync as unknown as Record<string, unknown>).native;
  if (typeof realpathNative === 'function') wrap(fsTarget.realpathSync as Record<string, unknown>, 'native', observing('p'));
  // A read is observed as the stat of what was read: the content is what the stat vouches for, as in the stat cache.
  wrap(fsTarget, 'readFileSync', (original) =>
    function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (typeof args[0] === 'number') taint('a read by file descriptor');
      else {
        const abs = pathOf(args[0]);
        if (abs === undefined) taint('a read of an unknown kind');
        else note('s', abs);
      }
      return result;
    },
  );
  wrap(fsTarget, 'openSync', (original) =>
    function (this: unknown, ...args: unknown[]) {
      const fd = original.apply(this, args);
      const abs = pathOf(args[0]);
      const flags = args[1] ?? 'r';
      if (abs === undefined) taint('an open of an unknown kind');
      else if (flags === 'r' || flags === fs.constants.O_RDONLY) note('s', abs);
      else if (!ignored(abs)) taint(`${abs} opened for writing`);
      return fd;
    },
  );
  for (const name of WRITES)
    wrap(fsTarget, name, (original) =>
      function (this: unknown, ...args: unknown[]) {
        const paths = name.startsWith('f') ? [undefined] : [args[0], ...(['renameSync', 'copyFileSync', 'cpSync', 'symlinkSync', 'linkSync'].includes(name) ? [args[1]] : [])];
        for (const p of paths) {
          const abs = pathOf(p);
          // creating .spillway (the lock's parent) changes nothing the engine decides on
          if (abs === undefined || (!ignored(abs) && !(name === 'mkdirSync' && abs === internal))) taint(`${name} ${abs ?? ''}`.trim());
        }
        return original.apply(this, args);
      },
    );
  // Everything else in node:fs (callbacks, streams, watchers, fs.promises) and every way of starting a process: not
  // accounted for, so their use leaves no record.
  const handled = new Set(['statSync', 'lstatSync', 'existsSync', 'accessSync', 'readdirSync', 'readlinkSync', 'realpathSync', 'readFileSync', 'openSync', ...WRITES, ...FD_ONLY]);
  const untracked = (label: string) => (original: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      taint(label);
      return new.target ? Reflect.construct(original, args, new.target) : original.apply(this, args);
    };
  for (const name of Object.keys(fs)) if (!handled.has(name) && /^[a-z]/.test(name) && name !== 'promises') wrap(fsTarget, name, untracked(`fs.${name}`));
  // fs.promises and node:child_process are not loaded by a no-op (each costs milliseconds to load): one loaded
  // meanwhile was loaded to be used. One loaded already is watched.
  const loaded = (name: string) => (process as unknown as { moduleLoadList?: string[] }).moduleLoadList?.includes(`NativeModule ${name}`) ?? true;
  const hadPromises = loaded('internal/fs/promises');
  if (hadPromises) {
    const promises = fs.promises as unknown as Record<string, unknown>;
    for (const name of Object.keys(promises)) wrap(promises, name, untracked(`fs.promises.${name}`));
  }
  const hadChildProcess = loaded('child_process');
  if (hadChildProcess) {
    const childProcess = (await import('node:child_process')).default as unknown as Record<string, unknown>;
    for (const name of ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync']) wrap(childProcess, name, untracked(`child_process.${name}`));
  }

  // The environment: each variable read is recorded with its value; one listed or changed leaves no record.
  const realEnv = process.env;
  const read = (name: string | symbol) => {
    if (typeof name === 'string' && !Object.hasOwn(env, name)) env[name] = realEnv[name] ?? null;
  };
  process.env = new Proxy(realEnv, {
    get: (target, name) => (read(name), Reflect.get(target, name)),
    has: (target, name) => (read(name), Reflect.has(target, name)),
    getOwnPropertyDescriptor: (target, name) => (read(name), Reflect.getOwnPropertyDescriptor(target, name)),
    ownKeys: (target) => (taint('the environment was listed'), Reflect.ownKeys(target)),
    set: (target, name, value) => (taint('the environment was changed'), Reflect.set(target, name, value)),
    deleteProperty: (target, name) => (taint('the environment was changed'), Reflect.deleteProperty(target, name)),
    defineProperty: (target, name, descriptor) => (taint('the environment was changed'), Reflect.defineProperty(target, name, descriptor)),
  });
  restores.push(() => void (process.env = realEnv));

  // Modules that import node:fs by name see the replacements when bundled (the bundle reads the module's properties
  // at each call) but as ES modules only after syncBuiltinESMExports; a recording that would miss their calls is
  // never written.
  let sync: (() => void) | undefined;
  if (namedStatSync !== fs.statSync) {
    sync = (await import('node:module')).syncBuiltinESMExports;
    sync();
    if (namedStatSync !== fs.statSync) taint('named imports of node:fs are not observed');
  }

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (!hadChildProcess && loaded('child_process')) taint('node:child_process was loaded');
    if (!hadPromises && loaded('internal/fs/promises')) taint('fs.promises was loaded');
    for (const restore of restores.reverse()) restore();
    sync?.();
  };
  return {
    mark(label) {
      marks.push([observations.length, label]);
    },
    stop,
    unusable: () => problem,
    save(key, payload) {
      stop();
      if (problem !== undefined) return false;
      const record: RecordFile<unknown> = { format: FORMAT, key, observations, marks, env, payload };
      try {
        writeFileAtomic(noopRecordPath(root, key), seal(JSON.stringify(record)), { sync: false });
        pruneRecords(internal);
        return true;
      } catch {
        return false; // read-only project: the engine decides every time, as before
      }
    },
  };
}
