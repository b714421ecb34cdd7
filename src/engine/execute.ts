// Running one stage: a module in a child process with tsx, or a command through execa (argv, no shell), in a private
// temp directory; then validating, storing and materializing what it produced.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpillwayError } from '../errors.js';
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

export interface StageFailure {
  message: string;
  stack?: string;
  /** e.g. "outputs", "schema", "crash", "exit" */
  kind: string;
}

const here = dirname(fileURLToPath(import.meta.url));
// Stage processes run the compiled runner with spillway's own TypeScript hooks (ts-hooks.ts). From the TypeScript
// sources (tests) the compiled dist/ is used when it has been built; otherwise, or with SPILLWAY_STAGE_LOADER=tsx, tsx.
const compiledDir = existsSync(join(here, 'stage-runner.js')) ? here : join(here, '..', '..', 'dist', 'engine');
const useTsx = process.env.SPILLWAY_STAGE_LOADER === 'tsx' || !existsSync(join(compiledDir, 'ts-register.js'));
const runnerFile = useTsx && !existsSync(join(here, 'stage-runner.js')) ? join(here, 'stage-runner.ts') : join(compiledDir, 'stage-runner.js');
let tsxLoader: string | undefined;
function loaderArgs(): string[] {
  if (!useTsx) return ['--import', pathToFileURL(join(compiledDir, 'ts-register.js')).href];
  tsxLoader ??= createRequire(import.meta.url).resolve('tsx');
  return ['--import', pathToFileURL(tsxLoader).href];
}

export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

const TAIL = 16 * 1024;

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
      else if (message.type === 'done') outcome = undefined;
      else if (message.type === 'error') {
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
    child.on('exit', onExit);
    child.send(job);
  });
}

export async function executeCommand(
  stage: StageDecl,
  pipeline: Pipeline,
  env: Record<string, string>,
  onLog: (line: string) => void,
  signal?: AbortSignal,
): Promise<StageFailure | undefined> {
  const { execa } = await import('execa');
  const [file, ...args] = stage.cmd as string[];
  const child = execa(file, args, {
    cwd: pipeline.root,
    env,
    extendEnv: true,
    reject: false,
    stdin: 'ignore',
    cancelSignal: signal,
    all: true,
    stripFinalNewline: true,
  });
  let tail = '';
  child.all?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-TAIL);
    for (const line of text.split('\n')) if (line.trim() !== '') onLog(line);
  });
  const result = await child;
  if (signal?.aborted) return { message: 'interrupted', kind: 'interrupted' };
  if (result.failed) {
    const how = result.exitCode !== undefined ? `exited with code ${result.exitCode}` : result.signal ? `was killed by ${result.signal}` : result.shortMessage;
    return { message: `command ${JSON.stringify(stage.cmd)} ${how}`, stack: tail.trim() || undefined, kind: 'exit' };
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

// ---------------------------------------------------------------------------------------------------------------
// Output validation (ajv loaded only when a stage actually produced something)

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown>; schemaPath: string }[] | null };
const validators = new Map<string, Promise<Validator>>();

function schemaValidator(root: string, schemaPath: string, schemaHash: string): Promise<Validator> {
  const cacheKey = `${root}|${schemaPath}|${schemaHash}`;
  let validator = validators.get(cacheKey);
  if (validator === undefined) {
    validator = compileValidator(root, schemaPath);
    validators.set(cacheKey, validator);
    validator.catch(() => validators.delete(cacheKey));
  }
  return validator;
}

/**
 * Loads ajv and compiles the stage's output schemas while the stage process runs (the engine is idle then), so that
 * validation does not add ajv's start-up to the stage's time. Errors surface later, in collectOutputs.
 */
export function prepareValidators(pipeline: Pipeline, fp: Fingerprint): void {
  for (const schema of Object.values(fp.schemas)) schemaValidator(pipeline.root, schema.path, schema.hash).catch(() => {});
}

async function compileValidator(root: string, schemaPath: string): Promise<Validator> {
  const schema = JSON.parse(readFileSync(resolve(root, schemaPath), 'utf8')) as { $schema?: string };
  const draft = schema.$schema ?? '';
  const AjvClass = draft.includes('2020-12')
    ? (await import('ajv/dist/2020.js')).default.default
    : draft.includes('2019-09')
      ? (await import('ajv/dist/2019.js')).default.default
      : (await import('ajv')).default.default;
  const addFormats = (await import('ajv-formats')).default.default;
  const ajv = new AjvClass({ allErrors: false, strict: false });
  addFormats(ajv);
  // A relative "$ref": "common.schema.json#/…" resolves against the schema's own file, and is loaded on demand.
  const withId = (schema as { $id?: string }).$id === undefined ? { ...schema, $id: pathToFileURL(resolve(root, schemaPath)).href } : schema;
  let validate: Validator | undefined;
  for (let attempt = 0; validate === undefined; attempt++) {
    try {
      validate = ajv.compile(withId) as unknown as Validator;
    } catch (error) {
      const missing = (error as { missingSchema?: string }).missingSchema;
      if (missing?.startsWith('file:') && attempt < 50) {
        try {
          ajv.addSchema(JSON.parse(readFileSync(fileURLToPath(missing), 'utf8')) as object, missing);
          continue;
        } catch {
          /* fall through to the error below */
        }
      }
      throw new SpillwayError('invalidPipeline', `schema ${schemaPath} is not a valid JSON Schema: ${(error as Error).message}`, { file: schemaPath });
    }
  }
  return validate;
}

export interface CollectedOutputs {
  outs: Record<string, LockedOutput>;
}

/** Validates, stores and materializes a finished stage's outputs; a failure names stage, artifact, pointer and rule. */
export async function collectOutputs(pipeline: Pipeline, stage: StageDecl, fp: Fingerprint, workDir: string, cache: StatCache): Promise<CollectedOutputs | StageFailure> {
  const root = pipeline.root;
  const outs: Record<string, LockedOutput> = {};
  for (const out of stage.outs) {
    if (out.kind === 'json') {
      const file = join(workDir, 'json', `${out.name}.json`);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        return { kind: 'outputs', message: `stage "${stage.name}" did not write its JSON output "${out.name}"${stage.cmd ? ` (expected at $SPILLWAY_OUT_${envName(out.name)})` : ''}` };
      }
      let value: unknown;
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        return { kind: 'outputs', message: `stage "${stage.name}", output "${out.name}" is not valid JSON: ${(error as Error).message}` };
      }
      const schema = fp.schemas[out.name];
      const validate = await schemaValidator(root, schema.path, schema.hash);
      if (!validate(value)) {
        const e = validate.errors?.[0];
        const pointer = e?.instancePath || '/';
        const rule = e ? `${e.keyword}${e.keyword === 'required' ? ` "${String(e.params.missingProperty)}"` : ''} (${e.schemaPath})` : 'unknown';
        return {
          kind: 'schema',
          message: `stage "${stage.name}", output "${out.name}" violates ${schema.path} at ${pointer}: ${e?.message ?? 'invalid'} [rule ${rule}]`,
        };
      }
      const hash = putBytes(root, bytes);
      const readable = `artifacts/out/${stage.name}/${out.name}.json`;
      materializeFile(root, hash, resolve(root, readable), cache);
      outs[out.name] = { kind: 'json', hash, size: bytes.length, path: readable, object: objectRelPath(hash), schema: { path: schema.path, hash: schema.hash } };
    } else {
      const produced = join(workDir, 'files', out.name);
      let isDir: boolean;
      try {
        isDir = statSync(produced).isDirectory();
      } catch {
        return { kind: 'outputs', message: `stage "${stage.name}" did not write its ${out.kind} output "${out.name}" (ctx.outPath("${out.name}"))` };
      }
      if (isDir !== (out.kind === 'dir')) {
        return { kind: 'outputs', message: `stage "${stage.name}", output "${out.name}" was declared as a ${out.kind} but a ${isDir ? 'directory' : 'file'} was written` };
      }
      const target = resolve(root, out.path as string);
      if (out.kind === 'file') {
        const hash = hashBytes(readFileSync(produced));
        putFile(root, produced, hash);
        mkdirSync(dirname(target), { recursive: true });
        renameSync(produced, target);
        cache.remember(target, hash);
        outs[out.name] = { kind: 'file', hash, size: statSync(target).size, path: out.path as string, object: objectRelPath(hash) };
      } else {
        const stored = putDir(root, produced, cache);
        installDir(produced, target);
        for (const f of stored.manifest.files) cache.remember(join(target, f.path), f.hash);
        outs[out.name] = { kind: 'dir', hash: stored.hash, size: stored.size, path: out.path as string, object: objectRelPath(stored.hash), files: stored.manifest.files };
      }
    }
  }
  return { outs };
}
