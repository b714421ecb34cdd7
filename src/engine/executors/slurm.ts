// The SLURM executor: each StageJob becomes a SLURM job (jobs of one stage that arrive close together become one job
// array, with a throttle), which runs the stage on a compute node through slurm-job.ts. The job's result file is the
// word on how the stage went; the scheduler's state (one squeue per poll for all our jobs, sacct when accounting
// exists) explains jobs that ended without one: out of memory, over the time limit, cancelled, node failure.
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpillwayError } from '../../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import type { ExecutionHooks, ExecutionOutcome, Executor, StageFailure, StageJob } from '../executor.js';
import { loadSlurmConfig, sbatchFlags, stageBase, type SlurmConfig } from './slurm-config.js';
import { LocalExecutor } from './local.js';
import { logFile, resultFile, taskFile, type SlurmJobResult } from './slurm-stage.js';

export interface SlurmExecutorOptions {
  /** settings (normally from loadSlurmConfig) */
  config: SlurmConfig;
  /** the project root: jobs_dir is resolved against it */
  root: string;
  /** runs stages marked `resources.local` (default: a LocalExecutor) */
  local?: Executor;
}

/** A job handed to execute() and not yet answered. */
interface Pending {
  job: StageJob;
  hooks: ExecutionHooks;
  flags: string[];
  resolve: (outcome: ExecutionOutcome) => void;
  done: boolean;
  /** set once submitted */
  task?: Task;
}

interface Task {
  pending: Pending;
  batchDir: string;
  index: number;
  /** the SLURM id of this task: "123" or "123_4" */
  id: string;
  /** the job id squeue/scancel accept for the whole submission */
  jobId: string;
  flags: string[];
  /** where the job writes its outputs: in the batch directory, which the engine never clears */
  nodeWork: string;
  state?: string;
  reason?: string;
  node?: string;
  /** when SLURM first reported the job as ended (or lost) without a result file */
  endedWithoutResultAt?: number;
  cancelledByUs?: boolean;
}

/** jobs/<key>.json in the jobs directory: which SLURM job computes a cache key, so that a new engine finds it again */
interface JournalEntry {
  spillway_slurm_journal: 1;
  key: string;
  stage: string;
  batch_dir: string;
  task: number;
  job_id: string;
  array_job_id: string;
  flags: string[];
  submitted: string;
}

interface Group {
  key: string;
  base: string;
  flags: string[];
  jobs: Pending[];
}

const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);
const TRANSIENT = /Socket timed out|Unable to contact slurm controller|Resource temporarily unavailable|try again|Unexpected message received|Zero Bytes were transmitted|Connection refused|Slurm backup controller in standby mode/i;
const MEMORY_KILL = /Exceeded job memory limit|exceeded memory limit|oom[-_ ]kill|Out Of Memory/i;
const TAIL = 16 * 1024;

const here = dirname(fileURLToPath(import.meta.url));

/** How a compute node starts the job entry: the compiled slurm-job.js (dist/), or the TypeScript source through tsx. */
function jobEntry(): string[] {
  const compiled = [join(here, 'slurm-job.js'), join(here, '..', '..', '..', 'dist', 'engine', 'executors', 'slurm-job.js')].find((f) => existsSync(f));
  if (compiled !== undefined) return [compiled];
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return ['--import', tsx, join(here, 'slurm-job.ts')];
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return new Promise((resolveRun) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 127) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) || (error && code === 127 ? error.message : '') });
    });
  });
}

/** A scheduler command, retried with backoff when the controller is busy or unreachable for a moment. */
async function schedulerCommand(file: string, args: string[], attempts = 4): Promise<CommandResult> {
  let result = await run(file, args);
  for (let i = 1; i < attempts && result.code !== 0 && TRANSIENT.test(result.stderr); i++) {
    await new Promise((r) => setTimeout(r, 1000 * 3 ** (i - 1)));
    result = await run(file, args);
  }
  return result;
}

function readTail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > TAIL ? text.slice(-TAIL) : text;
  } catch {
    return '';
  }
}

/** The job's state as slurmctld sees it right now (`scontrol show job`), or undefined when it does not answer. */
function currentJobState(id: string): string | undefined {
  const r = spawnSync('scontrol', ['show', 'job', '--oneliner', id], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return /\bJobState=(\S+)/.exec(r.stdout)?.[1];
}

function nodeWorkDir(batchDir: string, task: number): string {
  return join(batchDir, 'work', String(task));
}

/**
 * The job as the node runs it: in its own work directory inside the batch directory (which the engine never clears,
 * so that a job outlives the engine that submitted it), with what the engine prepared there (a command stage's
 * params file, empty output directories) copied over and the environment's paths pointing to the copy.
 */
function nodeJob(job: StageJob, nodeWork: string): StageJob {
  mkdirSync(nodeWork, { recursive: true });
  cpSync(job.workDir, nodeWork, { recursive: true });
  const env = job.env ? Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, v === job.workDir || v.startsWith(`${job.workDir}/`) ? nodeWork + v.slice(job.workDir.length) : v])) : undefined;
  return { ...job, workDir: nodeWork, ...(env ? { env } : {}) };
}

/** Moves a finished job's json/ and files/ into the engine's work directory; returns a problem, or undefined. */
function moveOutputs(nodeWork: string, workDir: string): string | undefined {
  try {
    mkdirSync(workDir, { recursive: true });
    for (const sub of ['json', 'files']) {
      const from = join(nodeWork, sub);
      if (!existsSync(from)) continue;
      const to = join(workDir, sub);
      rmSync(to, { recursive: true, force: true });
      try {
        renameSync(from, to);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        cpSync(from, to, { recursive: true }); // jobs_dir on another filesystem than the project
      }
    }
    rmSync(nodeWork, { recursive: true, force: true });
    return undefined;
  } catch (error) {
    return `could not move the job's outputs from ${nodeWork} to ${workDir}: ${(error as Error).message}`;
  }
}

/** One job (or array task) as sacct reports it. */
export interface SacctRow {
  /** "123", or "123_4" for task 4 of array job 123 */
  id: string;
  /** the state word: "CANCELLED by 0" gives CANCELLED */
  state: string;
  reason?: string;
  node?: string;
}

/** Array task ids of a pending range as sacct and squeue print it: "[3-5,8%2]" → 3, 4, 5, 8. */
function expandTaskRange(range: string): number[] {
  const out: number[] = [];
  for (const part of range.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Math.max(1, Number(m[3]));
    for (let i = from; i <= to && out.length < 100_000; i += step) out.push(i);
  }
  return out;
}

/**
 * Parses `sacct --noheader --parsable2 --allocations --format=JobID,State,Reason,NodeList` (also the trailing `|` of
 * --parsable): one row per job or array task. Step lines ("123.batch", "123_4.0"), should any appear, are skipped; a
 * pending array range ("123_[3-9%2]") gives one row per task; "None assigned" and "(null)" are no node.
 */
export function parseSacct(stdout: string): SacctRow[] {
  const rows: SacctRow[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const [id = '', stateText = '', reason = '', nodeText = ''] = line.replace(/\|$/, '').split('|');
    if (!/^\d+(_(\d+|\[[^\]]*\]))?$/.test(id)) continue; // steps, heterogeneous components, a header
    const state = stateText.trim().split(/\s+/)[0];
    if (state === '') continue;
    const node = nodeText === '' || nodeText === 'None assigned' || nodeText === '(null)' ? undefined : nodeText;
    const row = { state, ...(reason !== '' && reason !== 'None' ? { reason } : {}), ...(node ? { node } : {}) };
    const range = /^(\d+)_\[([^\]]*)\]$/.exec(id);
    if (range) for (const task of expandTaskRange(range[2])) rows.push({ id: `${range[1]}_${task}`, ...row });
    else rows.push({ id, ...row });
  }
  return rows;
}

/** sacct's error when the cluster keeps no accounting (AccountingStorageType=accounting_storage/none), or no slurmdbd answers for it. */
const NO_ACCOUNTING = /accounting storage is disabled|not running a supported accounting_storage|no accounting/i;

/**
 * The accounting view of some jobs: their rows, 'unavailable' when the cluster keeps no accounting (the executor then
 * relies on squeue and the jobs' result files alone), or 'failed' for any other error (asked again next poll).
 */
export async function sacctStates(jobIds: string[]): Promise<SacctRow[] | 'unavailable' | 'failed'> {
  const result = await schedulerCommand('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${jobIds.join(',')}`, '--format=JobID,State,Reason,NodeList']);
  if (result.code !== 0) return NO_ACCOUNTING.test(result.stderr) || result.code === 127 ? 'unavailable' : 'failed';
  return parseSacct(result.stdout);
}

let batchCounter = 0;

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  /** how many jobs the engine should hand over at once: more than this only waits here */
  readonly maxParallel: number;
  private readonly config: SlurmConfig;
  private readonly jobsDir: string;
  private readonly local?: Executor;
  /** without `local`: one LocalExecutor per project root (a sweep's variants each run in a workspace of their own) */
  private readonly locals = new Map<string, Executor>();
  private localRunning = 0;
  private readonly localWaiting: (() => void)[] = [];
  private readonly root: string;
  private readonly groups = new Map<string, Group>();
  private batchTimer?: NodeJS.Timeout;
  /** groups whose batch window closed, waiting for room under max_jobs */
  private readonly ready: Group[] = [];
  private readonly tasks = new Map<string, Task>();
  private outstanding = 0;
  private pollTimer?: NodeJS.Timeout;
  private polling = false;
  private lastQueueQuery = 0;
  private sacctWorks: boolean | undefined;
  private readonly toCancel = new Set<Task>();
  private cancelTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly submissions = new Set<Promise<void>>();

  constructor(options: SlurmExecutorOptions) {
    this.config = options.config;
    this.jobsDir = isAbsolute(options.config.jobsDir) ? options.config.jobsDir : resolve(options.root, options.config.jobsDir);
    this.local = options.local;
    this.root = options.root;
    this.maxParallel = options.config.maxJobs;
  }

  /** Reads the project's spillway.config.yaml and checks that sbatch is there. */
  static async create(root: string, options: { overrides?: Partial<SlurmConfig>; local?: Executor } = {}): Promise<SlurmExecutor> {
    const config = { ...(await loadSlurmConfig(root)), ...options.overrides };
    const probe = await run('sbatch', ['--version'], 15_000);
    if (probe.code !== 0) {
      throw new SpillwayError('usage', `--executor slurm needs SLURM's sbatch, squeue and scancel on this machine: ${probe.stderr.trim() || `sbatch exited with ${probe.code}`}`, {
        hint: 'run spillway on a login node of the cluster (where sbatch works), or without --executor slurm',
      });
    }
    return new SlurmExecutor({ config, root, local: options.local });
  }

  execute(job: StageJob, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
    if (job.resources?.local) return this.runLocally(job, hooks);
    if (this.closed) return Promise.resolve({ failure: { kind: 'interrupted', message: 'the SLURM executor was closed' }, place: { executor: 'slurm' } });
    if (hooks.signal?.aborted) return Promise.resolve({ failure: { kind: 'interrupted', message: 'interrupted' }, place: { executor: 'slurm' } });
    let flags: string[];
    try {
      flags = sbatchFlags(this.config, job);
    } catch (error) {
      const e = error as SpillwayError;
      return Promise.resolve({ failure: { kind: e.kind ?? 'invalidPipeline', message: typeof e.format === 'function' ? e.format() : e.message }, place: { executor: 'slurm' } });
    }
    return new Promise<ExecutionOutcome>((resolveOutcome) => {
      const pending: Pending = { job, hooks, flags, done: false, resolve: () => {} };
      pending.resolve = (outcome) => {
        if (pending.done) return;
        pending.done = true;
        hooks.signal?.removeEventListener('abort', onAbort);
        resolveOutcome(outcome);
      };
      const onAbort = () => this.abort(pending);
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.adopt(pending)) return;
      const base = stageBase(job.stage);
      const key = `${base}\u0000${JSON.stringify(flags)}`;
      let group = this.groups.get(key);
      if (group === undefined) {
        group = { key, base, flags, jobs: [] };
        this.groups.set(key, group);
      }
      group.jobs.push(pending);
      if (group.jobs.length >= this.config.arrayMax) this.closeWindow();
      else this.batchTimer ??= setTimeout(() => this.closeWindow(), this.config.batchWindowMs);
    });
  }

  /** Stages marked `local` run here, at most as many at once as this machine has cores (the engine hands over up to max_jobs). */
  private async runLocally(job: StageJob, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
    let local = this.local ?? this.locals.get(job.projectRoot);
    if (local === undefined) {
      local = new LocalExecutor(job.projectRoot);
      this.locals.set(job.projectRoot, local);
    }
    while (this.localRunning >= availableParallelism()) await new Promise<void>((r) => this.localWaiting.push(r));
    this.localRunning += 1;
    try {
      return await local.execute(job, hooks);
    } finally {
      this.localRunning -= 1;
      this.localWaiting.shift()?.();
    }
  }

  /** The batch window closed: every group goes to the ready list, then out as far as max_jobs allows. */
  private closeWindow(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    for (const group of this.groups.values()) {
      const live = group.jobs.filter((p) => !p.done);
      if (live.length === 0) continue;
      const waiting = this.ready.find((g) => g.key === group.key);
      if (waiting) waiting.jobs.push(...live);
      else this.ready.push({ ...group, jobs: live });
    }
    this.groups.clear();
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.ready.length > 0 && this.outstanding < this.config.maxJobs) {
      const group = this.ready[0];
      group.jobs = group.jobs.filter((p) => !p.done);
      if (group.jobs.length === 0) {
        this.ready.shift();
        continue;
      }
      const n = Math.min(group.jobs.length, this.config.arrayMax, this.config.maxJobs - this.outstanding);
      const chunk = group.jobs.splice(0, n);
      if (group.jobs.length === 0) this.ready.shift();
      this.outstanding += chunk.length;
      const submission = this.submit(group, chunk).catch((error: unknown) => {
        this.outstanding -= chunk.filter((p) => p.task === undefined).length;
        for (const p of chunk) if (p.task === undefined) p.resolve({ failure: { kind: 'crash', message: `could not submit to SLURM: ${(error as Error).message}` }, place: { executor: 'slurm' } });
      });
      this.submissions.add(submission);
      void submission.finally(() => this.submissions.delete(submission));
    }
  }

  private async submit(group: Group, chunk: Pending[]): Promise<void> {
    batchCounter += 1;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const safe = group.base.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
    const batchDir = join(this.jobsDir, `${stamp}-${safe}-${process.pid}-${batchCounter}`);
    for (const sub of ['tasks', 'logs', 'results']) mkdirSync(join(batchDir, sub), { recursive: true });
    chunk.forEach((p, i) => writeFileSync(taskFile(batchDir, i), `${JSON.stringify(nodeJob(p.job, nodeWorkDir(batchDir, i)))}\n`));
    const node = this.config.node ?? process.execPath;
    const script = [
      '#!/bin/bash',
      `# spillway: ${chunk.length === 1 ? `stage ${chunk[0].job.stage}` : `${chunk.length} instances of stage ${group.base}`}`,
      ...this.config.setup,
      `exec ${[node, ...jobEntry(), batchDir].map(shellQuote).join(' ')}`,
      '',
    ].join('\n');
    const scriptFile = join(batchDir, 'job.sh');
    writeFileSync(scriptFile, script, { mode: 0o755 });
    const array = chunk.length > 1;
    const args = [
      '--parsable',
      `--job-name=spillway-${safe}`,
      `--chdir=${chunk[0].job.projectRoot}`,
      `--output=${join(batchDir, 'logs', array ? '%a.log' : '0.log')}`,
      ...(array ? [`--array=0-${chunk.length - 1}%${Math.min(this.config.arrayThrottle, chunk.length)}`] : []),
      ...group.flags,
      scriptFile,
    ];
    const result = await schedulerCommand('sbatch', args);
    if (result.code !== 0) {
      const message = `sbatch refused the job: ${result.stderr.trim() || `exit code ${result.code}`} (sbatch ${args.join(' ')})`;
      this.outstanding -= chunk.length;
      for (const p of chunk) p.resolve({ failure: { kind: 'scheduler', message, log: scriptFile }, place: { executor: 'slurm' } });
      this.pump();
      return;
    }
    const jobId = result.stdout.trim().split(';')[0];
    chunk.forEach((p, i) => {
      const task: Task = { pending: p, batchDir, index: i, id: array ? `${jobId}_${i}` : jobId, jobId, flags: group.flags, nodeWork: nodeWorkDir(batchDir, i) };
      p.task = task;
      this.writeJournal(task);
      if (p.done) {
        // aborted while sbatch ran
        this.outstanding -= 1;
        this.requestCancel(task);
        return;
      }
      this.tasks.set(task.id, task);
      p.hooks.onLog(`# SLURM job ${task.id} submitted (log ${logFile(batchDir, i)})`);
    });
    this.schedulePoll(0);
  }

  private schedulePoll(delay: number): void {
    if (this.closed || this.tasks.size === 0) return;
    if (this.pollTimer !== undefined) {
      if (delay > 0) return;
      clearTimeout(this.pollTimer);
    }
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, delay);
  }

  /** Result files every round (cheap, and the usual way a job ends); the scheduler's state every poll_interval. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.collectResults();
      const now = Date.now();
      if (this.tasks.size > 0 && now - this.lastQueueQuery >= this.config.pollIntervalMs) {
        this.lastQueueQuery = now;
        await this.queryScheduler();
        this.collectResults();
        this.settleEnded();
      }
    } finally {
      this.polling = false;
      this.schedulePoll(Math.min(500, this.config.pollIntervalMs));
    }
  }

  private collectResults(): void {
    const byBatch = new Map<string, Task[]>();
    for (const task of this.tasks.values()) {
      const list = byBatch.get(task.batchDir) ?? [];
      list.push(task);
      byBatch.set(task.batchDir, list);
    }
    for (const [batchDir, tasks] of byBatch) {
      let names: Set<string>;
      try {
        names = new Set(readdirSync(join(batchDir, 'results'))); // a listing also refreshes a network filesystem's view
      } catch {
        continue;
      }
      for (const task of tasks) {
        if (!names.has(`${task.index}.json`)) continue;
        let result: SlurmJobResult;
        try {
          result = JSON.parse(readFileSync(resultFile(batchDir, task.index), 'utf8')) as SlurmJobResult;
        } catch {
          continue; // not readable yet
        }
        this.forwardLog(task);
        if (result.failure || result.published) rmSync(task.nodeWork, { recursive: true, force: true });
        else {
          // a result without published outputs (a job of an older spillway): the engine collects the files itself
          const problem = moveOutputs(task.nodeWork, task.pending.job.workDir);
          if (problem) result.failure = { kind: 'outputs', message: `stage "${task.pending.job.stage}": ${problem}` };
        }
        this.finish(task, {
          ...(result.failure ? { failure: { ...result.failure, log: result.failure.log ?? logFile(batchDir, task.index) } } : {}),
          ...(!result.failure && result.published ? { published: result.published } : {}),
          place: { executor: 'slurm', host: result.host, job_id: result.job_id, started: result.started, ended: result.ended },
        });
      }
    }
  }

  /** One squeue for every job we wait for; sacct for those squeue no longer knows, when accounting exists. */
  private async queryScheduler(): Promise<void> {
    const ids = [...new Set([...this.tasks.values()].map((t) => t.jobId))];
    const seen = new Set<string>();
    let complete = true;
    for (let i = 0; i < ids.length; i += 200) {
      const result = await schedulerCommand('squeue', ['--noheader', '--array', '--states=all', `--jobs=${ids.slice(i, i + 200).join(',')}`, '--format=%i|%T|%r|%N']);
      if (result.code !== 0 && !/Invalid job id/i.test(result.stderr)) {
        complete = false; // the controller is unreachable: ask again next round
        continue;
      }
      for (const line of result.stdout.split('\n')) {
        const [id, state, reason, node] = line.trim().split('|');
        const task = id ? this.tasks.get(id) : undefined;
        if (task === undefined) continue;
        seen.add(id);
        this.observe(task, state, reason, node);
      }
    }
    const unseen = [...this.tasks.values()].filter((t) => !seen.has(t.id));
    if (unseen.length > 0 && this.sacctWorks !== false) {
      const rows = await sacctStates([...new Set(unseen.map((t) => t.jobId))]);
      if (rows === 'unavailable') this.sacctWorks = false;
      else if (rows !== 'failed') {
        this.sacctWorks = true;
        for (const row of rows) {
          const task = this.tasks.get(row.id);
          if (task === undefined || seen.has(row.id)) continue;
          seen.add(row.id);
          this.observe(task, row.state, row.reason, row.node);
        }
      }
    }
    // a job SLURM no longer knows (finished longer ago than MinJobAge, or lost) and that left no result
    if (!complete) return;
    for (const task of this.tasks.values()) {
      if (!seen.has(task.id) && task.state !== 'UNKNOWN') this.observe(task, 'UNKNOWN', 'the job is no longer known to SLURM', task.node);
    }
  }

  private observe(task: Task, state: string, reason: string | undefined, node: string | undefined): void {
    const changed = state !== task.state || (state === 'PENDING' && reason !== task.reason);
    task.state = state;
    task.reason = reason && reason !== 'None' ? reason : undefined;
    if (node && node !== '(null)') task.node = node;
    if (changed && !ACTIVE.has(state) && task.endedWithoutResultAt === undefined) task.endedWithoutResultAt = Date.now();
    if (ACTIVE.has(state)) task.endedWithoutResultAt = undefined;
    if (changed) task.pending.hooks.onLog(`# SLURM job ${task.id}: ${state}${task.reason ? ` (${task.reason})` : ''}${task.node && state !== 'PENDING' ? ` on ${task.node}` : ''}`);
  }

  /** Jobs that SLURM says ended but that left no result: decide why (after a grace for slow shared filesystems). */
  private settleEnded(): void {
    for (const task of [...this.tasks.values()]) {
      if (task.endedWithoutResultAt === undefined || task.state === undefined) continue;
      const log = readTail(logFile(task.batchDir, task.index));
      const failure = this.explain(task, log);
      // a plainly failed or vanished job may still have a result on its way through the filesystem; the rest cannot
      const mayHaveResult = (task.state === 'COMPLETED' || task.state === 'FAILED' || task.state === 'UNKNOWN') && failure.kind !== 'oom';
      if (mayHaveResult && Date.now() - task.endedWithoutResultAt < this.config.resultWaitMs) continue;
      // A requeued job (node failure, `scontrol requeue`) passes through an ended state on its way back to PENDING;
      // ask SLURM once more before calling it over.
      const now = currentJobState(task.id);
      if (now !== undefined && ACTIVE.has(now)) {
        this.observe(task, now, 'requeued', task.node);
        continue;
      }
      this.forwardLog(task);
      this.finish(task, { failure, place: { executor: 'slurm', job_id: task.id, ...(task.node ? { host: task.node } : {}) } });
    }
  }

  private explain(task: Task, log: string): StageFailure {
    const where = `SLURM job ${task.id}${task.node ? ` on ${task.node}` : ''}`;
    const stage = `stage "${task.pending.job.stage}"`;
    const reason = task.reason ? ` (SLURM reason: ${task.reason})` : '';
    const tail = log.trim().split('\n').slice(-20).join('\n') || undefined;
    const logPath = logFile(task.batchDir, task.index);
    const flag = (name: string) => task.flags.find((f) => f.startsWith(`--${name}=`));
    const memoryLine = log.split('\n').find((l) => MEMORY_KILL.test(l));
    if (task.state === 'OUT_OF_MEMORY' || memoryLine !== undefined) {
      return { kind: 'oom', message: `${stage}: ${where} was killed for exceeding its memory limit (${flag('mem') ?? 'the default --mem'})${memoryLine ? `: ${memoryLine.trim()}` : ''}; raise resources.memory`, stack: tail, log: logPath };
    }
    switch (task.state) {
      case 'TIMEOUT':
      case 'DEADLINE':
        return { kind: 'timeout', message: `${stage}: ${where} exceeded its time limit (${flag('time') ?? "the partition's limit"})${reason}; raise resources.time`, stack: tail, log: logPath };
      case 'CANCELLED':
        return task.cancelledByUs
          ? { kind: 'interrupted', message: 'interrupted', log: logPath }
          : { kind: 'cancelled', message: `${stage}: ${where} was cancelled (scancel, or by an administrator)${reason}`, stack: tail, log: logPath };
      case 'NODE_FAIL':
      case 'BOOT_FAIL':
        return { kind: 'node', message: `${stage}: ${where} failed because its node failed${reason}; run again to resubmit it`, stack: tail, log: logPath };
      case 'PREEMPTED':
        return { kind: 'preempted', message: `${stage}: ${where} was preempted${reason}; run again to resubmit it`, stack: tail, log: logPath };
      case 'UNKNOWN':
        return { kind: 'crash', message: `${stage}: ${where} left the queue without writing its result${reason}`, stack: tail, log: logPath };
      default:
        return { kind: 'crash', message: `${stage}: ${where} ended as ${task.state}${reason} without writing its result`, stack: tail, log: logPath };
    }
  }

  /** The job's own log (the stage's output) reaches the engine's log once the job ended. */
  private forwardLog(task: Task): void {
    const text = readTail(logFile(task.batchDir, task.index));
    for (const line of text.split('\n')) if (line.trim() !== '') task.pending.hooks.onLog(line);
  }

  private finish(task: Task, outcome: ExecutionOutcome): void {
    if (!this.tasks.delete(task.id)) return;
    this.dropJournal(task.pending.job.key);
    this.outstanding -= 1;
    task.pending.resolve(outcome);
    this.pump();
  }

  private abort(pending: Pending): void {
    if (pending.done) return;
    const task = pending.task;
    if (task === undefined) {
      // not submitted yet (or being submitted: submit() cancels it when sbatch returns)
      pending.resolve({ failure: { kind: 'interrupted', message: 'interrupted' }, place: { executor: 'slurm' } });
      return;
    }
    this.tasks.delete(task.id);
    this.outstanding -= 1;
    this.requestCancel(task);
  }

  /** Cancels go out together (Ctrl-C aborts every job at once): one scancel per 100 ids. */
  private requestCancel(task: Task): void {
    task.cancelledByUs = true;
    this.dropJournal(task.pending.job.key);
    this.toCancel.add(task);
    this.cancelTimer ??= setTimeout(() => void this.flushCancels(), 20);
  }

  private async flushCancels(): Promise<void> {
    this.cancelTimer = undefined;
    const tasks = [...this.toCancel];
    this.toCancel.clear();
    for (let i = 0; i < tasks.length; i += 100) {
      const chunk = tasks.slice(i, i + 100);
      const result = await schedulerCommand('scancel', chunk.map((t) => t.id));
      const note = result.code === 0 ? '' : ` (scancel: ${result.stderr.trim()})`;
      for (const t of chunk) {
        t.pending.hooks.onLog(`# SLURM job ${t.id} cancelled${note}`);
        t.pending.resolve({
          failure: { kind: 'interrupted', message: `interrupted: SLURM job ${t.id} cancelled${note}`, log: logFile(t.batchDir, t.index) },
          place: { executor: 'slurm', job_id: t.id },
        });
      }
    }
    this.pump();
  }

  private journalFile(key: string): string {
    return join(this.jobsDir, 'keys', `${key.replace(/^[a-z0-9]+:/, '').replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }

  private writeJournal(task: Task): void {
    const entry: JournalEntry = {
      spillway_slurm_journal: 1,
      key: task.pending.job.key,
      stage: task.pending.job.stage,
      batch_dir: task.batchDir,
      task: task.index,
      job_id: task.id,
      array_job_id: task.jobId,
      flags: task.flags,
      submitted: new Date().toISOString(),
    };
    try {
      writeFileAtomic(this.journalFile(entry.key), `${JSON.stringify(entry, null, 2)}\n`);
    } catch {
      /* without the journal a new engine resubmits instead of reusing: slower, never wrong */
    }
  }

  private dropJournal(key: string): void {
    rmSync(this.journalFile(key), { force: true });
  }

  /**
   * A job for this cache key submitted by an earlier engine that stopped without collecting it (killed, machine
   * lost): its finished result is taken over, a still queued or running job is waited for again, instead of running
   * the stage a second time. Only a job that succeeded is reused; anything else is submitted anew.
   */
  private adopt(pending: Pending): boolean {
    const job = pending.job;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(readFileSync(this.journalFile(job.key), 'utf8')) as JournalEntry;
    } catch {
      return false;
    }
    if (entry.key !== job.key || this.tasks.has(entry.job_id)) return false;
    const task: Task = {
      pending,
      batchDir: entry.batch_dir,
      index: entry.task,
      id: entry.job_id,
      jobId: entry.array_job_id,
      flags: entry.flags,
      nodeWork: nodeWorkDir(entry.batch_dir, entry.task),
    };
    const readResult = (): SlurmJobResult | undefined => {
      try {
        return JSON.parse(readFileSync(resultFile(entry.batch_dir, entry.task), 'utf8')) as SlurmJobResult;
      } catch {
        return undefined;
      }
    };
    let result = readResult();
    if (result !== undefined && result.failure !== undefined) {
      this.dropJournal(job.key);
      return false;
    }
    if (result === undefined) {
      // still in the queue or running? then wait for it; else it died without a result: submit anew
      const probe = spawnSync('squeue', ['--noheader', '--array', '--states=all', `--jobs=${entry.array_job_id}`, '--format=%i|%T'], { encoding: 'utf8', timeout: 60_000 });
      const state =
        probe.status === 0
          ? probe.stdout
              .split('\n')
              .map((l) => l.trim().split('|'))
              .find(([id]) => id === entry.job_id)?.[1]
          : 'UNANSWERED'; // a busy controller says nothing about the job: wait for it like a running one
      if (state !== 'UNANSWERED' && (state === undefined || !ACTIVE.has(state))) {
        // it may have finished between the two looks (result file, then squeue): its result is written before it ends
        result = readResult();
        if (result === undefined || result.failure !== undefined) {
          this.dropJournal(job.key);
          return false;
        }
      }
    }
    pending.task = task;
    this.tasks.set(task.id, task);
    this.outstanding += 1;
    pending.hooks.onLog(`# SLURM job ${task.id} was submitted for this stage by an earlier run (${entry.submitted}): ${result ? 'taking its result' : 'waiting for it again'}`);
    this.schedulePoll(0);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.batchTimer);
    for (const group of [...this.groups.values(), ...this.ready]) {
      for (const p of group.jobs) p.resolve({ failure: { kind: 'interrupted', message: 'the SLURM executor was closed before the job was submitted' }, place: { executor: 'slurm' } });
    }
    this.groups.clear();
    this.ready.length = 0;
    await Promise.allSettled([...this.submissions]);
    for (const task of [...this.tasks.values()]) {
      this.tasks.delete(task.id);
      this.outstanding -= 1;
      this.requestCancel(task);
    }
    clearTimeout(this.cancelTimer);
    await this.flushCancels();
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (this.local) await this.local.close();
    for (const local of this.locals.values()) await local.close();
    this.locals.clear();
  }
}
