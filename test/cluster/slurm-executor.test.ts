// The SLURM executor against a real single-node cluster (scripts/slurm-cluster.sh; .ci/run starts it): StageJobs of a
// temp project go through sbatch, run on the node through slurm-job.js, and come back as outcomes.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type SlurmConfig } from '../../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../../src/engine/executors/slurm.js';
import { ensureCluster, hooks, jobState, readOut, repoRoot, tempProject, until, type TempProject } from './helpers.js';

const unavailable = ensureCluster();
if (unavailable) console.warn(`SKIPPED the SLURM cluster tests: ${unavailable}`);

const STAGES: Record<string, string> = {
  'stages/double.ts': `import { writeFileSync } from 'node:fs';
export default async function double(ctx: any) {
  const x = ctx.params.x as number;
  ctx.log('doubling ' + x + ' on ' + (await import('node:os')).hostname());
  writeFileSync(ctx.outPath('table'), 'x,y\\n' + x + ',' + 2 * x + '\\n');
  return { result: { x, y: 2 * x } };
}
`,
  'stages/square.ts': `export default (ctx: any) => ({ sq: { i: ctx.params.i, sq: ctx.params.i * ctx.params.i, job: process.env.SLURM_JOB_ID } });
`,
  'stages/throws.ts': `export default () => { throw new Error('the model did not converge at step 7'); };
`,
  'stages/sleep.ts': `export default async (ctx: any) => {
  ctx.log('sleeping');
  await new Promise((r) => setTimeout(r, (ctx.params.seconds as number) * 1000));
  return {};
};
`,
  'stages/trace.ts': `import { appendFileSync } from 'node:fs';
export default async (ctx: any) => {
  appendFileSync(ctx.outPath('trace'), 'started in job ' + process.env.SLURM_JOB_ID + ', attempt ' + process.env.SLURM_RESTART_COUNT + '\\n');
  await new Promise((r) => setTimeout(r, 4000));
  return {};
};
`,
  'stages/crowd.ts': `import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default async (ctx: any) => {
  const dir = join(ctx.params.dir, 'running');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ctx.stage), '');
  const together = readdirSync(dir).length;
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(join(dir, ctx.stage));
  return { seen: { together } };
};
`,
  'stages/hog.ts': `export default async (ctx: any) => {
  const kept: Buffer[] = [];
  for (let i = 0; i < 400; i++) { kept.push(Buffer.alloc(10 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); }
  ctx.log('allocated ' + kept.length * 10 + ' MB and was not stopped');
  return {};
};
`,
};

/**
 * scancel every job the hooks saw submitted, then wait for the executor's calls to end: a test that fails while its
 * 300 s sleepers are queued or running must not leave them holding the node's two CPUs for the tests after it (and
 * for its own retry), which then time out waiting for their jobs to run.
 */
async function cancelSubmitted(lines: string[], running: Promise<unknown>): Promise<void> {
  const ids = [...lines.join('\n').matchAll(/SLURM job (\S+) submitted/g)].map((m) => m[1]);
  if (ids.length > 0) {
    try {
      execFileSync('scancel', ids, { stdio: 'ignore' });
    } catch {
      /* already ended */
    }
  }
  await running.catch(() => undefined);
}

const config: SlurmConfig = { ...DEFAULT_CONFIG, pollIntervalMs: 500, batchWindowMs: 200, resultWaitMs: 5000, arrayThrottle: 2 };

// A one-node cluster on a shared 2-core machine schedules with seconds of jitter (requeue holds, dispatch, squeue
// answers): a test is tried once more before it fails; a failure that repeats is a real one.
describe.skipIf(unavailable !== undefined)('SLURM executor on a real cluster', { retry: 1 }, () => {
  let project: TempProject;
  let executor: SlurmExecutor;

  beforeAll(() => {
    project = tempProject(STAGES);
    executor = new SlurmExecutor({ config, root: project.root });
  });
  afterAll(async () => {
    await executor?.close();
    project?.cleanup();
  });

  it('runs a module stage on the node: outputs validated and published into the store there, place with job id, host and times', async () => {
    const job = project.job('double', 'stages/double.ts', { params: { x: 21 }, jsonOuts: ['result'], fileOuts: { table: 'file' } });
    const h = hooks();
    const outcome = await executor.execute(job, h);
    expect(outcome.failure).toBeUndefined();
    expect(JSON.parse(readOut(project.root, job, outcome, 'result'))).toEqual({ x: 21, y: 42 });
    expect(readOut(project.root, job, outcome, 'table')).toBe('x,y\n21,42\n');
    expect(Object.keys(outcome.published ?? {}).sort()).toEqual(['result', 'table']);
    expect(outcome.published?.result.schema?.path).toBe('schemas/any.schema.json');
    expect(h.lines.some((l) => l.includes(`published ${outcome.published?.result.object}`))).toBe(true);
    expect(outcome.place.executor).toBe('slurm');
    expect(outcome.place.job_id).toMatch(/^\d+$/);
    expect(outcome.place.host).toBe(hostname());
    expect(Date.parse(outcome.place.ended as string)).toBeGreaterThanOrEqual(Date.parse(outcome.place.started as string));
    expect(jobState(outcome.place.job_id as string)).toBe('COMPLETED');
    expect(h.lines).toContain(`doubling 21 on ${hostname()}`);
  }, 60_000);

  it('a command stage reads its params file and writes its outputs at the paths its environment names', async () => {
    const job = project.job('cmd-ok', 'unused', {
      module: undefined,
      cmd: [
        process.execPath,
        '-e',
        `const fs = require('fs'), e = process.env, { n } = JSON.parse(fs.readFileSync(e.SPILLWAY_PARAMS_FILE, 'utf8'));
         fs.writeFileSync(e.SPILLWAY_OUT_INFO, JSON.stringify({ n, host: require('os').hostname() }));
         fs.writeFileSync(e.SPILLWAY_OUT_LIST, Array.from({ length: n }, (_, i) => i + 1 + '\\n').join(''));`,
      ],
      jsonOuts: ['info'],
      fileOuts: { list: 'file' },
    });
    // what the engine's commandEnv prepares: the params file in the work directory, output paths under it
    writeFileSync(join(job.workDir, 'params.json'), '{ "n": 4 }\n');
    job.env = {
      SPILLWAY_STAGE: job.stage,
      SPILLWAY_PROJECT_ROOT: project.root,
      SPILLWAY_PARAMS_FILE: join(job.workDir, 'params.json'),
      SPILLWAY_OUT_INFO: join(job.workDir, 'json', 'info.json'),
      SPILLWAY_OUT_LIST: join(job.workDir, 'files', 'list'),
    };
    const outcome = await executor.execute(job, hooks());
    expect(outcome.failure).toBeUndefined();
    expect(JSON.parse(readOut(project.root, job, outcome, 'info'))).toEqual({ n: 4, host: hostname() });
    expect(readOut(project.root, job, outcome, 'list')).toBe('1\n2\n3\n4\n');
  }, 60_000);

  it('a command stage that exits non-zero fails with its exit code and the job log', async () => {
    const job = project.job('cmd-fails', 'unused', { module: undefined, cmd: ['sh', '-c', 'echo about to fail >&2; exit 3'] });
    const outcome = await executor.execute(job, hooks());
    expect(outcome.failure?.kind).toBe('exit');
    expect(outcome.failure?.message).toContain('exited with code 3');
    expect(outcome.failure?.stack).toContain('about to fail');
    const log = outcome.failure?.log as string;
    expect(readFileSync(log, 'utf8')).toContain('about to fail');
    expect(jobState(outcome.place.job_id as string)).toBe('FAILED');
  }, 60_000);

  it('a module stage that throws fails with its message', async () => {
    const outcome = await executor.execute(project.job('throws', 'stages/throws.ts'), hooks());
    expect(outcome.failure?.kind).toBe('crash');
    expect(outcome.failure?.message).toContain('the model did not converge at step 7');
  }, 60_000);

  it('a job cancelled with scancel outside spillway fails as cancelled', async () => {
    const h = hooks();
    const running = executor.execute(project.job('sleeper', 'stages/sleep.ts', { params: { seconds: 300 } }), h);
    try {
      await until(() => h.lines.some((l) => /RUNNING/.test(l)), 60_000, 'the job to run');
      const id = /SLURM job (\S+) submitted/.exec(h.lines.join('\n'))?.[1] as string;
      execFileSync('scancel', [id]);
      const outcome = await running;
      expect(outcome.failure?.kind).toBe('cancelled');
      expect(outcome.failure?.message).toContain(`SLURM job ${id}`);
      expect(outcome.failure?.log).toMatch(/logs\/0\.log$/);
      expect(jobState(id)).toBe('CANCELLED');
    } finally {
      await cancelSubmitted(h.lines, running);
    }
  }, 90_000);

  it('a job SLURM requeues (as after a node failure) runs again from a clean start and its second result counts', async () => {
    const h = hooks();
    const job = project.job('requeued', 'stages/trace.ts', { fileOuts: { trace: 'file' } });
    const running = executor.execute(job, h);
    await until(() => h.lines.some((l) => /: RUNNING/.test(l)), 60_000, 'the job to run');
    const id = /SLURM job (\S+) submitted/.exec(h.lines.join('\n'))?.[1] as string;
    const batch = join(project.root, '.spillway', 'slurm', readdirSync(join(project.root, '.spillway', 'slurm')).find((d) => d.includes('-requeued-')) as string);
    await until(() => existsSync(join(batch, 'work', '0', 'files', 'trace')), 60_000, 'the first attempt to write');
    execFileSync('scontrol', ['requeue', id]);
    // SLURM holds a requeued job back for two minutes (BeginTime); let it start again now
    await until(() => jobState(id) === 'PENDING', 30_000, 'the job to be requeued');
    execFileSync('scontrol', ['update', `JobId=${id}`, 'StartTime=now']);
    const outcome = await running;
    expect(outcome.failure).toBeUndefined();
    expect(outcome.place.job_id).toBe(id);
    const log = readFileSync(join(batch, 'logs', '0.log'), 'utf8');
    expect(log).toContain(`SLURM job ${id} on ${hostname()}, attempt 1`);
    // what the first attempt wrote is gone: the output is the second attempt's alone
    expect(readOut(project.root, job, outcome, 'trace')).toBe(`started in job ${id}, attempt 1\n`);
  }, 120_000);

  it('a job over its memory limit fails as out of memory, with SLURM\'s message', async () => {
    const outcome = await executor.execute(project.job('hog', 'stages/hog.ts', { resources: { memory: '150M' } }), hooks());
    expect(outcome.failure?.kind).toBe('oom');
    expect(outcome.failure?.message).toContain('--mem=150M');
    expect(outcome.failure?.message).toMatch(/Exceeded job memory limit|exceeded memory limit/);
    expect(existsSync(outcome.failure?.log as string)).toBe(true);
  }, 90_000);

  it('instances of one stage that arrive together go out as one throttled job array', async () => {
    const jobs = [0, 1, 2, 3, 4].map((i) => project.job(`square@i=${i}`, 'stages/square.ts', { params: { i }, jsonOuts: ['sq'] }));
    const outcomes = await Promise.all(jobs.map((j) => executor.execute(j, hooks())));
    const ids = outcomes.map((o) => o.place.job_id as string);
    expect(outcomes.map((o) => o.failure)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const arrayId = ids[0].split('_')[0];
    expect(ids).toEqual([0, 1, 2, 3, 4].map((i) => `${arrayId}_${i}`));
    jobs.forEach((j, i) => expect(JSON.parse(readOut(project.root, j, outcomes[i], 'sq')).sq).toBe(i * i));
    const batches = readdirSync(join(project.root, '.spillway', 'slurm')).filter((d) => d.includes('-square-'));
    expect(batches).toHaveLength(1); // one sbatch
    expect(readFileSync(join(project.root, '.spillway', 'slurm', batches[0], 'job.sh'), 'utf8')).toContain('5 instances of stage square');
    const throttle = execFileSync('scontrol', ['show', 'job', arrayId], { encoding: 'utf8' });
    expect(throttle).toMatch(/ArrayTaskThrottle=2/);
  }, 90_000);

  it('a job that dies without a result (no node on the compute node) fails with SLURM\'s state and the log', async () => {
    const broken = new SlurmExecutor({ config: { ...config, node: '/nonexistent/bin/node', setup: ['echo "setup line ran"'] }, root: project.root });
    try {
      const outcome = await broken.execute(project.job('no-node', 'stages/square.ts', { params: { i: 1 }, jsonOuts: ['sq'] }), hooks());
      expect(outcome.failure?.kind).toBe('crash');
      expect(outcome.failure?.message).toMatch(/SLURM job \d+ on \S+ ended as FAILED .*without writing its result/);
      const log = readFileSync(outcome.failure?.log as string, 'utf8');
      expect(log).toContain('setup line ran');
      expect(log).toContain('/nonexistent/bin/node');
      expect(outcome.failure?.stack).toContain('/nonexistent/bin/node');
    } finally {
      await broken.close();
    }
  }, 60_000);

  it('never has more than max_jobs jobs in the queue: the rest wait and go out as room frees', async () => {
    const capped = new SlurmExecutor({ config: { ...config, maxJobs: 2 }, root: project.root });
    const slurmDir = join(project.root, '.spillway', 'slurm');
    // a retried attempt must not count the first attempt's submissions
    const before = new Set(existsSync(slurmDir) ? readdirSync(slurmDir) : []);
    try {
      const jobs = [0, 1, 2, 3, 4].map((i) => project.job(`capped@i=${i}`, 'stages/square.ts', { params: { i }, jsonOuts: ['sq'] }));
      const outcomes = await Promise.all(jobs.map((j) => capped.execute(j, hooks())));
      expect(outcomes.map((o) => o.failure)).toEqual(jobs.map(() => undefined));
      jobs.forEach((j, i) => expect(JSON.parse(readOut(project.root, j, outcomes[i], 'sq')).sq).toBe(i * i));
      const sizes = readdirSync(slurmDir)
        .filter((d) => d.includes('-capped-') && !before.has(d))
        .map((d) => readdirSync(join(slurmDir, d, 'tasks')).length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(5);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
      expect(sizes.length).toBeGreaterThanOrEqual(3);
    } finally {
      await capped.close();
    }
  }, 90_000);

  it('stages marked local run on the submitting machine, not through SLURM', async () => {
    const job = project.job('double-local', 'stages/double.ts', { params: { x: 5 }, jsonOuts: ['result'], fileOuts: { table: 'file' }, resources: { local: true } });
    const outcome = await executor.execute(job, hooks());
    expect(outcome.failure).toBeUndefined();
    expect(outcome.place.executor).toBe('local');
    expect(outcome.place.job_id).toBeUndefined();
    expect(JSON.parse(readOut(project.root, job, outcome, 'result'))).toEqual({ x: 5, y: 10 });
  }, 60_000);

  it('local stages run at most as many at once as the machine has cores, however many the engine hands over', async () => {
    const jobs = [0, 1, 2, 3, 4, 5].map((i) => project.job(`crowd${i}`, 'stages/crowd.ts', { params: { dir: project.root }, jsonOuts: ['seen'], resources: { local: true } }));
    const outcomes = await Promise.all(jobs.map((j) => executor.execute(j, hooks())));
    expect(outcomes.map((o) => o.failure)).toEqual(jobs.map(() => undefined));
    const together = jobs.map((j, i) => JSON.parse(readOut(project.root, j, outcomes[i], 'seen')).together as number);
    expect(Math.max(...together)).toBeLessThanOrEqual(availableParallelism());
  }, 60_000);

  it('Ctrl-C (abort) cancels running and queued jobs with scancel', async () => {
    const controller = new AbortController();
    // four one-CPU jobs on a two-CPU node: two run, two wait in the queue
    const h = [0, 1, 2, 3].map(() => hooks(controller.signal));
    const runs = h.map((hk, i) => executor.execute(project.job(`wait${i}`, 'stages/sleep.ts', { params: { seconds: 300 } }), hk));
    try {
      await until(() => h.filter((hk) => hk.lines.some((l) => /: RUNNING/.test(l))).length === 2 && h.every((hk) => hk.lines.some((l) => /: PENDING/.test(l) || /: RUNNING/.test(l))), 60_000, 'two running, two queued');
      const ids = h.map((hk) => /SLURM job (\S+) submitted/.exec(hk.lines.join('\n'))?.[1] as string);
      const queued = ids.filter((id) => jobState(id) === 'PENDING');
      expect(queued.length).toBeGreaterThanOrEqual(1);
      controller.abort();
      const outcomes = await Promise.all(runs);
      expect(outcomes.map((o) => o.failure?.kind)).toEqual(['interrupted', 'interrupted', 'interrupted', 'interrupted']);
      await until(() => ids.every((id) => jobState(id) === 'CANCELLED'), 30_000, 'SLURM to show every job cancelled');
    } finally {
      controller.abort(); // also the jobs not yet submitted (the executor batches its submissions)
      await cancelSubmitted(h.flatMap((hk) => hk.lines), Promise.all(runs));
    }
  }, 120_000);

  it('a job over its time limit fails as timed out, with SLURM\'s reason', async () => {
    // SLURM's limits are whole minutes and checked every ~30 s, so this takes 1–2 minutes
    const outcome = await executor.execute(project.job('slow', 'stages/sleep.ts', { params: { seconds: 600 }, resources: { time: '1' } }), hooks());
    expect(outcome.failure?.kind).toBe('timeout');
    expect(outcome.failure?.message).toContain('--time=1');
    expect(outcome.failure?.message).toContain('TimeLimit');
    expect(readFileSync(outcome.failure?.log as string, 'utf8')).toContain('DUE TO TIME LIMIT');
  }, 240_000);
});

// A one-node cluster on a shared 2-core machine schedules with seconds of jitter (requeue holds, dispatch, squeue
// answers): a test is tried once more before it fails; a failure that repeats is a real one.
describe.skipIf(unavailable !== undefined)('SLURM executor after the engine died', { retry: 1 }, () => {
  it('a new engine takes over jobs that finished or still run, and submits only the rest', async () => {
    const project = tempProject(STAGES);
    try {
      const first = [0, 1].map((i) => project.job(`square@i=${i}`, 'stages/square.ts', { params: { i: i + 3 }, jsonOuts: ['sq'] }));
      first.push(project.job('slow', 'stages/sleep.ts', { params: { seconds: 8 } }));
      const jobsFile = join(project.root, 'jobs.json');
      writeFileSync(jobsFile, JSON.stringify(first));
      const driver = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/cluster/engine-driver.ts'), project.root, jobsFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      driver.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await until(() => (out.match(/^submitted /gm) ?? []).length === 3, 60_000, 'the first engine to submit its jobs');
      driver.kill('SIGKILL'); // the engine dies; its jobs do not
      await new Promise((r) => driver.once('close', r));
      expect(out).not.toContain('outcome');
      const firstIds = Object.fromEntries([...out.matchAll(/^submitted (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
      const slurmDir = join(project.root, '.spillway', 'slurm');
      const batchesBefore = readdirSync(slurmDir).filter((d) => d !== 'keys');
      expect(batchesBefore).toHaveLength(2); // the array of two squares, and slow
      // let the squares finish with nobody watching; slow is still queued or running when the next engine starts
      await until(() => ['square@i=0', 'square@i=1'].every((s) => jobState(firstIds[s]) === 'COMPLETED'), 60_000, 'the orphaned squares to finish');
      expect(['PENDING', 'RUNNING']).toContain(jobState(firstIds.slow)); // not finished: the next engine must wait for it

      const again = [0, 1].map((i) => project.job(`square@i=${i}`, 'stages/square.ts', { params: { i: i + 3 }, jsonOuts: ['sq'], key: first[i].key }));
      again.push(project.job('slow', 'stages/sleep.ts', { params: { seconds: 8 }, key: first[2].key }));
      again.push(project.job('fresh', 'stages/square.ts', { params: { i: 7 }, jsonOuts: ['sq'] }));
      const executor = new SlurmExecutor({ config, root: project.root });
      try {
        const outcomes = await Promise.all(again.map((j) => executor.execute(j, hooks())));
        expect(outcomes.map((o) => o.failure)).toEqual([undefined, undefined, undefined, undefined]);
        expect(outcomes.slice(0, 3).map((o) => o.place.job_id)).toEqual([firstIds['square@i=0'], firstIds['square@i=1'], firstIds.slow]);
        // the outputs the orphaned jobs published reach the new engine
        expect(JSON.parse(readOut(project.root, again[0], outcomes[0], 'sq')).sq).toBe(9);
        expect(JSON.parse(readOut(project.root, again[1], outcomes[1], 'sq')).sq).toBe(16);
        expect(JSON.parse(readOut(project.root, again[3], outcomes[3], 'sq')).sq).toBe(49);
        const batchesAfter = readdirSync(slurmDir).filter((d) => d !== 'keys');
        expect(batchesAfter.filter((d) => !batchesBefore.includes(d)).map((d) => d.replace(/^\d+T\d+-/, '').replace(/-\d+-\d+$/, ''))).toEqual(['fresh']);
        expect(readdirSync(join(slurmDir, 'keys'))).toEqual([]); // every job collected: nothing left to take over
      } finally {
        await executor.close();
      }
    } finally {
      project.cleanup();
    }
  }, 120_000);
});
