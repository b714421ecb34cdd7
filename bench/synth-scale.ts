// Generation time and output size by --scale K (medians of several runs), and peak memory of one run per K.
// Usage: npx tsx bench/synth-scale.ts [K1,K2,...=1,10] [runs=3]
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../src/synth/index.js';

const scales = (process.argv[2] ?? '1,10').split(',').map(Number);
const runs = Number(process.argv[3] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: string[] = ['| scale | median s | records | MB on disk | peak RSS MB |', '|---:|---:|---:|---:|---:|'];
let base = 0;
for (const scale of scales) {
  const times: number[] = [];
  let records = 0;
  let bytes = 0;
  let peak = 0;
  for (let r = 0; r < runs; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'spillway-synth-bench-'));
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const t0 = performance.now();
    const result = await generateDataset({ seed: 16, scale, outDir: dir });
    times.push((performance.now() - t0) / 1000);
    clearInterval(timer);
    records = result.records.patents + result.records.publications + result.records.grants;
    bytes = 0;
    for (const f of await readdir(dir)) bytes += (await stat(join(dir, f))).size;
    await rm(dir, { recursive: true, force: true });
  }
  const m = median(times);
  if (!base) base = m;
  rows.push(`| ${scale} | ${m.toFixed(2)} (×${(m / base).toFixed(1)}) | ${records} | ${(bytes / 1e6).toFixed(1)} | ${(peak / 1e6).toFixed(0)} |`);
}
console.log(rows.join('\n'));
