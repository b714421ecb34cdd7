// The report's robustness section on a hand-made sweep summary (test/fixtures/report/robustness-summary.json):
// nine variants whose counts are computed by hand below, the specification-curve ordering and interval math, the
// staleness check, and the report stage in-process with the summary present (current and stale) and absent.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashJson } from '../../src/engine/hash.js';
import { createStageContext } from '../../src/engine/stage-context.js';
import { renderVegaLiteToSvg } from '../../src/report/figure.js';
import { tableToCsv } from '../../src/report/csv.js';
import { tableToMarkdown } from '../../src/report/markdown.js';
import {
  agreement,
  choiceRows,
  COEFFICIENTS,
  contentHash,
  readSummary,
  robustnessCurves,
  robustnessState,
  robustnessTable,
  specCurve,
  specCurveSpec,
  Z95,
} from '../../src/report/replication/robustness.js';
import report from '../../stages/report.js';
import { modelsAgreeingWithDefault } from './robustness-fixture.js';

const root = join(import.meta.dirname, '..', '..');
const raw = () => JSON.parse(readFileSync(join(root, 'test/fixtures/report/robustness-summary.json'), 'utf8'));

const fixture = (name: string) => JSON.parse(readFileSync(join(root, 'test/fixtures/report', `${name}.json`), 'utf8'));
const summary = readSummary(raw(), 'fixture');
const funding = COEFFICIENTS[0];
const id = (n: number) => `x${String(n).padStart(10, '0')}`;

describe('specification curve of nano funding, all regions (hand-computed)', () => {
  const curve = specCurve(summary, funding, 'all');

  it('sorts the drawn variants by estimate, ties by id, then lists the undrawn ones by id', () => {
    // C -0.1, E 0.2, B 0.3 = I 0.3 (B's id first), H 0.4, A 0.5, D 0.8; F failed, G has no estimate
    expect(curve.points.map((p) => p.id)).toEqual([3, 5, 2, 9, 8, 1, 4, 6, 7].map(id));
    expect(curve.points.map((p) => p.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, null, null]);
    expect(curve.points.map((p) => p.status)).toEqual([
      'converged', 'not converged', 'converged', 'converged', 'converged', 'converged', 'near-flat likelihood', 'failed or not run', 'no estimate',
    ]);
    expect(curve.default?.id).toBe(id(1));
    expect(curve.default?.rank).toBe(6);
  });

  it('95% intervals are estimate ± 1.959964 SE; significant when the interval excludes 0', () => {
    const a = curve.points.find((p) => p.id === id(1))!;
    expect(a.lo).toBeCloseTo(0.5 - 1.959963984540054 * 0.2, 14);
    expect(a.hi).toBeCloseTo(0.8919927969080108, 14);
    expect(Z95).toBeCloseTo(1.96, 2);
    // z = 2.5, 1.5, -2, 4, 1: significant, not, significant, significant, not
    const sig = (n: number) => curve.points.find((p) => p.id === id(n))!.significant;
    expect([1, 2, 3, 8, 9].map(sig)).toEqual([true, false, true, true, false]);
  });

  it('agreement: 9 variants, 5 usable; 4 keep the sign (80%), 2 the sign and significance (40%); 1 near-flat, 1 not converged, 1 without estimate, 1 failed', () => {
    const a = agreement(curve);
    expect({ ...a, reference: a.reference?.id }).toEqual({
      reference: id(1), variants: 9, usable: 5, sameSign: 4, sameSignAndSignificance: 2, nearFlat: 1, notConverged: 1, noEstimate: 1, failed: 1,
    });
  });

  it('leading regions: a default that is not significant counts variants that are not significant either', () => {
    // A -0.1 (z -1, default), B -0.05 (z -5), C 0.2 (z 0.4); the other six have no leading estimate or failed
    const a = agreement(specCurve(summary, funding, 'leading'));
    expect({ ...a, reference: a.reference?.id }).toEqual({
      reference: id(1), variants: 9, usable: 3, sameSign: 2, sameSignAndSignificance: 1, nearFlat: 0, notConverged: 0, noEstimate: 5, failed: 1,
    });
  });
});

describe('the table', () => {
  const table = robustnessTable(summary, robustnessCurves(summary));

  it('has the hand-computed counts and shares in Markdown and CSV', () => {
    const md = tableToMarkdown(table);
    expect(md).toContain('| All regions (2) | 0.500 | yes | 9 | 5 | 4 | 80% | 2 | 40% | 1 | 1 | 1 | 1 |');
    expect(md).toContain('| Leading regions (5) | -0.100 | no | 9 | 3 | 2 | 67% | 1 | 33% | 0 | 0 | 5 | 1 |');
    // no default estimate: the shares are left empty, every variant is counted as without estimate or failed
    expect(md).toContain('| Lagging regions (8) | none |  | 9 | 0 |  |  |  |  | 0 | 0 | 8 | 1 |');
    const csv = tableToCsv(table).split('\n');
    expect(csv[0]).toBe('section,label,statistic,Default,Sig.,Variants,Usable,Sign kept,Sign kept %,Sign & sig. kept,Sign & sig. kept %,Near-flat,Not conv.,No est.,Failed');
    expect(csv).toContain('Nano funding,All regions (2),coef,0.5,yes,9,5,4,80,2,40,1,1,1,1');
    expect(table.sections.map((s) => s.title)).toEqual(COEFFICIENTS.map((c) => c.label));
    expect(table.sections.every((s) => s.rows.length === 3)).toBe(true);
  });
});

describe('the figure', () => {
  it('one row per choice (grid values, then explicit variants\' values); a mark where a variant used it; the default marked', async () => {
    expect(choiceRows(summary).map((r) => r.label)).toEqual([
      'classify.criterion = total_publications', 'classify.criterion = nano_patents', 'classify.criterion = nano_publications',
      'lag.years = 1', 'lag.years = 2', 'classify.criterion = total_patents', 'lag.years = 3',
    ]);
    const curves = robustnessCurves(summary).filter((c) => c.coefficient === funding);
    const spec = specCurveSpec(summary, funding, curves) as unknown as { vconcat: { layer: { data: { values: Record<string, unknown>[] }; mark: { type: string; shape?: string } }[] }[] };
    const [curveAll, dashAll] = spec.vconcat;
    const points = curveAll.layer.find((l) => l.mark.type === 'point' && l.mark.shape === undefined)!.data.values;
    expect(points.map((p) => [p.rank, p.estimate, p.status])).toEqual([
      [1, -0.1, 'converged'], [2, 0.2, 'not converged'], [3, 0.3, 'converged'], [4, 0.3, 'converged'], [5, 0.4, 'converged'], [6, 0.5, 'converged'], [7, 0.8, 'near-flat likelihood'],
    ]);
    const diamond = curveAll.layer.find((l) => l.mark.shape === 'diamond')!.data.values;
    expect(diamond).toEqual([{ rank: 6, estimate: 0.5 }]);
    const used = dashAll.layer.find((l) => l.mark.type === 'tick')!.data.values;
    expect(used).toHaveLength(7 * 2);
    expect(used.filter((u) => u.rank === 2).map((u) => u.choice)).toEqual(['lag.years = 1', 'classify.criterion = total_patents']);
    const svg = await renderVegaLiteToSvg(spec as never, { id: 'robustness-funding' });
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('Specification curve: Nano funding');
    expect(svg).toContain('lag.years = 3');
  });
});

describe('is the sweep current?', () => {
  const models = modelsAgreeingWithDefault();
  const current = () => {
    const doc = raw();
    doc.variants[0].stages.estimate.outputs.models.content = contentHash(models);
    return readSummary(doc, 'fixture');
  };
  const params = { 'classify.criterion': 'total_publications', 'lag.years': 1, 'estimate.estimator': 'hhg-fenb' };

  it('content hash: the same as the engine\'s canonical JSON hash (the summary\'s `content`), whatever the key order', () => {
    expect(contentHash(models)).toBe(hashJson(models));
    expect(contentHash({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(contentHash({ a: [{ c: 3, d: 2 }], b: 1 }));
  });

  it('absent, current, or stale with the reason: other models, other params, no default variant', () => {
    expect(robustnessState(null, models, params).kind).toBe('absent');
    expect(robustnessState(current(), models, params)).toMatchObject({ kind: 'current', defaultVariant: { id: id(1) } });
    const other = robustnessState(summary, models, params);
    expect(other.kind).toBe('stale');
    expect((other as { reasons: string[] }).reasons.join()).toContain('computed on other data, code or parameters');
    const set = robustnessState(current(), models, { ...params, 'lag.years': 2 });
    expect((set as { reasons: string[] }).reasons.join()).toContain('lag.years = 2, sweep default 1');
    const doc = raw();
    doc.variants = doc.variants.slice(1);
    expect((robustnessState(readSummary(doc, 'x'), models, params) as { reasons: string[] }).reasons.join()).toContain('no variant with pipeline.yaml\'s values');
  });

  it('a summary without the fields the section reads is an error with its JSON pointer', () => {
    const doc = raw();
    delete doc.variants[3].metrics;
    expect(() => readSummary(doc, 'results/robustness.json')).toThrow(/results\/robustness.json .*at \/variants\/3\/metrics/);
  });
});

describe('report stage with the summary', () => {
  let tmp: string;
  const inputs = (models: unknown = fixture('models')) => ({
    panel: fixture('panel'), ingest_report: fixture('ingest_report'), groups: fixture('groups'),
    spillovers: fixture('spillovers'), design: fixture('design'), models,
  });
  const params = { classify: { criterion: 'total_publications', top_share: 0.25 }, lag: { years: 1 } };
  async function run(name: string, summaryDoc: unknown | null, models?: unknown): Promise<string> {
    const deps = ['data/paper/published.json'];
    if (summaryDoc !== null) {
      mkdirSync(join(tmp, name, 'results'), { recursive: true });
      writeFileSync(join(tmp, name, 'results/robustness.json'), JSON.stringify(summaryDoc));
      deps.push(join(tmp, name, 'results/robustness.json'));
    }
    const ctx = createStageContext({ stage: 'report', projectRoot: root, outDir: join(tmp, name, 'out'), outs: { site: 'dir' }, params, deps, inputs: inputs(models), log: () => {} });
    await report(ctx);
    return join(tmp, name, 'out', 'site');
  }
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'spillway-robustness-report-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('current: five figures (SVG with alt text), the table in three formats, the section in index.html', async () => {
    const doc = raw();
    const models = modelsAgreeingWithDefault();
    doc.variants[0].stages.estimate.outputs.models.content = contentHash(models);
    const site = await run('current', doc, models);
    const figures = readdirSync(join(site, 'figures')).filter((f) => f.startsWith('robustness-'));
    expect(figures.filter((f) => f.endsWith('.svg')).sort()).toEqual(COEFFICIENTS.map((c) => `robustness-${c.id}.svg`).sort());
    for (const ext of ['md', 'tex', 'csv']) expect(readdirSync(join(site, 'tables'))).toContain(`robustness-agreement.${ext}`);
    expect(readFileSync(join(site, 'tables/robustness-agreement.md'), 'utf8')).toContain('| All regions (2) | 0.500 | yes | 9 | 5 | 4 | 80% | 2 | 40% | 1 | 1 | 1 | 1 |');
    const html = readFileSync(join(site, 'index.html'), 'utf8');
    expect(html).toContain('<section id="robustness"');
    expect(html).toContain('<svg role="img" aria-label="Specification curve of the Nano funding coefficient');
    expect(html).toContain('1 failed or did not run (counted in the table, not drawn)');
    expect(html).not.toContain('STALE');
  });

  it('stale (the default variant\'s models are not this report\'s): says so and shows no curve or table', async () => {
    const site = await run('stale', raw());
    const html = readFileSync(join(site, 'index.html'), 'utf8');
    expect(html).toContain('STALE: the sweep summary results/robustness.json');
    expect(html).toContain('./bin/spillway.js sweep sweeps/robustness.yaml');
    expect(readdirSync(join(site, 'figures')).some((f) => f.startsWith('robustness-'))).toBe(false);
    expect(readdirSync(join(site, 'tables')).some((f) => f.startsWith('robustness'))).toBe(false);
  });

  it('absent (a fresh clone): says what to run', async () => {
    const site = await run('absent', null);
    const html = readFileSync(join(site, 'index.html'), 'utf8');
    expect(html).toContain('Not computed yet: results/robustness.json does not exist');
    expect(html).toContain('`./bin/spillway.js sweep sweeps/robustness.yaml`');
    expect(html).toContain('then `./bin/spillway.js run`');
  });
});
