// The SLURM executor's settings: the `slurm:` section of the project's spillway.config.yaml, and how a stage's
// `resources:` become sbatch flags. Pure functions (no processes), so that they are tested without a cluster.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpillwayError } from '../../errors.js';
import type { StageJob, StageResources } from '../executor.js';

export const CONFIG_FILE = 'spillway.config.yaml';

export interface SlurmConfig {
  /** sbatch -p */
  partition?: string;
  /** sbatch -A */
  account?: string;
  /** sbatch --qos */
  qos?: string;
  /** at most this many of our jobs (array tasks count one each) submitted and not finished at once */
  maxJobs: number;
  /** at most this many tasks of one job array running at once (the `%N` of --array) */
  arrayThrottle: number;
  /** at most this many tasks in one job array (SLURM's MaxArraySize is usually 1001) */
  arrayMax: number;
  /** ms between two status queries (one squeue for all our jobs) */
  pollIntervalMs: number;
  /** ms to wait for more jobs of the same stage before submitting, so that they go out as one job array */
  batchWindowMs: number;
  /** ms to keep looking for a job's result file after SLURM says it ended (shared filesystems cache directory entries) */
  resultWaitMs: number;
  /** project-relative (or absolute) directory for job scripts, job files, results and logs; must be on the shared filesystem */
  jobsDir: string;
  /** the node executable on the compute nodes (default: the one running the engine) */
  node?: string;
  /** shell lines run before the stage in every job, e.g. "module load nodejs/20" */
  setup: string[];
  /** sbatch flags added to every job, e.g. ["--constraint=intel"] */
  sbatchFlags: string[];
}

export const DEFAULT_CONFIG: SlurmConfig = {
  maxJobs: 100,
  arrayThrottle: 50,
  arrayMax: 1000,
  pollIntervalMs: 2000,
  batchWindowMs: 300,
  resultWaitMs: 30_000,
  jobsDir: '.spillway/slurm',
  setup: [],
  sbatchFlags: [],
};

/** "2s", "500ms", "1m", or a bare number of seconds → ms. */
export function parseDuration(value: unknown, where: string, file: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value) : null;
  if (!m) {
    throw new SpillwayError('invalidPipeline', `${where} must be a duration, got ${JSON.stringify(value)}`, {
      file,
      pointer: `/${where.replace(/\./g, '/')}`,
      expected: 'a number of seconds, or a number with ms, s, m or h (e.g. 2s, 500ms)',
    });
  }
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
}

function positiveInt(value: unknown, where: string, file: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new SpillwayError('invalidPipeline', `${where} must be a whole number of at least 1, got ${JSON.stringify(value)}`, {
      file,
      pointer: `/${where.replace(/\./g, '/')}`,
    });
  }
  return value;
}

function stringList(value: unknown, where: string, file: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new SpillwayError('invalidPipeline', `${where} must be a string or a list of strings, got ${JSON.stringify(value)}`, {
    file,
    pointer: `/${where.replace(/\./g, '/')}`,
  });
}

function name(value: unknown, where: string, file: string): string {
  if (typeof value !== 'string' || value.trim() === '' || /\s/.test(value)) {
    throw new SpillwayError('invalidPipeline', `${where} must be a single word, got ${JSON.stringify(value)}`, { file, pointer: `/${where.replace(/\./g, '/')}` });
  }
  return value;
}

function path(value: unknown, where: string, file: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SpillwayError('invalidPipeline', `${where} must be a path, got ${JSON.stringify(value)}`, { file, pointer: `/${where.replace(/\./g, '/')}` });
  }
  return value;
}

const KEYS = ['partition', 'account', 'qos', 'max_jobs', 'array_throttle', 'array_max', 'poll_interval', 'batch_window', 'result_wait', 'jobs_dir', 'node', 'setup', 'sbatch_flags'];

/** The `slurm:` section of a parsed config document (the file name is only for messages). */
export function slurmConfigFrom(doc: unknown, file: string): SlurmConfig {
  const config: SlurmConfig = { ...DEFAULT_CONFIG, setup: [], sbatchFlags: [] };
  if (doc === null || doc === undefined) return config;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new SpillwayError('invalidPipeline', `${file} must hold a mapping (e.g. "slurm:" with settings)`, { file });
  const section = (doc as Record<string, unknown>).slurm;
  if (section === undefined || section === null) return config;
  if (typeof section !== 'object' || Array.isArray(section)) throw new SpillwayError('invalidPipeline', 'slurm must be a mapping of settings', { file, pointer: '/slurm' });
  for (const [key, value] of Object.entries(section)) {
    const where = `slurm.${key}`;
    switch (key) {
      case 'partition':
        config.partition = name(value, where, file);
        break;
      case 'account':
        config.account = name(value, where, file);
        break;
      case 'qos':
        config.qos = name(value, where, file);
        break;
      case 'max_jobs':
        config.maxJobs = positiveInt(value, where, file);
        break;
      case 'array_throttle':
        config.arrayThrottle = positiveInt(value, where, file);
        break;
      case 'array_max':
        config.arrayMax = positiveInt(value, where, file);
        break;
      case 'poll_interval':
        config.pollIntervalMs = parseDuration(value, where, file);
        break;
      case 'batch_window':
        config.batchWindowMs = parseDuration(value, where, file);
        break;
      case 'result_wait':
        config.resultWaitMs = parseDuration(value, where, file);
        break;
      case 'jobs_dir':
        config.jobsDir = path(value, where, file);
        break;
      case 'node':
        config.node = path(value, where, file);
        break;
      case 'setup':
        config.setup = stringList(value, where, file);
        break;
      case 'sbatch_flags':
        config.sbatchFlags = stringList(value, where, file);
        break;
      default:
        throw new SpillwayError('invalidPipeline', `unknown setting ${where}`, { file, pointer: `/slurm/${key}`, expected: `one of ${KEYS.join(', ')}` });
    }
  }
  return config;
}

/** Reads `<root>/spillway.config.yaml` (absent: the defaults). */
export async function loadSlurmConfig(root: string): Promise<SlurmConfig> {
  const path = join(root, CONFIG_FILE);
  if (!existsSync(path)) return slurmConfigFrom(undefined, CONFIG_FILE);
  const { parseDocument } = await import('yaml');
  const document = parseDocument(readFileSync(path, 'utf8'));
  if (document.errors.length > 0) {
    const e = document.errors[0];
    throw new SpillwayError('invalidPipeline', `${CONFIG_FILE} is not valid YAML: ${e.message.split('\n')[0]}`, {
      file: CONFIG_FILE,
      line: e.linePos?.[0].line,
      column: e.linePos?.[0].col,
    });
  }
  return slurmConfigFrom(document.toJS(), CONFIG_FILE);
}

// ---------------------------------------------------------------------------------------------------------------
// resources → sbatch

/** "2G", "2GB", "512M", "1.5g", 2048 (MB) → SLURM's --mem value in whole megabytes ("2048M"). */
export function slurmMemory(memory: string | number, stage: string): string {
  if (typeof memory === 'number' && Number.isFinite(memory) && memory > 0) return `${Math.ceil(memory)}M`;
  const m = typeof memory === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?(?:i?B)?\s*$/i.exec(memory) : null;
  if (!m || Number(m[1]) <= 0) {
    throw new SpillwayError('invalidPipeline', `stage "${stage}": resources.memory ${JSON.stringify(memory)} is not an amount of memory`, {
      expected: 'a number with K, M, G or T (e.g. "2G", "500M"), or a number of megabytes',
    });
  }
  const factor = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[(m[2] ?? 'M').toUpperCase() as 'K' | 'M' | 'G' | 'T'];
  return `${Math.max(1, Math.ceil(Number(m[1]) * factor))}M`;
}

/**
 * A time limit → SLURM's --time in minutes, or a SLURM time string passed through. Accepts "90s", "30m", "2h",
 * "1d", a bare number of minutes, and SLURM's own forms ("MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM:SS").
 */
export function slurmTime(time: string | number, stage: string): string {
  if (typeof time === 'number' && Number.isFinite(time) && time > 0) return String(Math.ceil(time));
  if (typeof time === 'string') {
    const unit = /^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)\s*$/i.exec(time);
    if (unit) {
      const n = Number(unit[1]);
      const minutes = { s: n / 60, m: n, min: n, h: n * 60, d: n * 1440 }[unit[2].toLowerCase() as 's' | 'm' | 'min' | 'h' | 'd'];
      if (minutes > 0) return String(Math.ceil(minutes));
    }
    if (/^\s*(\d+-)?\d+(:\d{1,2}){0,2}\s*$/.test(time) && /[1-9]/.test(time)) return time.trim();
  }
  throw new SpillwayError('invalidPipeline', `stage "${stage}": resources.time ${JSON.stringify(time)} is not a time limit`, {
    expected: 'e.g. "30m", "2h", "1d", a number of minutes, or SLURM\'s "HH:MM:SS" / "D-HH:MM:SS"',
  });
}

/** The sbatch flags for one job (or one job array, whose tasks share them), from the config and the stage's resources. */
export function sbatchFlags(config: SlurmConfig, job: Pick<StageJob, 'stage' | 'timeoutMs' | 'resources'>): string[] {
  const flags: string[] = [];
  if (config.partition) flags.push(`--partition=${config.partition}`);
  if (config.account) flags.push(`--account=${config.account}`);
  if (config.qos) flags.push(`--qos=${config.qos}`);
  const r: StageResources = job.resources ?? {};
  if (r.cpus !== undefined) {
    if (!Number.isInteger(r.cpus) || r.cpus < 1) throw new SpillwayError('invalidPipeline', `stage "${job.stage}": resources.cpus must be a whole number of at least 1, got ${JSON.stringify(r.cpus)}`);
    flags.push(`--cpus-per-task=${r.cpus}`);
  }
  if (r.memory !== undefined) flags.push(`--mem=${slurmMemory(r.memory, job.stage)}`);
  if (r.time !== undefined) flags.push(`--time=${slurmTime(r.time, job.stage)}`);
  else if (job.timeoutMs !== undefined) flags.push(`--time=${Math.ceil(job.timeoutMs / 60_000) + 1}`); // the engine's own timeout, with a minute to spare
  flags.push(...config.sbatchFlags, ...(r.extra ?? []));
  return flags;
}

/** Stage instances ("fit@k=2", "fit[3]") share the array of their stage. */
export function stageBase(stage: string): string {
  const cut = stage.search(/[@[]/);
  return cut > 0 ? stage.slice(0, cut) : stage;
}
