// The report stage run in-process with the engine's own StageContext on the hand-made fixture
// (test/fixtures/report/make-fixture.ts documents the closed-form values used below).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { createStageContext } from '../../src/engine/stage-context.js';
import report from '../../stages/report.js';

const root = join(import.meta.dirname, '..', '..');
const fixture = (name: string) => JSON.parse(readFileSync(join(root, 'test/fixtures/report', `${name}.json`), 'utf8'));
const inputs = () => ({
  panel: fixture('panel'),
  ingest_report: fixture('ingest_report'),
  groups: fixture('groups'),
  spillovers: fixture('spillovers'),
  design: fixture('design'),
  models: fixture('models'),
});
const params = { classify: { criterion: 'total_publications', top_share: 0.25 }, weights: { spatial_standardization: 'eq4' }, lag: { years: 1 } };

let tmp: string;
async function runReport(deps: string[], name: string, override: Record<string, unknown> = {}, runParams: Record<string, unknown> = params): Promise<string> {
  const ctx = createStageContext({
    stage: 'report',
    projectRoot: root,
    outDir: join(tmp, name),
    outs: { site: 'dir' },
    params: runParams,
    deps,
    inputs: { ...inputs(), ...override },
    log: () => {},
  });
  const result = await report(ctx);
  expect(result).toEqual({});
  return join(tmp, name, 'site');
}

let site: string;
const read = (rel: string) => readFileSync(join(site, rel), 'utf8');

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'spillway-report-'));
  site = await runReport(['data/paper/published.json', 'test/fixtures/report/truth.json'], 'synthetic');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('report stage on the fixture', () => {
  it('writes every table in three formats, both figures and index.html', () => {
    const tables = readdirSync(join(site, 'tables')).sort();
    for (const t of ['table1', 'table2', 'table3', 'table4', 'calibration']) {
      for (const ext of ['md', 'tex', 'csv']) expect(tables).toContain(`${t}.${ext}`);
    }
    expect(readdirSync(join(site, 'figures')).sort()).toEqual(['figure3.svg', 'figure3.vl.json', 'figure4.svg', 'figure4.vl.json']);
    expect(read('index.html').startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('Table 1 has the hand-computed group totals and compound growth', () => {
    // leading = BJ 40t + SH 30t = 70t: 2000 (t=2) 140, 2005 (t=7) 490, 2010 (t=12) 840; lagging 30t: 60, 210, 360
    // growth 1999-04 = (70·6 / 70·1)^(1/5) − 1 = 6^0.2 − 1 = 0.4310 → 43%; 2005-10 = (12/7)^0.2 − 1 = 0.1138 → 11%
    const md = read('tables/table1.md');
    expect(md).toContain('| Leading regions (top 25%) | 140 | 490 | 840 | 43% | 11% |');
    expect(md).toContain('| Lagging regions | 60 | 210 | 360 | 43% | 11% |');
    const csvLine = read('tables/table1.csv').split('\n').find((l) => l.startsWith(',Leading regions'))!.split(',');
    expect(csvLine.slice(3, 6)).toEqual(['140', '490', '840']);
    expect(Number(csvLine[6])).toBeCloseTo(43.0969081105, 8); // full precision in CSV, rounded only for display
    expect(Number(csvLine[7])).toBeCloseTo(11.3824178603, 8);
  });

  it('Table 2 has the hand-computed mean intensities', () => {
    // international = 20 − i: all (20+19+18+17)/4 = 18.5, leading 19.5, lagging 17.5, unchanged;
    // national = 30 + 10i (+5 from 2005): all 45 → 50, leading 35 → 40, lagging 55 → 60
    const md = read('tables/table2.md');
    expect(md).toContain('| All regions | 18.5 | 18.5 | 0.0 |');
    expect(md).toContain('| Leading regions | 35.0 | 40.0 | 5.0 |');
    expect(md).toContain('| Lagging regions | 55.0 | 60.0 | 5.0 |');
  });

  it('Table 4 prints stars by the strict p thresholds and SEs below; a failed fit is an empty column', () => {
    // model 1 p-values: techspill_collab 0.01 → **, techspill_spatial 0.05 → *, intl 0.10 → none, rd_gdp 0.0099 → ***
    const tex = read('tables/table4.tex');
    expect(tex).toMatch(/Nanotech spillovers – Collaboration \(log\) & 0\.100\$\^\{\*\*\}\$ &/);
    expect(tex).toMatch(/Nanotech spillovers – Proximity \(log\) & 0\.200\$\^\{\*\}\$ &/);
    expect(tex).toMatch(/International collaboration intensity & 0\.300 &/);
    expect(tex).toMatch(/R\\&D\/GDP & 0\.400\$\^\{\*\*\*\}\$ &/);
    // SE line under "Nano funding (log)": models 2, 3, 5, 6, 8 have it, 1, 4, 7 do not, 9 failed
    expect(tex).toContain(' &  & (0.050) & (0.050) &  & (0.050) & (0.050) &  & (0.050) &  \\\\');
    expect(tex).toContain('\\cmidrule(lr){2-4} \\cmidrule(lr){5-7} \\cmidrule(lr){8-10}');
    expect(tex).toContain('Observations & 44 & 44 & 44 & 22 & 22 & 22 & 22 & 22 & 22 \\\\');
    expect(read('tables/table4.md')).toContain('Not converged: model(s) 9');
  });

  it('index.html shows every table and figure, the paper\'s value under this run\'s in the same cell', () => {
    const html = read('index.html');
    for (const id of ['table1', 'table2', 'table3', 'table4', 'table4-estimators', 'figure3', 'figure4', 'calibration']) expect(html).toContain(`<section id="${id}" class="item">`);
    // one compared table per paper table (no second, published table beside it)
    for (const id of ['table1', 'table2', 'table3', 'table4']) expect(html).toContain(`<table class="report compare" id="${id}-table">`);
    expect(html).not.toContain('id="table1-published');
    // published values beneath the computed: Table 1 leading 2010 = 840 here, 4419 in the paper; Table 2 lagging
    // national 2005-10 = 60.0 here, 64.8 in the paper; Table 4 model 1 collaboration 0.100** here, 0.267*** in the paper
    expect(html).toContain('<td><span class="c">840</span><span class="p">4419</span></td>');
    expect(html).toContain('<td><span class="c">60.0</span><span class="p">64.8</span></td>');
    expect(html).toContain('<td><span class="c">0.100<sup>**</sup></span><span class="p">0.267<sup>***</sup></span></td>');
    // and the SE line holds both SEs: model 1 collaboration 0.050 here, 0.083 in the paper
    expect(html).toContain('<td><span class="c">(0.050)</span><span class="p">(0.083)</span></td>');
    // blocks of their own: the figures' published statements, the recovery's paper models, and what the paper has
    // for the companion table (only HHG) and the calibration (its "Paper" column)
    expect(html.match(/<div class="published"><h4>Published \(paper\)<\/h4>/g)?.length).toBe(5);
    // inline SVG figures, no external resources or scripts
    expect(html.match(/<svg /g)?.length).toBe(2);
    expect(html).not.toMatch(/<script|<link |src="http/);
  });

  it('labels variables as the design artifact does, for this run\'s values and the paper\'s alike', () => {
    const html = read('index.html');
    const start = html.indexOf('<table class="report compare" id="table3-table">');
    const table3 = html.slice(start, html.indexOf('</table>', start));
    const row = table3.slice(table3.indexOf('<td>1 Nano funding (log, fixture)</td>'));
    // the paper's full-sample mean, sd, min, max of nano funding (5.32, 2.40, 0.00, 9.70) in the row with this label
    expect(row.slice(0, row.indexOf('</tr>'))).toMatch(/<span class="p">5\.32<\/span><\/td><td>.*<span class="p">2\.40<\/span><\/td><td>.*<span class="p">0\.00<\/span><\/td><td>.*<span class="p">9\.70<\/span>/);
  });

  it('Table 4 footnotes the near-flat model and the header counts it', () => {
    const md = read('tables/table4.md');
    expect(md).toContain('| Leading regions (5) † |');
    expect(md).toMatch(/† Model \(5\): near-flat likelihood — its log likelihood is only 0\.00035 above the limit .*; the constant's standard error is 37\.9; the implied overdispersion is 0\.40% of the mean\./);
    expect(read('index.html')).toContain('<dt>Models</dt><dd>9 fitted, 8 converged, 1 near-flat (model 5: see the notes of Table 4)</dd>');
    // model 6: not near-flat, but its overdispersion is not significant: ½·P(χ²₁ > 0.21) = ½·erfc(√(0.21/2)) = 0.3234
    expect(md).toContain('Weakly identified constant in model (6) [2Δlog L = 0.210, p = 0.32, constant SE 2.38]: the overdispersion within regions is not significant');
  });

  it('the companion table shows each model under HHG, FE Poisson and NB2 with region dummies, estimates in consecutive rows', () => {
    const lines = read('tables/table4-estimators.md').split('\n');
    // model 1 nanotech collaboration: HHG 0.100 (fixture), FE Poisson = HHG + 0.01, NB2 = HHG − 0.01 (each with its SE line)
    const at = lines.findIndex((l) => l.startsWith('| *Nanotech spillovers – Collaboration (log)*'));
    expect(lines[at + 1]).toMatch(/^\| HHG FE neg\. binomial \(Table 4\) \| 0\.100\\\*\\\* \|/);
    expect(lines[at + 3]).toMatch(/^\| Conditional FE Poisson \| 0\.110\\\*\\\* \|/);
    expect(lines[at + 5]).toMatch(/^\| NB2 with region dummies \| 0\.090\\\*\\\* \|/);
    const md = lines.join('\n');
    // convergence per estimator: model 5 is near-flat under HHG and not converged under NB2 (alpha → 0), model 9 failed
    expect(md).toContain('| Converged, HHG FE neg. binomial (Table 4) | yes | yes | yes | yes | near-flat † | yes | yes | yes | not converged |');
    expect(md).toContain('| Converged, NB2 with region dummies | yes | yes | yes | yes | not converged | yes | yes | yes | failed |');
    expect(md).toContain('| NB2 alpha (overdispersion) | 0.5000 |');
  });

  it('states the dataset and the params in the header', () => {
    const html = read('index.html');
    expect(html).toMatch(/<p class="banner warning" id="dataset">Dataset: SYNTHETIC \(.*, seed 7\)\. These numbers come from a calibrated synthetic replica/);
    expect(html).toContain('<code>classify.criterion</code></td><td class="t"><code>total_publications</code>');
    expect(html).toContain('<code>lag.years</code></td><td class="t"><code>1</code>');
    expect(html).toContain('100 nano filings of &quot;A. Fixture&quot; in 2001 (33% of the national total)');
    // what the page is, where its files are, how to re-run it; nothing addressed to developers
    expect(html).toContain('this page is report/index.html');
    expect(html).toContain('To re-run: `npm ci &amp;&amp; npm run pipeline`');
    expect(html).not.toMatch(/dataset issue|issue \d/);
  });

  it('with pipeline.yaml and the raw files declared, lists every param that differs and the raw files\' SHA-256', async () => {
    const raw = ['data/raw/regions.csv', 'data/raw/region_year.csv'];
    const other = await runReport(['data/paper/published.json', 'pipeline.yaml', ...raw], 'overrides', {}, {
      ...params,
      weights: { spatial_standardization: 'eq5' },
      classify: { criterion: 'nano_patents', top_share: 0.25 },
    });
    const html = readFileSync(join(other, 'index.html'), 'utf8');
    expect(html).toContain('<dt>Parameters changed from pipeline.yaml</dt><dd>classify.criterion = nano_patents (pipeline.yaml: total_publications); weights.spatial_standardization = eq5 (pipeline.yaml: eq4)</dd>');
    for (const file of raw) {
      const bytes = readFileSync(join(root, file));
      const hash = createHash('sha256').update(bytes).digest('hex');
      expect(html).toContain(`${file} ${hash.slice(0, 16)}… (${bytes.length} bytes)`);
    }
    // at the pipeline.yaml values nothing is listed as changed
    const same = readFileSync(join(await runReport(['data/paper/published.json', 'pipeline.yaml'], 'defaults'), 'index.html'), 'utf8');
    expect(same).toContain('<dt>Parameters changed from pipeline.yaml</dt><dd>none: every parameter has its pipeline.yaml value</dd>');
  });

  it('the calibration compares with the paper, including the mean capital distance', () => {
    const cal = JSON.parse(read('calibration.json'));
    expect(cal.dataset.synthetic).toBe(true);
    const row = (q: string) => cal.rows.find((r: { quantity: string }) => r.quantity === q);
    // haversine (R = 6371.0088) pairs BJ-SH 1068.3, BJ-GD 1890.4, BJ-NX 886.6, SH-GD 1212.2, SH-NX 1599.8, GD-NX 1830.9 → mean 1414.70 km
    expect(row('Mean distance between capitals (km)').computed).toBeCloseTo(1414.70, 1);
    expect(row('Mean distance between capitals (km)').paper).toBe(2000);
    expect(row('Table 1: leading nano patents 2000')).toMatchObject({ computed: 140, paper: 189, met: false });
    expect(row('Nano publications (records)')).toMatchObject({ computed: 1234, paper: 164000 });
    // top 4 of 4 regions hold everything
    expect(row('Top-4 share of nano patents 2000-2010')).toMatchObject({ computed: 1, met: true });
    expect(read('tables/calibration.md')).toContain('| Mean distance between capitals (km) | 1414.7 | 2000.0 | -29.3% |');
    // Table 1 growth: leading and lagging both grow 43.1% (6^0.2 − 1) over 1999-04: no difference, so the paper's
    // direction (leading faster by 3 pp) is missed; the outlier is 100 of 300 filings (33.3%) against the paper's 85%
    expect(row('Table 1: leading growth rate 1999-04 (%)')).toMatchObject({ paper: 55.00000000000001, target: '±25 pp', met: true });
    expect(row('Table 1: leading minus lagging growth 1999-04 (pp)')).toMatchObject({ target: 'same sign: leading faster', met: false });
    expect(row('Table 1: leading minus lagging growth 1999-04 (pp)').computed).toBeCloseTo(0, 9);
    expect(row('Table 1: leading minus lagging growth 2005-10 (pp)')).toMatchObject({ target: 'same sign: lagging faster' });
    expect(row('Outlier applicant: share of the national nano filings of its year (%)')).toMatchObject({ paper: 85, target: '±5 pp', met: false });
    expect(row('Outlier applicant: share of the national nano filings of its year (%)').computed).toBeCloseTo(100 / 3, 9);
  });

  it('figures are well-formed SVG with the expected labels', () => {
    const f3 = read('figures/figure3.svg');
    const f4 = read('figures/figure4.svg');
    expect(XMLValidator.validate(f3)).toBe(true);
    expect(XMLValidator.validate(f4)).toBe(true);
    for (const label of ['a) publications', 'b) patents', 'Coefficient of variation', 'paper (text)']) expect(f3).toContain(label);
    // 12 computed years per panel plus the paper's 1999 and 2010 diamonds (legend symbols have another role)
    expect(f3.match(/aria-roledescription="point"/g)?.length).toBe(2 * 12 + 2 * 2);
    // the 4 paper diamonds, and the legend draws the paper's entry as the same diamond (it drew a circle before)
    expect(f3.match(/d="M-5\.477,0L0,-5\.477L5\.477,0L0,5\.477Z"/g)?.length).toBe(5);
    const legend = f3.slice(f3.indexOf('role-legend'));
    expect(legend).toMatch(/d="M-5\.477,0L0,-5\.477L5\.477,0L0,5\.477Z"/);
    for (const label of ['1 leading', '0 lagging', 'ln(1 + F), F = nano funding in units of 10,000 yuan', 'ln(1 + P), P = nano patent applications']) expect(f4).toContain(label);
  });

  it('with a truth.json, compares the estimates of the models it names with the true coefficients', () => {
    // model 5, nano_funding_log: estimate −0.1, SE 0.05, truth 0 → z = −2.00, recovered (|z| ≤ 2, boundary included);
    // techspill_collab_log: estimate 0.0, SE 0.06, truth 0.2 → z = −3.33, not recovered
    const md = read('tables/recovery.md');
    expect(md).toContain('| Nano funding (log, fixture) | 0.000 | -0.100 | 0.050 | -2.00 | yes | -0.250 | -0.250 | 0.050 | 0.00 | yes |');
    expect(md).toContain('| Nanotech spillovers – Collaboration (log) | 0.200 | 0.000 | 0.060 | -3.33 | NO |');
    const html = read('index.html');
    expect(html).toContain('<section id="recovery" class="item">');
    // the published panel holds the paper's models 5 and 8 only
    const pub = html.slice(html.indexOf('<table class="report" id="recovery-published-table">'));
    expect(pub.slice(0, pub.indexOf('</thead>'))).toMatch(/<th>\(5\)<\/th><th>\(8\)<\/th><\/tr>/);
    expect(pub).toContain('<td>0.300<sup>**</sup></td><td>0.017</td>');
  });

  it('is deterministic: the same inputs give byte-identical files', async () => {
    const again = await runReport(['data/paper/published.json', 'test/fixtures/report/truth.json'], 'again');
    for (const rel of ['index.html', 'tables/table3.csv', 'figures/figure4.svg']) expect(readFileSync(join(again, rel), 'utf8')).toBe(read(rel));
  });

  it('without truth.json or a synthetic flag the header says the dataset is not identified', async () => {
    const other = await runReport(['data/paper/published.json'], 'unknown');
    const html = readFileSync(join(other, 'index.html'), 'utf8');
    expect(html).toContain('Dataset: NOT IDENTIFIED');
    expect(html).not.toContain('id="recovery"');
  });

  it('a malformed artifact fails with the artifact name and a JSON pointer', async () => {
    const panel = fixture('panel');
    panel.rows[3].nano_patents = 'many';
    await expect(runReport(['data/paper/published.json'], 'bad', { panel })).rejects.toMatchObject({
      kind: 'stageFailed',
      message: expect.stringContaining('artifact "panel"'),
      details: expect.objectContaining({ pointer: '/rows/3/nano_patents' }),
    });
  });
});
