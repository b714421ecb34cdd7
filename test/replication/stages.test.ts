// Each stage on the hand-made tiny dataset (test/fixtures/tiny-dataset, 4 regions × 1999-2001; README there),
// with the arithmetic written out. Outputs are validated against their schemas by runStage.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpillwayError } from '../../src/errors.js';
import { Rng } from '../../src/stats/random.js';
import { runStage, runTinyThroughLag, tinyDataset, TINY_OVERRIDES } from './helpers.js';

let r: Awaited<ReturnType<typeof runTinyThroughLag>>;
beforeAll(async () => {
  r = await runTinyThroughLag();
});

const row = (rows: any[], region: string, year: number) => rows.find((x) => x.region === region && x.year === year);

describe('ingest', () => {
  it('counts nano patents by title, drops the outlier applicant and reports it', () => {
    // nano filings per region 1999/2000/2001: BJ 5/8/12, TJ 1/2/3, SH 4/6/9, GD 2/3/5, plus 60 by "Zhang Wei" (BJ, 2000):
    // national 2000 = 8 + 2 + 6 + 3 + 60 = 79, 60/79 = 0.759 > 0.5 and 60 ≥ 50 → dropped
    expect(row(r.panel.rows, 'CN-BJ', 2000)).toMatchObject({ nano_patents: 8, nano_patents_outlier: 60 });
    expect(r.panel.rows.map((x: any) => x.nano_patents)).toEqual([5, 8, 12, 1, 2, 3, 4, 6, 9, 2, 3, 5]);
    expect(r.ingest_report.outliers).toEqual([
      { year: 2000, applicant: 'Zhang Wei', filings: 60, national_total: 79, share: 60 / 79, by_region: { 'CN-BJ': 60 } },
    ]);
    // 3 titles without "nano"/"纳米"; one 2011 application outside the years
    // kept nano: BJ 25 + TJ 6 + SH 19 + GD 10 = 60
    expect(r.ingest_report.patents).toEqual({ rows_used: 60 + 60 + 3, nano_matched: 60 + 60, non_matching_titles: 3, outlier_filings_dropped: 60, nano_kept: 60 });
    const patentsFile = r.ingest_report.files.find((f: any) => f.file.endsWith('patents.csv.gz'));
    expect(patentsFile).toMatchObject({ rows_read: 124, rows_accepted: 123, rows_outside_years: 1, rows_dropped: 0 });
    // non-nano = patents_total − all nano filings: BJ 2000 = 10000 − 8 − 60
    expect(row(r.panel.rows, 'CN-BJ', 2000).nonnano_patents).toBe(9932);
  });

  it('counts publications, inter-regional papers, foreign partners and funding', () => {
    // 1999: BJ in WOS001/002/004/006 = 4, TJ 004 = 1, SH 002/003 = 2, GD 005 = 1;
    //   inter-regional: BJ 2 (002, 004), TJ 1, SH 1, GD 0; partners: BJ 1 (U.S.A.), SH 2 (Japan + Germany on one paper)
    expect(['CN-BJ', 'CN-TJ', 'CN-SH', 'CN-GD'].map((g) => row(r.panel.rows, g, 1999))).toMatchObject([
      { nano_publications: 4, interregional_publications: 2, foreign_copublications: 1, nano_funding: 150 },
      { nano_publications: 1, interregional_publications: 1, foreign_copublications: 0, nano_funding: 0 },
      { nano_publications: 2, interregional_publications: 1, foreign_copublications: 2, nano_funding: 80 },
      { nano_publications: 1, interregional_publications: 0, foreign_copublications: 0, nano_funding: 0 },
    ]);
    // 2000: WOS007 lists BJ, SH, GD → pairs BJ–SH, BJ–GD, SH–GD; WOS010 SH–GD again → SH–GD = 2
    expect(r.collaboration.copublications.filter((p: any) => p.year === 2000)).toEqual([
      { year: 2000, region_a: 'CN-BJ', region_b: 'CN-SH', count: 1 },
      { year: 2000, region_a: 'CN-BJ', region_b: 'CN-GD', count: 1 },
      { year: 2000, region_a: 'CN-SH', region_b: 'CN-GD', count: 2 },
    ]);
    // inter-regional papers: 1999 002, 004; 2000 007, 010; 2001 014, 017, 020 = 7; partner mentions 3 + 2 + 3 = 8
    // "Atlantis" is not a declared partner: counted apart, left out of eq. 8
    expect(r.ingest_report.publications).toEqual({ rows_used: 21, interregional: 7, partner_mentions: 8, excluded_region_mentions: 0, other_partners: { Atlantis: 1 } });
    expect(r.collaboration.foreign_copublications.filter((p: any) => p.year === 2001)).toEqual([
      { year: 2001, region: 'CN-BJ', partner: 'U.S.A.', count: 1 },
      { year: 2001, region: 'CN-BJ', partner: 'Japan', count: 1 },
      { year: 2001, region: 'CN-BJ', partner: 'England', count: 1 },
      { year: 2001, region: 'CN-SH', partner: 'England', count: 1 },
    ]);
    expect(row(r.panel.rows, 'CN-SH', 2000).nano_funding).toBe(90.5);
    expect(r.ingest_report.funding).toEqual({ rows_used: 11, total_amount: 1070.5 });
  });

  it('keeps the outlier when the rule is off', async () => {
    const { panel } = await runStage('ingest', { overrides: { ...TINY_OVERRIDES, 'ingest.outlier_max_share': 1 } });
    expect(row(panel.rows, 'CN-BJ', 2000).nano_patents).toBe(68);
  });

  describe('bad rows', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'spillway-ingest-'));
      for (const f of readdirSync(tinyDataset)) copyFileSync(join(tinyDataset, f), join(dir, f));
      writeFileSync(join(dir, 'funding.csv'), 'grant_id,year,region,amount,title\nG1,1999,CN-BJ,100,a\nG2,2000,CN-QQ,5,b\nG3,2000,CN-SH,lots,c\n');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('stop the run with file, row and column by default', async () => {
      const error = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES }).catch((e) => e);
      expect(error).toBeInstanceOf(SpillwayError);
      expect(error.details).toMatchObject({ file: 'data/raw/funding.csv', row: 2, field: 'region' });
      expect(error.message).toMatch(/unknown region code CN-QQ/);
    });

    it('are dropped and counted with on_bad_row: drop', async () => {
      const { ingest_report, panel } = await runStage('ingest', { dataDir: dir, overrides: { ...TINY_OVERRIDES, 'ingest.on_bad_row': 'drop' } });
      const funding = ingest_report.files.find((f: any) => f.file === 'data/raw/funding.csv');
      expect(funding).toMatchObject({ rows_read: 3, rows_accepted: 1, rows_dropped: 2 });
      expect(funding.dropped_examples.map((b: any) => [b.row, b.column])).toEqual([[2, 'region'], [3, 'amount']]);
      expect(panel.rows.reduce((s: number, x: any) => s + x.nano_funding, 0)).toBe(100);
    });
  });

  describe('excluded regions (Tibet, by default)', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'spillway-ingest-xz-'));
      for (const f of readdirSync(tinyDataset)) copyFileSync(join(tinyDataset, f), join(dir, f));
      const add = (file: string, lines: string) => writeFileSync(join(dir, file), readFileSync(join(tinyDataset, file), 'utf8') + lines);
      add('regions.csv', 'CN-XZ,Tibet,Lhasa,29.65,91.1\n');
      add('region_year.csv', 'CN-XZ,2000,117.8,260,0.5,30,200\n');
      // WOS100: Beijing with Tibet — counts for Beijing, inter-regional for it; WOS101: Tibet alone — unused
      add('publications.csv', 'WOS100,2000,CN-BJ;CN-XZ,\nWOS101,2000,CN-XZ,Japan\n');
      add('funding.csv', 'G99,2000,CN-XZ,10,t\n');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('are counted and left out', async () => {
      const out = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES });
      expect(out.panel.regions).toHaveLength(4);
      const file = (name: string) => out.ingest_report.files.find((f: any) => f.file === `data/raw/${name}`);
      expect(file('regions.csv')).toMatchObject({ rows_read: 5, rows_accepted: 4, rows_excluded_regions: 1 });
      expect(file('publications.csv')).toMatchObject({ rows_read: 23, rows_accepted: 22, rows_excluded_regions: 1 });
      expect(file('funding.csv')).toMatchObject({ rows_excluded_regions: 1 });
      expect(out.ingest_report.publications).toMatchObject({ rows_used: 22, interregional: 8, excluded_region_mentions: 1 });
      // BJ 2000: 3 papers before + WOS100 = 4, inter-regional 1 + 1 = 2; no pair with Tibet
      expect(row(out.panel.rows, 'CN-BJ', 2000)).toMatchObject({ nano_publications: 4, interregional_publications: 2 });
      expect(out.collaboration.copublications.some((p: any) => p.region_b === 'CN-XZ' || p.region_a === 'CN-XZ')).toBe(false);
    });

    it('are an error when not excluded (an unknown code)', async () => {
      const error = await runStage('ingest', { dataDir: dir, overrides: { ...TINY_OVERRIDES, 'ingest.excluded_regions': [] } }).catch((e) => e);
      expect(error.details).toMatchObject({ file: 'data/raw/region_year.csv' });
      expect(error.message).toMatch(/lacks 2 region-year/);
    });
  });

  it('rejects a bad param with the param named', async () => {
    const error = await runStage('ingest', { overrides: { ...TINY_OVERRIDES, 'ingest.nano_pattern': '(' } }).catch((e) => e);
    expect(error.message).toMatch(/ingest\.nano_pattern/);
  });
});

describe('classify', () => {
  it('takes the top quarter by total publications', () => {
    // Σ publications_total 1999-2001: BJ 99000, SH 66000, GD 39000, TJ 19500; ceil(0.25 · 4) = 1 → BJ
    expect(r.groups).toMatchObject({ criterion: 'total_publications', n_leading_target: 1, threshold: 99000, leading: ['CN-BJ'], lagging: ['CN-SH', 'CN-GD', 'CN-TJ'], ties: [] });
  });

  it('follows the criterion', async () => {
    // Σ patents_total: GD 9000 + 11000 + 13000 = 33000 > BJ 8000 + 10000 + 12500 = 30500
    const { groups } = await runStage('classify', { inputs: { panel: r.panel }, overrides: { 'classify.criterion': 'total_patents' } });
    expect(groups.leading).toEqual(['CN-GD']);
    // Σ nano patents: BJ 25, SH 19, GD 10, TJ 6; top half → BJ, SH
    const half = await runStage('classify', { inputs: { panel: r.panel }, overrides: { 'classify.criterion': 'nano_patents', 'classify.top_share': 0.5 } });
    expect(half.groups.leading).toEqual(['CN-BJ', 'CN-SH']);
    expect(half.groups.threshold).toBe(19);
  });

  it('keeps every region tied at the threshold and reports the tie', async () => {
    // nano_publications 1999-2001: BJ 4+3+4 = 11, SH 2+3+3 = 8, GD 1+3+2 = 6, TJ 1+1+2 = 4. Make TJ's 2001 count 4 → TJ 6 = GD.
    const panel = structuredClone(r.panel);
    row(panel.rows, 'CN-TJ', 2001).nano_publications = 4;
    const { groups } = await runStage('classify', { inputs: { panel }, overrides: { 'classify.criterion': 'nano_publications', 'classify.top_share': 0.75 } });
    expect(groups.n_leading_target).toBe(3);
    expect(groups.leading).toEqual(['CN-BJ', 'CN-SH', 'CN-GD', 'CN-TJ']);
    expect(groups.ties).toEqual([{ value: 6, regions: ['CN-GD', 'CN-TJ'], at_threshold: true }]);
    expect(groups.ranking.map((x: any) => x.rank)).toEqual([1, 2, 3, 3]);
  });
});

describe('weights and spillovers', () => {
  it('collaboration weights of 2001 by hand', () => {
    // 2001 PUB (BJ, TJ, SH, GD) = 4, 2, 3, 2; co-publications BJ–TJ 1, BJ–SH 1, SH–GD 1; w_ij = PUB_ij / PUB_j
    const w = r.weights.collaboration.find((c: any) => c.year === 2001).matrix;
    expect(w).toEqual([
      [0, 1 / 2, 1 / 3, 0],
      [1 / 4, 0, 0, 0],
      [1 / 4, 0, 0, 1 / 2],
      [0, 0, 1 / 3, 0],
    ]);
    expect(r.weights.spatial.standardization).toBe('eq4');
    for (const rowW of r.weights.spatial.matrix) expect(rowW.reduce((s: number, x: number) => s + x, 0)).toBeCloseTo(1, 12);
    // Beijing–Tianjin 108.2 km, as in the real-capitals fixture
    expect(r.weights.spatial.distance_km[0][1]).toBeCloseTo(108.2, 1);
  });

  it('spillovers of 2001 by hand (eq. 1, 2, 8, Table 2)', () => {
    // PAT 2001 = 12, 3, 9, 5: BJ = 3/2 + 9/3 = 4.5; TJ = 12/4 = 3; SH = 12/4 + 5/2 = 5.5; GD = 9/3 = 3
    // F 2001 = 300, 10, 120, 60: BJ = 10/2 + 120/3 = 45; TJ = 300/4 = 75; SH = 75 + 30 = 105; GD = 120/3 = 40
    // intl: BJ 3 partner mentions / 4 = 75 %, SH 1/3; national: BJ 2/4, TJ 1/2, SH 2/3, GD 1/2
    const s = ['CN-BJ', 'CN-TJ', 'CN-SH', 'CN-GD'].map((g) => row(r.spillovers.rows, g, 2001));
    expect(s.map((x) => x.techspill_collab)).toEqual([4.5, 3, 5.5, 3]);
    expect(s.map((x) => x.fundspill_collab)).toEqual([45, 75, 105, 40]);
    expect(s[0].intl_collab_intensity).toBe(75);
    expect(s[2].intl_collab_intensity).toBeCloseTo(100 / 3, 12);
    expect(s.map((x) => x.national_collab_intensity)).toEqual([50, 50, 200 / 3, 50]);
    // eq. 6: Σ_{j≠i} w_ij PAT_j with the stored spatial matrix
    const w = r.weights.spatial.matrix;
    expect(s[1].techspill_spatial).toBeCloseTo(w[1][0] * 12 + w[1][2] * 9 + w[1][3] * 5, 12);
  });

  it('eq5 weights: columns sum to 1', async () => {
    const { weights } = await runStage('weights', { inputs: { panel: r.panel, collaboration: r.collaboration }, overrides: { 'weights.spatial_standardization': 'eq5' } });
    for (let j = 0; j < 4; j++) expect(weights.spatial.matrix.reduce((s: number, rw: number[]) => s + rw[j], 0)).toBeCloseTo(1, 12);
    expect(weights.spatial.description).toMatch(/calls this "row standardization"/);
  });
});

describe('lag', () => {
  it('builds the design of 2001 from 2000 regressors', () => {
    // BJ 2001: y = 12; from 2000: funding 200 → log 201; techspill collab = PAT_SH/3 + PAT_GD/3 = 6/3 + 3/3 = 3 → log 4
    //   intl = 2/3 partners per paper = 66.67 %; R&D/GDP = 100 · 155.7 / 3161.7 = 4.9246 %;
    //   non-nano/R&D = 9932 / (100 · 155.7) = 0.63790; GDP per capita = 3161.7 / 1364 = 2.31796
    const d = row(r.design.rows, 'CN-BJ', 2001);
    expect(d.group).toBe('leading');
    expect(d.nano_patents).toBe(12);
    expect(d.nano_funding_log).toBeCloseTo(Math.log(201), 12);
    expect(d.techspill_collab_log).toBeCloseTo(Math.log(4), 12);
    expect(d.intl_collab_intensity).toBeCloseTo(200 / 3, 12);
    expect(d.rd_gdp).toBeCloseTo(4.924566, 5);
    expect(d.nonnano_patents_per_rd).toBeCloseTo(0.637894, 5);
    expect(d.gdp_per_capita).toBeCloseTo(2.317962, 5);
    expect(r.design.rows).toHaveLength(8);
    expect(r.design.excluded).toEqual([]);
  });

  it('lists the region-years a longer lag cannot fill', async () => {
    const { design } = await runStage('lag', { inputs: { panel: r.panel, spillovers: r.spillovers, groups: r.groups }, overrides: { 'lag.years': 2, 'lag.estimation_years': [2000, 2001] } });
    expect(design.rows.map((x: any) => `${x.region} ${x.year}`)).toEqual(['CN-BJ 2001', 'CN-TJ 2001', 'CN-SH 2001', 'CN-GD 2001']);
    expect(design.excluded).toHaveLength(4);
    expect(row(design.rows, 'CN-BJ', 2001).nano_funding_log).toBeCloseTo(Math.log(151), 12);
  });

  it('refuses estimation years outside the panel', async () => {
    const error = await runStage('lag', { inputs: { panel: r.panel, spillovers: r.spillovers, groups: r.groups }, overrides: { 'lag.estimation_years': [2000, 2010] } }).catch((e) => e);
    expect(error).toBeInstanceOf(SpillwayError);
    expect(error.message).toMatch(/outside the panel years 1999-2001/);
  });
});

describe('estimate', () => {
  const design = () => r.design;
  it('checks the declared models', async () => {
    const bad = [{ name: '1', sample: 'all', regressors: ['nano_funding'] }];
    const error = await runStage('estimate', { inputs: { design: design() }, overrides: { 'estimate.models': bad } }).catch((e) => e);
    expect(error.message).toMatch(/unknown regressor "nano_funding"/);
    const twice = [{ name: 'a', sample: 'all', regressors: ['rd_gdp'] }, { name: 'a', sample: 'leading', regressors: ['rd_gdp'] }];
    expect((await runStage('estimate', { inputs: { design: design() }, overrides: { 'estimate.models': twice } }).catch((e) => e)).message).toMatch(/unique/);
  });

  it('reports a model without observations instead of failing the others', async () => {
    // every region leading: the lagging sample is empty. The tiny design is too small for any fit to converge, so the
    // leading model is fitted on a larger seeded panel of the same shape (6 regions × 8 years, fe-poisson)
    const rng = Rng.fromSeed(5);
    const template = design().rows[0];
    const rows = Array.from({ length: 48 }, (_, k) => {
      const rd = 1 + rng.uniform();
      return { ...template, region: `CN-R${k % 6}`, year: 2000 + Math.floor(k / 6), group: 'leading', rd_gdp: rd, nano_patents: rng.poisson(3 * Math.exp(0.5 * rd)) };
    });
    const allLeading = { ...design(), rows, estimation_years: [2000, 2007] };
    const models = [{ name: 'x', sample: 'lagging', regressors: ['rd_gdp'] }, { name: 'y', sample: 'leading', regressors: ['rd_gdp'] }];
    const out = await runStage('estimate', { inputs: { design: allLeading }, overrides: { 'estimate.models': models, 'estimate.estimator': 'fe-poisson' } });
    expect(out.models.models[0]).toMatchObject({ name: 'x', n: 0, fit: null, error: 'no observations in sample lagging' });
    expect(out.models.models[1]).toMatchObject({ name: 'y', n: 48, error: null, fit: { converged: true } });
  });

  it('fails when no model gives a converged fit, naming each model and why', async () => {
    const allLeading = { ...design(), rows: design().rows.map((x: any) => ({ ...x, group: 'leading' })) };
    const models = [{ name: 'x', sample: 'lagging', regressors: ['rd_gdp'] }];
    const error = await runStage('estimate', { inputs: { design: allLeading }, overrides: { 'estimate.models': models } }).catch((e) => e);
    expect(error).toBeInstanceOf(SpillwayError);
    expect(error.kind).toBe('invalidInput');
    expect(error.message).toBe('none of the 1 models gave a converged fit:\n  model x: no observations in sample lagging');
  });
});
