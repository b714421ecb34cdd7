// runPipeline: the engine's lifecycle. For each selected stage, in dependency order with bounded concurrency:
//   decide  (decide.ts)   up to date, restorable from the run cache, or must run, with the reasons;
//   restore (decide.ts)   make a cached stage's outputs whole from the checked store;
//   execute (executor.ts) hand a stage that must run to an executor (local processes by default);
//   collect (outputs.ts)  validate, store and materialize what it produced;
//   record  (record.ts)   the run-cache entry and the lockfile entry, derived from the stage's fingerprint.
// A dry run (and `status`) takes the same decisions and stops before restoring.
import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { isSpillwayError, SpillwayError } from '../errors.js';
import { decideStage, restoreOutputs, type Decision } from './decide.js';
import type { ExecutionOutcome, Executor, StageFailure, StageJob } from './executor.js';
import { describeReasons, diffAgainstLock, fingerprintStage, type Fingerprint, type StaleReason } from './fingerprint.js';
import { cleanStaleOutputTemps, writeFileAtomic } from './fs-atomic.js';
import { hashFileContent, StatCache } from './hash.js';
import { readLockfile } from './lockfile.js';
import type { Lockfile, LockedOutput, LockedStage } from './lockfile-format.js';
import { loadPipeline, selectStages, type Pipeline, type StageDecl } from './pipeline.js';
import { acquireProjectLock } from './project-lock.js';
import { LockWriter, lockedEntryFor, writeRunCache } from './record.js';
import { nestParams } from './stage-context.js';
import { checkObject, hashDir, isDirectory, materializeDir, materializeFile, objectPath, putFile } from './store.js';

export { ENGINE_VERSION } from './record.js';

export type StageRunStatus = 'ran' | 'cached' | 'failed' | 'skipped' | 'would-run';

export interface StageReport {
  stage: string;
  status: StageRunStatus;
  /** the cache key ("" when it could not be computed, e.g. skipped or in a dry run behind a stale stage) */
  key: string;
  duration_ms: number;
  reason: string;
  error?: string;
  /** for failed stages: the kind of failure ('crash', 'exit', 'timeout', 'schema', 'outputs', 'corrupt', 'interrupted', or a SpillwayError kind such as 'invalidInput' or 'notConverged' thrown by the stage) */
  error_kind?: string;
  /** the structured reasons behind `reason` */
  reasons?: StaleReason[];
  /** output name → content hash */
  outputs?: Record<string, string>;
  /** true when a cached stage's outputs came from the run cache (a key seen in an earlier run) */
  restored?: boolean;
  /** damaged or missing store objects this run re-stored from intact copies (or, in a dry run, would) */
  repairs?: string[];
  /** for stages that ran: the executor, host and scheduler job id */
  executor?: string;
  host?: string;
  job_id?: string;
  /** where the time went (ms, 0.1 ms resolution); see StageTimings */
  timings?: StageTimings;
}

/**
 * Where a stage's time went. `start_ms`/`end_ms` are times since the engine process started (what comes before the
 * first stage and after the last one is the engine's fixed cost). The engine's own phases: `decide_ms` (the cache key:
 * code, params, deps and inputs hashed or found in the stat cache, and the comparison with the lockfile), `restore_ms`
 * (a cached stage: its outputs checked and materialized), `inputs_ms` (the inputs checked and the job built),
 * `executor_ms` (from handing the job to the executor to its outcome), `collect_ms` (outputs validated against their
 * schemas, hashed and stored), `record_ms` (the run cache and the lockfile entry). Within `executor_ms`, the stage
 * process reports `import_ms` (importing the stage's module graph, TypeScript included), `code_ms` (the stage
 * function) and `write_ms` (writing its JSON outputs); the rest of `executor_ms` is dispatch: starting or waiting
 * for a stage process, IPC and output hand-over.
 */
export interface StageTimings {
  start_ms: number;
  end_ms?: number;
  decide_ms?: number;
  restore_ms?: number;
  inputs_ms?: number;
  executor_ms?: number;
  import_ms?: number;
  code_ms?: number;
  write_ms?: number;
  collect_ms?: number;
  record_ms?: number;
}

// Milliseconds since the process started, as now(), whose first use loads perf_hooks (about 1 ms of a
// no-op run).
const now = (): number => process.uptime() * 1000;
const clock = () => Math.round(now() * 10) / 10;

export interface RunReport {
  ok: boolean;
  stages: StageReport[];
  /** set when the run was interrupted */
  interrupted?: boolean;
}

export type RunEvent =
  | { type: 'plan'; stages: string[]; jobs: number }
  | { type: 'stage-start'; stage: string; reason: string }
  | { type: 'stage-end'; report: StageReport }
  | { type: 'log'; stage: string; message: string }
  | { type: 'restore'; stage: string; path: string };

export interface RunOptions {
  pipelineFile: string;
  targets?: string[];
  jobs?: number;
  force?: boolean;
  dryRun?: boolean;
  overrides?: string[];
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
  /** wait for another run holding the project lock instead of failing (default false) */
  wait?: boolean;
  /** an already loaded pipeline (overrides then must already be applied) */
  pipeline?: Pipeline;
  /** the lockfile to read and write (default: the pipeline's, pipeline.yaml → pipeline.lock); a sweep gives each variant its own */
  lockFile?: string;
  /** who runs the stages that must run (default: a LocalExecutor, one process per stage on this machine) */
  executor?: Executor;
  /** the project lock is already held by the caller (a sweep running variants under one lock) */
  lockHeld?: boolean;
}

interface Done {
  status: StageRunStatus;
  /** output name → recorded output, known when the stage succeeded (or, in a dry run, when it is up to date) */
  outputs?: Record<string, LockedOutput>;
}

function errorText(error: unknown): string {
  return isSpillwayError(error) ? error.format() : error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Characters of a stage's output kept for its log file (the tail). */
const LOG_KEEP = 8 * 2 ** 20;

function hashOrUndefined(path: string): string | undefined {
  try {
    return hashFileContent(path);
  } catch {
    return undefined;
  }
}

function hashesOf(outs: Record<string, LockedOutput>): Record<string, string> {
  return Object.fromEntries(Object.entries(outs).map(([n, o]) => [n, o.hash]));
}

function sameOutputs(a: Record<string, LockedOutput>, b: Record<string, LockedOutput>): boolean {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => Object.hasOwn(a, k) && a[k].hash === b[k].hash);
}

/** One run of a pipeline: the state shared by its stages, and the lifecycle steps as methods. */
class PipelineRun {
  readonly root: string;
  readonly cache: StatCache;
  readonly done = new Map<string, Done>();
  readonly reports = new Map<string, StageReport>();
  readonly tmpRoot: string;
  private executor: Executor | undefined;
  /** the lockfile is one this engine wrote or checked, untouched since (its entries need no run-cache cross-check) */
  lockfileTrusted = false;
  /** module stages not yet started: while some are left, a spare stage process is kept warm */
  modulesToStart = 0;
  /** per stage: where its time went so far (finish() adds them to the report) */
  private readonly timings = new Map<string, StageTimings>();

  constructor(
    readonly pipeline: Pipeline,
    readonly options: RunOptions,
    readonly previous: Lockfile | undefined,
    readonly writer: LockWriter | undefined,
  ) {
    this.root = pipeline.root;
    this.cache = new StatCache(pipeline.root);
    this.cache.startMemo(); // ended before any stage's outputs are restored or any stage runs (see handle)
    this.tmpRoot = join(this.root, '.spillway', 'tmp');
    this.executor = options.executor;
  }

  emit(event: RunEvent): void {
    this.options.onEvent?.(event);
  }

  finish(report: StageReport, outputs?: Record<string, LockedOutput>): void {
    const timings = this.timings.get(report.stage);
    if (timings !== undefined) report.timings = { ...timings, end_ms: clock() };
    this.done.set(report.stage, { status: report.status, outputs });
    this.reports.set(report.stage, report);
    this.emit({ type: 'stage-end', report });
  }

  private async localExecutor(): Promise<Executor> {
    // Loaded only when something runs, so that a no-op run never loads child_process or the TypeScript loader.
    // Warm workers by default; SPILLWAY_EXECUTOR=local (or the tsx loader) gives every stage a fresh process.
    const { workerFile } = await import('./execute.js');
    if (workerFile !== undefined && process.env.SPILLWAY_EXECUTOR !== 'local') {
      const { WorkerExecutor } = await import('./executors/workers.js');
      return new WorkerExecutor(this.root);
    }
    const { LocalExecutor } = await import('./executors/local.js');
    return new LocalExecutor(this.root);
  }

  private executorStarting: Promise<Executor> | undefined;

  /** The executor, created (once) on first use. */
  private async executorInUse(): Promise<Executor> {
    if (this.executor !== undefined) return this.executor;
    this.executorStarting ??= this.localExecutor().then((e) => (this.executor = e));
    return this.executorStarting;
  }

  /**
   * A cold start: a module stage with no lockfile entry will run whatever its key, so the first stage process is
   * started now, while the engine still takes the lock and decides, instead of after the first decision.
   */
  prewarm(): void {
    if (this.options.executor !== undefined) return;
    this.executorInUse().then(
      (executor) => executor.warm?.(1),
      () => {},
    );
  }

  async closeExecutor(): Promise<void> {
    await this.executorStarting?.catch(() => undefined);
    if (this.executor !== undefined && this.executor !== this.options.executor) await this.executor.close();
  }

  /** Any unexpected error while handling one stage fails that stage, never the whole run: others may be running. */
  async process(name: string): Promise<void> {
    try {
      await this.handle(name);
    } catch (error) {
      if (this.done.has(name)) return;
      this.finish({ stage: name, status: 'failed', key: '', duration_ms: 0, reason: 'internal error', error: errorText(error), error_kind: isSpillwayError(error) ? error.kind : 'internal' });
    }
  }

  private async handle(name: string): Promise<void> {
    const stage = this.pipeline.stages[name];
    if (stage.run !== undefined) this.modulesToStart -= 1;
    const started = now();
    const elapsed = () => Math.round(now() - started);
    const timings: StageTimings = { start_ms: clock() };
    this.timings.set(name, timings);
    const since = (t: number) => Math.round((now() - t) * 10) / 10;
    const blocked = stage.upstream.find((u) => ['failed', 'skipped'].includes(this.done.get(u)?.status ?? ''));
    if (blocked) {
      const how = this.done.get(blocked)?.status === 'failed' ? 'failed' : 'was skipped';
      return this.finish({ stage: name, status: 'skipped', key: '', duration_ms: 0, reason: `upstream stage ${blocked} ${how}` });
    }
    if (this.options.signal?.aborted) return this.finish({ stage: name, status: 'skipped', key: '', duration_ms: 0, reason: 'interrupted' });

    let fp: Fingerprint;
    try {
      fp = await fingerprintStage(this.pipeline, stage, this.cache, this.inputHashes(stage));
    } catch (error) {
      return this.finish({ stage: name, status: 'failed', key: '', duration_ms: elapsed(), reason: 'could not compute the cache key', error: isSpillwayError(error) ? error.format() : (error as Error).message, error_kind: isSpillwayError(error) ? error.kind : 'internal' });
    }
    const entry = this.previous?.stages[name];
    let diff: StaleReason[] | undefined;
    const reasons = () => (diff ??= diffAgainstLock(entry, fp)); // not needed by an up-to-date stage
    if (fp.key === undefined) {
      if (!this.options.dryRun) throw new SpillwayError('internal', `stage ${name}: inputs unknown after upstream finished`);
      const upstreamRuns = stage.upstream.filter((u) => this.reports.get(u)?.status === 'would-run');
      const r: StaleReason[] = [...reasons(), ...upstreamRuns.map((u) => ({ component: 'upstream' as const, name: u, message: `upstream ${u} will run (this stage re-runs only if its outputs change)` }))];
      return this.finish({ stage: name, status: 'would-run', key: '', duration_ms: 0, reason: describeReasons(r), reasons: r });
    }
    const key = fp.key;
    let decision = decideStage(this.root, fp, entry, reasons, this.cache, this.options.force === true, { lockfileTrusted: this.lockfileTrusted });
    timings.decide_ms = since(started);

    if (this.options.dryRun) return this.finishDry(name, key, decision);

    // restore
    const restoring = now();
    // Outputs the decision just found intact (every object and readable copy checked through the stat cache, with no
    // await since): restoreOutputs would check the same files again and do nothing. Anything else ends the run's
    // hashFile memo before a byte is written (StatCache.endMemo).
    if (decision.action === 'up-to-date' && decision.intact) {
      timings.restore_ms = 0;
      return this.finishCached(name, key, decision, elapsed());
    }
    this.cache.endMemo();
    if (decision.action !== 'run') {
      timings.restore_ms = 0;
      const problem = restoreOutputs(this.root, decision.entry, this.cache, (path) => this.emit({ type: 'restore', stage: name, path }));
      timings.restore_ms = since(restoring);
      if (problem === undefined) return this.finishCached(name, key, decision, elapsed());
      // something changed between the decision and the restore: decide again without the source that failed
      const why = [...reasons(), { component: 'output' as const, message: problem }];
      decision = decision.action === 'up-to-date' ? decideStage(this.root, fp, undefined, why, this.cache, false) : { action: 'run', reasons: why };
      if (decision.action !== 'run') {
        const again = restoreOutputs(this.root, decision.entry, this.cache, (path) => this.emit({ type: 'restore', stage: name, path }));
        timings.restore_ms = since(restoring);
        if (again === undefined) return this.finishCached(name, key, decision, elapsed());
        decision = { action: 'run', reasons: [...why, { component: 'output', message: again }] };
      }
    }
    if (timings.restore_ms !== undefined) timings.restore_ms = since(restoring);
    return this.execute(name, stage, fp, entry, decision.reasons, started, timings);
  }

  private finishDry(name: string, key: string, decision: Decision): void {
    if (decision.action === 'run') {
      return this.finish({ stage: name, status: 'would-run', key, duration_ms: 0, reason: describeReasons(decision.reasons), reasons: decision.reasons });
    }
    const repairs = decision.repairs.length > 0 ? { repairs: decision.repairs } : {};
    if (decision.action === 'up-to-date') {
      return this.finish({ stage: name, status: 'cached', key, duration_ms: 0, reason: decision.repairs.length > 0 ? `up to date (${decision.repairs.join('; ')})` : 'up to date', ...repairs }, decision.entry.outs);
    }
    const why = describeReasons(decision.reasons);
    this.finish({ stage: name, status: 'cached', key, duration_ms: 0, reason: `restored from the run cache${why ? ` (${why})` : ''}`, reasons: decision.reasons, restored: true, ...repairs }, decision.entry.outs);
  }

  private finishCached(name: string, key: string, decision: Exclude<Decision, { action: 'run' }>, duration: number): void {
    const repairs = decision.repairs.length > 0 ? { repairs: decision.repairs } : {};
    if (decision.action === 'up-to-date') {
      return this.finish({ stage: name, status: 'cached', key, duration_ms: duration, reason: decision.repairs.length > 0 ? `up to date (${decision.repairs.join('; ')})` : 'up to date', outputs: hashesOf(decision.entry.outs), ...repairs }, decision.entry.outs);
    }
    this.writer?.record(name, decision.entry);
    const why = describeReasons(decision.reasons);
    this.finish(
      { stage: name, status: 'cached', key, duration_ms: duration, reason: `restored from the run cache${why ? ` (${why})` : ''}`, reasons: decision.reasons, outputs: hashesOf(decision.entry.outs), restored: true, ...repairs },
      decision.entry.outs,
    );
  }

  private inputHashes(stage: StageDecl): Record<string, string | undefined> {
    const hashes: Record<string, string | undefined> = {};
    for (const input of stage.inputs) hashes[input.name] = this.done.get(input.stage)?.outputs?.[input.output]?.hash;
    return hashes;
  }

  /**
   * The inputs a running stage reads, each checked against its hash first: a JSON input is read straight from its
   * store object; a file or directory input from its project path, re-materialized from the store when it differs.
   */
  private checkedInputs(stage: StageDecl): { json: Record<string, string>; paths: Record<string, string> } {
    const json: Record<string, string> = {};
    const paths: Record<string, string> = {};
    for (const input of stage.inputs) {
      const out = this.done.get(input.stage)?.outputs?.[input.output] as LockedOutput;
      if (out.kind === 'json') {
        // read in full, not through the stat cache: the stage is about to read these bytes anyway
        let state = checkObject(this.root, out.hash, this.cache, { quarantine: true, read: true });
        if (state !== 'ok' && hashOrUndefined(resolve(this.root, out.path)) === out.hash) {
          // repaired from the intact readable copy, as a cached stage's output is
          putFile(this.root, resolve(this.root, out.path), out.hash, this.cache);
          state = checkObject(this.root, out.hash, this.cache, { read: true });
        }
        if (state !== 'ok') {
          throw Object.assign(new Error(`input ${input.name} (${input.ref}): store object ${out.object} ${state === 'missing' ? 'is missing' : 'does not match its hash'}; it was not given to the stage (run again to rebuild it)`), { kind: 'corrupt' });
        }
        json[input.name] = objectPath(this.root, out.hash);
      } else {
        const target = resolve(this.root, out.path);
        let present: string | undefined;
        try {
          // every byte hashed (a throwaway stat cache): the stage reads this copy, so a same-stat change must not pass
          present = out.kind === 'dir' ? (isDirectory(target) ? hashDir(target, new StatCache(this.root, '')).hash : undefined) : hashFileContent(target);
        } catch {
          present = undefined;
        }
        if (present !== out.hash) {
          if (out.kind === 'dir') materializeDir(this.root, out.hash, target, this.cache);
          else materializeFile(this.root, out.hash, target, this.cache);
        }
        paths[input.name] = target;
      }
    }
    return { json, paths };
  }

  private async execute(name: string, stage: StageDecl, fp: Fingerprint, entry: LockedStage | undefined, why: StaleReason[], startedAt: number, timings: StageTimings): Promise<void> {
    const since = (t: number) => Math.round((now() - t) * 10) / 10;
    const key = fp.key as string;
    const elapsed = () => Math.round(now() - startedAt);
    const reason = describeReasons(why);
    this.emit({ type: 'stage-start', stage: name, reason });
    const workDir = join(this.tmpRoot, `${name.replace(/[^A-Za-z0-9_.=@-]/g, '_')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    const started = new Date();
    // The stage log keeps the last LOG_KEEP characters (a stage printing gigabytes must not exhaust the engine's memory)
    let logLines: string[] = [];
    let logSize = 0;
    let logFirst = 0;
    let logDropped = 0;
    const onLog = (message: string) => {
      logLines.push(message);
      logSize += message.length + 1;
      while (logSize > LOG_KEEP && logFirst < logLines.length - 1) {
        logSize -= logLines[logFirst].length + 1;
        logFirst += 1;
        logDropped += 1;
      }
      if (logFirst > 4096) {
        logLines = logLines.slice(logFirst);
        logFirst = 0;
      }
      this.emit({ type: 'log', stage: name, message });
    };
    const failed = (f: StageFailure) => {
      // bad data, a bad pipeline or no convergence is the user's to fix, not a bug: the formatted message says it all
      const userError = ['invalidInput', 'invalidPipeline', 'notConverged', 'usage'].includes(f.kind);
      let error = userError || !f.stack ? f.message : f.stack.includes(f.message) ? f.stack : `${f.message}\n${f.stack}`;
      if (f.log) error += `\n(log: ${f.log})`;
      this.finish({ stage: name, status: 'failed', key, duration_ms: elapsed(), reason, reasons: why, error, error_kind: f.kind });
    };
    try {
      let inputs: { json: Record<string, string>; paths: Record<string, string> };
      const preparing = now();
      try {
        inputs = this.checkedInputs(stage);
      } catch (error) {
        return failed({ message: (error as Error).message, kind: (error as { kind?: string }).kind ?? 'internal' });
      }
      mkdirSync(workDir, { recursive: true });
      const job = await this.jobFor(stage, fp, inputs, workDir);
      timings.inputs_ms = since(preparing);
      const executor = await this.executorInUse();
      const { prepareValidators, collectOutputs, adoptPublished } = await import('./outputs.js');
      const executing = now();
      const onTimings = (t: { import_ms: number; code_ms: number; write_ms: number }) => Object.assign(timings, { import_ms: t.import_ms, code_ms: t.code_ms, write_ms: t.write_ms });
      const execution = executor.execute(job, { onLog, onTimings, signal: this.options.signal });
      // Start the next stage process while this one runs, if a module stage is still to come.
      if (stage.run !== undefined && this.modulesToStart > 0) executor.warm?.(1);
      prepareValidators(this.pipeline, fp);
      const outcome: ExecutionOutcome = await execution;
      timings.executor_ms = since(executing);
      if (outcome.failure) return failed(outcome.failure);
      const collecting = now();
      const collected = outcome.published ? adoptPublished(this.pipeline, stage, fp, outcome.published, this.cache) : await collectOutputs(this.pipeline, stage, fp, workDir, this.cache);
      timings.collect_ms = since(collecting);
      if (!('outs' in collected)) return failed(collected);
      const recording = now();
      const ended = new Date();
      const recorded = lockedEntryFor(fp, collected.outs, outcome.place.started ? new Date(outcome.place.started) : started, outcome.place.ended ? new Date(outcome.place.ended) : ended, outcome.place);
      writeRunCache(this.root, recorded);
      this.writer?.record(name, recorded);
      timings.record_ms = since(recording);
      const unchanged = entry !== undefined && sameOutputs(entry.outs, collected.outs);
      this.finish(
        {
          stage: name,
          status: 'ran',
          key,
          duration_ms: elapsed(),
          reason: unchanged ? `${reason} (outputs unchanged: downstream stays cached)` : reason,
          reasons: why,
          outputs: hashesOf(collected.outs),
          executor: outcome.place.executor,
          ...(outcome.place.host ? { host: outcome.place.host } : {}),
          ...(outcome.place.job_id ? { job_id: outcome.place.job_id } : {}),
        },
        collected.outs,
      );
    } catch (error) {
      this.finish({ stage: name, status: 'failed', key, duration_ms: elapsed(), reason, reasons: why, error: errorText(error) });
    } finally {
      rmSync(workDir, { recursive: true, force: true });
      // The log of the stage's last run (its ctx.log lines and output), for reading after the progress display.
      try {
        const header = `# spillway: stage ${name}, ${started.toISOString()}, ${reason}\n${logDropped > 0 ? `# spillway: the first ${logDropped} lines are not kept (the log keeps its last ${LOG_KEEP / 2 ** 20} MiB)\n` : ''}`;
        writeFileAtomic(join(this.root, '.spillway', 'logs', `${name}.log`), header + logLines.slice(logFirst).map((l) => `${l}\n`).join(''), { sync: false });
      } catch {
        /* the log is a convenience */
      }
    }
  }

  /** The plain-JSON job an executor runs: everything the stage may read, and where it writes. */
  private async jobFor(stage: StageDecl, fp: Fingerprint, inputs: { json: Record<string, string>; paths: Record<string, string> }, workDir: string): Promise<StageJob> {
    const deps = fp.deps.map((d) => resolve(this.root, d.path.replace(/\/$/, '')));
    const job: StageJob = {
      stage: stage.name,
      key: fp.key as string,
      projectRoot: this.root,
      ...(stage.run !== undefined ? { module: resolve(this.root, stage.run) } : { cmd: stage.cmd as string[] }),
      params: nestParams(fp.params),
      jsonInputs: inputs.json,
      inputPaths: inputs.paths,
      deps,
      jsonOuts: stage.outs.filter((o) => o.kind === 'json').map((o) => o.name),
      fileOuts: Object.fromEntries(stage.outs.filter((o) => o.kind !== 'json').map((o) => [o.name, o.kind as 'file' | 'dir'])),
      outSchemas: fp.schemas,
      workDir,
      ...(stage.timeoutMs !== undefined ? { timeoutMs: stage.timeoutMs } : {}),
      ...(stage.resources !== undefined ? { resources: stage.resources } : {}),
    };
    if (stage.cmd !== undefined) {
      const { commandEnv } = await import('./execute.js');
      job.env = commandEnv(stage, this.pipeline, fp, inputs, workDir, deps);
    }
    return job;
  }
}

/** Whether anything is at `path`, a dangling symlink included (existsSync follows links: a dangling one is not there). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export async function runPipeline(options: RunOptions): Promise<RunReport> {
  const pipeline = options.pipeline ?? (await loadPipeline(options.pipelineFile, { overrides: options.overrides }));
  const selected = selectStages(pipeline, options.targets);
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const release = options.dryRun || options.lockHeld ? () => {} : await acquireProjectLock(pipeline.root, { wait: options.wait, signal: options.signal, command: 'run' });
  let run: PipelineRun | undefined;
  try {
    // temp files a killed run left next to declared outputs (<out>.tmp-<pid>…, <out>.old-<pid>), once the lock is held
    if (!options.dryRun && !options.lockHeld) cleanStaleOutputTemps(pipeline.root, Object.values(pipeline.stages).flatMap((s) => s.outs.flatMap((o) => (o.path ? [o.path] : []))));
    const lockFile = options.lockFile ?? pipeline.lockFile;
    const previous = readLockfile(pipeline.root, lockFile);
    const tmpRoot = join(pipeline.root, '.spillway', 'tmp');
    // leftovers of a killed run (looked for first: a recursive rmSync loads node's rimraf, most of a millisecond)
    if (!options.dryRun && !options.lockHeld && present(tmpRoot)) rmSync(tmpRoot, { recursive: true, force: true });
    const pipelineRef = { path: relative(pipeline.root, pipeline.file).split(sep).join('/'), hash: pipeline.hash };
    const writer = options.dryRun ? undefined : new LockWriter(pipeline.root, lockFile, pipeline.order, pipelineRef, previous);
    run = new PipelineRun(pipeline, options, previous, writer);
    run.lockfileTrusted = previous !== undefined && run.cache.lockfileTrusted(lockFile);
    if (!options.dryRun && selected.some((n) => pipeline.stages[n].run !== undefined && previous?.stages[n] === undefined)) run.prewarm();
    run.emit({ type: 'plan', stages: selected, jobs });

    // Scheduler, in O(stages + edges): a stage is ready once its last upstream stage is done; ready stages start in
    // the order they became ready, at most `jobs` at a time.
    const chosen = new Set(selected);
    const waiting = new Map<string, number>();
    const downstream = new Map<string, string[]>();
    for (const name of selected) {
      const ups = pipeline.stages[name].upstream.filter((u) => chosen.has(u));
      waiting.set(name, ups.length);
      for (const u of ups) {
        const list = downstream.get(u);
        if (list) list.push(name);
        else downstream.set(u, [name]);
      }
    }
    const ready = selected.filter((n) => waiting.get(n) === 0);
    run.modulesToStart = selected.filter((n) => pipeline.stages[n].run !== undefined).length;
    const running = new Map<string, Promise<void>>();
    const start = (name: string) => {
      const finished = () => {
        running.delete(name);
        for (const d of downstream.get(name) ?? []) {
          const left = (waiting.get(d) as number) - 1;
          waiting.set(d, left);
          if (left === 0) ready.push(d);
        }
      };
      running.set(name, (run as PipelineRun).process(name).finally(finished));
    };
    let next = 0;
    while (next < ready.length || running.size > 0) {
      while (next < ready.length && running.size < jobs) start(ready[next++]);
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    // The lockfile is written as stages finish (at most every WRITE_INTERVAL_MS); this writes what is left.
    writer?.flush();
    const stages = selected.map((n) => run?.reports.get(n) as StageReport);
    const ok = stages.every((s) => s.status !== 'failed');
    // Every entry is now one this run wrote or checked: unless a failed stage or an unselected one kept an old entry
    // unchecked, the next run may skip the cross-check while the file stays as it is.
    if (writer && ok && !options.signal?.aborted && (run.lockfileTrusted || selected.length === pipeline.order.length)) run.cache.trustLockfile(lockFile);
    return { ok, stages, ...(options.signal?.aborted ? { interrupted: true } : {}) };
  } finally {
    try {
      await run?.closeExecutor();
      run?.cache.save();
    } finally {
      release();
    }
    const tmp = join(pipeline.root, '.spillway', 'tmp');
    if (!options.dryRun && !options.lockHeld && present(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
}
