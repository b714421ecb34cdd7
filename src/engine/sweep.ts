// Sweeps: a grid of param overrides (Cartesian) plus explicit variants, each run as an experiment with runPipeline.
//
// Sharing is content addressing: every variant reads and writes the one store (artifacts/objects) and run cache
// (artifacts/runs), so a stage whose code, declared params and inputs are equal across variants has one key and runs
// once. To make "once" hold while variants run in parallel, the first variant (in sweep order) that needs a given
// stage configuration owns it, and a variant starts only when the owners of every configuration it shares have
// finished those stages: it then restores them from the run cache. A configuration is a stage with its declared param
// values and, recursively, its upstream configurations (equal configurations give equal keys for deterministic stages).
//
// Each running variant has a workspace, .spillway/workspaces/<slot>: links to the project's files, its own readable
// outputs (artifacts/out, file/dir outputs), temp and log directories, and links to the shared store. The project's
// own pipeline.lock, artifacts/out and outputs are never touched by a sweep (`spillway exp apply` does that).
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { SpillwayError } from '../errors.js';
import {
  changedKeys,
  experimentId,
  lockPath,
  objectsOf,
  readMetrics,
  readRecord,
  writeRecord,
  type ExperimentRecord,
} from './experiments.js';
import { resolveTargets } from './expand.js';
import { hashBytes, hashJson } from './hash.js';
import { readLockfile } from './lockfile.js';
import { listParamKeys, loadPipeline, selectStages, type Pipeline } from './pipeline.js';
import { acquireProjectLock } from './project-lock.js';
import type { Executor } from './executor.js';
import { runPipeline, type RunEvent, type StageReport } from './runner.js';
import { getDotted } from './stage-context.js';
import { buildSweepSummary, summaryPath, writeSweepSummary } from './sweep-summary.js';

export interface Variant {
  id: string;
  /** dotted key → value */
  overrides: Record<string, unknown>;
}

export interface SweepSpec {
  name: string;
  description?: string;
  /** axis key → values, Cartesian in this order (first axis slowest) */
  grid: Record<string, unknown[]>;
  /** explicit variants, after the grid */
  variants: Record<string, unknown>[];
  /** stages to build (and what they need); empty: every stage */
  targets: string[];
  /** overrides every variant starts from (a variant's own values win), e.g. a smaller dataset's years */
  set?: Record<string, unknown>;
  /** project-relative path of the summary file written at the end of the sweep (sweep-summary.ts) */
  summary?: string;
  /** the sweep file it was read from, with the SHA-256 of its bytes */
  file?: { path: string; sha256: string };
}

export type SweepEvent =
  | { type: 'plan'; variants: number; jobs: number; stagesPerVariant: number }
  | { type: 'variant-start'; id: string; index: number }
  | { type: 'stage-end'; id: string; report: StageReport }
  | { type: 'variant-end'; record: ExperimentRecord; index: number };

export interface SweepOptions {
  pipelineFile: string;
  spec: SweepSpec;
  /** variants at once (default: number of cores) */
  jobs?: number;
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
  /** wait for the project lock instead of failing */
  wait?: boolean;
  /**
   * Who runs the stages. An Executor is shared by every variant (SLURM: ready stages of many variants go out together
   * as job arrays) and is not closed by the sweep; a function makes one executor per variant run, for its workspace,
   * closed when the variant ends. Default: each variant's run picks the engine's default (warm workers).
   */
  executor?: Executor | ((workspaceRoot: string) => Executor);
  /** write the sweep's summary file here (project-relative; overrides spec.summary) */
  summary?: string;
}

export interface SweepReport {
  name: string;
  ok: boolean;
  interrupted: boolean;
  variants: number;
  succeeded: number;
  failed: number;
  /** variants that executed no stage (everything restored by key) */
  cached: number;
  /** stage executions across all variants */
  executions: number;
  /** variants × stages: what running every variant on its own from scratch would execute */
  stage_runs: number;
  /** distinct stage keys across all variants */
  distinct_keys: number;
  duration_ms: number;
  /** project-relative path of the summary file written, if any */
  summary?: string;
  experiments: { id: string; status: string; executions: number; changed: string[]; params: Record<string, unknown>; duration_ms?: number }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Planning

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses a sweep file (YAML): { description?, targets?, grid?: { key: [values] }, variants?: [{ key: value }] }. */
export async function loadSweepFile(file: string): Promise<SweepSpec> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SpillwayError('usage', `sweep file not found: ${file}`, { hint: 'sweep files live in sweeps/, e.g. sweeps/robustness.yaml' });
  }
  const { parse } = await import('yaml');
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new SpillwayError('invalidPipeline', `sweep file ${file}: ${(error as Error).message.split('\n')[0]}`, { file });
  }
  const bad = (what: string, expected: string): never => {
    throw new SpillwayError('invalidPipeline', `sweep file ${file}: ${what}`, { file, expected });
  };
  if (!isMap(data)) bad('not a mapping', '{ grid: { key: [values] }, variants: [{ key: value }], targets: [stage] }');
  const doc = data as Record<string, unknown>;
  for (const k of Object.keys(doc)) if (!['description', 'targets', 'grid', 'variants', 'name', 'set', 'summary'].includes(k)) bad(`unknown key "${k}"`, 'one of: name, description, targets, set, grid, variants, summary');
  if (doc.summary !== undefined && (typeof doc.summary !== 'string' || doc.summary === '')) bad('summary must be a project-relative file path', 'summary: results/robustness.json');
  if (doc.set !== undefined && !isMap(doc.set)) bad('set must be a mapping of param key → value', 'set: { lag.years: 2 }');
  const grid: Record<string, unknown[]> = Object.create(null);
  if (doc.grid !== undefined) {
    if (!isMap(doc.grid)) bad('grid must be a mapping of param key → list of values', 'grid: { classify.top_share: [0.2, 0.25] }');
    for (const [key, values] of Object.entries(doc.grid as Record<string, unknown>)) {
      if (!Array.isArray(values) || values.length === 0) bad(`grid.${key} must be a non-empty list of values`, `${key}: [value, value, …]`);
      grid[key] = values as unknown[];
    }
  }
  const variants: Record<string, unknown>[] = [];
  if (doc.variants !== undefined) {
    if (!Array.isArray(doc.variants)) bad('variants must be a list of { param key: value } maps', 'variants: [{ classify.criterion: nano_patents }]');
    (doc.variants as unknown[]).forEach((v, i) => {
      if (!isMap(v)) bad(`variants[${i}] must be a { param key: value } map`, '{ classify.criterion: nano_patents }');
      variants.push(v as Record<string, unknown>);
    });
  }
  const targets = doc.targets === undefined ? [] : Array.isArray(doc.targets) ? doc.targets.map(String) : bad('targets must be a list of stage names', 'targets: [estimate]');
  const base = file.split('/').pop() as string;
  return {
    name: typeof doc.name === 'string' ? doc.name : base.replace(/\.ya?ml$/i, ''),
    ...(typeof doc.description === 'string' ? { description: doc.description } : {}),
    grid,
    variants,
    targets,
    ...(doc.set !== undefined ? { set: doc.set as Record<string, unknown> } : {}),
    ...(typeof doc.summary === 'string' ? { summary: doc.summary } : {}),
    file: { path: file, sha256: hashBytes(text).replace(/^sha256:/, '') },
  };
}

/** A command-line value read as YAML (0.3 a number, true a boolean, [a, b] a list); unparsable text stays a string. */
export async function parseValue(raw: string): Promise<unknown> {
  const { parse } = await import('yaml');
  try {
    const v = parse(raw) as unknown;
    return v === undefined ? null : v;
  } catch {
    return raw;
  }
}

/** `--grid key=v1,v2` (values read as YAML scalars). */
export async function parseGridArg(text: string): Promise<[string, unknown[]]> {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new SpillwayError('usage', `--grid expects key=v1,v2,…, got "${text}"`, { hint: 'e.g. --grid classify.top_share=0.2,0.25' });
  const values = await Promise.all(text.slice(eq + 1).split(',').map((v) => parseValue(v.trim())));
  return [text.slice(0, eq).trim(), values];
}

/** `--variant 'k=v,k2=v2'`. */
export async function parseVariantArg(text: string): Promise<Record<string, unknown>> {
  // no prototype: a key "__proto__" is an own key, refused later as an unknown param, not a silent prototype change
  const out: Record<string, unknown> = Object.create(null);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SpillwayError('usage', `--variant expects k=v,k2=v2, got "${text}"`, { hint: "e.g. --variant 'classify.criterion=nano_patents,lag.years=2'" });
    out[part.slice(0, eq).trim()] = await parseValue(part.slice(eq + 1).trim());
  }
  return out;
}

/** The grid's Cartesian product (first axis slowest), then the explicit variants; the same overrides only once. */
export function planVariants(spec: Pick<SweepSpec, 'grid' | 'variants' | 'set'>): Variant[] {
  let sets: Record<string, unknown>[] = Object.keys(spec.grid).length > 0 ? [{}] : [];
  for (const [key, values] of Object.entries(spec.grid)) sets = sets.flatMap((s) => values.map((v) => ({ ...s, [key]: v })));
  const out: Variant[] = [];
  const seen = new Set<string>();
  for (const own of [...sets, ...spec.variants]) {
    const overrides = { ...spec.set, ...own };
    const id = experimentId(overrides);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, overrides });
  }
  return out;
}

function overrideArgs(overrides: Record<string, unknown>): string[] {
  // JSON is YAML: loadPipeline reads each value back exactly.
  return Object.entries(overrides).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

/** Each stage's configuration: its declared param values (instances: with their bound values) and its upstream's. */
export function stageConfigurations(pipeline: Pipeline, stages: string[]): Map<string, string> {
  const configs = new Map<string, string>();
  for (const name of pipeline.order) {
    if (!stages.includes(name)) continue;
    const stage = pipeline.stages[name];
    const params: Record<string, unknown> = {};
    for (const key of stage.params) params[key] = getDotted(pipeline.params, key).value;
    if (stage.instance) Object.assign(params, stage.instance.params);
    configs.set(name, hashJson({ name, params, inputs: stage.inputs.map((i) => [i.name, i.ref, configs.get(i.stage) ?? null]) }));
  }
  return configs;
}

// ---------------------------------------------------------------------------------------------------------------
// Workspaces

const NEVER_LINKED = new Set(['.spillway', 'artifacts', '.git']);

/** Builds (or refreshes) a workspace: links to the project's entries, except outputs, the lockfile and spillway's state. */
export function prepareWorkspace(pipeline: Pipeline, ws: string): void {
  const root = pipeline.root;
  const outPaths = Object.values(pipeline.stages).flatMap((s) => s.outs.filter((o) => o.path !== undefined).map((o) => o.path as string));
  const lockName = relative(root, pipeline.lockFile);
  mkdirSync(ws, { recursive: true });
  // links of an earlier sweep may point at files that are gone; directories mirrored for outputs are rebuilt
  for (const entry of readdirSync(ws)) if (!NEVER_LINKED.has(entry)) rmSync(join(ws, entry), { recursive: true, force: true });
  const mirror = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (rel === '' && (NEVER_LINKED.has(entry.name) || entry.name === lockName)) continue;
      if (outPaths.includes(path)) continue;
      if (outPaths.some((o) => o.startsWith(`${path}/`)) && entry.isDirectory()) {
        mkdirSync(join(ws, path), { recursive: true });
        mirror(path);
        continue;
      }
      symlinkSync(join(root, path), join(ws, path));
    }
  };
  mirror('');
  for (const shared of ['objects', 'runs']) {
    mkdirSync(join(root, 'artifacts', shared), { recursive: true });
    const link = join(ws, 'artifacts', shared);
    mkdirSync(join(ws, 'artifacts'), { recursive: true });
    if (!isLink(link)) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(join(root, 'artifacts', shared), link);
    }
  }
  mkdirSync(join(root, '.spillway', 'ts-cache'), { recursive: true });
  mkdirSync(join(ws, '.spillway'), { recursive: true });
  const tsCache = join(ws, '.spillway', 'ts-cache');
  if (!isLink(tsCache)) {
    rmSync(tsCache, { recursive: true, force: true });
    symlinkSync(join(root, '.spillway', 'ts-cache'), tsCache);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Running

const sleepUntil = () => {
  let wake: () => void = () => {};
  const promise = new Promise<void>((r) => (wake = r));
  return { promise, wake };
};

export async function runSweep(options: SweepOptions): Promise<SweepReport> {
  const started = performance.now();
  const emit = options.onEvent ?? (() => {});
  const base = await loadPipeline(options.pipelineFile);
  const root = base.root;
  const variants = planVariants(options.spec);
  if (variants.length === 0) throw new SpillwayError('usage', 'the sweep has no variants', { hint: 'give --grid key=v1,v2, --variant k=v, or a sweep file with grid: or variants:' });
  // Load every variant first: a misspelt key or a bad value stops the sweep before anything runs.
  for (const key of new Set(variants.flatMap((v) => Object.keys(v.overrides)))) {
    if (!getDotted(base.params, key).found) {
      throw new SpillwayError('usage', `sweep: no param "${key}" in ${relative(process.cwd(), base.file) || base.file}`, {
        expected: `one of: ${listParamKeys(base.params).join(', ')}`,
        hint: 'a sweep varies params defined under `params:`; check the spelling',
      });
    }
  }
  // a summary path outside the project stops the sweep before anything runs
  const summaryFile = options.summary ?? options.spec.summary;
  if (summaryFile !== undefined) summaryPath(root, summaryFile);
  const loaded = await Promise.all(variants.map((v) => loadPipeline(options.pipelineFile, { overrides: overrideArgs(v.overrides) })));
  const selected = selectStages(base, options.spec.targets);
  const requested = Math.max(1, options.jobs ?? availableParallelism());
  const jobs = Math.min(requested, variants.length);
  // fewer variants than jobs: each variant may run independent stages side by side
  const stageJobs = Math.max(1, Math.floor(requested / jobs));
  const release = await acquireProjectLock(root, { command: 'sweep', wait: options.wait, signal: options.signal });
  try {
    emit({ type: 'plan', variants: variants.length, jobs, stagesPerVariant: selected.length });
    const configs = loaded.map((p) => stageConfigurations(p, selected));
    // owner of a configuration: the first variant needing it; done once the owner's stage has ended
    const owners = new Map<string, { variant: number; done: boolean }>();
    configs.forEach((c, i) => {
      for (const config of c.values()) if (!owners.has(config)) owners.set(config, { variant: i, done: false });
    });
    // the scheduler sleeps until a configuration is done or a variant ends
    let wakeup = sleepUntil();
    const poke = () => wakeup.wake();
    const finishConfig = (config: string) => {
      const owner = owners.get(config);
      if (!owner || owner.done) return;
      owner.done = true;
      poke();
    };
    const ready = (i: number) => [...configs[i].values()].every((c) => {
      const o = owners.get(c);
      return o === undefined || o.variant === i || o.done;
    });

    const records: ExperimentRecord[] = [];
    const keys = new Set<string>();
    const pending = variants.map((_, i) => i);
    const freeSlots = Array.from({ length: jobs }, (_, i) => i);

    const runVariant = async (i: number, slot: number): Promise<void> => {
      const variant = variants[i];
      const ws = join(root, '.spillway', 'workspaces', String(slot));
      const source = loaded[i];
      prepareWorkspace(source, ws);
      const pipeline: Pipeline = { ...source, file: join(ws, relative(root, source.file)), root: ws, lockFile: lockPath(root, variant.id) };
      const startedAt = new Date();
      const previous = readRecord(root, variant.id);
      const record: ExperimentRecord = {
        spillway_experiment: 1,
        id: variant.id,
        sweep: options.spec.name,
        params: variant.overrides,
        changed: changedKeys(base.params, variant.overrides),
        status: 'running',
        started: startedAt.toISOString(),
        pipeline: { path: relative(root, base.file), hash: base.hash },
        targets: options.spec.targets,
        stages: {},
        executions: 0,
        metrics: previous?.metrics ?? {},
        lockfile: relative(root, lockPath(root, variant.id)),
        objects: previous?.objects ?? [],
      };
      writeRecord(root, record);
      emit({ type: 'variant-start', id: variant.id, index: i });
      const onEvent = (e: RunEvent) => {
        if (e.type !== 'stage-end') return;
        const config = configs[i].get(e.report.stage);
        if (config !== undefined && owners.get(config)?.variant === i) finishConfig(config);
        emit({ type: 'stage-end', id: variant.id, report: e.report });
      };
      try {
        const executor = typeof options.executor === 'function' ? options.executor(ws) : options.executor;
        let report: Awaited<ReturnType<typeof runPipeline>>;
        try {
          report = await runPipeline({ pipelineFile: pipeline.file, pipeline, targets: options.spec.targets, jobs: stageJobs, signal: options.signal, onEvent, ...(executor ? { executor } : {}) });
        } finally {
          if (executor !== undefined && executor !== options.executor) await executor.close();
        }
        for (const s of report.stages) {
          record.stages[s.stage] = { status: s.status, key: s.key, duration_ms: s.duration_ms, ...(s.error ? { error: s.error.slice(0, 4000) } : {}) };
          if (s.key) keys.add(s.key);
        }
        // a stage that ran, or ran and failed, was executed; everything else was restored by key or not reached
        record.executions = report.stages.filter((s) => s.status === 'ran' || (s.status === 'failed' && s.key !== '')).length;
        const failures = report.stages.filter((s) => s.status === 'failed');
        record.status = report.interrupted ? 'interrupted' : failures.length > 0 ? 'failed' : 'ok';
        if (failures.length > 0) record.failure = failures.map((s) => ({ stage: s.stage, ...(s.error_kind ? { kind: s.error_kind } : {}), message: (s.error ?? s.reason).slice(0, 2000) }));
        const lock = readLockfile(root, pipeline.lockFile);
        if (lock) {
          record.metrics = readMetrics(root, pipeline, lock);
          record.objects = objectsOf(lock);
        }
      } catch (error) {
        record.status = options.signal?.aborted ? 'interrupted' : 'failed';
        record.failure = [{ stage: '(sweep)', message: error instanceof Error ? error.message : String(error) }];
      } finally {
        for (const config of configs[i].values()) if (owners.get(config)?.variant === i) finishConfig(config);
        const endedAt = new Date();
        record.ended = endedAt.toISOString();
        record.duration_ms = endedAt.getTime() - startedAt.getTime();
        writeRecord(root, record);
        records[i] = record;
        emit({ type: 'variant-end', record, index: i });
      }
    };

    const running = new Set<Promise<void>>();
    while (pending.length > 0 || running.size > 0) {
      while (freeSlots.length > 0 && !options.signal?.aborted) {
        const at = pending.findIndex(ready);
        if (at < 0) break;
        const [i] = pending.splice(at, 1);
        const slot = freeSlots.shift() as number;
        const p: Promise<void> = runVariant(i, slot).finally(() => {
          running.delete(p);
          freeSlots.push(slot);
          poke();
        });
        running.add(p);
      }
      if (options.signal?.aborted) pending.splice(0);
      if (running.size === 0) {
        if (pending.length === 0) break;
        // nothing running and nothing ready cannot happen (owners come first); fail loudly rather than hang
        throw new SpillwayError('internal', `sweep scheduler stuck with ${pending.length} variants waiting`);
      }
      await wakeup.promise;
      wakeup = sleepUntil();
    }

    const finished = records.filter((r): r is ExperimentRecord => r !== undefined);
    const interrupted = options.signal?.aborted === true || finished.length < variants.length;
    const summary = writeSummary(options, base, variants, records);
    return {
      name: options.spec.name,
      ok: !interrupted && finished.every((r) => r.status === 'ok'),
      interrupted,
      variants: variants.length,
      succeeded: finished.filter((r) => r.status === 'ok').length,
      failed: finished.filter((r) => r.status === 'failed').length,
      cached: finished.filter((r) => r.status === 'ok' && r.executions === 0).length,
      executions: finished.reduce((s, r) => s + r.executions, 0),
      stage_runs: variants.length * selected.length,
      distinct_keys: keys.size,
      duration_ms: Math.round(performance.now() - started),
      experiments: finished.map((r) => ({ id: r.id, status: r.status, executions: r.executions, changed: r.changed, params: r.params, ...(r.duration_ms !== undefined ? { duration_ms: r.duration_ms } : {}) })),
      ...(summary !== undefined ? { summary } : {}),
    };
  } finally {
    release();
  }
}

/** Writes the sweep's summary file when the sweep (or --summary) names one; returns its project-relative path. */
function writeSummary(options: SweepOptions, base: Pipeline, variants: Variant[], records: (ExperimentRecord | undefined)[]): string | undefined {
  const path = options.summary ?? options.spec.summary;
  if (path === undefined) return undefined;
  const abs = summaryPath(base.root, path);
  const root = base.root;
  // the target stages themselves (every instance of an expanded one), not what they need
  const targets = options.spec.targets.length > 0 ? resolveTargets(base, options.spec.targets) : [...base.order];
  const file = options.spec.file ? { path: relative(root, resolve(options.spec.file.path)) || options.spec.file.path, sha256: options.spec.file.sha256 } : undefined;
  writeSweepSummary(abs, buildSweepSummary({
    root,
    spec: { ...options.spec, ...(file ? { file } : {}) },
    pipeline: { path: relative(root, base.file), hash: base.hash, params: base.params },
    targetStages: targets,
    variants,
    records,
    lockOf: (id) => readLockfile(root, lockPath(root, id)),
  }));
  return relative(root, abs);
}
