// The local executor: each stage in a process of its own on this machine. Module stages run in a forked Node process
// with spillway's TypeScript hooks (a pool keeps one started ahead of need); command stages run through execa without
// a shell. A stage over its time limit is killed and reported as kind 'timeout'.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { executeCommand, executeModule, StageProcessPool } from '../execute.js';
import type { ExecutionHooks, ExecutionOutcome, Executor, StageFailure, StageJob } from '../executor.js';
import type { ModuleJob } from '../stage-job.js';

/** "1h 2m 3s" style text for a limit in milliseconds. */
export function formatLimit(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts = [Math.floor(s / 3600) && `${Math.floor(s / 3600)}h`, Math.floor((s % 3600) / 60) && `${Math.floor((s % 3600) / 60)}m`, s % 60 && `${s % 60}s`].filter(Boolean);
  return parts.join(' ') || `${ms} ms`;
}

/**
 * Runs `start` with a signal that fires on the caller's abort or when `timeoutMs` passes; a timeout turns whatever the
 * killed stage reported into one clear failure of kind 'timeout'.
 */
export async function withTimeout(
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  start: (signal: AbortSignal) => Promise<StageFailure | undefined>,
): Promise<StageFailure | undefined> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs);
  try {
    const failure = await start(controller.signal);
    if (timedOut && !signal?.aborted) {
      return { kind: 'timeout', message: `the stage ran longer than its time limit (timeout: ${formatLimit(timeoutMs as number)}) and was killed`, stack: failure?.stack };
    }
    return failure;
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** What a stage process needs of a module stage's job: the job itself, with its output directories spelled out. */
export function moduleJobOf(job: StageJob): ModuleJob {
  return {
    stage: job.stage,
    module: job.module as string,
    projectRoot: job.projectRoot,
    params: job.params,
    jsonInputs: job.jsonInputs,
    inputPaths: job.inputPaths,
    deps: job.deps,
    jsonOuts: job.jsonOuts,
    fileOuts: job.fileOuts,
    jsonDir: join(job.workDir, 'json'),
    filesDir: join(job.workDir, 'files'),
  };
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  private pool: StageProcessPool | undefined;

  constructor(private readonly projectRoot: string) {}

  async execute(job: StageJob, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
    const started = new Date();
    const failure = await withTimeout(job.timeoutMs, hooks.signal, (signal) => {
      if (job.module !== undefined) {
        this.pool ??= new StageProcessPool(this.projectRoot);
        return executeModule(
          moduleJobOf(job),
          hooks.onLog,
          signal,
          this.pool,
          hooks.onTimings,
        );
      }
      return executeCommand(job.cmd as string[], job.projectRoot, job.env ?? {}, hooks.onLog, signal);
    });
    const ended = new Date();
    return { ...(failure ? { failure } : {}), place: { executor: this.name, host: hostname(), started: started.toISOString(), ended: ended.toISOString() } };
  }

  warm(count: number): void {
    this.pool ??= new StageProcessPool(this.projectRoot);
    this.pool.warm(count);
  }

  async close(): Promise<void> {
    this.pool?.close();
  }
}
