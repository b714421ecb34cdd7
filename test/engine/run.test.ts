// The engine on a real 4-stage project (load → scale → total → report) with real stage modules in tsx child
// processes: what re-runs after each kind of edit, and why.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, stageStatus, readLockfile, codeFilesOf, watchTargets, loadPipeline } from '../../src/engine/index.js';
import { cleanupProjects, copyFixture, edit, read, statuses } from './helpers.js';

afterAll(cleanupProjects);

describe('incremental runs', () => {
  let dir: string;
  const run = (extra: Partial<Parameters<typeof runPipeline>[0]> = {}) => runPipeline({ pipelineFile: join(dir, 'pipeline.yaml'), ...extra });

  beforeAll(async () => {
    dir = copyFixture('basic');
    const first = await run();
    expect(statuses(first)).toEqual({ load: 'ran', scale: 'ran', total: 'ran', report: 'ran' });
  });

  it('materializes outputs and writes a lockfile with provenance', () => {
    // numbers 1,2,3 scaled by 2 → 2,4,6; sum 12 + offset 10 = 22
    expect(JSON.parse(read(dir, 'artifacts/out/total/total.json'))).toEqual({ total: 22 });
    expect(read(dir, 'out/summary.txt')).toBe('total 22 of 3 numbers\n');
    expect(read(dir, 'out/site/index.html')).toBe('<p>22</p>\n');
    const lock = readLockfile(dir);
    expect(lock?.stages.scale.params).toEqual({ 'scale.factor': 2 });
    expect(lock?.stages.total.code.files.map((f) => f.path)).toEqual(['lib/sum.ts', 'stages/total.ts']);
    expect(lock?.stages.report.outs.site.files?.map((f) => f.path)).toEqual(['index.html']);
    const obj = lock?.stages.total.outs.total.object as string;
    expect(readFileSync(join(dir, obj), 'utf8')).toBe(read(dir, 'artifacts/out/total/total.json'));
    expect(lock?.stages.load.run.node_version).toBe(process.version);
    expect(read(dir, '.spillway/logs/report.log')).toMatch(/^# spillway: stage report, .*never run.*\nwrote total 22\n$/);
  });

  it('a second run is a no-op that leaves the lockfile byte-identical', async () => {
    const before = read(dir, 'pipeline.lock');
    const again = await run();
    expect(statuses(again)).toEqual({ load: 'cached', scale: 'cached', total: 'cached', report: 'cached' });
    expect(read(dir, 'pipeline.lock')).toBe(before);
    const status = await stageStatus(join(dir, 'pipeline.yaml'));
    expect(status.stale).toBe(0);
  });

  it('editing one param re-runs exactly that stage and its downstream, and status names old → new', async () => {
    edit(dir, 'pipeline.yaml', (t) => t.replace('offset: 10', 'offset: 11'));
    const status = await stageStatus(join(dir, 'pipeline.yaml'));
    const total = status.stages.find((s) => s.stage === 'total');
    expect(total?.state).toBe('stale');
    expect(total?.reasons).toEqual([{ component: 'param', name: 'total.offset', message: 'param total.offset: 10 → 11', old: 10, new: 11 }]);
    expect(status.stages.find((s) => s.stage === 'report')?.state).toBe('upstream-stale');
    expect(status.stages.find((s) => s.stage === 'scale')?.state).toBe('up-to-date');
    const r = await run();
    expect(statuses(r)).toEqual({ load: 'cached', scale: 'cached', total: 'ran', report: 'ran' });
    expect(r.stages[2].reason).toBe('param total.offset: 10 → 11');
    expect(read(dir, 'out/summary.txt')).toBe('total 23 of 3 numbers\n');
  });

  it('an undeclared param does not enter any key', async () => {
    edit(dir, 'pipeline.yaml', (t) => t.replace('unused: 1', 'unused: 2'));
    const r = await run();
    expect(Object.values(statuses(r))).toEqual(['cached', 'cached', 'cached', 'cached']);
  });

  it('editing stage code re-runs it; a comment-only edit stops at early cutoff', async () => {
    edit(dir, 'stages/scale.ts', (t) => t.replace('v * factor', 'v * factor * 10'));
    let r = await run();
    expect(statuses(r)).toEqual({ load: 'cached', scale: 'ran', total: 'ran', report: 'ran' });
    expect(r.stages[1].reason).toBe('code file stages/scale.ts changed');
    expect(JSON.parse(read(dir, 'artifacts/out/total/total.json'))).toEqual({ total: 131 }); // 20+40+60 + 11

    edit(dir, 'stages/scale.ts', (t) => `// multiplies every value by the factor\n${t}`);
    r = await run();
    expect(statuses(r)).toEqual({ load: 'cached', scale: 'ran', total: 'cached', report: 'cached' });
    expect(r.stages[1].reason).toContain('outputs unchanged');
  });

  it('a change in a locally imported file re-runs the importing stage', async () => {
    expect((await codeFilesOf(await loadPipeline(join(dir, 'pipeline.yaml')), 'total')).map((f) => f.slice(dir.length + 1))).toEqual(['lib/sum.ts', 'stages/total.ts']);
    edit(dir, 'lib/sum.ts', (t) => t.replace('(a, b) => a + b, 0', '(a, b) => a + b, 1'));
    const status = await stageStatus(join(dir, 'pipeline.yaml'));
    expect(status.stages.find((s) => s.stage === 'total')?.reasons.map((x) => x.message)).toEqual(['code file lib/sum.ts changed']);
    const r = await run();
    expect(statuses(r)).toEqual({ load: 'cached', scale: 'cached', total: 'ran', report: 'ran' });
  });

  it('a changed dep re-runs from the first stage; status names the dep', async () => {
    writeFileSync(join(dir, 'data/numbers.csv'), 'value\n1\n2\n3\n4\n');
    const status = await stageStatus(join(dir, 'pipeline.yaml'));
    expect(status.stages[0].reasons.map((x) => x.message)).toEqual(['dep data/numbers.csv changed']);
    const r = await run({ jobs: 1 });
    expect(Object.values(statuses(r))).toEqual(['ran', 'ran', 'ran', 'ran']);
  });

  it('--set overrides enter the key; reverting them restores from the run cache without running', async () => {
    const withSet = await run({ overrides: ['scale.factor=3'] });
    expect(statuses(withSet)).toEqual({ load: 'cached', scale: 'ran', total: 'ran', report: 'ran' });
    expect(readLockfile(dir)?.stages.scale.params).toEqual({ 'scale.factor': 3 });
    const reverted = await run();
    expect(statuses(reverted)).toEqual({ load: 'cached', scale: 'cached', total: 'cached', report: 'cached' });
    expect(reverted.stages[1].restored).toBe(true);
    expect(reverted.stages[1].reason).toBe('restored from the run cache (param scale.factor: 3 → 2)');
    expect(readLockfile(dir)?.stages.scale.params).toEqual({ 'scale.factor': 2 });
  });

  it('values given to --set are typed as YAML scalars and unknown keys are refused', async () => {
    const p = await loadPipeline(join(dir, 'pipeline.yaml'), { overrides: ['scale.factor=0.5', 'total.unused=true'] });
    expect(p.overrides).toEqual({ 'scale.factor': 0.5, 'total.unused': true });
    await expect(loadPipeline(join(dir, 'pipeline.yaml'), { overrides: ['scale.nope=1'] })).rejects.toThrow(/no such param/);
  });

  it('removing a declared param re-runs the stage even though nothing it reads changed', async () => {
    edit(dir, 'pipeline.yaml', (t) => t.replace('params: [total.offset]', 'params: []').replace("ctx.param<number>('total.offset')", '11'));
    edit(dir, 'stages/total.ts', (t) => t.replace("ctx.param<number>('total.offset')", '11'));
    const status = await stageStatus(join(dir, 'pipeline.yaml'));
    expect(status.stages.find((s) => s.stage === 'total')?.reasons.map((x) => x.message)).toContain('param total.offset no longer declared (was 11)');
    const r = await run();
    expect(r.stages.find((s) => s.stage === 'total')?.status).toBe('ran');
  });

  it('a deleted readable copy is restored from the store without running', async () => {
    const before = read(dir, 'out/summary.txt');
    writeFileSync(join(dir, 'out/summary.txt'), 'tampered\n');
    const r = await run();
    expect(Object.values(statuses(r)).every((s) => s === 'cached')).toBe(true);
    expect(read(dir, 'out/summary.txt')).toBe(before);
  });

  it('--force re-runs cached stages; a dry run runs nothing and says why', async () => {
    const forced = await run({ force: true, targets: ['scale'] });
    expect(statuses(forced)).toEqual({ load: 'ran', scale: 'ran' });
    edit(dir, 'pipeline.yaml', (t) => t.replace('factor: 2', 'factor: 4'));
    const lockBefore = read(dir, 'pipeline.lock');
    const dry = await run({ dryRun: true });
    expect(statuses(dry)).toEqual({ load: 'cached', scale: 'would-run', total: 'would-run', report: 'would-run' });
    expect(dry.stages[1].reason).toBe('param scale.factor: 2 → 4');
    expect(read(dir, 'pipeline.lock')).toBe(lockBefore);
  });

  it('watchTargets lists code, deps and schemas', async () => {
    const t = await watchTargets(await loadPipeline(join(dir, 'pipeline.yaml')));
    const rel = t.files.map((f) => f.slice(dir.length + 1));
    expect(rel).toEqual(expect.arrayContaining(['data/numbers.csv', 'lib/sum.ts', 'stages/load.ts', 'schemas/total.schema.json']));
    expect(existsSync(t.pipelineFile)).toBe(true);
  });
});
