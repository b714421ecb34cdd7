// The whole replication through the engine (real tsx child processes, real store and lockfile) on the embedded
// synthetic default dataset (data/raw, with its truth.json) in a temp copy of the project; then two `--set` changes
// re-run only what depends on them.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunReport } from '../../src/engine/index.js';
import { projectRoot, validateArtifact } from './helpers.js';

const OUTS: [stage: string, name: string, schema: string][] = [
  ['ingest', 'panel', 'schemas/panel.schema.json'],
  ['ingest', 'collaboration', 'schemas/collaboration.schema.json'],
  ['ingest', 'ingest_report', 'schemas/ingest-report.schema.json'],
  ['classify', 'groups', 'schemas/groups.schema.json'],
  ['weights', 'weights', 'schemas/weights.schema.json'],
  ['spillovers', 'spillovers', 'schemas/spillovers.schema.json'],
  ['lag', 'design', 'schemas/design.schema.json'],
  ['estimate', 'models', 'schemas/models.schema.json'],
];

let dir: string;
let truth: any;
const read = (stage: string, name: string): any => JSON.parse(readFileSync(join(dir, 'artifacts/out', stage, `${name}.json`), 'utf8'));
const statuses = (report: RunReport) => Object.fromEntries(report.stages.map((s) => [s.stage, s.status]));
const run = (overrides: string[] = []) =>
  runPipeline({ pipelineFile: join(dir, 'pipeline.yaml'), overrides, targets: ['estimate'], jobs: 2 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spillway-replication-'));
  for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'package.json', 'tsconfig.json']) {
    cpSync(join(projectRoot, p), join(dir, p), { recursive: true });
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(projectRoot, 'data/raw'), join(dir, 'data/raw'), { recursive: true });
  truth = JSON.parse(readFileSync(join(dir, 'data/raw/truth.json'), 'utf8'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replication pipeline end to end', () => {
  it('runs every stage; every artifact matches its schema and the dataset', async () => {
    const report = await run();
    expect(report.stages.filter((s) => s.status === 'failed')).toEqual([]);
    expect(statuses(report)).toMatchObject({ ingest: 'ran', classify: 'ran', weights: 'ran', spillovers: 'ran', lag: 'ran', estimate: 'ran' });
    for (const [stage, name, schema] of OUTS) validateArtifact(schema, read(stage, name));

    const panel = read('ingest', 'panel');
    expect(panel.regions).toHaveLength(30);
    expect(panel.rows).toHaveLength(30 * 12);
    const ingestReport = read('ingest', 'ingest_report');
    // the generator plants the paper's outlier: 911 filings by one Beijing applicant in 2001
    expect(ingestReport.outliers).toHaveLength(1);
    expect(ingestReport.outliers[0]).toMatchObject({ year: truth.outlier.year, applicant: truth.outlier.applicant, filings: 911, by_region: { 'CN-BJ': 911 } });
    expect(ingestReport.files.every((f: any) => f.rows_dropped === 0)).toBe(true);

    // the default criterion finds the 8 leading regions of the paper (footnote 10), which the generator used
    const groups = read('classify', 'groups');
    expect([...groups.leading].sort()).toEqual([...truth.leading_regions].sort());
    expect(groups.n_leading_target).toBe(8);

    const weights = read('weights', 'weights');
    expect(weights.spatial.mean_distance_km).toBeCloseTo(1310.7, 1);
    expect(weights.collaboration).toHaveLength(12);

    const design = read('lag', 'design');
    expect(design.rows).toHaveLength(330);
    expect(design.rows.filter((r: any) => r.group === 'leading')).toHaveLength(88);

    const models = read('estimate', 'models');
    expect(models.models.map((m: any) => [m.name, m.sample, m.n, m.regions])).toEqual([
      ['1', 'all', 330, 30], ['2', 'all', 330, 30], ['3', 'all', 330, 30],
      ['4', 'leading', 88, 8], ['5', 'leading', 88, 8], ['6', 'leading', 88, 8],
      ['7', 'lagging', 242, 22], ['8', 'lagging', 242, 22], ['9', 'lagging', 242, 22],
    ]);
    for (const m of models.models) {
      expect(m.error).toBeNull();
      expect(Object.keys(m.fit.coef)).toEqual([...m.regressors, ...Array.from({ length: 10 }, (_, k) => `${2001 + k}.year`), '_cons']);
      // a model the data cannot identify (e.g. no overdispersion within groups) must say so
      if (!m.fit.converged) expect(m.fit.warnings.length, `model ${m.name}`).toBeGreaterThan(0);
    }
    // the generator's true models are Table 4's models 5 (leading) and 8 (lagging): on the pipeline's design they
    // converge and cover the truth (|estimate − truth| < 3 SE for every regressor)
    for (const [name, sample] of [['5', 'leading'], ['8', 'lagging']] as const) {
      const fit = models.models.find((m: any) => m.name === name).fit;
      expect(fit.converged, `model ${name}: ${fit.warnings}`).toBe(true);
      for (const [variable, beta] of Object.entries(truth.models[sample].coefficients) as [string, number][]) {
        expect(Math.abs(fit.coef[variable] - beta), `${name} ${variable}`).toBeLessThan(3 * fit.se[variable]);
      }
    }
  }, 180_000);

  it('--set classify.criterion=nano_patents re-runs classify and what is downstream of it only', async () => {
    const report = await run(['classify.criterion=nano_patents']);
    expect(statuses(report)).toEqual({ ingest: 'cached', classify: 'ran', weights: 'cached', spillovers: 'cached', lag: 'ran', estimate: 'ran' });
    expect(read('classify', 'groups').criterion).toBe('nano_patents');
    expect(read('lag', 'design').criterion).toBe('nano_patents');
  }, 180_000);

  it('--set weights.spatial_standardization=eq5 re-runs weights and below, not ingest or classify', async () => {
    const before = read('spillovers', 'spillovers');
    const report = await run(['weights.spatial_standardization=eq5']);
    const s = statuses(report);
    expect([s.ingest, s.classify]).toEqual(['cached', 'cached']);
    expect([s.weights, s.spillovers, s.lag, s.estimate]).toEqual(['ran', 'ran', 'ran', 'ran']);
    const weights = read('weights', 'weights');
    expect(weights.spatial.standardization).toBe('eq5');
    for (let j = 0; j < 30; j++) expect(weights.spatial.matrix.reduce((sum: number, row: number[]) => sum + row[j], 0)).toBeCloseTo(1, 10);
    // the collaboration spillovers do not depend on the spatial weights; the proximity ones do
    const after = read('spillovers', 'spillovers');
    expect(after.rows.map((r: any) => r.techspill_collab)).toEqual(before.rows.map((r: any) => r.techspill_collab));
    expect(after.rows.map((r: any) => r.techspill_spatial)).not.toEqual(before.rows.map((r: any) => r.techspill_spatial));
    // back to the defaults: nothing re-runs, the earlier results come back from the cache
    const again = await run();
    expect(again.stages.every((st) => st.status === 'cached')).toBe(true);
    expect(read('classify', 'groups').criterion).toBe('total_publications');
  }, 180_000);
});

describe('a malformed raw row through the engine', () => {
  let tiny: string;
  beforeAll(() => {
    tiny = mkdtempSync(join(tmpdir(), 'spillway-replication-bad-'));
    for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'package.json', 'tsconfig.json']) {
      cpSync(join(projectRoot, p), join(tiny, p), { recursive: true });
    }
    symlinkSync(join(projectRoot, 'node_modules'), join(tiny, 'node_modules'));
    cpSync(join(projectRoot, 'test/fixtures/tiny-dataset'), join(tiny, 'data/raw'), { recursive: true });
    writeFileSync(join(tiny, 'data/raw/funding.csv'), 'grant_id,year,region,amount,title\nG1,2000,CN-BJ,5,a\nG2,2000,CN-BJ,five,b\n');
  });
  afterAll(() => rmSync(tiny, { recursive: true, force: true }));

  it('fails ingest with file, line, row, column, expected and hint; drop mode counts it', async () => {
    const overrides = ['ingest.years=[1999, 2001]'];
    const failed = await runPipeline({ pipelineFile: join(tiny, 'pipeline.yaml'), targets: ['ingest'], overrides });
    const ingest = failed.stages.find((s) => s.stage === 'ingest')!;
    expect(ingest.status).toBe('failed');
    expect(ingest.error).toContain('data/raw/funding.csv:3 row 2 column "amount": value "five" must be number');
    expect(ingest.error).toContain('expected: amount in 10,000 yuan');
    expect(ingest.error).toContain('--set ingest.on_bad_row=drop');
    const dropped = await runPipeline({ pipelineFile: join(tiny, 'pipeline.yaml'), targets: ['ingest'], overrides: [...overrides, 'ingest.on_bad_row=drop'] });
    expect(dropped.ok).toBe(true);
    const report = JSON.parse(readFileSync(join(tiny, 'artifacts/out/ingest/ingest_report.json'), 'utf8'));
    expect(report.files.find((f: any) => f.file === 'data/raw/funding.csv')).toMatchObject({ rows_read: 2, rows_accepted: 1, rows_dropped: 1 });
  }, 120_000);
});
