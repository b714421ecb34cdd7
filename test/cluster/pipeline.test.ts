// The default replication pipeline through the engine with the SLURM executor, on the single-node cluster: the same
// artifacts, byte for byte, and the same cache keys as a local run; a later local run finds everything cached; the
// lockfile says which SLURM job on which node ran each stage.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunReport } from '../../src/engine/index.js';
import type { Lockfile } from '../../src/engine/lockfile-format.js';
import { DEFAULT_CONFIG } from '../../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../../src/engine/executors/slurm.js';
import { ensureCluster, jobState, repoRoot } from './helpers.js';

const unavailable = ensureCluster();
if (unavailable) console.warn(`SKIPPED the SLURM pipeline test: ${unavailable}`);

function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-slurm-pipeline-'));
  for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'package.json', 'tsconfig.json', 'data/raw', 'data/paper']) {
    cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** every file under a directory, relative path → bytes */
function files(dir: string, root = dir, out = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) files(full, root, out);
    else out.set(relative(root, full), readFileSync(full));
  }
  return out;
}

const statuses = (report: RunReport) => Object.fromEntries(report.stages.map((s) => [s.stage, s.status]));
const lock = (dir: string) => JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8')) as Lockfile;

describe.skipIf(unavailable !== undefined)('the replication pipeline through SLURM', () => {
  let onCluster: string;
  let onLaptop: string;
  let clusterReport: RunReport;
  let localReport: RunReport;

  beforeAll(async () => {
    onCluster = copyProject();
    onLaptop = copyProject();
    const executor = new SlurmExecutor({ root: onCluster, config: { ...DEFAULT_CONFIG, pollIntervalMs: 1000 } });
    try {
      clusterReport = await runPipeline({ pipelineFile: join(onCluster, 'pipeline.yaml'), executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    localReport = await runPipeline({ pipelineFile: join(onLaptop, 'pipeline.yaml'), jobs: 2 });
  }, 300_000);
  afterAll(() => {
    for (const dir of [onCluster, onLaptop]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs every stage as a SLURM job, recorded in the lockfile', () => {
    expect(clusterReport.ok, JSON.stringify(clusterReport.stages.filter((s) => s.status === 'failed'))).toBe(true);
    expect(Object.values(statuses(clusterReport)).every((s) => s === 'ran')).toBe(true);
    const stages = lock(onCluster).stages;
    expect(Object.keys(stages).length).toBeGreaterThanOrEqual(7);
    for (const [name, entry] of Object.entries(stages)) {
      expect(entry.run.executor, name).toBe('slurm');
      expect(entry.run.host, name).toBe(hostname());
      expect(entry.run.job_id, name).toMatch(/^\d+$/);
      expect(jobState(entry.run.job_id as string), name).toBe('COMPLETED');
    }
  });

  it('gives the same cache keys and byte-identical artifacts as a local run', () => {
    expect(localReport.ok).toBe(true);
    const cluster = lock(onCluster).stages;
    const local = lock(onLaptop).stages;
    expect(Object.keys(cluster).sort()).toEqual(Object.keys(local).sort());
    for (const name of Object.keys(local)) {
      expect(cluster[name].key, name).toBe(local[name].key);
      expect(Object.fromEntries(Object.entries(cluster[name].outs).map(([n, o]) => [n, o.hash])), name).toEqual(Object.fromEntries(Object.entries(local[name].outs).map(([n, o]) => [n, o.hash])));
    }
    for (const dir of ['artifacts/out', 'report']) {
      const a = files(join(onCluster, dir));
      const b = files(join(onLaptop, dir));
      expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
      for (const [path, bytes] of b) expect(a.get(path)?.equals(bytes), `${dir}/${path}`).toBe(true);
    }
  });

  it('a later local run of the cluster-run project finds every stage cached', async () => {
    const again = await runPipeline({ pipelineFile: join(onCluster, 'pipeline.yaml'), jobs: 2 });
    expect(Object.values(statuses(again)).every((s) => s === 'cached'), JSON.stringify(statuses(again))).toBe(true);
  }, 120_000);
});

describe.skipIf(unavailable !== undefined)('spillway run --executor slurm', () => {
  it('runs the stages as SLURM jobs through the CLI and records the job ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-slurm-cli-'));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      write('package.json', '{ "type": "module", "private": true }\n');
      write('schemas/any.schema.json', '{ "type": "object" }\n');
      write('stages/a.ts', 'export default () => ({ out: { host: process.env.SLURM_JOB_ID ? "slurm" : "here" } });\n');
      write('pipeline.yaml', 'stages:\n  a: { run: stages/a.ts, outs: { out: { schema: schemas/any.schema.json } } }\n');
      write('spillway.config.yaml', 'slurm:\n  poll_interval: 1s\n');
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin/spillway.js'), 'run', '--executor', 'slurm', '--json'], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr).toBe(0);
      const stage = (JSON.parse(r.stdout) as { stages: { executor?: string; job_id?: string }[] }).stages[0];
      expect(stage.executor).toBe('slurm');
      expect(stage.job_id).toMatch(/^\d+/);
      expect(JSON.parse(readFileSync(join(dir, 'artifacts/out/a/out.json'), 'utf8'))).toEqual({ host: 'slurm' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
