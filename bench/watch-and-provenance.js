#!/usr/bin/env node
// Watch latency and the cost of audit / lineage / export, median of several runs on a temp project: three module
// stages reading RAW_FILES CSV deps through a glob (about 10 MB in all).
// Usage: node bench/watch-and-provenance.js   (after `npm run build`)
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, median, remove, tempProject } from './_engine-util.js';

const RAW_FILES = 200;
const ROWS = 2500; // ≈ 50 kB per file
const RUNS = 5;

const files = {
  'pipeline.yaml': `params:
  count: { scale: 2 }
stages:
  count:
    run: stages/count.ts
    deps: [data/raw/*.csv]
    params: [count.scale]
    outs: { counts: { schema: schemas/counts.schema.json } }
  total:
    run: stages/total.ts
    inputs: { counts: count.counts }
    outs: { sum: { schema: schemas/sum.schema.json } }
  report:
    run: stages/report.ts
    inputs: { sum: total.sum }
    outs: { site: { dir: site } }
`,
  'schemas/counts.schema.json': '{"type":"object"}\n',
  'schemas/sum.schema.json': '{"type":"object"}\n',
  'stages/count.ts': "import { readFileSync } from 'node:fs';\nexport default (ctx: any) => ({ counts: Object.fromEntries(ctx.deps.map((d: string) => [d.slice(-12), readFileSync(d, 'utf8').split('\\n').length * ctx.param('count.scale')])) });\n",
  'stages/total.ts': 'export default (ctx: any) => ({ sum: { sum: Object.values(ctx.inputs.counts as Record<string, number>).reduce((a, b) => a + b, 0) } });\n',
  'stages/report.ts': "import { mkdirSync, writeFileSync } from 'node:fs';\nexport default (ctx: any) => { const d = ctx.outPath('site'); mkdirSync(d, { recursive: true }); writeFileSync(d + '/index.html', String(ctx.inputs.sum.sum)); return {}; };\n",
};
const row = 'x,'.repeat(9) + '1\n';
for (let i = 0; i < RAW_FILES; i++) files[`data/raw/f${String(i).padStart(4, '0')}.csv`] = `h${',h'.repeat(9)}\n${row.repeat(ROWS)}`;

const project = tempProject('provenance', files);
const cli = (args, cwd = project) => execFileSync(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
const time = (fn) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const fmt = (ms) => `${ms.toFixed(0)} ms`;

try {
  cli(['run']);
  const audit = Array.from({ length: RUNS }, () => time(() => cli(['audit'])));
  const lineage = Array.from({ length: RUNS }, () => time(() => cli(['lineage', 'site/index.html', '--json'])));
  const exports = Array.from({ length: RUNS }, () => {
    const out = mkdtempSync(join(tmpdir(), 'spillway-bench-export-'));
    try {
      return time(() => cli(['export', join(out, 'pkg')]));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
  const bytes = RAW_FILES * Buffer.byteLength(files['data/raw/f0000.csv']);
  console.log(`project: 3 stages, ${RAW_FILES} raw files, ${(bytes / 1e6).toFixed(1)} MB of deps`);
  console.log(`spillway audit (re-hashes every byte, never the stat cache)  median ${fmt(median(audit))}  (${(bytes / 1e6 / (median(audit) / 1000)).toFixed(0)} MB/s incl. process start)`);
  console.log(`spillway lineage site/index.html --json                       median ${fmt(median(lineage))}`);
  console.log(`spillway export DIR (no raw data)                            median ${fmt(median(exports))}`);

  // watch: time from a write to the run's start (detection + 200 ms debounce) and to its end
  const watcher = spawn(process.execPath, [bin, 'watch', '--json', '--debounce', '200'], { cwd: project });
  const lines = createInterface({ input: watcher.stdout });
  const waiting = [];
  lines.on('line', (line) => {
    const event = JSON.parse(line);
    const i = waiting.findIndex((w) => w.event === event.event);
    if (i >= 0) waiting.splice(i, 1)[0].resolve({ event, at: performance.now() });
  });
  const next = (event) => new Promise((resolve) => waiting.push({ event, resolve }));
  await next('ready');
  const toStart = [];
  const toEnd = [];
  for (let i = 0; i < RUNS; i++) {
    const started = next('start');
    const ended = next('run');
    const t0 = performance.now();
    appendFileSync(join(project, 'data/raw/f0007.csv'), row);
    toStart.push((await started).at - t0);
    const run = await ended;
    toEnd.push(run.at - t0);
    if (!run.event.ok) throw new Error(`watch run failed: ${JSON.stringify(run.event)}`);
  }
  watcher.kill('SIGINT');
  await new Promise((resolve) => watcher.on('exit', resolve));
  console.log(`watch: write → run starts (debounce 200 ms)                   median ${fmt(median(toStart))}  (detection ${fmt(median(toStart) - 200)})`);
  console.log(`watch: write → run of count, total, report done              median ${fmt(median(toEnd))}`);
} finally {
  remove(project);
}
