// The executor interface: how one stage's code is run. The engine decides what must run, hands each such stage to an
// executor as a StageJob, then verifies, validates and stores what the job produced. Local child processes, warm
// local workers and SLURM jobs are three implementations of this one interface.
import type { LockedOutput, LockedSchema } from './lockfile-format.js';

/** Everything a stage needs to run, in plain JSON (it may cross a process or a machine boundary). */
export interface StageJob {
  /** the stage (or stage instance) name, as in the lockfile */
  stage: string;
  /** the stage's cache key: a job that finished elsewhere can be recognised by it */
  key: string;
  /** absolute path of the project root (on a cluster: a path every node sees) */
  projectRoot: string;
  /** a module stage's file (absolute), or a command stage's argv; exactly one is set */
  module?: string;
  cmd?: string[];
  /** the declared params, nested */
  params: Record<string, unknown>;
  /** JSON inputs: local name → absolute path of the store object holding it */
  jsonInputs: Record<string, string>;
  /** file/dir inputs: local name → absolute path of the materialized copy */
  inputPaths: Record<string, string>;
  /** absolute paths of the expanded deps */
  deps: string[];
  /** names of the JSON outputs, written by the stage to `${workDir}/json/<name>.json` */
  jsonOuts: string[];
  /** file/dir outputs, written by the stage to `${workDir}/files/<name>` */
  fileOuts: Record<string, 'file' | 'dir'>;
  /** the JSON outputs' schemas (project-relative path, content hash): a cluster job validates its outputs on the node */
  outSchemas?: Record<string, LockedSchema>;
  /** a private, empty directory for this execution only */
  workDir: string;
  /** the stage's environment for command stages (params file, input and output paths) */
  env?: Record<string, string>;
  /** wall-clock limit; the executor kills the stage and reports kind 'timeout' when it is exceeded */
  timeoutMs?: number;
  /** resources the stage declares (cluster executors map them to their scheduler; local ones may ignore them) */
  resources?: StageResources;
}

export interface StageResources {
  cpus?: number;
  /** e.g. "2G", "500M" */
  memory?: string;
  /** e.g. "00:30:00" or minutes */
  time?: string;
  /** extra scheduler flags, as argv words */
  extra?: string[];
  /** run on the submitting machine even under a cluster executor */
  local?: boolean;
}

export interface StageFailure {
  message: string;
  stack?: string;
  /** 'crash', 'exit', 'timeout', 'interrupted', 'outputs', 'schema', 'corrupt', or a SpillwayError kind thrown by the stage */
  kind: string;
  /** where to read more (a scheduler's log file) */
  log?: string;
}

/** Where and how a job ran: recorded in the lockfile's run section. */
export interface ExecutionPlace {
  /** 'local', 'workers', 'slurm', … */
  executor: string;
  host?: string;
  /** a scheduler's job id (SLURM: "123" or "123_4" for an array task) */
  job_id?: string;
  /** the job's own start and end, as the executor saw them (ISO 8601) */
  started?: string;
  ended?: string;
}

export interface ExecutionOutcome {
  failure?: StageFailure;
  place: ExecutionPlace;
  /**
   * Outputs the executor already validated and published into the store (a cluster job does this on its node). The
   * engine re-verifies every hash before it trusts them. When absent, the engine collects `${workDir}` itself.
   */
  published?: Record<string, LockedOutput>;
}

export interface ExecutionHooks {
  /** a line the stage logged or printed */
  onLog: (line: string) => void;
  /** where the stage process spent its time (a module stage run by a local executor reports it) */
  onTimings?: (timings: import('./stage-job.js').StageCodeTimings) => void;
  /** aborted on Ctrl-C: the executor stops (or cancels) the job and reports kind 'interrupted' */
  signal?: AbortSignal;
}

export interface Executor {
  readonly name: string;
  /**
   * Runs one job. Calls may overlap (the engine runs up to --jobs at once); an executor may batch jobs that arrive
   * close together (a SLURM job array).
   */
  execute(job: StageJob, hooks: ExecutionHooks): Promise<ExecutionOutcome>;
  /** A hint that `count` more jobs are coming soon (a local pool starts processes ahead of need). */
  warm?(count: number): void;
  /** Releases processes, pollers and temp files; cancels what is still running. */
  close(): Promise<void>;
}
