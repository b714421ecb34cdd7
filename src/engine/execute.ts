// Running one stage's code on this machine: a module in a child process with spillway's TypeScript hooks, or a
// command through execa (argv, no shell), in a private temp directory. The LocalExecutor (executors/local.ts) wraps
// these; validating and storing what a stage produced is outputs.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StageFailure } from './executor.js';
import type { Fingerprint } from './fingerprint.js';
import { hashBytes, type StatCache } from './hash.js';
import type { LockedOutput } from './lockfile-format.js';
import type { Pipeline, StageDecl } from './pipeline.js';
import type { ModuleJob, RunnerMessage } from './stage-runner.js';
import { nestParams } from './stage-context.js';
import { installDir, materializeFile, objectRelPath, putBytes, putDir, putFile } from './store.js';

export interface ExecutionInputs {
  /** JSON inputs: local name → object file */
  json: Record<string, string>;
  /** file/dir inputs: local name → materialized path */
  paths: Record<string, string>;
}

export type { StageFailure } from './executor.js';

const here = dirname(fileURLToPath(import.meta.url));
// Stage processes run the compiled runner with spillway's own TypeScript hooks (ts-hooks.ts). From the TypeScript
// sources (tests) the compiled dist/ is used when it has been built; otherwise, or with SPILLWAY_STAGE_LOADER=tsx, tsx.
const compiledDir = existsSync(join(here, 'stage-runner.js')) ? here : join(here, '..', '..', 'dist', 'engine');
const useTsx = process.env.SPILLWAY_STAGE_LOADER === 'tsx' || !existsSync(join(compiledDir, 'ts-register.js'));
/** The persistent worker's entry; undefined under tsx, whose hooks cannot give each job fresh module instances. */
export const workerFile = useTsx ? undefined : join(compiledDir, 'stage-worker.js');
const runnerFile = useTsx && !existsSync(join(here, 'stage-runner.js')) ? join(here, 'stage-runner.ts') : join(compiledDir, 'stage-runner.js');
let tsxLoader: string | undefined;
export function loaderArgs(): string[] {
  if (!useTsx) return ['--import', pathToFileURL(join(compiledDir, 'ts-register.js')).href];
  tsxLoader ??= createRequire(import.meta.url).resolve('tsx');
  return ['--import', pathToFileURL(tsxLoader).href];
}

export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export const TAIL = 16 * 1024;

/**
 * Stage processes with tsx already loaded, started ahead of need: tsx's start-up (a few hundred ms) then overlaps with
 * the previous stage instead of adding to it. Each process still runs exactly one stage, so stages stay isolated.
 */
export class StageProcessPool {
  private spare: ChildProcess[] = [];

  constructor(private readonly root: string) {}

  private spawn(): ChildProcess {
    const child = fork(runnerFile, [], {
      cwd: this.root,
      execArgv: [...loaderArgs(), '--enable-source-maps'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, SPILLWAY_PROJECT_ROOT: this.root, SPILLWAY_TS_CACHE: join(this.root, '.spillway', 'ts-cache') },
    });
    child.on('error', () => {}); // reported through 'exit' when it is used
    return child;
  }

  take(): ChildProcess {
    while (this.spare.length > 0) {
      const child = this.spare.shift() as ChildProcess;
      if (child.connected && child.exitCode === null && child.signalCode === null) return child;
    }
    return this.spawn();
  }

  /** Keeps `count` spare processes starting or ready. */
  warm(count: number): void {
    this.spare = this.spare.filter((c) => c.exitCode === null && c.signalCode === null);
    while (this.spare.length < count) this.spare.push(this.spawn());
  }

  close(): void {
    for (const child of this.spare.splice(0)) child.kill('SIGKILL');
  }
}

export async function executeModule(
  job: ModuleJob,
  onLog: (line: string) => void,
  signal?: AbortSignal,
  pool?: StageProcessPool,
  onTimings?: (timings: import('./stage-job.js').StageCodeTimings) => void,
): Promise<StageFailure | undefined> {
  return new Promise((resolveRun) => {
    const child = (pool ?? new StageProcessPool(job.projectRoot)).take();
    let outcome: StageFailure | undefined | null = null;
    let stderrTail = '';
    const forward = (chunk: Buffer, isErr: boolean) => {
      const text = chunk.toString('utf8');
      if (isErr) stderrTail = (stderrTail + text).slice(-TAIL);
      for (const line of text.split('\n')) if (line.trim() !== '') onLog(line);
    };
    child.stdout?.on('data', (c: Buffer) => forward(c, false));
    child.stderr?.on('data', (c: Buffer) => forward(c, true));
    child.on('message', (message: RunnerMessage) => {
      if (message.type === 'log') onLog(message.message);
      else if (message.type === 'done') {
        outcome = undefined;
        if (message.timings) onTimings?.(message.timings);
      } else if (message.type === 'error') {
        outcome = { message: message.message, stack: message.stack, kind: message.kind ?? 'crash' };
      }
    });
    const abort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (error) => {
      outcome ??= { message: `could not start the stage process: ${error.message}`, kind: 'crash' };
    });
    const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) return resolveRun({ message: 'interrupted', kind: 'interrupted' });
      if (outcome === null) {
        const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
        return resolveRun({ message: `the stage process ${how} before finishing`, stack: stderrTail.trim() || undefined, kind: 'crash' });
      }
      resolveRun(outcome ?? undefined);
    };
    if (child.exitCode !== null || child.signalCode !== null) return onExit(child.exitCode, child.signalCode);
    // 'close', not 'exit': the stage's last output may still be in the pipes when the process has exited
    child.on('close', onExit);
    child.send(job);
  });
}

export async function executeCommand(
  cmd: string[],
  cwd: string,
  env: Record<string, string>,
  onLog: (line: string) => void,
  signal?: AbortSignal,
): Promise<StageFailure | undefined> {
  const { execa } = await import('execa');
  const [file, ...args] = cmd;
  const child = execa(file, args, {
    cwd,
    env,
    extendEnv: true,
    reject: false,
    stdin: 'ignore',
    cancelSignal: signal,
    all: true,
    stripFinalNewline: true,
    // its own process group, so that what the command started in the background ends with it: a leftover holding
    // the output pipes would otherwise keep the stage (and its timeout) waiting for as long as it lives
    detached: process.platform !== 'win32',
  });
  const killGroup = () => {
    if (child.pid === undefined || process.platform === 'win32') return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
  };
  child.on('exit', killGroup);
  signal?.addEventListener('abort', killGroup, { once: true });
  let tail = '';
  child.all?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-TAIL);
    for (const line of text.split('\n')) if (line.trim() !== '') onLog(line);
  });
  const result = await child;
  signal?.removeEventListener('abort', killGroup);
  if (signal?.aborted) return { message: 'interrupted', kind: 'interrupted' };
  if (result.failed) {
    const how = result.exitCode !== undefined ? `exited with code ${result.exitCode}` : result.signal ? `was killed by ${result.signal}` : result.shortMessage;
    return { message: `command ${JSON.stringify(cmd)} ${how}`, stack: tail.trim() || undefined, kind: 'exit' };
  }
  return undefined;
}

/** The environment a command stage sees; params arrive as a JSON file, never on its command line. */
export function commandEnv(stage: StageDecl, pipeline: Pipeline, fp: Fingerprint, inputs: ExecutionInputs, workDir: string, deps: string[]): Record<string, string> {
  const paramsFile = join(workDir, 'params.json');
  const params = nestParams(fp.params);
  writeFileSync(paramsFile, `${JSON.stringify(params, null, 2)}\n`);
  const env: Record<string, string> = {
    SPILLWAY_STAGE: stage.name,
    SPILLWAY_PROJECT_ROOT: pipeline.root,
    SPILLWAY_PARAMS_FILE: paramsFile,
    SPILLWAY_OUT_DIR: join(workDir, 'files'),
    SPILLWAY_JSON_OUT_DIR: join(workDir, 'json'),
    SPILLWAY_DEPS: JSON.stringify(deps),
  };
  for (const [name, file] of Object.entries(inputs.json)) env[`SPILLWAY_INPUT_${envName(name)}`] = file;
  for (const [name, path] of Object.entries(inputs.paths)) env[`SPILLWAY_INPUT_${envName(name)}`] = path;
  for (const out of stage.outs) {
    env[`SPILLWAY_OUT_${envName(out.name)}`] = out.kind === 'json' ? join(workDir, 'json', `${out.name}.json`) : join(workDir, 'files', out.name);
    if (out.kind === 'dir') mkdirSync(join(workDir, 'files', out.name), { recursive: true });
  }
  mkdirSync(join(workDir, 'files'), { recursive: true });
  mkdirSync(join(workDir, 'json'), { recursive: true });
  return env;
}

