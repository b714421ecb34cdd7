// The calibration targets of the synthetic dataset, computed from the pipeline's own artifacts (ingest panel,
// classify groups, spillovers, lag design — see pipeline-bridge.ts) and set beside the paper's published figures.
// The published figures (data/paper/published.json) are read here only to compare; the generator never reads them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mean, sampleStandardDeviation, standardDeviation } from 'simple-statistics';
import { PROJECT_ROOT } from './pipeline-bridge.js';

export interface CalibrationRow {
  figure: string;
  ours: number;
  paper: number;
  /** what "close enough" means for this figure, in words */
  tolerance: string;
  pass: boolean;
}

interface PanelRow { region: string; year: number; nano_patents: number; nano_patents_outlier: number; nano_publications: number }
interface Artifacts {
  panel: { regions: { code: string; name: string }[]; rows: PanelRow[] };
  groups: { leading: string[] };
  spillovers: { rows: { region: string; year: number; intl_collab_intensity: number; national_collab_intensity: number }[] };
  design: { rows: (Record<string, number | string> & { region: string; group: string })[] };
}

/** The published figures (a copy of the paper's tables; data/paper/README names the source). */
export function publishedFigures(root = PROJECT_ROOT): any {
  return JSON.parse(readFileSync(join(root, 'data/paper/published.json'), 'utf8'));
}

/** Every calibration target of issue 4, ours vs the paper's. `publicationRecords` = rows of publications.csv. */
export function calibrationTable(artifacts: Artifacts, publicationRecords: number, paper = publishedFigures()): CalibrationRow[] {
  const rows: CalibrationRow[] = [];
  const leading = new Set(artifacts.groups.leading);
  const panel = artifacts.panel.rows;
  const sumWhere = (f: (r: PanelRow) => boolean, v: (r: PanelRow) => number) => panel.filter(f).reduce((a, r) => a + v(r), 0);

  // Table 1: nano patent applications by group (outlier removed), within 10%
  for (const group of ['leading', 'lagging'] as const) {
    for (const year of ['2000', '2005', '2010']) {
      const ours = sumWhere((r) => r.year === Number(year) && leading.has(r.region) === (group === 'leading'), (r) => r.nano_patents);
      const target = paper.table1_patents_by_group[group][year] as number;
      rows.push({ figure: `Table 1 ${group} ${year}`, ours, paper: target, tolerance: '±10%', pass: Math.abs(ours / target - 1) <= 0.1 });
    }
  }

  // Table 2: collaboration intensities, mean over the group's region-years of each period, within 3 points
  const spill = artifacts.spillovers.rows;
  for (const kind of ['international', 'national'] as const) {
    const field = kind === 'international' ? 'intl_collab_intensity' : 'national_collab_intensity';
    for (const group of ['all', 'leading', 'lagging'] as const) {
      for (const [period, [a, b]] of [['1999_2004', [1999, 2004]], ['2005_2010', [2005, 2010]]] as const) {
        const values = spill.filter((r) => r.year >= a && r.year <= b && (group === 'all' || leading.has(r.region) === (group === 'leading'))).map((r) => r[field]);
        const ours = mean(values);
        const target = paper.table2_collaboration_intensity_percent[kind][group][period] as number;
        rows.push({ figure: `Table 2 ${kind} ${group} ${period.replace('_', '–')}`, ours, paper: target, tolerance: '±3 points', pass: Math.abs(ours - target) <= 3 });
      }
    }
  }

  // Table 3: means within half an sd, sds within 30%, over the design rows (2000–2010 outcomes, regressors of t−1)
  const variables = paper.table3_variables as string[];
  for (const group of ['all', 'leading', 'lagging'] as const) {
    const design = artifacts.design.rows.filter((r) => group === 'all' || r.group === group);
    variables.forEach((name, k) => {
      const values = design.map((r) => r[name] as number);
      const m = mean(values);
      const s = sampleStandardDeviation(values);
      const pm = paper.table3_summary[group].mean[k] as number;
      const ps = paper.table3_summary[group].sd[k] as number;
      rows.push({ figure: `Table 3 ${group} mean ${name}`, ours: m, paper: pm, tolerance: `±sd/2 = ±${(ps / 2).toFixed(2)}`, pass: Math.abs(m - pm) <= ps / 2 });
      rows.push({ figure: `Table 3 ${group} sd ${name}`, ours: s, paper: ps, tolerance: '±30%', pass: Math.abs(s / ps - 1) <= 0.3 });
    });
  }

  // Figure 3: coefficient of variation across the 30 regions (population sd / mean), must fall from 1999 to 2010
  const cv = (year: number, v: (r: PanelRow) => number) => {
    const values = panel.filter((r) => r.year === year).map(v);
    return standardDeviation(values) / mean(values);
  };
  for (const [label, key, v] of [
    ['nano publications', 'nano_publications', (r: PanelRow) => r.nano_publications],
    ['nano patents', 'nano_patents', (r: PanelRow) => r.nano_patents],
  ] as const) {
    const early = cv(1999, v);
    const late = cv(2010, v);
    const published = paper.aggregates.coefficient_of_variation[key];
    rows.push({ figure: `CV ${label} 1999`, ours: early, paper: published['1999'], tolerance: 'falls to 2010', pass: early > late });
    rows.push({ figure: `CV ${label} 2010`, ours: late, paper: published['2010'], tolerance: 'below 1999', pass: early > late });
  }

  // Section 4.2: the top 4 (Beijing, Shanghai, Jiangsu, Guangdong) hold more than half of the nano patents, 2000–2010
  const nameToCode = new Map(artifacts.panel.regions.map((r) => [r.name, r.code]));
  const top4 = new Set((paper.aggregates.top4_regions as string[]).map((n) => nameToCode.get(n)));
  const inPeriod = (r: PanelRow) => r.year >= 2000 && r.year <= 2010;
  const top4Share = sumWhere((r) => inPeriod(r) && top4.has(r.region), (r) => r.nano_patents) / sumWhere(inPeriod, (r) => r.nano_patents);
  rows.push({ figure: 'top-4 share of nano patents 2000–2010', ours: top4Share, paper: paper.aggregates.top4_share_of_nano_patents_over, tolerance: '> 0.5', pass: top4Share > 0.5 });

  // Section 3 and 4.1: totals
  const nanoPatents = sumWhere(() => true, (r) => r.nano_patents + r.nano_patents_outlier);
  rows.push({ figure: 'nano patent applications 1999–2010 (outlier included)', ours: nanoPatents, paper: paper.aggregates.nano_patents_china_total['2000_2010_total_over'], tolerance: '> 30,000', pass: nanoPatents > 30000 });
  rows.push({ figure: 'nano publications (records)', ours: publicationRecords, paper: paper.aggregates.nano_publications_total_wos, tolerance: '±5%', pass: Math.abs(publicationRecords / paper.aggregates.nano_publications_total_wos - 1) <= 0.05 });
  for (const year of [1999, 2000, 2010]) {
    const ours = sumWhere((r) => r.year === year, (r) => r.nano_patents);
    const target = paper.aggregates.nano_patents_china_total[String(year)] as number;
    rows.push({ figure: `national nano patents ${year}`, ours, paper: target, tolerance: year === 1999 ? '±25% (small count)' : '±10%', pass: Math.abs(ours / target - 1) <= (year === 1999 ? 0.25 : 0.1) });
  }
  // Note to Figure 3: the dropped applicant's 911 filings were 85% of the national total of 2001
  const outlier = panel.filter((r) => r.nano_patents_outlier > 0);
  const outlierYear = outlier[0]?.year ?? 0;
  const national = sumWhere((r) => r.year === outlierYear, (r) => r.nano_patents + r.nano_patents_outlier);
  const outlierShare = sumWhere((r) => r.year === outlierYear, (r) => r.nano_patents_outlier) / national;
  rows.push({ figure: 'outlier applicant\'s share of national nano filings in its year', ours: outlierShare, paper: 0.85, tolerance: '±0.05', pass: Math.abs(outlierShare - 0.85) <= 0.05 });

  // Table 1's growth rates (P_end / P_start)^(1/5) − 1 by group: the direction must agree (leading faster in 1999–04,
  // lagging faster in 2005–10); 1999–04 levels within 25 points (the paper's 55%/52% are out of reach with its own
  // 1999 national total, calibration.ts), 2005–10 within 5 points
  const groupTotal = (group: 'leading' | 'lagging', year: number) => sumWhere((r) => r.year === year && leading.has(r.region) === (group === 'leading'), (r) => r.nano_patents);
  for (const [from, to, key, within] of [[1999, 2004, 'growth_1999_2004', 0.25], [2005, 2010, 'growth_2005_2010', 0.05]] as const) {
    const growth = (g: 'leading' | 'lagging') => (groupTotal(g, to) / groupTotal(g, from)) ** (1 / 5) - 1;
    for (const g of ['leading', 'lagging'] as const) {
      const target = paper.table1_patents_by_group[g][key] as number;
      rows.push({ figure: `Table 1 growth ${from}–${String(to).slice(2)} ${g}`, ours: growth(g), paper: target, tolerance: `±${within * 100} points`, pass: Math.abs(growth(g) - target) <= within });
    }
    const gap = growth('leading') - growth('lagging');
    const paperGap = (paper.table1_patents_by_group.leading[key] as number) - (paper.table1_patents_by_group.lagging[key] as number);
    rows.push({ figure: `Table 1 growth ${from}–${String(to).slice(2)} leading − lagging`, ours: gap, paper: paperGap, tolerance: 'same sign', pass: Math.sign(gap) === Math.sign(paperGap) });
  }

  // Section 4.2: the default classification gives the paper's 8 leading regions
  const paperLeading = new Set((paper.panel.leading_regions as string[]).map((n) => nameToCode.get(n)));
  const same = artifacts.groups.leading.length === paperLeading.size && artifacts.groups.leading.every((c) => paperLeading.has(c));
  rows.push({ figure: 'leading regions = the paper\'s 8', ours: same ? 8 : artifacts.groups.leading.filter((c) => paperLeading.has(c)).length, paper: 8, tolerance: 'same set', pass: same });
  return rows;
}

export function formatCalibrationTable(rows: CalibrationRow[]): string {
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
  const lines = ['| figure | ours | paper | tolerance | ok |', '|---|---:|---:|---|---|'];
  for (const r of rows) lines.push(`| ${r.figure} | ${fmt(r.ours)} | ${fmt(r.paper)} | ${r.tolerance} | ${r.pass ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}
