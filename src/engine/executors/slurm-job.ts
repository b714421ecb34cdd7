// The program a SLURM job runs on its compute node: `node slurm-job.js <batch dir>`. It reads the StageJob of its
// array task (tasks/<SLURM_ARRAY_TASK_ID or 0>.json), runs the stage through the engine's child-process path, and
// writes the result (failure or success, host, job id, times) to results/<task>.json, atomically: the submitting
// engine takes that file, not the scheduler's state, as the word on how the stage went. A stage that succeeded has its
// outputs validated against their schemas here and published into the shared store (publishOutputs); the engine
// re-hashes every published object before it records it.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { writeFileAtomic } from '../fs-atomic.js';
import type { StageFailure, StageJob } from '../executor.js';
import type { LockedOutput } from '../lockfile-format.js';
import { clearOutputs, publishOutputs, resultFile, runStageJob, taskFile, type SlurmJobResult } from './slurm-stage.js';

async function main(): Promise<number> {
  const batchDir = process.argv[2];
  if (!batchDir) {
    process.stderr.write('usage: node slurm-job.js <batch dir>\n');
    return 2;
  }
  const env = process.env;
  const task = env.SLURM_ARRAY_TASK_ID !== undefined ? Number(env.SLURM_ARRAY_TASK_ID) : 0;
  const jobId = env.SLURM_ARRAY_JOB_ID !== undefined ? `${env.SLURM_ARRAY_JOB_ID}_${task}` : (env.SLURM_JOB_ID ?? `pid-${process.pid}`);
  const attempt = Number(env.SLURM_RESTART_COUNT ?? 0) || 0;
  const started = new Date();
  const job = JSON.parse(readFileSync(taskFile(batchDir, task), 'utf8')) as StageJob;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`# spillway: stage ${job.stage}, SLURM job ${jobId} on ${hostname()}, attempt ${attempt}, ${started.toISOString()}`);
  if (attempt > 0) clearOutputs(job);

  // scancel and the time limit send SIGTERM: stop the stage process, and leave the verdict to the scheduler's state
  const controller = new AbortController();
  let terminated: string | undefined;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      terminated = sig;
      controller.abort();
    });
  }
  let failure: StageFailure | undefined;
  try {
    failure = await runStageJob(job, log, controller.signal);
  } catch (error) {
    failure = { kind: 'crash', message: `the SLURM job could not run the stage: ${(error as Error).message}`, stack: (error as Error).stack };
  }
  if (terminated !== undefined) {
    log(`# spillway: stopped by ${terminated}`);
    return 143;
  }
  let published: Record<string, LockedOutput> | undefined;
  if (failure === undefined) {
    try {
      const outcome = await publishOutputs(job);
      if ('published' in outcome) published = outcome.published;
      else failure = outcome;
    } catch (error) {
      failure = { kind: 'outputs', message: `stage "${job.stage}": could not publish its outputs into the store: ${(error as Error).message}`, stack: (error as Error).stack };
    }
  }
  const result: SlurmJobResult = {
    spillway_slurm_result: 1,
    stage: job.stage,
    key: job.key,
    task,
    job_id: jobId,
    host: hostname(),
    attempt,
    started: started.toISOString(),
    ended: new Date().toISOString(),
    ...(failure ? { failure } : {}),
    ...(published ? { published } : {}),
  };
  writeFileAtomic(resultFile(batchDir, task), `${JSON.stringify(result, null, 2)}\n`, { durable: true });
  log(`# spillway: ${failure ? `failed (${failure.kind}): ${failure.message}` : `done; published ${Object.values(published ?? {}).map((o) => o.object).join(', ') || 'no outputs'}`}`);
  return failure ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`spillway slurm job: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
