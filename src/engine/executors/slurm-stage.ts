// Runs one StageJob in this machine's processes, through the engine's own child-process path (execute.ts): on a
// compute node inside a SLURM job (slurm-job.ts), and on the submitting machine for stages marked `resources.local`.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StageFailure, StageJob } from '../executor.js';
import type { Pipeline, StageDecl } from '../pipeline.js';

/** Runs the stage; its outputs are left in `${job.workDir}/json` and `${job.workDir}/files`. */
export async function runStageJob(job: StageJob, onLog: (line: string) => void, signal?: AbortSignal): Promise<StageFailure | undefined> {
  const { executeCommand, executeModule } = await import('../execute.js');
  const jsonDir = join(job.workDir, 'json');
  const filesDir = join(job.workDir, 'files');
  mkdirSync(jsonDir, { recursive: true });
  mkdirSync(filesDir, { recursive: true });
  for (const [name, kind] of Object.entries(job.fileOuts)) if (kind === 'dir') mkdirSync(join(filesDir, name), { recursive: true });

  // The engine's timeout, enforced here too so that it is reported as such (the scheduler's limit is the backstop).
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  let timedOut = false;
  const timer =
    job.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, job.timeoutMs)
      : undefined;
  try {
    let failure: StageFailure | undefined;
    if (job.module !== undefined) {
      failure = await executeModule(
        {
          stage: job.stage,
          module: job.module,
          projectRoot: job.projectRoot,
          params: job.params,
          jsonInputs: job.jsonInputs,
          inputPaths: job.inputPaths,
          deps: job.deps,
          jsonOuts: job.jsonOuts,
          fileOuts: job.fileOuts,
          jsonDir,
          filesDir,
        },
        onLog,
        controller.signal,
      );
    } else if (job.cmd !== undefined) {
      // executeCommand reads only the argv of the stage and the project root of the pipeline
      const stage = { name: job.stage, cmd: job.cmd } as unknown as StageDecl;
      const pipeline = { root: job.projectRoot } as unknown as Pipeline;
      failure = await executeCommand(stage, pipeline, job.env ?? {}, onLog, controller.signal);
    } else {
      return { kind: 'crash', message: `job for stage "${job.stage}" has neither a module nor a command` };
    }
    if (timedOut) return { kind: 'timeout', message: `stage "${job.stage}" exceeded its time limit of ${job.timeoutMs} ms and was stopped` };
    return failure;
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
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

