// A sweep's summary file (sweep file `summary:` or `--summary PATH`), written at the end of a sweep that had a failing
// variant, checked against schemas/sweep-summary.schema.json, the experiment records and their lockfiles; and
// optional deps (`optional_deps:`), which is how a stage reads such a file that a fresh clone does not have.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords } from '../../src/engine/experiments.js';
import { hashJson } from '../../src/engine/hash.js';
import { runSweep } from '../../src/engine/sweep.js';
import { cleanupProjects, cli, repoRoot, writeProject } from '../engine/helpers.js';
import { variantProject } from './project.js';

afterAll(cleanupProjects);

async function validator(): Promise<(v: unknown) => boolean> {
  const { default: Ajv } = await import('ajv');
  return new Ajv.default({ strict: false }).compile(JSON.parse(readFileSync(join(repoRoot, 'schemas/sweep-summary.schema.json'), 'utf8')));
}

describe('sweep summary', () => {
  let dir: string;
  let code: number | null;
  const sweepFile = 'grid: { fit.offset: [0, 1] }\nvariants: [{ scale.factor: bad }]\ntargets: [fit]\nsummary: results/offsets.json\n';
  beforeAll(async () => {
    dir = variantProject({ 'sweeps/offsets.yaml': sweepFile });
    ({ code } = await cli(['sweep', 'sweeps/offsets.yaml', '--jobs', '2'], dir, { VARIANT_TEST_LOG: join(dir, 'executions.log') }));
  }, 240_000);

  it('is written after a sweep with a failed variant, valid against its schema, with the sweep file\'s hash and the base values', async () => {
    expect(code).toBe(1);
    const summary = JSON.parse(readFileSync(join(dir, 'results/offsets.json'), 'utf8'));
    expect((await validator())(summary)).toBe(true);
    expect(summary.sweep).toBe('offsets');
    expect(summary.sweep_file).toEqual({ path: 'sweeps/offsets.yaml', sha256: createHash('sha256').update(sweepFile).digest('hex') });
    expect(summary.base).toEqual({ 'fit.offset': 0, 'scale.factor': 2 });
    expect(summary.grid).toEqual({ 'fit.offset': [0, 1] });
    expect(summary.complete).toBe(false);
    expect(summary.counts).toEqual({ variants: 3, ok: 2, failed: 1, interrupted: 0, not_run: 0 });
    expect(summary.variants.map((v: { params: unknown }) => v.params)).toEqual([{ 'fit.offset': 0 }, { 'fit.offset': 1 }, { 'scale.factor': 'bad' }]);
    expect(summary.variants.map((v: { changed: string[] }) => v.changed)).toEqual([[], ['fit.offset'], ['scale.factor']]);
  });

  it('per variant: status, failure, metrics, and each target instance\'s key and output hashes from its lockfile', () => {
    const summary = JSON.parse(readFileSync(join(dir, 'results/offsets.json'), 'utf8'));
    const records = listRecords(dir);
    for (const v of summary.variants) {
      const record = records.find((r) => r.id === v.id)!;
      expect(v.status).toBe(record.status);
      expect(v.metrics).toEqual(record.metrics);
      if (v.status === 'failed') {
        expect(v.failure[0].stage).toBe('scale');
        expect(v.failure[0].message).toContain('scale.factor must be a number');
        expect(v.stages).toEqual({});
        continue;
      }
      const lock = JSON.parse(readFileSync(join(dir, record.lockfile), 'utf8'));
      // the six instances of the target `fit`, and nothing else (gather is not a target, scale is upstream)
      expect(Object.keys(v.stages).sort()).toEqual(Object.keys(lock.stages).filter((s: string) => s.startsWith('fit@')).sort());
      expect(Object.keys(v.stages)).toHaveLength(6);
      for (const [stage, entry] of Object.entries(v.stages) as [string, { key: string; outputs: Record<string, { hash: string; content: string }> }][]) {
        expect(entry.key).toBe(lock.stages[stage].key);
        const out = lock.stages[stage].outs.result;
        expect(entry.outputs.result.hash).toBe(out.hash);
        const value = JSON.parse(readFileSync(join(dir, out.object), 'utf8'));
        expect(entry.outputs.result.content).toBe(hashJson(value));
      }
    }
    // (1+2+3)·2 + offset
    expect(summary.variants[1].metrics['fit@sample=all,power=1.total']).toBe(13);
  });

  it('--summary PATH on the command line; a path outside the project stops the sweep before anything runs', async () => {
    const ok = await cli(['sweep', '--grid', 'fit.offset=0', '-t', 'fit', '--summary', 'out/one.json'], dir);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('summary: out/one.json');
    const one = JSON.parse(readFileSync(join(dir, 'out/one.json'), 'utf8'));
    expect(one.sweep_file).toBeNull();
    expect(one.counts).toEqual({ variants: 1, ok: 1, failed: 0, interrupted: 0, not_run: 0 });
    const before = readFileSync(join(dir, 'executions.log'), 'utf8');
    const outside = await cli(['sweep', '--grid', 'fit.offset=7', '--summary', '../elsewhere.json'], dir);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('sweep summary ../elsewhere.json is outside the project');
    expect(readFileSync(join(dir, 'executions.log'), 'utf8')).toBe(before);
  });
});

describe('sweep summary of an interrupted sweep', () => {
  it('is written with the finished variant ok and the others interrupted or not run', async () => {
    const dir = variantProject();
    const controller = new AbortController();
    const report = await runSweep({
      pipelineFile: join(dir, 'pipeline.yaml'),
      spec: { name: 'cut', grid: { 'fit.offset': [0, 1, 2] }, variants: [], targets: ['scale'], summary: 'results/cut.json' },
      jobs: 1,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'variant-end') controller.abort();
      },
    });
    expect(report.interrupted).toBe(true);
    const summary = JSON.parse(readFileSync(join(dir, 'results/cut.json'), 'utf8'));
    expect((await validator())(summary)).toBe(true);
    expect(summary.complete).toBe(false);
    expect(summary.variants.map((v: { status: string }) => v.status)).toEqual(['ok', 'not_run', 'not_run']);
    expect(summary.counts).toEqual({ variants: 3, ok: 1, failed: 0, interrupted: 0, not_run: 2 });
    expect(Object.keys(summary.variants[0].stages)).toEqual(['scale']);
  }, 120_000);
});

describe('optional deps', () => {
  const project = () =>
    writeProject({
      'schemas/any.schema.json': '{ "type": "object" }\n',
      'stages/read.ts': `import { readFileSync } from 'node:fs';
export default (ctx: any) => ({ seen: { files: ctx.deps.map((d: string) => d.split('/').slice(-2).join('/')), text: ctx.deps.map((d: string) => readFileSync(d, 'utf8')) } });
`,
      'pipeline.yaml': `stages:
  read:
    run: stages/read.ts
    optional_deps: [results/summary.json]
    outs: { seen: { schema: schemas/any.schema.json } }
  globbed:
    run: stages/read.ts
    deps: ["results/other-*.json"]
    outs: { seen: { schema: schemas/any.schema.json } }
`,
    });

  it('absent: the stage runs without it and without a warning (an empty glob dep still warns); present: it is a dep, and its arrival and its removal change the stage\'s key', async () => {
    const dir = project();
    const first = await cli(['run', '--json'], dir);
    expect(first.code).toBe(0);
    const warnings = (JSON.parse(first.stdout).warnings ?? []) as { stage: string }[];
    expect(warnings.map((w) => w.stage)).toEqual(['globbed']);
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/out/read/seen.json'), 'utf8'))).toEqual({ files: [], text: [] });

    mkdirSync(join(dir, 'results'), { recursive: true });
    writeFileSync(join(dir, 'results/summary.json'), '{"n": 1}\n');
    const status = await cli(['status', 'read'], dir);
    expect(status.stdout + status.stderr).toContain('dep results/summary.json added');
    expect((await cli(['run', 'read'], dir)).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/out/read/seen.json'), 'utf8'))).toEqual({ files: ['results/summary.json'], text: ['{"n": 1}\n'] });
    const lock = JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8'));
    expect(lock.stages.read.deps.map((d: { path: string }) => d.path)).toEqual(['results/summary.json']);

    rmSync(join(dir, 'results/summary.json'));
    // back to the first run's key: restored from the run cache, with the output of a run without the file
    expect((await cli(['run', 'read'], dir)).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/out/read/seen.json'), 'utf8'))).toEqual({ files: [], text: [] });
    expect(existsSync(join(dir, 'results/summary.json'))).toBe(false);
  }, 120_000);

  it('an optional dep outside the project is refused like any dep, naming optional_deps', async () => {
    const dir = writeProject({
      'schemas/any.schema.json': '{ "type": "object" }\n',
      'stages/read.ts': 'export default () => ({ seen: {} });\n',
      'pipeline.yaml': 'stages:\n  read:\n    run: stages/read.ts\n    optional_deps: [../x.json]\n    outs: { seen: { schema: schemas/any.schema.json } }\n',
    });
    const r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('dep ../x.json is outside the project');
    expect(r.stderr).toContain('pipeline.yaml:4:'); // the optional_deps line
  }, 60_000);
});
