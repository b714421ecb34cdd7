// The engine (runPipeline) with the SLURM executor on a small inline pipeline: Ctrl-C cancels the run's queued and
// running jobs; an engine killed mid-run leaves its jobs running, and the next run takes them over and submits only
// the stages that never went out.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipeline, type RunReport } from '../../src/engine/index.js';
import type { Lockfile } from '../../src/engine/lockfile-format.js';
import { DEFAULT_CONFIG } from '../../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../../src/engine/executors/slurm.js';
import { audit } from '../../src/provenance/audit.js';
import { projectFromPipelineFile } from '../../src/provenance/project.js';
import { ensureCluster, jobState, repoRoot, tempProject, until, type TempProject } from './helpers.js';

const unavailable = ensureCluster();
if (unavailable) console.warn(`SKIPPED the SLURM engine tests: ${unavailable}`);

const SLEEP = `export default async (ctx: any) => {
  await new Promise((r) => setTimeout(r, ctx.param('sleep.' + ctx.stage) * 1000));
  return { out: { stage: ctx.stage, slept: ctx.param('sleep.' + ctx.stage) } };
};
`;
const SCHEMA = '{"type":"object","required":["stage","slept"]}\n';

function pipeline(sleeps: Record<string, number>, after: Record<string, string> = {}): string {
  const lines = ['params:', '  sleep:', ...Object.entries(sleeps).map(([s, n]) => `    ${s}: ${n}`), 'stages:'];
  for (const s of Object.keys(sleeps)) {
    lines.push(`  ${s}:`, '    run: stages/sleep.ts', `    params: [sleep.${s}]`, '    outs:', '      out: { schema: schemas/out.schema.json }');
    if (after[s]) lines.push(`    inputs: { before: ${after[s]}.out }`);
  }
  return `${lines.join('\n')}\n`;
}

const config = { ...DEFAULT_CONFIG, pollIntervalMs: 500 };
const journal = (root: string) => (existsSync(join(root, '.spillway/slurm/keys')) ? readdirSync(join(root, '.spillway/slurm/keys')) : []);
const journalIds = (root: string) =>
  Object.fromEntries(journal(root).map((f) => {
    const e = JSON.parse(readFileSync(join(root, '.spillway/slurm/keys', f), 'utf8')) as { stage: string; job_id: string };
    return [e.stage, e.job_id];
  }));
const batches = (root: string) => readdirSync(join(root, '.spillway/slurm')).filter((d) => d !== 'keys');
const statuses = (report: RunReport) => Object.fromEntries(report.stages.map((s) => [s.stage, s.status]));

// A one-node cluster on a shared 2-core machine schedules with seconds of jitter (requeue holds, dispatch, squeue
// answers): a test is tried once more before it fails; a failure that repeats is a real one.
describe.skipIf(unavailable !== undefined)('the engine with the SLURM executor', { retry: 1 }, () => {
  let project: TempProject | undefined;
  afterEach(() => project?.cleanup());

  it('the instances of an expanded (matrix) stage go out as one job array, and the fan-in stage after them', async () => {
    const yaml = `stages:
  fit:
    run: stages/fit.ts
    matrix:
      a: [1, 2, 3]
      b: [10, 20]
    outs:
      result: { schema: schemas/result.schema.json }
  table:
    run: stages/table.ts
    inputs:
      fits: "fit@*.result"
    outs:
      total: { schema: schemas/result.schema.json }
`;
    project = tempProject({
      'pipeline.yaml': yaml,
      'stages/fit.ts': "export default (ctx: any) => ({ result: { value: ctx.param('fit.a') * ctx.param('fit.b'), job: process.env.SLURM_ARRAY_JOB_ID ?? null } });\n",
      'stages/table.ts': "export default (ctx: any) => ({ total: { value: Object.entries(ctx.inputs).reduce((s, [, v]: [string, any]) => s + v.value, 0), job: null } });\n",
      'schemas/result.schema.json': '{"type":"object","required":["value"]}\n',
    });
    const root = project.root;
    const executor = new SlurmExecutor({ root, config });
    let report: RunReport;
    try {
      report = await runPipeline({ pipelineFile: join(root, 'pipeline.yaml'), executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    expect(report.ok, JSON.stringify(report.stages.filter((s) => s.status === 'failed'))).toBe(true);
    const stages = (JSON.parse(readFileSync(join(root, 'pipeline.lock'), 'utf8')) as Lockfile).stages;
    const instances = Object.keys(stages).filter((n) => n.startsWith('fit@'));
    expect(instances).toHaveLength(6);
    const arrays = new Set(instances.map((n) => stages[n].run.job_id?.split('_')[0]));
    expect(arrays.size).toBe(1); // one sbatch for the six instances
    expect(instances.map((n) => stages[n].run.job_id).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${[...arrays][0]}_${i}`).sort());
    expect(JSON.parse(readFileSync(join(root, 'artifacts/out/table/total.json'), 'utf8')).value).toBe((1 + 2 + 3) * (10 + 20));
    expect(batches(root).filter((d) => d.includes('-fit-'))).toHaveLength(1);
  }, 120_000);

  it('stages killed for memory or failing on the cluster fail with their kind; the store stays consistent (audit)', async () => {
    const HOG = `export default async () => {
  const kept: Buffer[] = [];
  for (let i = 0; i < 400; i++) { kept.push(Buffer.alloc(10 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); }
  return { out: { stage: 'hog', slept: 0 } };
};
`;
    const yaml = `${pipeline({ a: 0, b: 0 }, { b: 'a' })}  hog:
    run: stages/hog.ts
    resources: { memory: 150M }
    outs:
      out: { schema: schemas/out.schema.json }
  bad:
    cmd: [sh, -c, "echo half > $SPILLWAY_OUT_OUT; exit 3"]
    outs:
      out: { schema: schemas/out.schema.json }
`;
    project = tempProject({ 'pipeline.yaml': yaml, 'stages/sleep.ts': SLEEP, 'stages/hog.ts': HOG, 'schemas/out.schema.json': SCHEMA });
    const root = project.root;
    const executor = new SlurmExecutor({ root, config });
    let report: RunReport;
    try {
      report = await runPipeline({ pipelineFile: join(root, 'pipeline.yaml'), executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    expect(statuses(report)).toEqual({ a: 'ran', b: 'ran', hog: 'failed', bad: 'failed' });
    const byStage = Object.fromEntries(report.stages.map((s) => [s.stage, s]));
    expect(byStage.hog.error_kind).toBe('oom');
    expect(byStage.hog.error).toContain('Exceeded job memory limit');
    expect(byStage.bad.error_kind).toBe('exit');
    expect(byStage.bad.error).toContain('exited with code 3');
    // the failed stages left nothing in the store and no temp files; what was recorded checks out
    const result = await audit(projectFromPipelineFile(join(root, 'pipeline.yaml'), root));
    expect(result.ok).toBe(true);
    expect(result.findings).toEqual([]);
    expect(result.stages.map((s) => `${s.stage}:${s.status}`).sort()).toEqual(['a:ok', 'b:ok']);
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [n]));
    expect(walk(join(root, 'artifacts')).filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(existsSync(join(root, 'artifacts/out/bad'))).toBe(false);
  }, 120_000);

  it('an output that violates its schema fails on the node, before anything is published; the store stays consistent (audit)', async () => {
    const yaml = `${pipeline({ a: 0 })}  invalid:
    run: stages/invalid.ts
    outs:
      out: { schema: schemas/out.schema.json }
`;
    project = tempProject({
      'pipeline.yaml': yaml,
      'stages/sleep.ts': SLEEP,
      'stages/invalid.ts': "export default () => ({ out: { stage: 'invalid', note: 'no slept' } });\n",
      'schemas/out.schema.json': SCHEMA,
    });
    const root = project.root;
    const executor = new SlurmExecutor({ root, config });
    let report: RunReport;
    try {
      report = await runPipeline({ pipelineFile: join(root, 'pipeline.yaml'), executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    expect(statuses(report)).toEqual({ a: 'ran', invalid: 'failed' });
    const invalid = report.stages.find((s) => s.stage === 'invalid');
    expect(invalid?.error_kind).toBe('schema');
    expect(invalid?.error).toContain('stage "invalid", output "out" violates schemas/out.schema.json at /: must have required property \'slept\' [rule required "slept"');
    // the verdict came from the node: the job's own result file says so, and it published nothing
    const resultOf = (stage: string) => JSON.parse(readFileSync(join(root, '.spillway/slurm', batches(root).find((d) => d.includes(`-${stage}-`)) as string, 'results/0.json'), 'utf8'));
    expect(resultOf('invalid').failure.kind).toBe('schema');
    expect(resultOf('invalid').published).toBeUndefined();
    // a's output was published on the node, and the engine recorded that object
    const stages = (JSON.parse(readFileSync(join(root, 'pipeline.lock'), 'utf8')) as Lockfile).stages;
    expect(resultOf('a').published.out.hash).toBe(stages.a.outs.out.hash);
    // the store holds a's object and nothing of the invalid stage; no temp files
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    expect(walk(join(root, 'artifacts/objects')).map((f) => f.slice(root.length + 1))).toEqual([stages.a.outs.out.object]);
    const result = await audit(projectFromPipelineFile(join(root, 'pipeline.yaml'), root));
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(existsSync(join(root, 'artifacts/out/invalid'))).toBe(false);
  }, 120_000);

  it('Ctrl-C cancels every job of the run, running and queued, and the run reports itself interrupted', async () => {
    project = tempProject({ 'pipeline.yaml': pipeline({ a: 300, b: 300, c: 300 }), 'stages/sleep.ts': SLEEP, 'schemas/out.schema.json': SCHEMA });
    const root = project.root;
    const controller = new AbortController();
    const executor = new SlurmExecutor({ root, config });
    try {
      const running = runPipeline({ pipelineFile: join(root, 'pipeline.yaml'), executor, jobs: executor.maxParallel, signal: controller.signal });
      await until(() => journal(root).length === 3, 60_000, 'three jobs submitted');
      const ids = Object.values(journalIds(root));
      await until(() => ids.filter((id) => jobState(id) === 'RUNNING').length === 2, 60_000, 'two jobs running (two CPUs), one queued');
      expect(ids.map((id) => jobState(id)).sort()).toEqual(['PENDING', 'RUNNING', 'RUNNING']);
      controller.abort();
      const report = await running;
      expect(report.interrupted).toBe(true);
      expect(report.ok).toBe(false);
      await until(() => ids.every((id) => jobState(id) === 'CANCELLED'), 30_000, 'SLURM to show all three cancelled');
      expect(existsSync(join(root, 'pipeline.lock')) ? Object.keys((JSON.parse(readFileSync(join(root, 'pipeline.lock'), 'utf8')) as Lockfile).stages) : []).toEqual([]);
    } finally {
      await executor.close();
    }
  }, 120_000);

  it('after the engine is killed, the next run takes over its jobs and submits only what never went out', async () => {
    // a and b are quick, c is slow, d needs a: the engine dies after a, b and c are submitted, before d
    project = tempProject({ 'pipeline.yaml': pipeline({ a: 1, b: 1, c: 10, d: 0 }, { d: 'a' }), 'stages/sleep.ts': SLEEP, 'schemas/out.schema.json': SCHEMA });
    const root = project.root;
    const engine = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/cluster/run-driver.ts'), join(root, 'pipeline.yaml')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    engine.stdout.on('data', (c: Buffer) => (output += c.toString()));
    engine.stderr.on('data', (c: Buffer) => (output += c.toString()));
    await until(() => journal(root).length === 3, 60_000, 'the first engine to submit a, b and c');
    engine.kill('SIGKILL');
    await new Promise((r) => engine.once('close', r));
    expect(output).not.toContain('finished');
    const first = journalIds(root);
    expect(Object.keys(first).sort()).toEqual(['a', 'b', 'c']);
    const before = batches(root);
    await until(() => jobState(first.a) === 'COMPLETED' && jobState(first.b) === 'COMPLETED', 60_000, 'a and b to finish with no engine');
    expect(['PENDING', 'RUNNING']).toContain(jobState(first.c));

    const executor = new SlurmExecutor({ root, config });
    let report: RunReport;
    try {
      report = await runPipeline({ pipelineFile: join(root, 'pipeline.yaml'), executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    expect(statuses(report)).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    const stages = (JSON.parse(readFileSync(join(root, 'pipeline.lock'), 'utf8')) as Lockfile).stages;
    // a, b and c were not run again: the lockfile names the first engine's jobs
    expect({ a: stages.a.run.job_id, b: stages.b.run.job_id, c: stages.c.run.job_id }).toEqual(first);
    expect(stages.d.run.executor).toBe('slurm');
    expect(Object.values(first)).not.toContain(stages.d.run.job_id);
    expect(batches(root).filter((d) => !before.includes(d)).map((d) => d.replace(/^\d+T\d+-/, '').replace(/-\d+-\d+$/, ''))).toEqual(['d']);
    expect(JSON.parse(readFileSync(join(root, 'artifacts/out/c/out.json'), 'utf8'))).toEqual({ stage: 'c', slept: 10 });
    expect(journal(root)).toEqual([]);
  }, 150_000);
});
