// runPipeline: decide per stage (cached / restore from run cache / run), run what must run with bounded concurrency,
// and record each finished stage in the store, the run cache and the lockfile as soon as it finishes.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { isSpillwayError, SpillwayError } from '../errors.js';
import type { ExecutionInputs, StageFailure, StageProcessPool } from './execute.js';
import { describeReasons, diffAgainstLock, fingerprintStage, type Fingerprint, type StaleReason } from './fingerprint.js';
import { cleanStaleOutputTemps, writeFileAtomic } from './fs-atomic.js';
import { StatCache } from './hash.js';
import { readLockfile, writeLockfile } from './lockfile.js';
import type { Lockfile, LockedOutput, LockedStage } from './lockfile-format.js';
import { loadPipeline, selectStages, type Pipeline, type StageDecl } from './pipeline.js';
import { acquireProjectLock } from './project-lock.js';
import { nestParams } from './stage-context.js';
import { hasDir, hasObject, hashDir, isDirectory, materializeDir, materializeFile, objectPath, putDir, putFile, runCachePath } from './store.js';

export const ENGINE_VERSION = '0.1.0';

export type StageRunStatus = 'ran' | 'cached' | 'failed' | 'skipped' | 'would-run';

export interface StageReport {
  stage: string;
  status: StageRunStatus;
  /** the cache key ("" when it could not be computed, e.g. skipped or in a dry run behind a stale stage) */
  key: string;
  duration_ms: number;
  reason: string;
  error?: string;
  /** for failed stages: the kind of failure ('crash', 'exit', 'schema', 'outputs', 'interrupted', or a SpillwayError kind such as 'invalidInput' or 'notConverged' thrown by the stage) */
  error_kind?: string;
  /** the structured reasons behind `reason` */
  reasons?: StaleReason[];
  /** output name → content hash */
  outputs?: Record<string, string>;
  /** true when a cached stage's outputs came from the run cache (a key seen in an earlier run) */
  restored?: boolean;
}

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
}

interface Done {
  status: 'ran' | 'cached' | 'failed' | 'skipped' | 'would-run';
  /** output name → hash, known when the stage succeeded (or, in a dry run, when it is up to date) */
  outputs?: Record<string, LockedOutput>;
}

function now(): number {
  return performance.now();
}

/** Checks a cached stage's outputs: objects present (re-stored from an intact copy if not), readable copies restored. */
function ensureOutputs(root: string, entry: LockedStage, cache: StatCache, onRestore: (path: string) => void): string | undefined {
  for (const [name, out] of Object.entries(entry.outs)) {
    const target = resolve(root, out.path);
    if (out.kind === 'dir') {
      const present = isDirectory(target) ? hashDir(target, cache).hash : undefined;
      if (!hasDir(root, out.hash)) {
        if (present !== out.hash) return `output ${name} is missing from the store (artifacts/) and ${out.path} differs`;
        putDir(root, target, cache);
      } else if (present !== out.hash) {
        materializeDir(root, out.hash, target, cache);
        onRestore(out.path);
      }
    } else {
      let present: string | undefined;
      try {
        present = cache.hashFile(target).hash;
      } catch {
        present = undefined;
      }
      if (!hasObject(root, out.hash)) {
        if (present !== out.hash) return `output ${name} is missing from the store (artifacts/) and ${out.path} differs`;
        putFile(root, target, out.hash);
      } else if (present !== out.hash) {
        materializeFile(root, out.hash, target, cache);
        onRestore(out.path);
      }
    }
  }
  return undefined;
}

function readRunCache(root: string, key: string): LockedStage | undefined {
  try {
    return JSON.parse(readFileSync(runCachePath(root, key), 'utf8')) as LockedStage;
  } catch {
    return undefined;
  }
}

function outputsPresent(root: string, entry: LockedStage): boolean {
  return Object.values(entry.outs).every((o) => (o.kind === 'dir' ? hasDir(root, o.hash) : hasObject(root, o.hash)));
}

function inputsFor(pipeline: Pipeline, stage: StageDecl, done: Map<string, Done>): { hashes: Record<string, string | undefined>; exec: ExecutionInputs } {
  const hashes: Record<string, string | undefined> = {};
  const exec: ExecutionInputs = { json: {}, paths: {} };
  for (const input of stage.inputs) {
    const out = done.get(input.stage)?.outputs?.[input.output];
    hashes[input.name] = out?.hash;
    if (!out) continue;
    if (out.kind === 'json') exec.json[input.name] = objectPath(pipeline.root, out.hash);
    else exec.paths[input.name] = resolve(pipeline.root, out.path);
  }
  return { hashes, exec };
}

export async function runPipeline(options: RunOptions): Promise<RunReport> {
  const pipeline = options.pipeline ?? (await loadPipeline(options.pipelineFile, { overrides: options.overrides }));
  const emit = options.onEvent ?? (() => {});
  const selected = selectStages(pipeline, options.targets);
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const release = options.dryRun ? () => {} : await acquireProjectLock(pipeline.root, { wait: options.wait, signal: options.signal, command: 'run' });
  // [safety, issue 9 item 8] temp files a killed run left next to declared outputs (<out>.tmp-<pid>…, <out>.old-<pid>)
  if (!options.dryRun) cleanStaleOutputTemps(pipeline.root, Object.values(pipeline.stages).flatMap((s) => s.outs.flatMap((o) => (o.path ? [o.path] : []))));
  const cache = new StatCache(pipeline.root);
  const root = pipeline.root;
  const tmpRoot = join(root, '.spillway', 'tmp');
  let pool: StageProcessPool | undefined;
  try {
    if (!options.dryRun) rmSync(tmpRoot, { recursive: true, force: true }); // leftovers of a killed run
    const lockText = (() => {
      try {
        return readFileSync(pipeline.lockFile, 'utf8');
      } catch {
        return undefined;
      }
    })();
    const previous: Lockfile | undefined = lockText === undefined ? undefined : readLockfile(root, pipeline.lockFile);
    const lock: Lockfile = {
      spillway_lock: 1,
      pipeline: { path: cache.relative(pipeline.file), hash: pipeline.hash },
      stages: {},
    };
    for (const name of pipeline.order) if (previous?.stages[name]) lock.stages[name] = previous.stages[name];
    let lockWrites = Promise.resolve();
    const recordStage = (name: string, entry: LockedStage) => {
      lock.stages[name] = entry;
      const ordered: Lockfile = { ...lock, stages: {} };
      for (const n of pipeline.order) if (lock.stages[n]) ordered.stages[n] = lock.stages[n];
      lockWrites = lockWrites.then(() => writeLockfile(root, ordered, pipeline.lockFile));
    };

    emit({ type: 'plan', stages: selected, jobs });
    const pending = [...selected];
    const done = new Map<string, Done>();
    const reports = new Map<string, StageReport>();
    const finish = (report: StageReport, result: Done) => {
      done.set(report.stage, result);
      reports.set(report.stage, report);
      emit({ type: 'stage-end', report });
    };

    // Any unexpected error while handling one stage (an I/O error, a bug) fails that stage, never the whole run:
    // other stages may still be running and must be waited for.
    const processStage = async (name: string): Promise<void> => {
      try {
        await handleStage(name);
      } catch (error) {
        if (done.has(name)) return;
        const message = isSpillwayError(error) ? error.format() : error instanceof Error ? (error.stack ?? error.message) : String(error);
        finish({ stage: name, status: 'failed', key: '', duration_ms: 0, reason: 'internal error', error: message, error_kind: isSpillwayError(error) ? error.kind : 'internal' }, { status: 'failed' });
      }
    };

    const handleStage = async (name: string): Promise<void> => {
      const stage = pipeline.stages[name];
      const started = now();
      const elapsed = () => Math.round(now() - started);
      const blocked = stage.upstream.find((u) => ['failed', 'skipped'].includes(done.get(u)?.status ?? ''));
      if (blocked) {
        const upstreamStatus = done.get(blocked)?.status;
        return finish({ stage: name, status: 'skipped', key: '', duration_ms: 0, reason: `upstream stage ${blocked} ${upstreamStatus === 'failed' ? 'failed' : 'was skipped'}` }, { status: 'skipped' });
      }
      if (options.signal?.aborted) {
        return finish({ stage: name, status: 'skipped', key: '', duration_ms: 0, reason: 'interrupted' }, { status: 'skipped' });
      }
      const { hashes, exec } = inputsFor(pipeline, stage, done);
      let fp: Fingerprint;
      try {
        fp = await fingerprintStage(pipeline, stage, cache, hashes);
      } catch (error) {
        const message = isSpillwayError(error) ? error.format() : (error as Error).message;
        return finish(
          { stage: name, status: 'failed', key: '', duration_ms: elapsed(), reason: 'could not compute the cache key', error: message, error_kind: isSpillwayError(error) ? error.kind : 'internal' },
          { status: 'failed' },
        );
      }
      const entry = previous?.stages[name];
      const reasons = diffAgainstLock(entry, fp);
      const key = fp.key;

      if (options.dryRun) {
        const upstreamRuns = stage.upstream.filter((u) => reports.get(u)?.status === 'would-run');
        if (key === undefined) {
          const r: StaleReason[] = [...reasons, ...upstreamRuns.map((u) => ({ component: 'upstream' as const, name: u, message: `upstream ${u} will run (this stage re-runs only if its outputs change)` }))];
          reports.set(name, { stage: name, status: 'would-run', key: '', duration_ms: 0, reason: describeReasons(r), reasons: r });
          done.set(name, { status: 'would-run' });
          emit({ type: 'stage-end', report: reports.get(name) as StageReport });
          return;
        }
        const upToDate = !options.force && entry?.key === key && outputsPresent(root, entry);
        const runCached = !options.force && !upToDate && readRunCache(root, key) !== undefined && outputsPresent(root, readRunCache(root, key) as LockedStage);
        if (upToDate || runCached) {
          const source = upToDate ? (entry as LockedStage) : (readRunCache(root, key) as LockedStage);
          const report: StageReport = {
            stage: name,
            status: 'cached',
            key,
            duration_ms: 0,
            reason: upToDate ? 'up to date' : `restored from the run cache (${describeReasons(reasons)})`,
            ...(upToDate ? {} : { reasons, restored: true }),
          };
          reports.set(name, report);
          done.set(name, { status: 'cached', outputs: source.outs });
          emit({ type: 'stage-end', report });
          return;
        }
        const r = options.force ? [{ component: 'forced' as const, message: 'forced (--force)' }] : reasons.length > 0 ? reasons : [{ component: 'output' as const, message: 'outputs missing from the store' }];
        reports.set(name, { stage: name, status: 'would-run', key, duration_ms: 0, reason: describeReasons(r), reasons: r });
        done.set(name, { status: 'would-run' });
        emit({ type: 'stage-end', report: reports.get(name) as StageReport });
        return;
      }

      if (key === undefined) throw new SpillwayError('internal', `stage ${name}: inputs unknown after upstream finished`);
      if (!options.force && entry?.key === key) {
        const problem = ensureOutputs(root, entry, cache, (path) => emit({ type: 'restore', stage: name, path }));
        if (problem === undefined) {
          return finish({ stage: name, status: 'cached', key, duration_ms: elapsed(), reason: 'up to date', outputs: hashesOf(entry.outs) }, { status: 'cached', outputs: entry.outs });
        }
        reasons.push({ component: 'output', message: problem });
      }
      if (!options.force) {
        const remembered = readRunCache(root, key);
        if (remembered && outputsPresent(root, remembered)) {
          ensureOutputs(root, remembered, cache, (path) => emit({ type: 'restore', stage: name, path }));
          recordStage(name, remembered);
          const why = describeReasons(reasons);
          return finish(
            { stage: name, status: 'cached', key, duration_ms: elapsed(), reason: `restored from the run cache${why ? ` (${why})` : ''}`, reasons, outputs: hashesOf(remembered.outs), restored: true },
            { status: 'cached', outputs: remembered.outs },
          );
        }
      }
      const why = options.force ? [{ component: 'forced' as const, message: 'forced (--force)' }, ...reasons] : reasons;
      if (why.length === 0) why.push({ component: 'declaration', message: 'the stage declaration changed' });
      const reason = describeReasons(why);
      emit({ type: 'stage-start', stage: name, reason });

      // Loaded only when something runs, so that a no-op run never loads child_process, tsx or execa.
      const { commandEnv, collectOutputs, executeCommand, executeModule, prepareValidators, StageProcessPool } = await import('./execute.js');
      const workDir = join(tmpRoot, `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(workDir, { recursive: true });
      const startedAt = new Date();
      const depPaths = fp.deps.map((d) => resolve(root, d.path.replace(/\/$/, '')));
      const logLines: string[] = [];
      const onLog = (message: string) => {
        logLines.push(message);
        emit({ type: 'log', stage: name, message });
      };
      let failure: StageFailure | undefined;
      try {
        if (stage.run !== undefined) {
          pool ??= new StageProcessPool(root);
          const execution = executeModule(
            {
              stage: name,
              module: resolve(root, stage.run),
              projectRoot: root,
              params: nestParams(fp.params),
              jsonInputs: exec.json,
              inputPaths: exec.paths,
              deps: depPaths,
              jsonOuts: stage.outs.filter((o) => o.kind === 'json').map((o) => o.name),
              fileOuts: Object.fromEntries(stage.outs.filter((o) => o.kind !== 'json').map((o) => [o.name, o.kind as 'file' | 'dir'])),
              jsonDir: join(workDir, 'json'),
              filesDir: join(workDir, 'files'),
            },
            onLog,
            options.signal,
            pool,
          );
          // Warm the next stage process while this one runs, if any module stage is still to come.
          if (pending.some((n) => pipeline.stages[n].run !== undefined)) pool.warm(1);
          prepareValidators(pipeline, fp);
          failure = await execution;
        } else {
          const env = commandEnv(stage, pipeline, fp, exec, workDir, depPaths);
          const execution = executeCommand(stage, pipeline, env, onLog, options.signal);
          prepareValidators(pipeline, fp);
          failure = await execution;
        }
        let outs: Record<string, LockedOutput> | undefined;
        if (failure === undefined) {
          const collected = await collectOutputs(pipeline, stage, fp, workDir, cache);
          if ('outs' in collected) outs = collected.outs;
          else failure = collected;
        }
        if (failure !== undefined || outs === undefined) {
          const f = failure as StageFailure;
          return finish(
            { stage: name, status: 'failed', key, duration_ms: elapsed(), reason, reasons: why, error: f.stack && !f.stack.includes(f.message) ? `${f.message}\n${f.stack}` : (f.stack ?? f.message), error_kind: f.kind },
            { status: 'failed' },
          );
        }
        const endedAt = new Date();
        const lockedEntry: LockedStage = {
          key,
          code: {
            hash: fp.code.hash,
            ...(fp.code.module ? { module: fp.code.module } : {}),
            ...(fp.code.cmd ? { cmd: fp.code.cmd } : {}),
            files: fp.code.files,
            ...(Object.keys(fp.code.packages).length > 0 ? { packages: fp.code.packages } : {}),
          },
          params: fp.params,
          deps: fp.deps,
          inputs: Object.fromEntries(Object.entries(fp.inputs).map(([n, i]) => [n, { from: i.from, hash: i.hash as string }])),
          outs,
          run: {
            started: startedAt.toISOString(),
            ended: endedAt.toISOString(),
            duration_ms: endedAt.getTime() - startedAt.getTime(),
            engine_version: ENGINE_VERSION,
            node_version: process.version,
            platform: `${process.platform}-${process.arch}`,
          },
        };
        writeFileAtomic(runCachePath(root, key), JSON.stringify(lockedEntry));
        recordStage(name, lockedEntry);
        const unchanged = entry !== undefined && sameOutputs(entry.outs, outs);
        return finish(
          { stage: name, status: 'ran', key, duration_ms: elapsed(), reason: unchanged ? `${reason} (outputs unchanged: downstream stays cached)` : reason, reasons: why, outputs: hashesOf(outs) },
          { status: 'ran', outputs: outs },
        );
      } catch (error) {
        const message = isSpillwayError(error) ? error.format() : error instanceof Error ? (error.stack ?? error.message) : String(error);
        return finish({ stage: name, status: 'failed', key, duration_ms: elapsed(), reason, reasons: why, error: message }, { status: 'failed' });
      } finally {
        rmSync(workDir, { recursive: true, force: true });
        // The run log of the stage's last run: its ctx.log lines and output, for reading after the progress display.
        try {
          const header = `# spillway: stage ${name}, ${startedAt.toISOString()}, ${reason}\n`;
          writeFileAtomic(join(root, '.spillway', 'logs', `${name}.log`), header + logLines.map((l) => `${l}\n`).join(''));
        } catch {
          /* the log is a convenience */
        }
      }
    };

    // Scheduler: start every stage whose upstream is finished, at most `jobs` at a time.
    const running = new Map<string, Promise<void>>();
    while (pending.length > 0 || running.size > 0) {
      for (let i = 0; i < pending.length && running.size < jobs; ) {
        const name = pending[i];
        const ready = pipeline.stages[name].upstream.every((u) => done.has(u));
        if (!ready) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        const p = processStage(name).finally(() => running.delete(name));
        running.set(name, p);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    pool?.close();
    await lockWrites;
    if (!options.dryRun) {
      // A no-op run leaves the lockfile byte-identical; otherwise it is already written stage by stage.
      const ordered: Lockfile = { ...lock, stages: {} };
      for (const n of pipeline.order) if (lock.stages[n]) ordered.stages[n] = lock.stages[n];
      const text = `${JSON.stringify(ordered, null, 2)}\n`;
      if (text !== lockText) writeLockfile(root, ordered, pipeline.lockFile);
    }
    const stages = selected.map((n) => reports.get(n) as StageReport);
    return { ok: stages.every((s) => s.status !== 'failed'), stages, ...(options.signal?.aborted ? { interrupted: true } : {}) };
  } finally {
    pool?.close();
    try {
      cache.save();
    } finally {
      release();
    }
    if (!options.dryRun && existsSync(tmpRoot)) rmSync(tmpRoot, { recursive: true, force: true });
  }
}

function hashesOf(outs: Record<string, LockedOutput>): Record<string, string> {
  return Object.fromEntries(Object.entries(outs).map(([n, o]) => [n, o.hash]));
}

function sameOutputs(a: Record<string, LockedOutput>, b: Record<string, LockedOutput>): boolean {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k]?.hash === b[k].hash);
}
