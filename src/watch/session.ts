// Watch mode: observe everything that enters some stage's key, and re-run the pipeline after a short quiet period.
//
// Changes that arrive while a run is under way are COALESCED into one follow-up run, not used to cancel the run:
// - the engine records every stage in the store and the lockfile the moment it finishes, so the work of the
//   running stages is kept; the follow-up run re-runs only what the new changes affect (the rest is cached);
// - cancelling would kill stage processes half way, throwing away work that is usually still valid (an edit to
//   the report stage must not kill a long estimate stage upstream of it), and an editor that saves in bursts
//   would cancel runs over and over without ever finishing one;
// - at most one follow-up is queued however many changes arrive, so the pipeline is never more than one run
//   behind the files.
//
// chokidar 4 has no globs: directories are watched (the parents of watched files without recursion, the base
// directories of dep globs recursively) and each event path is matched against the watched files and, with
// picomatch, against the dep globs. Watching directories rather than files also sees editors' atomic saves
// (write a temp file, rename it over the original) as one change of the original.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { isSpillwayError, SpillwayError } from '../errors.js';
import type { Pipeline, RunReport, StageReport, WatchTargets } from '../engine/index.js';

export interface WatchOptions {
  pipelineFile: string;
  targets?: string[];
  jobs?: number;
  overrides?: string[];
  /** quiet period after the last change before a run starts */
  debounceMs?: number;
  onEvent: (event: WatchEvent) => void;
}

export interface RunSummary {
  event: 'run';
  run: number;
  /** 'start' for the first run, 'change' afterwards */
  trigger: 'start' | 'change';
  /** project-relative paths that changed since the previous run */
  changed: string[];
  ok: boolean;
  started: string;
  duration_ms: number;
  ran: string[];
  cached: string[];
  failed: { stage: string; error: string }[];
  skipped: string[];
  interrupted?: boolean;
  /** the pipeline file could not be loaded, or the run could not start: nothing ran */
  error?: Record<string, unknown>;
  stages: Omit<StageReport, 'reasons'>[];
}

export type WatchEvent =
  | RunSummary
  | { event: 'start'; run: number; trigger: RunSummary['trigger']; changed: string[] }
  | { event: 'ready'; files: number; globs: string[]; directories: number }
  | { event: 'stopped'; runs: number };

type Chokidar = typeof import('chokidar');
type FSWatcher = import('chokidar').FSWatcher;
type Matcher = (relativePath: string) => boolean;

/** Directories whose contents never enter a key: the store, caches, VCS and dependencies. */
const IGNORED_DIRS = new Set(['node_modules', '.git', '.spillway', 'artifacts']);
const GLOB_CHARS = /[*?[\]{}]/;

export class WatchSession {
  private readonly pipelineFile: string;
  private readonly root: string;
  private readonly debounceMs: number;
  private pipeline: Pipeline | undefined;
  private reloadPipeline = true;
  private files = new Set<string>();
  /** absolute paths of the declared file and dir outputs */
  private outputs: string[] = [];
  /** deps that are directories: any file under them counts */
  private dirs = new Set<string>();
  private globs: { pattern: string; match: Matcher }[] = [];
  private shallow: DirectoryWatcher | undefined;
  private deep: DirectoryWatcher | undefined;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private controller: AbortController | undefined;
  private runs = 0;
  private stopping = false;

  constructor(private readonly options: WatchOptions) {
    this.pipelineFile = path.resolve(options.pipelineFile);
    this.root = path.dirname(this.pipelineFile);
    this.debounceMs = options.debounceMs ?? 200;
  }

  /** Starts watching, runs once, then reports ready. */
  async start(): Promise<void> {
    // load the pipeline first so that the first watch set is complete; an invalid pipeline still gets watched
    try {
      const engine = await import('../engine/index.js');
      this.pipeline = await engine.loadPipeline(this.pipelineFile, { overrides: this.options.overrides });
      this.reloadPipeline = false;
    } catch {
      this.pipeline = undefined;
    }
    const { shallow, deep } = await this.computeTargets();
    const chokidar: Chokidar = await import('chokidar');
    const ignored = (p: string) => path.relative(this.root, p).split(path.sep).some((part) => IGNORED_DIRS.has(part));
    const onEvent = (changed: string) => this.onChange(path.resolve(changed));
    this.shallow = new DirectoryWatcher((paths) => chokidar.watch(paths, { ignoreInitial: true, depth: 0, ignored }), onEvent);
    this.deep = new DirectoryWatcher((paths) => chokidar.watch(paths, { ignoreInitial: true, ignored }), onEvent);
    await Promise.all([this.shallow.sync(shallow), this.deep.sync(deep)]);
    this.current = this.run('start');
    await this.current;
    if (!this.stopping) this.options.onEvent({ event: 'ready', files: this.files.size, globs: this.globs.map((g) => g.pattern), directories: (this.shallow?.size ?? 0) + (this.deep?.size ?? 0) });
  }

  /** Ctrl-C: interrupt the run under way (the engine keeps every finished stage), stop watching. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.timer);
    this.controller?.abort();
    await this.current;
    await Promise.all([this.shallow?.close(), this.deep?.close()]);
    this.options.onEvent({ event: 'stopped', runs: this.runs });
  }

  private relative(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  private isWatched(abs: string): boolean {
    if (abs === this.pipelineFile || this.files.has(abs)) return true;
    // the pipeline's own file and dir outputs are written by the runs: never a reason to run again
    if (this.outputs.some((out) => abs === out || abs.startsWith(out + path.sep))) return false;
    for (const dir of this.dirs) if (abs.startsWith(dir + path.sep)) return true;
    const rel = this.relative(abs);
    return !rel.startsWith('..') && this.globs.some((g) => g.match(rel));
  }

  private onChange(abs: string): void {
    if (this.stopping || !this.isWatched(abs)) return;
    if (abs === this.pipelineFile) this.reloadPipeline = true;
    this.pending.add(this.relative(abs));
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // a run under way picks the pending changes up when it ends: one follow-up run, however many changes
      if (this.current === undefined && !this.stopping) this.current = this.run('change');
    }, this.debounceMs);
  }

  private async run(trigger: RunSummary['trigger']): Promise<void> {
    const changed = [...this.pending].sort();
    this.pending.clear();
    const number = ++this.runs;
    const started = new Date();
    const t0 = performance.now();
    this.options.onEvent({ event: 'start', run: number, trigger, changed });
    const summary = (fields: Partial<RunSummary>): RunSummary => ({
      event: 'run', run: number, trigger, changed, ok: false, started: started.toISOString(), duration_ms: Math.round(performance.now() - t0),
      ran: [], cached: [], failed: [], skipped: [], stages: [], ...fields,
    });
    try {
      const engine = await import('../engine/index.js');
      if (this.reloadPipeline || !this.pipeline) {
        this.reloadPipeline = false;
        try {
          this.pipeline = await engine.loadPipeline(this.pipelineFile, { overrides: this.options.overrides, noCache: false });
        } catch (error) {
          // keep the old targets watched (and the pipeline file): saving a fixed file starts the next run
          this.pipeline = undefined;
          this.reloadPipeline = true;
          this.options.onEvent(summary({ error: errorJson(error) }));
          return;
        }
        await this.refreshTargets();
      }
      this.controller = new AbortController();
      let report: RunReport;
      try {
        report = await engine.runPipeline({
          pipelineFile: this.pipelineFile,
          pipeline: this.pipeline,
          targets: this.options.targets,
          jobs: this.options.jobs,
          signal: this.controller.signal,
          // another `spillway run` on this project: wait for it rather than skip the change
          wait: true,
        });
      } catch (error) {
        this.options.onEvent(summary({ error: errorJson(error) }));
        return;
      }
      // code files may import new local files, a dep glob may match new directories: follow them
      await this.refreshTargets();
      const by = (status: string) => report.stages.filter((s) => s.status === status).map((s) => s.stage);
      // stages cut short by Ctrl-C are not failures of the code: list them as skipped
      const cut = (s: StageReport) => report.interrupted === true && s.status === 'failed' && s.error === 'interrupted';
      this.options.onEvent(
        summary({
          ok: report.ok && !report.interrupted,
          ran: by('ran'),
          cached: by('cached'),
          failed: report.stages.filter((s) => s.status === 'failed' && !cut(s)).map((s) => ({ stage: s.stage, error: s.error ?? s.reason })),
          skipped: [...by('skipped'), ...report.stages.filter(cut).map((s) => s.stage)],
          ...(report.interrupted ? { interrupted: true } : {}),
          stages: report.stages.map(({ reasons: _reasons, ...rest }) => rest),
        }),
      );
    } finally {
      this.controller = undefined;
      this.current = undefined;
      if (this.pending.size > 0 && !this.stopping) this.schedule();
    }
  }

  /** Recomputes what to watch from the pipeline (while it is invalid: the last good set plus the pipeline file) and updates the watchers. */
  private async refreshTargets(): Promise<void> {
    const { shallow, deep } = await this.computeTargets();
    const added = (await Promise.all([this.shallow?.sync(shallow), this.deep?.sync(deep)])).flatMap((a) => a ?? []);
    if (added.length && this.pipeline) await this.catchUp(added);
  }

  /**
   * A file in a directory watched only from now on (a stage started importing it, a glob's base appeared) may
   * have changed after the engine hashed it and before the watch began: compare it with the lockfile.
   */
  private async catchUp(directories: string[]): Promise<void> {
    const engine = await import('../engine/index.js');
    const { hashFileLike } = await import('../provenance/project.js');
    const lock = this.pipeline ? engine.readLockfile(this.root, this.pipeline.lockFile) : undefined;
    if (!lock) return;
    const recorded = new Map<string, string>();
    for (const stage of Object.values(lock.stages)) for (const f of [...stage.code.files, ...stage.deps]) recorded.set(f.path, f.hash);
    const inNew = (abs: string) => directories.some((d) => abs === d || abs.startsWith(d + path.sep) || path.dirname(abs) === d);
    for (const abs of this.files) {
      const hash = recorded.get(this.relative(abs));
      if (!hash || !inNew(abs) || !existsSync(abs)) continue;
      if ((await hashFileLike(abs, hash)) !== hash) this.onChange(abs);
    }
  }

  private async computeTargets(): Promise<{ shallow: Set<string>; deep: Set<string> }> {
    let targets: WatchTargets | undefined;
    if (this.pipeline) {
      try {
        const engine = await import('../engine/index.js');
        targets = await engine.watchTargets(this.pipeline);
      } catch {
        targets = undefined;
      }
    }
    if (this.pipeline) {
      const outs = Object.values(this.pipeline.stages).flatMap((stage) => stage.outs.map((o) => o.path).filter((p): p is string => p !== undefined));
      this.outputs = outs.map((p) => path.resolve(this.root, p));
    }
    if (targets) {
      const all = targets.files.map((f) => path.resolve(f));
      this.dirs = new Set(all.filter(isDir));
      this.files = new Set(all.filter((f) => !this.dirs.has(f)));
      // the versions of imported npm packages enter the keys (code.packages): an install or upgrade shows here
      for (const lockfile of ['package-lock.json', 'package.json']) this.files.add(path.join(this.root, lockfile));
      const picomatch = (await import('picomatch')).default;
      this.globs = targets.globs.map((pattern) => ({ pattern, match: picomatch(pattern, { dot: false }) }));
    }
    const shallow = new Set<string>([this.root]);
    for (const file of this.files) shallow.add(existingAncestor(path.dirname(file), this.root));
    const deep = new Set<string>(this.dirs);
    for (const { pattern } of this.globs) deep.add(existingAncestor(path.resolve(this.root, scanBase(pattern)), this.root));
    return { shallow, deep };
  }
}

function scanBase(pattern: string): string {
  const firstGlob = pattern.split('/').findIndex((part) => GLOB_CHARS.test(part));
  return pattern.split('/').slice(0, Math.max(0, firstGlob)).join('/') || '.';
}

/** The directory itself if it exists, else its nearest existing ancestor inside the project. */
function existingAncestor(dir: string, root: string): string {
  let current = dir;
  while (current !== root && current.startsWith(root) && !isDir(current)) current = path.dirname(current);
  return current.startsWith(root) ? current : root;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A set of watched directories. Each batch of new directories gets its own chokidar watcher, whose 'ready' says
 * that the directories are really being watched (a chokidar watcher given no paths never emits 'ready', and one
 * extended with add() never says when the new paths are watched). Removals go through unwatch.
 */
class DirectoryWatcher {
  private readonly watchers: { watcher: FSWatcher; dirs: Set<string> }[] = [];

  constructor(
    private readonly make: (paths: string[]) => FSWatcher,
    private readonly onEvent: (path: string) => void,
  ) {}

  get size(): number {
    return this.watchers.reduce((n, w) => n + w.dirs.size, 0);
  }

  /** Watches exactly `wanted` (those that exist); resolves once new directories are watched, with their list. */
  async sync(wanted: Set<string>): Promise<string[]> {
    const watched = new Set(this.watchers.flatMap((w) => [...w.dirs]));
    const add = [...wanted].filter((d) => !watched.has(d) && existsSync(d));
    for (const w of this.watchers) {
      const remove = [...w.dirs].filter((d) => !wanted.has(d));
      if (remove.length) w.watcher.unwatch(remove);
      for (const d of remove) w.dirs.delete(d);
    }
    if (add.length === 0) return [];
    const watcher = this.make(add);
    const isReady = ready(watcher);
    watcher.on('all', (_type, changed) => this.onEvent(changed));
    watcher.on('error', () => {
      /* a directory vanishing under the watcher: the next refresh of the targets re-adds what exists */
    });
    this.watchers.push({ watcher, dirs: new Set(add) });
    await isReady;
    return add;
  }

  async close(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.watcher.close()));
  }
}

function errorJson(error: unknown): Record<string, unknown> {
  if (isSpillwayError(error)) return { ...error.toJSON(), text: error.format() };
  const message = error instanceof Error ? error.message : String(error);
  return new SpillwayError('internal', message).toJSON();
}

function ready(watcher: FSWatcher): Promise<void> {
  return new Promise((resolve) => watcher.once('ready', () => resolve()));
}
