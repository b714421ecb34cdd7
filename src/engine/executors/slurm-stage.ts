// Runs one StageJob on a compute node inside a SLURM job (slurm-job.ts), through the engine's own LocalExecutor; and
// the files of one submission.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StageFailure, StageJob } from '../executor.js';

/**
 * Runs the stage with the LocalExecutor (a child process, the engine's time limit enforced and reported as kind
 * 'timeout'); its outputs are left in `${job.workDir}/json` and `${job.workDir}/files`.
 */
export async function runStageJob(job: StageJob, onLog: (line: string) => void, signal?: AbortSignal): Promise<StageFailure | undefined> {
  const { LocalExecutor } = await import('./local.js');
  mkdirSync(join(job.workDir, 'json'), { recursive: true });
  mkdirSync(join(job.workDir, 'files'), { recursive: true });
  for (const [name, kind] of Object.entries(job.fileOuts)) if (kind === 'dir') mkdirSync(join(job.workDir, 'files', name), { recursive: true });
  const executor = new LocalExecutor(job.projectRoot);
  try {
    const outcome = await executor.execute(job, { onLog, signal });
    return outcome.failure;
  } finally {
    await executor.close();
  }
}

/** Empties what an earlier attempt of the same job left (SLURM requeues a job whose node failed). */
export function clearOutputs(job: StageJob): void {
  rmSync(join(job.workDir, 'json'), { recursive: true, force: true });
  rmSync(join(job.workDir, 'files'), { recursive: true, force: true });
}

// The files of one submission (a batch: one sbatch call, one job or one job array) in its directory.
/** What a job leaves in results/<task>.json. */
export interface SlurmJobResult {
  spillway_slurm_result: 1;
  stage: string;
  key: string;
  task: number;
  /** "123", or "123_4" for task 4 of array job 123 */
  job_id: string;
  host: string;
  /** SLURM_RESTART_COUNT: 0 unless SLURM requeued the job (e.g. after its node failed) */
  attempt: number;
  started: string;
  ended: string;
  failure?: StageFailure;
}

export function taskFile(batchDir: string, task: number): string {
  return join(batchDir, 'tasks', `${task}.json`);
}
export function resultFile(batchDir: string, task: number): string {
  return join(batchDir, 'results', `${task}.json`);
}
export function logFile(batchDir: string, task: number): string {
  return join(batchDir, 'logs', `${task}.log`);
}

