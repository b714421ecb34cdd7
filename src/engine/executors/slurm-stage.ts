// Runs one StageJob on a compute node inside a SLURM job (slurm-job.ts), through the engine's own LocalExecutor; and
// the files of one submission.
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StageFailure, StageJob } from '../executor.js';
import type { LockedOutput } from '../lockfile-format.js';

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

/**
 * On the node, after the stage succeeded: checks every declared output (JSON against its schema, with the messages of
 * a local run), then publishes them into the shared store, each object written atomically (temp file in the object's
 * directory, fsync, rename: a half-written object never appears under its hash, whichever node writes it). Nothing
 * is stored unless every output checks out. The engine re-hashes every published object before it records it.
 */
export async function publishOutputs(job: StageJob): Promise<{ published: Record<string, LockedOutput> } | StageFailure> {
  const { checkJsonOutput } = await import('../outputs.js');
  const { hashBytes, hashFileContent, StatCache } = await import('../hash.js');
  const { objectRelPath, putBytes, putDir, putFile } = await import('../store.js');
  const root = job.projectRoot;
  const stage = { name: job.stage, cmd: job.cmd };
  const json: Record<string, Buffer> = {};
  for (const name of job.jsonOuts) {
    const schema = job.outSchemas?.[name];
    if (schema === undefined) return { kind: 'outputs', message: `stage "${job.stage}": the job does not name the schema of output "${name}" (submitted by an older spillway?)` };
    // the schema and every file it refers to, as the key was made with them
    for (const file of [schema, ...(schema.refs ?? [])]) {
      let now: string;
      try {
        now = hashFileContent(resolve(root, file.path));
      } catch (error) {
        return { kind: 'outputs', message: `stage "${job.stage}", output "${name}": cannot read its schema ${file.path} on this node: ${(error as Error).message}` };
      }
      if (now !== file.hash) return { kind: 'outputs', message: `stage "${job.stage}", output "${name}": its schema ${file.path} changed while the job was queued; run again` };
    }
    const checked = await checkJsonOutput(root, stage, name, schema, job.workDir);
    if (!('bytes' in checked)) return checked;
    json[name] = checked.bytes;
  }
  for (const [name, kind] of Object.entries(job.fileOuts)) {
    let isDir: boolean;
    try {
      isDir = statSync(join(job.workDir, 'files', name)).isDirectory();
    } catch {
      return { kind: 'outputs', message: `stage "${job.stage}" did not write its ${kind} output "${name}" (ctx.outPath("${name}"))` };
    }
    if (isDir !== (kind === 'dir')) return { kind: 'outputs', message: `stage "${job.stage}", output "${name}" was declared as a ${kind} but a ${isDir ? 'directory' : 'file'} was written` };
  }
  const cache = new StatCache(root, undefined); // in memory only: the node never writes the engine's stat cache
  const published: Record<string, LockedOutput> = {};
  for (const [name, bytes] of Object.entries(json)) {
    const hash = putBytes(root, bytes, hashBytes(bytes));
    published[name] = { kind: 'json', hash, size: bytes.length, path: `artifacts/out/${job.stage}/${name}.json`, object: objectRelPath(hash), schema: job.outSchemas?.[name] };
  }
  for (const [name, kind] of Object.entries(job.fileOuts)) {
    const produced = join(job.workDir, 'files', name);
    if (kind === 'file') {
      const bytes = readFileSync(produced);
      const hash = hashBytes(bytes);
      putFile(root, produced, hash);
      published[name] = { kind: 'file', hash, size: bytes.length, path: '', object: objectRelPath(hash) };
    } else {
      const stored = putDir(root, produced, cache);
      published[name] = { kind: 'dir', hash: stored.hash, size: stored.size, path: '', object: objectRelPath(stored.hash), files: stored.manifest.files };
    }
  }
  return { published };
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
  /** the outputs, validated and published into the store on the node (absent when the stage failed) */
  published?: Record<string, LockedOutput>;
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

