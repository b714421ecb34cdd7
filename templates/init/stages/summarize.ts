// A module stage: its default export gets a context with the declared params and inputs, and returns its JSON outputs.
import { type StageFunction } from 'spillway';

interface Rows {
  rows: { site: string; day: number; value: number }[];
}

function trimmedMean(values: number[], trim: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length * trim);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((sum, v) => sum + v, 0) / kept.length;
}

const summarize: StageFunction = (ctx) => {
  const trim = ctx.param<number>('summarize.trim');
  const { rows } = ctx.inputs.rows as Rows;
  const bySite = new Map<string, number[]>();
  for (const row of rows) bySite.set(row.site, [...(bySite.get(row.site) ?? []), row.value]);
  const sites = [...bySite.keys()].sort().map((site) => {
    const values = bySite.get(site)!;
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    return { site, n: values.length, mean, trimmed_mean: trimmedMean(values, trim) };
  });
  ctx.log(`${sites.length} sites, trim ${trim}`);
  return { summary: { trim, sites } };
};
export default summarize;
