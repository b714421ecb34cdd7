#!/usr/bin/env node
// Sweeps of the replication on the embedded dataset: wall time of a slice of sweeps/robustness.yaml run with
// `spillway sweep --jobs 2`, stage executions against variants × stages, and the same variants run one by one with
// `spillway run estimate --set …` (which also shares the run cache, but one variant at a time), and the sweep run a
// second time (all cached: the cost of resuming). Each timed first run starts from an empty store. Median of BENCH_RUNS (default 3). BENCH_SWEEP=full runs all 216 variants (once; long).
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, loadAverage, median, remove, repoRoot, timed } from './_engine-util.js';

const fmt = (ms) => (ms < 10_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`);

const full = process.env.BENCH_SWEEP === 'full';
const RUNS = full ? 1 : Number(process.env.BENCH_RUNS ?? 3);
const JOBS = process.env.BENCH_JOBS ?? '2';
// the slice: 2 criteria × 2 standardizations × 2 lags at the paper's share and decay = 8 variants
const slice = [
  ['classify.criterion', 'total_publications,nano_patents'],
  ['classify.top_share', '0.25'],
  ['weights.spatial_standardization', 'eq4,eq5'],
  ['weights.distance_decay', '2'],
  ['lag.years', '1,2'],
];

function project() {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-sweep-'));
  for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'sweeps', 'package.json', 'tsconfig.json', 'data/raw', 'data/paper']) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function fresh(dir) {
  for (const p of ['artifacts', '.spillway', 'pipeline.lock']) rmSync(join(dir, p), { recursive: true, force: true });
}

function variantsOf() {
  let sets = [[]];
  for (const [key, values] of slice) sets = sets.flatMap((s) => values.split(',').map((v) => [...s, `${key}=${v}`]));
  return sets;
}

const dir = project();
try {
  const gridArgs = full ? [] : slice.flatMap(([k, v]) => ['--grid', `${k}=${v}`]);
  const label = full ? 'the full robustness sweep (216 variants)' : `a slice of the robustness sweep (${variantsOf().length} variants)`;
  console.log(`${label} on the embedded dataset, --jobs ${JOBS}, median of ${RUNS} (load average ${loadAverage()}):`);
  const sweeps = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    fresh(dir);
    const r = timed(process.execPath, [bin, 'sweep', 'sweeps/robustness.yaml', ...(full ? [] : ['--name', 'slice']), ...gridArgs, '--jobs', JOBS, '--json'], dir);
    last = JSON.parse(r.stdout);
    sweeps.push(r);
  }
  const wall = median(sweeps.map((r) => r.ms));
  console.log(`  sweep: ${fmt(wall)} wall (cpu ${fmt(median(sweeps.map((r) => r.cpu)))}); ${last.variants} variants, ${last.succeeded} ok, ${last.failed} failed`);
  console.log(`  stage executions ${last.executions} for ${last.stage_runs} variant × stage runs (${last.distinct_keys} distinct keys; ${(last.stage_runs / last.executions).toFixed(1)}× fewer)`);
  console.log(`  per variant: ${fmt(wall / last.variants)} wall`);
  // the same sweep again: every variant finished, so each is restored by key (what resuming a finished part costs)
  const again = [];
  for (let i = 0; i < RUNS; i++) again.push(timed(process.execPath, [bin, 'sweep', 'sweeps/robustness.yaml', ...(full ? [] : ['--name', 'slice']), ...gridArgs, '--jobs', JOBS, '--json'], dir));
  const noop = JSON.parse(again[again.length - 1].stdout);
  console.log(`  the same sweep again (everything restored by key, ${noop.executions} executions): ${fmt(median(again.map((r) => r.ms)))} wall, ${fmt(median(again.map((r) => r.ms)) / noop.variants)} per variant`);
  if (!full) {
    const serial = [];
    for (let i = 0; i < RUNS; i++) {
      fresh(dir);
      let ms = 0;
      let cpu = 0;
      for (const sets of variantsOf()) {
        const r = timed(process.execPath, [bin, 'run', 'estimate', '--jobs', JOBS, ...sets.flatMap((s) => ['--set', s])], dir);
        ms += r.ms;
        cpu += r.cpu;
      }
      serial.push({ ms, cpu });
    }
    const one = median(serial.map((r) => r.ms));
    console.log(`  the same variants one by one with \`run estimate --set …\`: ${fmt(one)} wall (cpu ${fmt(median(serial.map((r) => r.cpu)))}); sweep/serial ${(wall / one).toFixed(2)}`);
  }
} finally {
  remove(dir);
}
