// Sweeps through the SLURM executor on the single-node cluster: one executor shared by every variant, so that the
// ready stages of many variants go out together as job arrays; executions = distinct keys; a later local sweep finds
// everything cached; and a sweep engine killed mid-sweep is resumed by submitting only the stages that never went out.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lockfile } from '../../src/engine/lockfile-format.js';
import type { ExperimentRecord } from '../../src/engine/experiments.js';
import { DEFAULT_CONFIG } from '../../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../../src/engine/executors/slurm.js';
import { runSweep, type SweepReport } from '../../src/engine/sweep.js';
import { checkObject } from '../../src/engine/store.js';
import { audit } from '../../src/provenance/audit.js';
import { projectFromPipelineFile } from '../../src/provenance/project.js';
import { ensureCluster, jobState, repoRoot, tempProject, until, type TempProject } from './helpers.js';

const unavailable = ensureCluster();
if (unavailable) console.warn(`SKIPPED the SLURM sweep tests: ${unavailable}`);

// base is shared by every variant; fit depends on fit.k, total on fit.k and total.m
const FILES = {
  'schemas/any.schema.json': '{ "type": "object" }\n',
  'stages/base.ts': "export default () => ({ numbers: { values: [1, 2, 3], job: process.env.SLURM_JOB_ID ?? null } });\n",
  'stages/fit.ts': `export default async (ctx: any) => {
  await new Promise((r) => setTimeout(r, (ctx.param('fit.sleep') as number) * 1000));
  return { fit: { k: ctx.param('fit.k'), sum: ctx.inputs.numbers.values.reduce((s: number, v: number) => s + v * ctx.param('fit.k'), 0) } };
};
`,
  'stages/total.ts': "export default (ctx: any) => ({ total: { value: ctx.inputs.fit.sum * ctx.param('total.m'), host: process.env.SLURMD_NODENAME ?? null } });\n",
  'pipeline.yaml': `params:
  fit: { k: 1, sleep: 0 }
  total: { m: 1 }
stages:
  base:
    run: stages/base.ts
    outs: { numbers: { schema: schemas/any.schema.json } }
  fit:
    run: stages/fit.ts
    params: [fit.k, fit.sleep]
    inputs: { numbers: base.numbers }
    outs: { fit: { schema: schemas/any.schema.json } }
  total:
    run: stages/total.ts
    params: [total.m]
    inputs: { fit: fit.fit }
    outs: { total: { schema: schemas/any.schema.json } }
`,
};

const config = { ...DEFAULT_CONFIG, pollIntervalMs: 1000 };
const batches = (root: string) => (existsSync(join(root, '.spillway/slurm')) ? readdirSync(join(root, '.spillway/slurm')).filter((d) => d !== 'keys') : []);
const journal = (root: string) =>
  existsSync(join(root, '.spillway/slurm/keys'))
    ? readdirSync(join(root, '.spillway/slurm/keys')).map((f) => JSON.parse(readFileSync(join(root, '.spillway/slurm/keys', f), 'utf8')) as { stage: string; key: string; job_id: string })
    : [];
const experimentLocks = (root: string, report: SweepReport) =>
  Object.fromEntries(report.experiments.map((e) => [e.id, JSON.parse(readFileSync(join(root, 'artifacts/experiments', `${e.id}.lock`), 'utf8')) as Lockfile]));

/** The store is consistent: every object the experiments' lockfiles name is there and matches its hash; and one
 * experiment, applied to the project with its params, passes `spillway audit`. */
async function storeConsistent(root: string, locks: Record<string, Lockfile>, apply: string): Promise<void> {
  for (const lock of Object.values(locks)) {
    for (const [stage, entry] of Object.entries(lock.stages)) {
      for (const [name, out] of Object.entries(entry.outs)) expect(checkObject(root, out.hash, undefined), `${stage}.${name}`).toBe('ok');
    }
  }
  const applied = spawnSync(process.execPath, [join(repoRoot, 'bin/spillway.js'), 'exp', 'apply', apply, '--params'], { cwd: root, encoding: 'utf8' });
  expect(applied.status, applied.stderr).toBe(0);
  const checked = await audit(projectFromPipelineFile(join(root, 'pipeline.yaml'), root));
  expect(checked.findings).toEqual([]);
  expect(checked.ok).toBe(true);
}
const record = (root: string, id: string) => JSON.parse(readFileSync(join(root, 'artifacts/experiments', `${id}.json`), 'utf8')) as ExperimentRecord;

describe.skipIf(unavailable !== undefined)('sweeps through the SLURM executor', { retry: 1 }, () => {
  let project: TempProject | undefined;
  afterEach(() => project?.cleanup());

  it('a 50-variant sweep goes out as job arrays, executes each distinct key once, and a local sweep after it is all cached', async () => {
    project = tempProject(FILES);
    const root = project.root;
    const pipelineFile = join(root, 'pipeline.yaml');
    // 10 × 5 = 50 variants; distinct keys: base once, fit 10 times, total 50 times
    const spec = { name: 'grid', grid: { 'fit.k': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'total.m': [1, 2, 3, 4, 5] }, variants: [], targets: [] };
    const executor = new SlurmExecutor({ root, config });
    let report: SweepReport;
    try {
      report = await runSweep({ pipelineFile, spec, executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    expect(report.variants).toBe(50);
    expect(report.succeeded, JSON.stringify(report.experiments.filter((e) => e.status !== 'ok'))).toBe(50);
    expect(report.distinct_keys).toBe(1 + 10 + 50);
    expect(report.executions).toBe(report.distinct_keys);

    // every executed stage ran as a task of a SLURM job array; the lockfiles name the jobs
    const locks = experimentLocks(root, report);
    const ran = new Map<string, string>(); // key → job id of the execution
    for (const lock of Object.values(locks)) {
      for (const [stage, entry] of Object.entries(lock.stages)) {
        expect(entry.run.executor, stage).toBe('slurm');
        expect(entry.run.job_id, stage).toMatch(/^\d+(_\d+)?$/);
        const seen = ran.get(entry.key);
        if (seen !== undefined) expect(entry.run.job_id, `${stage}: one key, one execution`).toBe(seen);
        ran.set(entry.key, entry.run.job_id as string);
      }
    }
    expect(ran.size).toBe(61);
    const submissions = new Set([...ran.values()].map((id) => id.split('_')[0]));
    expect(batches(root)).toHaveLength(submissions.size); // one batch directory per sbatch call
    // 61 jobs in a handful of sbatch calls: fits and totals of many variants share arrays
    console.info(`sweep through SLURM: ${ran.size} jobs in ${submissions.size} sbatch submissions`);
    expect(submissions.size).toBeLessThanOrEqual(12);
    expect([...ran.values()].filter((id) => id.includes('_')).length).toBeGreaterThanOrEqual(55);
    for (const id of submissions) expect(['COMPLETED', undefined]).toContain(jobState(id) ?? jobState(`${id}_0`));
    expect(journal(root)).toEqual([]);
    const first = report.experiments.find((e) => e.params['fit.k'] === 7 && e.params['total.m'] === 3);
    expect(JSON.parse(readFileSync(join(root, locks[first!.id].stages.total.outs.total.object), 'utf8')).value).toBe((1 + 2 + 3) * 7 * 3);

    // the same sweep on this machine: every variant restored by key, nothing executed, the same keys
    const again = await runSweep({ pipelineFile, spec, jobs: 2 });
    expect(again.succeeded).toBe(50);
    expect(again.cached).toBe(50);
    expect(again.executions).toBe(0);
    const relocked = experimentLocks(root, again);
    for (const [id, lock] of Object.entries(relocked)) {
      expect(Object.fromEntries(Object.entries(lock.stages).map(([s, e]) => [s, e.key]))).toEqual(Object.fromEntries(Object.entries(locks[id].stages).map(([s, e]) => [s, e.key])));
    }
    await storeConsistent(root, locks, first!.id);
  }, 600_000);

  it('a sweep engine killed mid-sweep: the next sweep takes over its jobs and submits only the stages that never went out', async () => {
    project = tempProject({ ...FILES, 'spillway.config.yaml': 'slurm:\n  poll_interval: 500ms\n' });
    const root = project.root;
    // three variants: base shared; fit quick for k=1 and k=2, slow for k=3; total after each fit
    const sweepFile = join(root, 'sweep.yaml');
    writeFileSync(sweepFile, 'variants:\n  - { fit.k: 1, fit.sleep: 1 }\n  - { fit.k: 2, fit.sleep: 1 }\n  - { fit.k: 3, fit.sleep: 15 }\n');
    const engine = spawn(process.execPath, [join(repoRoot, 'bin/spillway.js'), 'sweep', sweepFile, '--executor', 'slurm', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    engine.stdout.on('data', (c: Buffer) => (output += c.toString()));
    engine.stderr.on('data', (c: Buffer) => (output += c.toString()));
    await until(() => journal(root).filter((e) => e.stage === 'fit').length === 3, 120_000, 'the first sweep to submit the three fits');
    engine.kill('SIGKILL');
    await new Promise((r) => engine.once('close', r));
    expect(output).not.toContain('"succeeded"');
    const fits = Object.fromEntries(journal(root).filter((e) => e.stage === 'fit').map((e) => [e.key, e.job_id]));
    const before = batches(root);
    expect(before.some((d) => d.includes('-total-'))).toBe(false);
    await until(() => Object.values(fits).filter((id) => jobState(id) === 'COMPLETED').length >= 2, 120_000, 'the quick fits to finish with no engine');

    const executor = new SlurmExecutor({ root, config: { ...config, pollIntervalMs: 500 } });
    let report: SweepReport;
    try {
      const { loadSweepFile } = await import('../../src/engine/sweep.js');
      report = await runSweep({ pipelineFile: join(root, 'pipeline.yaml'), spec: await loadSweepFile(sweepFile), executor, jobs: executor.maxParallel });
    } finally {
      await executor.close();
    }
    expect(report.succeeded, JSON.stringify(report.experiments)).toBe(3);
    for (const e of report.experiments) expect(record(root, e.id).status).toBe('ok');
    const locks = experimentLocks(root, report);
    // the fits are the first engine's jobs, not new ones
    for (const lock of Object.values(locks)) expect(lock.stages.fit.run.job_id).toBe(fits[lock.stages.fit.key]);
    // the only new submissions are the totals, which never went out before
    const added = batches(root).filter((d) => !before.includes(d));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((d) => d.includes('-total-')), added.join(' ')).toBe(true);
    expect(Object.values(locks).map((l) => l.stages.total.outs.total.hash)).toHaveLength(3);
    expect(journal(root)).toEqual([]);
    await storeConsistent(root, locks, report.experiments.find((e) => e.params['fit.k'] === 3)!.id);
  }, 600_000);
});

describe('spillway sweep --executor (no cluster needed)', () => {
  let project: TempProject | undefined;
  afterEach(() => project?.cleanup());

  it('local gives every variant stage a fresh local process, recorded in the lockfiles; an unknown name is a usage error', () => {
    project = tempProject(FILES);
    const root = project.root;
    const sweep = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/spillway.js'), 'sweep', '--grid', 'fit.k=1,2', ...args], { cwd: root, encoding: 'utf8' });
    const r = sweep('--executor', 'local', '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as SweepReport;
    expect(report.succeeded).toBe(2);
    expect(report.executions).toBe(1 + 2 + 2);
    for (const lock of Object.values(experimentLocks(root, report))) {
      for (const [stage, entry] of Object.entries(lock.stages)) if (entry.run.executor !== undefined) expect(entry.run.executor, stage).toBe('local');
    }
    const bad = sweep('--executor', 'pbs');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--executor expects workers, local or slurm, got "pbs"');
  }, 120_000);
});
