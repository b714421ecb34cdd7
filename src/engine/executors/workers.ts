// The warm-worker executor: module stages run in persistent worker processes (stage-worker.ts) that stay loaded
// between stages, so an executed stage costs an IPC round trip and its own imports instead of a Node start-up. A
// stage is still isolated from the engine and from other stages: each job gets fresh instances of the project's
// modules, the worker restores its environment after each job and retires when a job left state behind, after
// `maxJobs` jobs or past `maxRssBytes`; a crash or a timeout kills only that worker. Command stages run as the local
// executor runs them.
import { fork, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { executeCommand, loaderArgs, TAIL, workerFile } from '../execute.js';
import type { ExecutionHooks, ExecutionOutcome, Executor, StageFailure, StageJob } from '../executor.js';
import { endOfJob, type RunnerMessage } from '../stage-job.js';
import type { WorkerReply, WorkerRequest } from '../stage-worker.js';
import { moduleJobOf, withTimeout } from './local.js';

export interface WorkerOptions {
  /** jobs a worker runs before it is replaced (module instances accumulate) */
  maxJobs?: number;
  /** resident memory after a job past which the worker is replaced */
  maxRssBytes?: number;
}

interface Worker {
  child: ChildProcess;
  /** the job it is running: where its output goes and how it ends */
  current?: { id: number; onLog: (line: string) => void; onTimings?: ExecutionHooks['onTimings']; stderr: string; outcome: StageFailure | undefined | null; settle: (failure: StageFailure | undefined) => void; ended: { out: boolean; err: boolean }; finished?: () => void };
  /** the unfinished last line of each stream */
  partial: { out: string; err: string };
  retired: boolean;
  jobs: number;
}

export class WorkerExecutor implements Executor {
  readonly name = 'workers';
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private nextId = 1;
  private readonly maxJobs: number;
  private readonly maxRssBytes: number;

  constructor(
    private readonly projectRoot: string,
    options: WorkerOptions = {},
  ) {
    if (workerFile === undefined) throw new Error('warm workers need spillway\'s own TypeScript hooks (SPILLWAY_STAGE_LOADER=tsx is set)');
    this.maxJobs = options.maxJobs ?? 25;
    this.maxRssBytes = options.maxRssBytes ?? 1.5 * 2 ** 30;
  }

  private spawn(): Worker {
    const child = fork(workerFile as string, [], {
      cwd: this.projectRoot,
      execArgv: [...loaderArgs(), '--enable-source-maps'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, SPILLWAY_PROJECT_ROOT: this.projectRoot, SPILLWAY_TS_CACHE: join(this.projectRoot, '.spillway', 'ts-cache') },
    });
    const worker: Worker = { child, retired: false, jobs: 0, partial: { out: '', err: '' } };
    // Output is read line by line; the worker ends each job's output with a marker line on both streams, and a job
    // is settled only once both markers arrived (the IPC reply can overtake output still in the pipes).
    const forward = (chunk: Buffer, isErr: boolean) => {
      const stream = isErr ? 'err' : 'out';
      const lines = (worker.partial[stream] + chunk.toString('utf8')).split('\n');
      worker.partial[stream] = lines.pop() as string;
      // a line without end is passed on in pieces rather than buffered without bound
      if (worker.partial[stream].length > 64 * 1024) lines.push(worker.partial[stream].slice(0, 64 * 1024)), (worker.partial[stream] = worker.partial[stream].slice(64 * 1024));
      for (const line of lines) {
        const current = worker.current;
        if (!current) continue; // output of a job's leftovers between jobs: no stage to credit it to
        if (line === endOfJob(current.id)) {
          current.ended[stream] = true;
          if (current.ended.out && current.ended.err) current.finished?.();
          continue;
        }
        if (isErr) current.stderr = (current.stderr + line + '\n').slice(-TAIL);
        if (line.trim() !== '') current.onLog(line);
      }
    };
    child.stdout?.on('data', (c: Buffer) => forward(c, false));
    child.stderr?.on('data', (c: Buffer) => forward(c, true));
    child.on('error', () => {}); // reported through 'exit'
    child.on('message', (message: RunnerMessage | WorkerReply) => {
      const current = worker.current;
      if (!current) return;
      if (message.type === 'log') current.onLog(message.message);
      else if (message.type === 'done') {
        current.outcome = undefined;
        if (message.timings) current.onTimings?.(message.timings);
      }
      else if (message.type === 'error') current.outcome = { message: message.message, stack: message.stack, kind: message.kind ?? 'crash' };
      else if (message.type === 'finished' && message.id === current.id) {
        if (!(current.ended.out && current.ended.err) && current.finished === undefined) {
          // wait for the end markers (a stage that closed its stdout never sends one: do not wait long for it)
          const timer = setTimeout(() => current.finished?.(), 2000);
          current.finished = () => {
            clearTimeout(timer);
            current.finished = undefined;
            current.ended = { out: true, err: true };
            finish(message);
          };
          return;
        }
        finish(message);
      }
    });
    const finish = (message: WorkerReply) => {
      const current = worker.current;
      if (!current) return;
      {
        worker.jobs += 1;
        if (message.retire || worker.jobs >= this.maxJobs || message.rss > this.maxRssBytes) {
          if (process.env.SPILLWAY_DEBUG_WORKERS) process.stderr.write(`worker ${worker.child.pid} retires: ${message.retire ?? `${worker.jobs} jobs, rss ${message.rss}`}\n`);
          this.retire(worker);
        }
        worker.current = undefined;
        current.settle(current.outcome ?? undefined);
        if (!worker.retired) this.idle.push(worker);
      }
    };
    child.on('exit', (code, signal) => {
      this.all.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
      const current = worker.current;
      worker.current = undefined;
      worker.retired = true;
      if (current) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        // a failure the stage already reported wins over the bare fact that its process went away
        current.settle(current.outcome ?? { message: `the stage process (a warm worker) ${how} while running this stage`, stack: current.stderr.trim() || undefined, kind: 'crash' });
      }
    });
    this.all.add(worker);
    return worker;
  }

  private retire(worker: Worker): void {
    worker.retired = true;
    // let it exit by itself once the reply is sent; make sure it does
    setTimeout(() => worker.child.kill('SIGKILL'), 2000).unref();
  }

  private take(): Worker {
    for (;;) {
      const worker = this.idle.shift();
      if (worker === undefined) return this.spawn();
      if (!worker.retired && worker.child.connected && worker.child.exitCode === null) return worker;
    }
  }

  private runOnWorker(job: StageJob, onLog: (line: string) => void, signal: AbortSignal, onTimings?: ExecutionHooks['onTimings']): Promise<StageFailure | undefined> {
    return new Promise((settle) => {
      const worker = this.take();
      const id = this.nextId++;
      const abort = () => worker.child.kill('SIGKILL');
      let settled = false;
      worker.current = {
        id,
        onLog,
        onTimings,
        stderr: '',
        ended: { out: false, err: false },
        outcome: null,
        settle: (failure) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', abort);
          settle(signal.aborted ? { message: 'interrupted', kind: 'interrupted' } : failure);
        },
      };
      if (signal.aborted) return worker.current.settle(undefined);
      signal.addEventListener('abort', abort, { once: true });
      const request: WorkerRequest = {
        type: 'job',
        id,
        job: moduleJobOf(job),
      };
      worker.child.send(request);
    });
  }

  async execute(job: StageJob, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
    const started = new Date();
    const failure = await withTimeout(job.timeoutMs, hooks.signal, (signal) =>
      job.module !== undefined ? this.runOnWorker(job, hooks.onLog, signal, hooks.onTimings) : executeCommand(job.cmd as string[], job.projectRoot, job.env ?? {}, hooks.onLog, signal),
    );
    return { ...(failure ? { failure } : {}), place: { executor: job.module !== undefined ? this.name : 'local', host: hostname(), started: started.toISOString(), ended: new Date().toISOString() } };
  }

  warm(count: number): void {
    while (this.idle.length < count) this.idle.push(this.spawn());
  }

  async close(): Promise<void> {
    for (const worker of this.all) worker.child.kill('SIGKILL');
    this.all.clear();
    this.idle.length = 0;
  }
}
