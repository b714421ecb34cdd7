// Running one module stage inside a stage process: build the context, import the module, call the stage function,
// check what it returned and write the JSON outputs. Shared by the one-shot stage process (stage-runner.ts) and the
// persistent worker (stage-worker.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StageJob } from './executor.js';
import { createStageContext } from './stage-context.js';

/** A module stage's job as a stage process gets it: the fields of the engine's StageJob it reads, plus its output directories. */
export type ModuleJob = Pick<StageJob, 'stage' | 'projectRoot' | 'params' | 'jsonInputs' | 'inputPaths' | 'deps' | 'jsonOuts' | 'fileOuts'> & {
  /** the stage module (absolute) */
  module: string;
  /** where JSON outputs are written as <name>.json */
  jsonDir: string;
  /** ctx.outPath(name) = filesDir/name */
  filesDir: string;
};

/** Where a stage process spent a job's time (ms): importing the module graph, the stage function, writing its JSON outputs. */
export interface StageCodeTimings {
  import_ms: number;
  code_ms: number;
  write_ms: number;
}

export type RunnerMessage =
  | { type: 'log'; message: string }
  | { type: 'done'; timings?: StageCodeTimings }
  | { type: 'error'; message: string; stack?: string; pointer?: string; kind?: string };

/** First non-finite number or non-JSON value, as a JSON pointer; JSON.stringify would silently turn NaN into null. */
function findNonJson(value: unknown, pointer = ''): { pointer: string; what: string } | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { pointer, what: String(value) };
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    return { pointer, what: typeof value };
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonJson(value[i], `${pointer}/${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue; // dropped by JSON.stringify, like an absent key
    const found = findNonJson(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    if (found) return found;
  }
  return undefined;
}

export function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolveSend) => {
    if (!process.send) return resolveSend();
    process.send(message, undefined, {}, () => resolveSend());
  });
}

/**
 * Runs the job; `instance` (a worker's job number) is added to the module's URL, and the TypeScript hooks carry it to
 * every project file the module imports, so each job gets fresh module instances: no module-level state survives.
 */
export async function runJob(job: ModuleJob, instance?: number): Promise<StageCodeTimings> {
  const t0 = performance.now();
  process.env.SPILLWAY_STAGE = job.stage;
  const inputs: Record<string, unknown> = {};
  for (const [name, file] of Object.entries(job.jsonInputs)) inputs[name] = JSON.parse(readFileSync(file, 'utf8'));
  const ctx = createStageContext({
    stage: job.stage,
    params: job.params,
    inputs,
    inputPaths: job.inputPaths,
    deps: job.deps,
    projectRoot: job.projectRoot,
    outDir: job.filesDir,
    outs: job.fileOuts,
    log: (message) => void send({ type: 'log', message }),
  });
  const url = pathToFileURL(job.module);
  if (instance !== undefined) url.searchParams.set('spillway-job', String(instance));
  const mod = (await import(url.href)) as { default?: unknown };
  const t1 = performance.now();
  const fn = mod.default;
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${job.module} has no default export function (a StageFunction)`), { kind: 'invalidPipeline' });
  }
  // A promise the stage rejected without a handler is a failure of the stage, not something to drop: Node reports it
  // only at a later turn of the event loop, after a stage process has already said "done" (both executors used to
  // record such a stage as successful). The listener collects them; one turn after the stage returns, they fail it.
  const pending = new Map<Promise<unknown>, unknown>();
  const onRejection = (reason: unknown, promise: Promise<unknown>) => void pending.set(promise, reason);
  const onHandled = (promise: Promise<unknown>) => void pending.delete(promise); // a handler was attached late
  process.on('unhandledRejection', onRejection);
  process.on('rejectionHandled', onHandled);
  let value: unknown;
  try {
    value = await (fn as (c: typeof ctx) => unknown)(ctx);
    await new Promise((resolveTurn) => setImmediate(resolveTurn));
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('rejectionHandled', onHandled);
  }
  const t2 = performance.now();
  const rejections = [...pending.values()];
  if (rejections.length > 0) {
    const first = rejections[0];
    const text = first instanceof Error ? first.message : String(first);
    throw Object.assign(new Error(`the stage left a promise rejected without a handler (${rejections.length} in all): ${text}`), { stack: first instanceof Error ? first.stack : undefined, kind: 'crash' });
  }
  const result = value ?? {};
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new Error(`the stage function returned ${Array.isArray(result) ? 'an array' : typeof result}; expected an object { outputName: value }`);
  }
  const returned = result as Record<string, unknown>;
  const missing = job.jsonOuts.filter((n) => !Object.hasOwn(returned, n) || returned[n] === undefined);
  const extra = Object.keys(returned).filter((n) => !job.jsonOuts.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`did not return declared output(s) ${missing.join(', ')}`);
    if (extra.length > 0) parts.push(`returned undeclared output(s) ${extra.join(', ')}`);
    throw Object.assign(new Error(`the stage ${parts.join(' and ')}; declared JSON outputs: ${job.jsonOuts.join(', ') || '(none)'}`), { kind: 'outputs' });
  }
  mkdirSync(job.jsonDir, { recursive: true });
  for (const name of job.jsonOuts) {
    const bad = findNonJson(returned[name]);
    if (bad) {
      throw Object.assign(new Error(`output "${name}" holds ${bad.what} at ${bad.pointer || '/'}, which JSON cannot represent`), { pointer: bad.pointer, kind: 'outputs' });
    }
    writeFileSync(join(job.jsonDir, `${name}.json`), `${JSON.stringify(returned[name], null, 2)}\n`);
  }
  const ms = (x: number) => Math.round(x * 10) / 10;
  return { import_ms: ms(t1 - t0), code_ms: ms(t2 - t1), write_ms: ms(performance.now() - t2) };
}


/** Written last on stdout and stderr after a worker's job: the engine credits the output before it to that job. */
export const endOfJob = (id: number) => `\u0001spillway-job-end ${id}`;

/**
 * Resolves once everything the stage printed has left this process: writes to piped stdout and stderr are
 * asynchronous, and a process that exits (or reports a job finished) before they drain loses the end of its output.
 * `marker`, when given, is written last on both streams, so that the reader can tell where this job's output ends.
 */
export function flushOutput(marker = ''): Promise<void> {
  const flush = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolveFlush) => {
      try {
        if (stream.destroyed || !stream.writable) return resolveFlush();
        stream.write(marker, () => resolveFlush());
      } catch {
        resolveFlush();
      }
    });
  return Promise.all([flush(process.stdout), flush(process.stderr)]).then(() => undefined);
}

/** The message that reports a failed job to the engine. */
export function errorMessage(error: unknown): RunnerMessage {
  const e = error instanceof Error ? error : new Error(String(error));
  // a SpillwayError's location (file, row, column, expected, hint) lives in its details: send the formatted text.
  // Duck-typed, because the stage's copy of src/errors.ts may be another module instance than ours.
  const formatted = e.name === 'SpillwayError' && typeof (e as { format?: unknown }).format === 'function' ? (e as unknown as { format(): string }).format() : e.message;
  return { type: 'error', message: formatted, stack: e.stack, pointer: (e as { pointer?: string }).pointer, kind: (e as { kind?: string }).kind };
}
