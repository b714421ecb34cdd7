// A persistent stage worker (in the spirit of Bazel's persistent workers): a process with spillway's TypeScript hooks
// loaded that runs module stages one after another, so that a stage pays for an IPC message and its own imports
// instead of a Node start-up. Each job imports the stage's module graph afresh (stage-job.ts), and after each job the
// worker puts back the environment, working directory and globals it started with; a job that leaves timers or other
// handles running, or a worker past its job or memory budget, retires (the engine starts a fresh one).
import { exitWithParent } from './orphan-guard.js';
import { endOfJob, errorMessage, flushOutput, runJob, send, type ModuleJob } from './stage-job.js';

export type WorkerRequest = { type: 'job'; id: number; job: ModuleJob };
export type WorkerReply = { type: 'finished'; id: number; rss: number; retire?: string };

const env = { ...process.env };
const cwd = process.cwd();
const globals = new Set(Object.getOwnPropertyNames(globalThis));
// stdout and stderr open their pipes on first use: open them now, so that a stage's first console.log is not a leak
void process.stdout.fd;
void process.stderr.fd;
// taken when the first job arrives: the IPC channel counts as a handle only once a message listener holds it
let handlesAtStart: Map<string, number> | undefined;
let builtinsAtStart: Map<unknown, Map<PropertyKey, PropertyDescriptor>> | undefined;

/**
 * The own properties of globalThis, of every built-in object and function it holds, and of their prototypes (Math,
 * JSON, Array.prototype, Object.prototype, console, …), as descriptors: a stage that replaces Math.random, adds to
 * Array.prototype or swaps JSON.stringify would otherwise change what every later stage in this worker computes.
 * Descriptors only: no getter is called, so lazily loaded globals stay unloaded.
 */
function builtins(): Map<unknown, Map<PropertyKey, PropertyDescriptor>> {
  const objects = new Map<unknown, Map<PropertyKey, PropertyDescriptor>>();
  const add = (o: unknown) => {
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || objects.has(o) || o === process || o === process.env) return;
    const props = new Map<PropertyKey, PropertyDescriptor>();
    objects.set(o, props);
    for (const key of Reflect.ownKeys(o as object)) {
      const d = Reflect.getOwnPropertyDescriptor(o as object, key);
      if (d !== undefined) props.set(key, d);
    }
  };
  add(globalThis);
  for (const d of (objects.get(globalThis) as Map<PropertyKey, PropertyDescriptor>).values()) {
    add(d.value);
    if (d.value !== null && (typeof d.value === 'function' || typeof d.value === 'object')) {
      const proto = Reflect.getOwnPropertyDescriptor(d.value as object, 'prototype');
      if (proto !== undefined && 'value' in proto) add(proto.value);
    }
  }
  return objects;
}

/** The first built-in property a job added, removed or replaced, as text; undefined when all are as they were. */
function changedBuiltin(before: Map<unknown, Map<PropertyKey, PropertyDescriptor>>): string | undefined {
  const name = (o: unknown) => (o === globalThis ? 'globalThis' : typeof o === 'function' ? (o as { name: string }).name || 'a function' : (o as object)[Symbol.toStringTag as keyof object] ?? 'a prototype');
  for (const [o, props] of before) {
    const now = Reflect.ownKeys(o as object);
    if (now.length !== props.size) return `it added or removed properties of ${String(name(o))}`;
    for (const key of now) {
      const was = props.get(key);
      const d = Reflect.getOwnPropertyDescriptor(o as object, key);
      if (was === undefined || d === undefined) return `it changed ${String(name(o))}.${String(key)}`;
      if (!Object.is(was.value, d.value) || was.get !== d.get || was.set !== d.set || was.writable !== d.writable) {
        // the globals restore() deletes are reported there; the env, cwd and ignored globals are put back
        return `it replaced ${String(name(o))}.${String(key)}`;
      }
    }
  }
  return undefined;
}
let jobs = 0;

function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** What a finished job left behind that a next job could see; undefined when the worker is clean again. */
function restore(): string | undefined {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  if (process.cwd() !== cwd) process.chdir(cwd);
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (!globals.has(name)) {
      try {
        delete (globalThis as Record<string, unknown>)[name];
      } catch {
        return `it left the global ${name}`;
      }
    }
  }
  if (builtinsAtStart !== undefined) {
    const changed = changedBuiltin(builtinsAtStart);
    if (changed !== undefined) return changed;
  }
  for (const [kind, n] of handleCounts()) {
    // FSReqCallback and friends are requests in flight, not listeners; timers, sockets and watchers are state.
    if (/Timeout|Immediate|Interval|TCP|UDP|Pipe|FSEvent|StatWatcher|Process|Signal/.test(kind) && n > (handlesAtStart?.get(kind) ?? 0)) return `it left ${kind} handles running`;
  }
  return undefined;
}

process.on('disconnect', () => process.exit(1)); // the engine died: do not linger as an orphan
exitWithParent(); // … even when the stage never yields to that event
// An error thrown outside the job's own promise (a timer, an event handler, during or after the job): as in a
// one-shot stage process, the stack goes to stderr and the process ends; the engine fails the stage that was running.
process.on('uncaughtException', (error) => {
  console.error(error.stack ?? String(error));
  process.exit(1);
});
process.on('message', (request: WorkerRequest) => {
  if (request.type !== 'job') return;
  handlesAtStart ??= handleCounts();
  builtinsAtStart ??= builtins();
  jobs += 1;
  runJob(request.job, jobs).then(
    async (timings) => {
      await send({ type: 'done', timings });
      await reply(request.id);
    },
    async (error: unknown) => {
      await send(errorMessage(error));
      await reply(request.id);
    },
  );
});

async function reply(id: number): Promise<void> {
  await flushOutput(`\n${endOfJob(id)}\n`);
  const retire = restore();
  const message: WorkerReply = { type: 'finished', id, rss: process.memoryUsage.rss(), ...(retire ? { retire } : {}) };
  await new Promise<void>((resolveSend) => process.send?.(message, undefined, {}, () => resolveSend()));
  if (retire) process.exit(0);
}
