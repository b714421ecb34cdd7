// The aggregate figures the paper quotes, computed from the replication artifacts: Table 1 group totals and
// growth, Table 2 collaboration intensities, coefficients of variation across regions, the top-4 share, national
// totals and the mean distance between capitals. The synthetic-data calibration tests can call these directly.
import { coefficientOfVariation, compoundGrowthRate } from '../stats.js';
import { greatCircleKm } from '../../stats/spatial-weights.js';
import type { PanelRow, ReplicationData } from './data.js';

export type Group = 'all' | 'leading' | 'lagging';

function sumBy(rows: readonly PanelRow[], field: 'nano_patents' | 'nano_publications', keep: (r: PanelRow) => boolean): number {
  let total = 0;
  for (const r of rows) if (keep(r)) total += r[field];
  return total;
}

function groupFilter(data: ReplicationData, group: Group): (region: string) => boolean {
  if (group === 'all') return () => true;
  const members = new Set(group === 'leading' ? data.leading : data.lagging);
  return (region) => members.has(region);
}

/** Table 1: nano patent applications of a group in a year (sum over its regions). */
export function groupPatents(data: ReplicationData, group: Group, year: number): number {
  const inGroup = groupFilter(data, group);
  return sumBy(data.panel, 'nano_patents', (r) => r.year === year && inGroup(r.region));
}

/** Table 1 "exponential growth rate": compound annual growth (P_t1 / P_t0)^(1/(t1 − t0)) − 1 of the group total.
 * Checked against the paper's own levels: (4419/1704)^(1/5) − 1 = 21 %, (1914/692)^(1/5) − 1 = 23 %, as printed. */
export function groupGrowth(data: ReplicationData, group: Group, from: number, to: number): number {
  return compoundGrowthRate(groupPatents(data, group, from), groupPatents(data, group, to), to - from);
}

/** Table 2: mean over the group's region-years in [from, to] of a region-year intensity (percent). */
export function meanIntensity(data: ReplicationData, kind: 'international' | 'national', group: Group, from: number, to: number): number {
  const inGroup = groupFilter(data, group);
  const field = kind === 'international' ? 'intl_collab_intensity' : 'national_collab_intensity';
  let total = 0;
  let n = 0;
  for (const r of data.intensities) {
    if (r.year >= from && r.year <= to && inGroup(r.region)) {
      total += r[field];
      n++;
    }
  }
  return n === 0 ? NaN : total / n;
}

export function years(data: ReplicationData): number[] {
  return [...new Set(data.panel.map((r) => r.year))].sort((a, b) => a - b);
}

/** Figure 3: coefficient of variation (sample SD / mean) across regions of a panel count, by year. */
export function cvByYear(data: ReplicationData, field: 'nano_patents' | 'nano_publications'): { year: number; cv: number }[] {
  return years(data).map((year) => ({ year, cv: coefficientOfVariation(data.panel.filter((r) => r.year === year).map((r) => r[field])) }));
}

/** Share of nano patents (years from..to) held by the four regions with most; with those regions' codes. */
export function topShare(data: ReplicationData, k: number, from: number, to: number): { share: number; regions: string[] } {
  const byRegion = new Map<string, number>();
  for (const r of data.panel) if (r.year >= from && r.year <= to) byRegion.set(r.region, (byRegion.get(r.region) ?? 0) + r.nano_patents);
  const sorted = [...byRegion.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = sorted.reduce((s, [, v]) => s + v, 0);
  const top = sorted.slice(0, k);
  return { share: total > 0 ? top.reduce((s, [, v]) => s + v, 0) / total : NaN, regions: top.map(([code]) => code) };
}

export function nationalPatents(data: ReplicationData, from: number, to: number): number {
  return sumBy(data.panel, 'nano_patents', (r) => r.year >= from && r.year <= to);
}

/** Sum of region-year nano publications: a co-publication counts once for each region on it. */
export function regionAttributedPublications(data: ReplicationData): number {
  return sumBy(data.panel, 'nano_publications', () => true);
}

/** Mean great-circle distance (haversine, the pipeline's own greatCircleKm) over all unordered pairs of capitals. */
export function meanCapitalDistanceKm(data: ReplicationData): number {
  const pts = data.regions;
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      total += greatCircleKm(pts[i], pts[j]);
      pairs++;
    }
  }
  return pairs === 0 ? NaN : total / pairs;
}
