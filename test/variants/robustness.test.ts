// The paper's robustness sweep (sweeps/robustness.yaml): its 216 variants over params that exist in pipeline.yaml
// with values the stages accept, and a slice of it end to end through the real replication stages on the tiny
// hand-made dataset (test/fixtures/tiny-dataset), sharing every stage it can.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords } from '../../src/engine/experiments.js';
import { loadPipeline } from '../../src/engine/index.js';
import { runPipeline, type RunReport } from '../../src/engine/runner.js';
import { contentHash } from '../../src/report/replication/robustness.js';
import { loadSweepFile, planVariants, runSweep, type SweepReport, type SweepSpec } from '../../src/engine/sweep.js';
import { repoRoot } from '../engine/helpers.js';
import { embeddedReplication } from './replication-project.js';

describe('sweeps/robustness.yaml', () => {
  it('spans footnote 12 × top shares × eq. 3-5 × decays × lags: 216 variants, every one a valid override of pipeline.yaml', async () => {
    const spec = await loadSweepFile(join(repoRoot, 'sweeps/robustness.yaml'));
    expect(spec.grid).toEqual({
      'classify.criterion': ['total_publications', 'nano_publications', 'nano_patents', 'total_patents'],
      'classify.top_share': [0.2, 0.25, 1 / 3],
      'weights.spatial_standardization': ['eq3', 'eq4', 'eq5'],
      'weights.distance_decay': [1, 2, 3],
      'lag.years': [1, 2],
    });
    expect(spec.targets).toEqual(['estimate']);
    const variants = planVariants(spec);
    expect(variants).toHaveLength(216);
    // the criteria are exactly those the groups artifact allows (the classify stage's choices)
    const groups = JSON.parse(readFileSync(join(repoRoot, 'schemas/groups.schema.json'), 'utf8'));
    expect([...spec.grid['classify.criterion']].sort()).toEqual([...groups.properties.criterion.enum].sort());
    // loading with the overrides fails on a key pipeline.yaml does not define
    for (const v of [variants[0], variants[215]]) {
      const p = await loadPipeline(join(repoRoot, 'pipeline.yaml'), { overrides: Object.entries(v.overrides).map(([k, x]) => `${k}=${JSON.stringify(x)}`) });
      for (const [k, x] of Object.entries(v.overrides)) expect(p.overrides[k]).toEqual(x);
    }
  });
});

// On the embedded dataset: on the tiny one (4 regions, 2 years) no model of Table 4 converges, and the estimate stage
// rightly fails when not one model does.
describe('a slice of the robustness sweep on the embedded dataset', () => {
  let dir: string;
  let report: SweepReport;
  let run: RunReport;
  beforeAll(async () => {
    dir = embeddedReplication();
    const full = await loadSweepFile(join(dir, 'sweeps/robustness.yaml'));
    // 2 criteria × 2 shares, at the paper's weights and lag: classify and what follows it differ, weights are shared
    const spec: SweepSpec = {
      ...full,
      grid: {
        'classify.criterion': ['total_publications', 'nano_patents'],
        'classify.top_share': [0.25, 1 / 3],
        'weights.spatial_standardization': ['eq4'],
        'weights.distance_decay': [2],
        'lag.years': [1],
      },
    };
    report = await runSweep({ pipelineFile: join(dir, 'pipeline.yaml'), spec, jobs: 2 });
    // then the default run: everything up to estimate is restored by key, the report renders the robustness section
    run = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml'), jobs: 2 });
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every variant finishes; ingest, weights and spillovers run once, classify, lag and estimate once per variant', () => {
    expect(report.failed).toBe(0);
    expect(report.succeeded).toBe(4);
    expect(report.stage_runs).toBe(4 * 6);
    expect(report.executions).toBe(1 + 4 + 1 + 1 + 4 + 4);
    expect(report.distinct_keys).toBe(report.executions);
    for (const r of listRecords(dir)) {
      expect(r.stages.ingest.key).toBe(listRecords(dir)[0].stages.ingest.key);
      expect(r.stages.weights.key).toBe(listRecords(dir)[0].stages.weights.key);
    }
  });

  it('each experiment records its classification and the nine models, with the metrics estimate declares', () => {
    const records = listRecords(dir);
    for (const r of records) {
      const lock = JSON.parse(readFileSync(join(dir, r.lockfile), 'utf8'));
      const object = (stage: string, out: string) => {
        const h: string = lock.stages[stage].outs[out].hash;
        return JSON.parse(readFileSync(join(dir, 'artifacts/objects', h.slice(7, 9), h.slice(9)), 'utf8'));
      };
      const groups = object('classify', 'groups');
      expect(groups.criterion).toBe(r.params['classify.criterion']);
      // 30 regions: ceil(0.25 · 30) = 8 leading places, ceil(30/3) = 10
      expect(groups.n_leading_target).toBe(r.params['classify.top_share'] === 0.25 ? 8 : 10);
      const models = object('estimate', 'models');
      expect(models.models.map((m: { name: string }) => m.name)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(Object.keys(r.metrics)).toHaveLength(42);
      // a metric is the value at its pointer: model 2's funding coefficient
      expect(r.metrics['estimate.funding_all']).toBe(models.models[1].fit?.coef?.nano_funding_log ?? null);
      expect(r.metrics['estimate.converged_all']).toBe(models.models[1].fit?.converged ?? null);
    }
    expect(new Set(records.map((r) => r.stages.classify.key)).size).toBe(4);
  });

  it('writes the summary the sweep file names (sweeps/robustness.yaml: results/robustness.json), valid against its schema', async () => {
    expect(report.summary).toBe('results/robustness.json');
    const summary = JSON.parse(readFileSync(join(dir, 'results/robustness.json'), 'utf8'));
    const { default: Ajv } = await import('ajv');
    const validate = new Ajv.default({ strict: false }).compile(JSON.parse(readFileSync(join(repoRoot, 'schemas/sweep-summary.schema.json'), 'utf8')));
    expect(validate(summary)).toBe(true);
    expect(summary.counts).toEqual({ variants: 4, ok: 4, failed: 0, interrupted: 0, not_run: 0 });
    expect(summary.base).toEqual({ 'classify.criterion': 'total_publications', 'classify.top_share': 0.25, 'weights.spatial_standardization': 'eq4', 'weights.distance_decay': 2, 'lag.years': 1 });
    expect(summary.variants.filter((v: { changed: string[] }) => v.changed.length === 0)).toHaveLength(1);
  });

  it('then `run` renders the section as current; the default variant\'s estimates are Table 4\'s, and its models are the report\'s', () => {
    expect(run.ok).toBe(true);
    const ran = run.stages.filter((s) => s.status === 'ran').map((s) => s.stage);
    expect(ran).toEqual(['report']);
    const html = readFileSync(join(dir, 'report/index.html'), 'utf8');
    expect(html).toContain('<section id="robustness"');
    expect(html).not.toContain('STALE');
    expect(html).not.toContain('Not computed yet');
    // the default variant's models hash is the content hash of the models the report rendered
    const summary = JSON.parse(readFileSync(join(dir, 'results/robustness.json'), 'utf8'));
    const def = summary.variants.find((v: { changed: string[] }) => v.changed.length === 0);
    const models = JSON.parse(readFileSync(join(dir, 'artifacts/out/estimate/models.json'), 'utf8'));
    expect(def.stages.estimate.outputs.models.content).toBe(contentHash(models));
    // Table A3's "Default" column equals Table 4's cells, coefficient by coefficient and sample by sample
    const rows = (file: string) => readFileSync(join(dir, 'report/tables', file), 'utf8').trim().split('\n').map((l) => l.split(','));
    const t4 = rows('table4.csv');
    const a3 = rows('robustness-agreement.csv');
    const cols = t4[0];
    const t4label: Record<string, string> = {
      'Nano funding': 'Nano funding (log)',
      'TECHSPILL via collaboration': 'Nanotech spillovers – Collaboration (log)',
      'TECHSPILL via proximity': 'Nanotech spillovers – Proximity (log)',
      'FUNDSPILL via collaboration': 'Funding spillovers – Collaboration (log)',
      'FUNDSPILL via proximity': 'Funding spillovers – Proximity (log)',
    };
    let compared = 0;
    for (const stat of ['coef', 'se']) {
      for (const r of a3.filter((x) => x[2] === stat)) {
        const model = /\((\d)\)$/.exec(r[1])![1];
        const t = t4.find((x) => x[1] === t4label[r[0]] && x[2] === stat)!;
        expect(Number(r[3])).toBe(Number(t[cols.indexOf(`(${model})`)]));
        compared++;
      }
    }
    expect(compared).toBe(30);
    // and the five figures
    for (const c of ['funding', 'techspill-collab', 'techspill-proximity', 'fundspill-collab', 'fundspill-proximity']) {
      expect(readFileSync(join(dir, `report/figures/robustness-${c}.svg`), 'utf8')).toContain('<svg');
    }
  });
});
