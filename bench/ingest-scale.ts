// Ingest throughput and memory by --scale K of the synthetic dataset: wall and CPU time, rows/s and peak RSS of the
// ingest stage function, each run in a fresh child process (so that maxRSS is that run's own), with pipeline.yaml's
// default params. Median of several runs for small scales, one run for the largest.
// Usage: npx tsx bench/ingest-scale.ts [DIR-of-a-scale-100-dataset] [--scales 1,10,100] [--runs 3] [--root /tmp]
// Datasets are generated once (seed 16) into ROOT/spillway-ingest-bench-s<K> and reused; DIR, when given, is used
// for the largest scale instead.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';

const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { scales: { type: 'string', default: '1,10,100' }, runs: { type: 'string', default: '3' }, root: { type: 'string', default: '/tmp' }, child: { type: 'boolean', default: false } },
});

interface Measure {
  wall_s: number;
  cpu_s: number;
  max_rss_mb: number;
  rows: number;
  summary: string;
}

async function child(dir: string): Promise<void> {
  const { createStageContext, getDotted, setDotted } = await import('../src/engine/stage-context.js');
  const pipeline = parse(readFileSync(join(projectRoot, 'pipeline.yaml'), 'utf8')) as { params: Record<string, unknown>; stages: Record<string, { run: string; params?: string[] }> };
  const params: Record<string, unknown> = {};
  for (const key of pipeline.stages.ingest.params ?? []) setDotted(params, key, getDotted(pipeline.params, key).value);
  const deps = [
    ...readdirSync(dir).filter((f) => /\.csv(\.gz)?$/.test(f)).map((f) => join(dir, f)),
    ...readdirSync(join(projectRoot, 'schemas/raw')).map((f) => join(projectRoot, 'schemas/raw', f)),
  ];
  const ctx = createStageContext({ stage: 'ingest', params, deps, projectRoot, log: () => {} });
  const ingest = (await import(join(projectRoot, pipeline.stages.ingest.run))).default;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await ingest(ctx);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const report = out.ingest_report as { files: { rows_read: number }[]; patents: { nano_kept: number }; publications: { rows_used: number } };
  const m: Measure = {
    wall_s: wall,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    rows: report.files.reduce((s, f) => s + f.rows_read, 0),
    summary: `${report.patents.nano_kept} nano patents, ${report.publications.rows_used} publications`,
  };
  console.log(JSON.stringify(m));
}

async function datasetFor(scale: number, largest: boolean): Promise<string> {
  if (largest && positionals[0]) return resolve(positionals[0]);
  const dir = join(values.root!, `spillway-ingest-bench-s${scale}`);
  if (!existsSync(join(dir, 'publications.csv.gz'))) {
    const { generateDataset } = await import('../src/synth/index.js');
    process.stderr.write(`generating scale ${scale} into ${dir} …\n`);
    await generateDataset({ seed: 16, scale, outDir: dir });
  }
  return dir;
}

function runOnce(dir: string): Measure {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir], { cwd: projectRoot, encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

if (values.child) {
  await child(positionals[0]);
} else {
  const scales = values.scales!.split(',').map(Number);
  const runs = Number(values.runs);
  const largest = Math.max(...scales);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const lines = ['| scale | rows | runs | wall s | CPU s | rows/s (wall) | peak RSS MB |', '|---:|---:|---:|---:|---:|---:|---:|'];
  for (const scale of scales) {
    const dir = await datasetFor(scale, scale === largest);
    const n = scale >= 100 ? 1 : runs;
    const ms = Array.from({ length: n }, () => runOnce(dir));
    const wall = median(ms.map((m) => m.wall_s));
    process.stderr.write(`scale ${scale}: ${ms[0].summary}\n`);
    lines.push(
      `| ${scale} | ${ms[0].rows} | ${n} | ${wall.toFixed(2)} | ${median(ms.map((m) => m.cpu_s)).toFixed(2)} | ${Math.round(ms[0].rows / wall)} | ${median(ms.map((m) => m.max_rss_mb)).toFixed(0)} |`,
    );
  }
  console.log(lines.join('\n'));
}
