// Sweeps on a real project (real stage processes, real store): shared stages execute once (counted by the stages
// themselves in a log file), a failing variant does not stop the others, a sweep killed with SIGKILL resumes without
// recomputing finished variants, and the experiment commands (exp show/diff/apply, params diff) on the records.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords, type ExperimentRecord } from '../../src/engine/experiments.js';
import { planVariants, runSweep, type SweepReport } from '../../src/engine/sweep.js';
import { bin, cleanupProjects, cli, read, startCli, waitFor } from '../engine/helpers.js';
import { variantProject } from './project.js';

afterAll(cleanupProjects);

const executions = (dir: string) => {
  const file = join(dir, 'executions.log');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
};
const count = (lines: string[], prefix: string) => lines.filter((l) => l.startsWith(prefix)).length;

describe('planning', () => {
  it('the grid is Cartesian with the first axis slowest; explicit variants follow; set applies to all; duplicates once', () => {
    const variants = planVariants({ grid: { a: [1, 2], b: ['x', 'y'] }, variants: [{ a: 9 }, { a: 1, b: 'x' }], set: { c: true } });
    expect(variants.map((v) => v.overrides)).toEqual([
      { c: true, a: 1, b: 'x' },
      { c: true, a: 1, b: 'y' },
      { c: true, a: 2, b: 'x' },
      { c: true, a: 2, b: 'y' },
      { c: true, a: 9 },
    ]);
    expect(new Set(variants.map((v) => v.id)).size).toBe(5);
    expect(variants[0].id).toMatch(/^x[0-9a-f]{10}$/);
  });
});

describe('bad sweeps stop before anything runs', () => {
  it('a key pipeline.yaml does not define, a malformed --grid, an unknown key in a sweep file', async () => {
    const dir = variantProject({ 'sweeps/bad.yaml': 'grid: { fit.offset: [0, 1] }\nvarient: []\n' });
    const typo = await cli(['sweep', '--grid', 'fit.ofset=0,1'], dir);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('sweep: no param "fit.ofset" in pipeline.yaml');
    expect(typo.stderr).toContain('expected: one of: scale.factor, fit.offset, fit.power');
    const malformed = await cli(['sweep', '--grid', 'fit.offset'], dir);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--grid expects key=v1,v2,…, got "fit.offset"');
    const file = await cli(['sweep', 'sweeps/bad.yaml'], dir);
    expect(file.code).toBe(3);
    expect(file.stderr).toContain('unknown key "varient"');
    expect(existsSync(join(dir, 'artifacts'))).toBe(false);
    expect(executions(dir)).toEqual([]);
  }, 60_000);
});

describe('a grid where only the fit params vary', () => {
  let dir: string;
  let report: SweepReport;
  beforeAll(async () => {
    dir = variantProject();
    process.env.VARIANT_TEST_LOG = join(dir, 'executions.log');
    report = await runSweep({
      pipelineFile: join(dir, 'pipeline.yaml'),
      spec: { name: 'offsets', grid: { 'fit.offset': [0, 1, 2] }, variants: [{ 'scale.factor': 'bad' }], targets: [] },
      jobs: 2,
    });
  }, 240_000);
  afterAll(() => {
    delete process.env.VARIANT_TEST_LOG;
  });

  it('runs base and scale once, each fit instance and gather once per variant: executions = distinct keys', () => {
    const log = executions(dir);
    expect(count(log, 'base')).toBe(1);
    expect(count(log, 'scale')).toBe(1);
    expect(count(log, 'fit ')).toBe(18); // 6 instances × 3 offsets
    expect(count(log, 'gather')).toBe(3);
    // plus the failing variant's scale, attempted once
    expect(report.executions).toBe(24);
    expect(report.distinct_keys).toBe(24);
    expect(report.stage_runs).toBe(4 * 9);
    expect(report.variants).toBe(4);
    expect([report.succeeded, report.failed]).toEqual([3, 1]);
  });

  it('one failing variant is recorded as failed and does not stop the others', () => {
    const records = listRecords(dir);
    const failed = records.find((r) => r.status === 'failed') as ExperimentRecord;
    expect(failed.params).toEqual({ 'scale.factor': 'bad' });
    expect(failed.failure?.[0].stage).toBe('scale');
    expect(failed.failure?.[0].message).toContain('scale.factor must be a number, got "bad"');
    expect(failed.stages['fit@sample=all,power=1'].status).toBe('skipped');
    expect(records.filter((r) => r.status === 'ok').map((r) => r.metrics['fit@sample=all,power=1.total'])).toEqual(expect.arrayContaining([12, 13, 14]));
  });

  it('records params, changed keys, metrics, the lockfile and its objects; the project itself is untouched', () => {
    const r = listRecords(dir).find((x) => x.params['fit.offset'] === 2) as ExperimentRecord;
    expect(r.changed).toEqual(['fit.offset']);
    expect(r.sweep).toBe('offsets');
    // (2+4+6) + 2 = 14 and its tenth; even positions (4) squared + 2 = 18
    expect(r.metrics['fit@sample=all,power=1.total']).toBe(14);
    expect(r.metrics['fit@sample=all,power=1.b_x']).toBe(1.4);
    expect(r.metrics['fit@sample=even,power=2.total']).toBe(18);
    const lock = JSON.parse(read(dir, r.lockfile));
    expect(lock.stages['fit@sample=all,power=1'].params['fit.offset']).toBe(2);
    expect(r.objects).toHaveLength(1 + 1 + 6 + 1);
    for (const h of r.objects) expect(existsSync(join(dir, 'artifacts/objects', h.slice(7, 9), h.slice(9)))).toBe(true);
    expect(existsSync(join(dir, 'pipeline.lock'))).toBe(false);
    expect(existsSync(join(dir, 'artifacts/out'))).toBe(false);
    const unchanged = listRecords(dir).find((x) => x.params['fit.offset'] === 0) as ExperimentRecord;
    expect(unchanged.changed).toEqual([]);
  });

  it('running the sweep again executes nothing: every finished variant is restored by key', async () => {
    const before = executions(dir).length;
    const again = await runSweep({
      pipelineFile: join(dir, 'pipeline.yaml'),
      spec: { name: 'offsets', grid: { 'fit.offset': [0, 1, 2] }, variants: [], targets: [] },
      jobs: 2,
    });
    expect(again.executions).toBe(0);
    expect(again.cached).toBe(3);
    expect(executions(dir).length).toBe(before);
  }, 120_000);

  it('exp diff prints the params and metrics that differ, with the change', async () => {
    const records = listRecords(dir);
    const a = records.find((x) => x.params['fit.offset'] === 0) as ExperimentRecord;
    const b = records.find((x) => x.params['fit.offset'] === 2) as ExperimentRecord;
    const text = await cli(['exp', 'diff', a.id, b.id.slice(0, 6)], dir);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([`param       ${a.id}  ${b.id}`, 'fit.offset  0            2']);
    expect(lines).toContain(`metric                         ${a.id}  ${b.id}  change`);
    expect(lines).toContain('fit@sample=all,power=1.total   12           14           +2');
    expect(lines).toContain('fit@sample=all,power=1.b_x     1.2          1.4          +0.2');
    const json = JSON.parse((await cli(['exp', 'diff', a.id, b.id, '--json'], dir)).stdout);
    expect(json.params).toEqual([{ key: 'fit.offset', a: 0, b: 2 }]);
    expect(json.metrics).toHaveLength(12);
    expect(json.metrics[0]).toEqual({ name: 'fit@sample=all,power=1.total', a: 12, b: 14, change: 2 });
  });

  it('exp show sorts by a metric, marks changed params, and writes CSV', async () => {
    const shown = await cli(['exp', 'show', '--sort', 'fit@sample=all,power=1.total', '--desc', '--metrics', 'all,power=1.total$'], dir);
    expect(shown.code).toBe(0);
    const rows = shown.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^experiment +sweep +status +ran +time +fit\.offset +scale\.factor +fit@sample=all,power=1\.total$/);
    expect(rows.slice(1, 4).map((r) => r.split(/ +/).at(-1))).toEqual(['14', '13', '12']);
    expect(rows[1]).toContain(' 2* ');
    expect(rows[4]).toContain('failed');
    const csv = (await cli(['exp', 'show', '--csv', '--metrics', 'all,power=1.total$', '--sort', 'fit.offset'], dir)).stdout.trim().split('\n');
    expect(csv[0]).toBe('experiment,sweep,status,ran,duration_ms,fit.offset,scale.factor,"fit@sample=all,power=1.total"');
    expect(csv.slice(1, 4).map((l) => l.split(',').slice(5).join(','))).toEqual(['0,2,12', '1,2,13', '2,2,14']);
  });

  it('exp apply materializes one variant and its lockfile; params diff and status then name the changed param', async () => {
    const b = listRecords(dir).find((x) => x.params['fit.offset'] === 2) as ExperimentRecord;
    const applied = await cli(['exp', 'apply', b.id], dir);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('spillway run --set fit.offset=2');
    expect(read(dir, 'pipeline.lock')).toBe(read(dir, b.lockfile));
    expect(JSON.parse(read(dir, 'artifacts/out/fit@sample=all,power=1/result.json')).total).toBe(14);
    const params = await cli(['params', 'diff', '--json'], dir);
    const diff = JSON.parse(params.stdout);
    expect(diff.params).toEqual([{ key: 'fit.offset', locked: 2, working: 0, declared: true, stages: expect.arrayContaining(['fit@sample=all,power=1']) }]);
    expect(diff.params[0].stages).toHaveLength(6);
    expect((await cli(['params', 'diff', '--set', 'fit.offset=2'], dir)).stdout).toBe('the working params equal the lockfile\n');
    const status = JSON.parse((await cli(['status', '--json'], dir)).stdout);
    expect(status.stages.find((s: { stage: string }) => s.stage === 'fit@sample=all,power=1').reasons[0].message).toBe('param fit.offset: 2 → 0');
    expect(status.stages.find((s: { stage: string }) => s.stage === 'scale').state).toBe('up-to-date');
    // with --params the experiment's values go into pipeline.yaml too (comments kept): everything is up to date
    const text = read(dir, 'pipeline.yaml');
    expect((await cli(['exp', 'apply', b.id, '--params'], dir)).stdout).toContain('pipeline.yaml: fit.offset = 2');
    expect(read(dir, 'pipeline.yaml')).toBe(text.replace('fit: { offset: 0, power: 1 }', 'fit: { offset: 2, power: 1 }'));
    expect(JSON.parse((await cli(['status', '--json'], dir)).stdout).stale).toBe(0);
    const audit = await cli(['audit'], dir);
    expect(audit.code, audit.stdout).toBe(0);
    // a failed experiment cannot be applied
    const failed = listRecords(dir).find((x) => x.status === 'failed') as ExperimentRecord;
    const refused = await cli(['exp', 'apply', failed.id], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('did not finish (status failed)');
  }, 60_000);
});

describe('an interrupted sweep', () => {
  it('resumes after SIGKILL without recomputing finished variants', async () => {
    const dir = variantProject();
    const env = { VARIANT_TEST_LOG: join(dir, 'executions.log') };
    const args = ['sweep', '--grid', 'scale.factor=1,2,3,4', '--jobs', '1', '--target', 'fit@sample=all,power=1', '--target', 'fit@sample=odd,power=1'];
    const first = startCli(args, dir, env);
    const okRecords = () => listRecords(dir).filter((r) => r.status === 'ok');
    await waitFor(() => okRecords().length >= 2 || first.child.exitCode !== null, 120_000);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const finished = okRecords();
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThan(4);
    const finishedKeys = new Set(finished.flatMap((r) => Object.values(r.stages).filter((s) => s.status === 'ran').map((s) => s.key)));

    const second = await cli([...args, '--json'], dir, env);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout) as SweepReport;
    expect(report.succeeded).toBe(4);
    for (const r of finished) expect(report.experiments.find((e) => e.id === r.id)?.executions).toBe(0);
    const resumed = listRecords(dir);
    const rerunKeys = resumed.flatMap((r) => Object.values(r.stages).filter((s) => s.status === 'ran').map((s) => s.key));
    expect(rerunKeys.filter((k) => finishedKeys.has(k))).toEqual([]);
    // every stage configuration ran once over both runs, except at most the one stage the kill interrupted
    const log = executions(dir);
    expect(count(log, 'base')).toBe(1);
    const perConfig = new Map<string, number>();
    for (const l of log) perConfig.set(l, (perConfig.get(l) ?? 0) + 1);
    expect([...perConfig.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    expect(readdirSync(join(dir, 'artifacts/experiments')).filter((f) => f.endsWith('.lock'))).toHaveLength(4);
  }, 300_000);

  it('on Ctrl-C stops the running variant, records it as interrupted, releases the lock and exits 130', async () => {
    const dir = variantProject();
    const env = { VARIANT_TEST_LOG: join(dir, 'executions.log') };
    const run = startCli(['sweep', '--grid', 'scale.factor=1,2,3', '--jobs', '1'], dir, env);
    await waitFor(() => listRecords(dir).some((r) => r.status === 'ok') || run.child.exitCode !== null, 120_000);
    // the next variant is running once its record says so
    await waitFor(() => listRecords(dir).some((r) => r.status === 'running') || run.child.exitCode !== null, 60_000);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('interrupted');
    const records = listRecords(dir);
    expect(records.filter((r) => r.status === 'running')).toEqual([]);
    expect(records.filter((r) => r.status === 'interrupted')).toHaveLength(1);
    expect(records.length).toBeLessThan(3);
    expect(existsSync(join(dir, '.spillway/lock'))).toBe(false);
  }, 300_000);
});

describe('sweep progress', () => {
  const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
  it.skipIf(!hasScript)('on a terminal: a live status line with done, running, cached, failed, executions saved and ETA; plain lines otherwise', async () => {
    const dir = variantProject();
    const env = { ...process.env, VARIANT_TEST_LOG: join(dir, 'executions.log'), TERM: 'xterm', COLUMNS: '200', NO_COLOR: '1' };
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${bin} sweep --grid fit.offset=0,1 --jobs 2`, '/dev/null'], { cwd: dir, encoding: 'utf8', env }).stdout;
    expect(tty).toMatch(/\r\x1b\[2Ksweep 0\/2 done · \d running · 0 cached · 0 failed · 0 executions, 0 saved/);
    expect(tty).toMatch(/sweep 1\/2 done · [01] running · 0 cached · 0 failed · \d+ executions, 0 saved · ETA /);
    // 9 stages per variant; the second variant shares base and scale: 18 stage runs, 16 executions
    expect(tty).toContain('sweep cli: 2 variants, 2 ok, 0 failed; 16 stage executions for 18 stage runs (2 saved by sharing)');
    const plain = await cli(['sweep', '--grid', 'fit.offset=0,1,2', '--jobs', '2'], dir, { VARIANT_TEST_LOG: join(dir, 'executions.log') });
    expect(plain.code).toBe(0);
    const lines = plain.stderr.trim().split('\n');
    expect(lines[0]).toBe('sweep: 3 variants, 2 at a time');
    expect(lines.filter((l) => /^\[\d\/3\] x[0-9a-f]{10} (cached|ok) /.test(l))).toHaveLength(3);
    expect(lines.filter((l) => / cached 0 ran /.test(l))).toHaveLength(2);
    expect(plain.stderr).not.toContain('\x1b');
  }, 300_000);
});

