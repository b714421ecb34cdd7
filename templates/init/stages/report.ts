// A stage with a plain-file output: it writes to ctx.outPath(name); spillway stores it and puts it at results/summary.md.
import { writeFileSync } from 'node:fs';
import { type StageFunction } from 'spillway';

interface Summary {
  trim: number;
  sites: { site: string; n: number; mean: number; trimmed_mean: number }[];
}

const report: StageFunction = (ctx) => {
  const { trim, sites } = ctx.inputs.summary as Summary;
  const lines = [
    `| site | n | mean | trimmed mean (${trim * 100}%) |`,
    '|---|---:|---:|---:|',
    ...sites.map((s) => `| ${s.site} | ${s.n} | ${s.mean.toFixed(2)} | ${s.trimmed_mean.toFixed(2)} |`),
  ];
  writeFileSync(ctx.outPath('table'), `${lines.join('\n')}\n`);
  return {};
};
export default report;
