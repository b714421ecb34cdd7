// The single-node SLURM cluster of scripts/slurm-cluster.sh, for the cluster tests and benches: use it when it
// answers, start it when it does not (as root), and say plainly why when it cannot be started.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionHooks, ExecutionOutcome, StageJob } from '../../src/engine/executor.js';
import { hashFileContent } from '../../src/engine/hash.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function answers(): boolean {
  const r = spawnSync('sinfo', ['--noheader', '--Node', '--format=%T'], { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 && /^(idle|mixed|allocated|completing)/m.test(r.stdout);
}

/** undefined when the cluster is up, else why it could not be started (with start: false, only whether it answers) */
export function ensureCluster(options: { start?: boolean } = {}): string | undefined {
  if (answers()) return undefined;
  if (options.start === false) return 'no SLURM cluster answers (start the test cluster with `sudo bash scripts/slurm-cluster.sh start`)';
  if (process.getuid?.() !== 0) return 'no SLURM cluster answers and this is not root, so scripts/slurm-cluster.sh cannot start one (run `sudo bash scripts/slurm-cluster.sh start`)';
  const r = spawnSync('bash', [join(repoRoot, 'scripts/slurm-cluster.sh'), 'start'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !answers()) return `scripts/slurm-cluster.sh start failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`;
  return undefined;
}

/** squeue's view of one job (or array task) id, with finished jobs */
export function jobState(id: string): string | undefined {
  try {
    const out = execFileSync('squeue', ['--noheader', '--array', '--states=all', `--jobs=${id.split('_')[0]}`, '--format=%i|%T'], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const [i, state] = line.trim().split('|');
      if (i === id) return state;
    }
  } catch {
    /* not known */
  }
  return undefined;
}

export interface TempProject {
  root: string;
  /** a StageJob for a module stage of this project, with a fresh workDir */
  job(stage: string, module: string, extra?: Partial<StageJob>): StageJob;
  cleanup(): void;
}

export function tempProject(files: Record<string, string>): TempProject {
  const root = mkdtempSync(join(tmpdir(), 'spillway-slurm-'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module", "private": true }\n');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  // the schema of every JSON output of job() (unless it names its own)
  const anySchema = 'schemas/any.schema.json';
  if (!existsSync(join(root, anySchema))) {
    mkdirSync(join(root, 'schemas'), { recursive: true });
    writeFileSync(join(root, anySchema), '{ "type": "object" }\n');
  }
  let n = 0;
  return {
    root,
    job(stage, module, extra = {}) {
      n += 1;
      const workDir = join(root, '.spillway', 'tmp', `${stage.replace(/[^A-Za-z0-9_-]/g, '_')}-${n}`);
      mkdirSync(workDir, { recursive: true });
      const schema = { path: anySchema, hash: hashFileContent(join(root, anySchema)) };
      return {
        outSchemas: Object.fromEntries((extra.jsonOuts ?? []).map((name) => [name, schema])),
        stage,
        key: `sha256:${String(n).padStart(64, '0')}`,
        projectRoot: root,
        module: join(root, module),
        params: {},
        jsonInputs: {},
        inputPaths: {},
        deps: [],
        jsonOuts: [],
        fileOuts: {},
        workDir,
        ...extra,
      };
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function hooks(signal?: AbortSignal): ExecutionHooks & { lines: string[] } {
  const lines: string[] = [];
  return { lines, onLog: (line: string) => lines.push(line), signal };
}

export async function until(check: () => boolean, timeoutMs = 120_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An output of a finished job: from the store when the job published it there (SLURM jobs validate and publish on the
 * node), else from the job's work directory (local stages).
 */
export function readOut(root: string, job: StageJob, outcome: ExecutionOutcome, name: string): string {
  const published = outcome.published?.[name];
  if (published) return readFileSync(join(root, published.object), 'utf8');
  return readFileSync(job.jsonOuts.includes(name) ? join(job.workDir, 'json', `${name}.json`) : join(job.workDir, 'files', name), 'utf8');
}
