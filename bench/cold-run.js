#!/usr/bin/env node
// A cold run of the real default pipeline (the repo's stages, statistics code and data, copied to a temp directory),
// from an empty store and empty caches (artifacts/, .spillway/, pipeline.lock removed before each run), median of
// BENCH_RUNS (default 3). Where the time goes, from the per-stage `timings` of `run --json` (docs/cli.md):
// per stage its wall time, split into the stage's own work in its process (import of its module graph, the stage
// function) and the engine's (key, inputs, dispatch to a warm worker, outputs written, validated, hashed and stored,
// run cache and lockfile entry); and the engine's fixed cost before the first stage (Node start-up, CLI, pipeline
// load and validation, lock, lockfile) and after the last one (lockfile, caches, workers stopped, exit).
// Target (issue 11): a cold run under 5 s. BENCH_JOBS sets --jobs (default: the number of cores).
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, fmt, median, remove, repoRoot, timed } from './_engine-util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const JOBS = process.env.BENCH_JOBS;

if (!existsSync(join(repoRoot, 'data', 'raw')) || !existsSync(join(repoRoot, 'pipeline.yaml'))) {
  console.log('cold run: skipped (no pipeline.yaml or data/raw in this checkout)');
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-cold-'));
try {
  for (const p of ['pipeline.yaml', 'package.json', 'stages', 'src', 'schemas', 'data', 'templates']) {
    if (existsSync(join(repoRoot, p))) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    for (const p of ['artifacts', '.spillway', 'pipeline.lock', 'report']) rmSync(join(dir, p), { recursive: true, force: true });
    const r = timed(process.execPath, [bin, 'run', '--json', ...(JOBS ? ['--jobs', JOBS] : [])], dir);
    const report = JSON.parse(r.stdout);
    if (!report.ok || report.stages.some((s) => s.status !== 'ran')) throw new Error(`cold run ${i + 1} did not run every stage: ${r.stdout}`);
    runs.push({ wall: r.ms, cpu: r.cpu, stages: report.stages });
  }
  const loadAfter = loadavg().map((x) => x.toFixed(2)).join(' ');

  const med = (f) => median(runs.map(f));
  const names = runs[0].stages.map((s) => s.stage);
  const of = (run, name) => run.stages.find((s) => s.stage === name);
  const t = (run, name, k) => of(run, name).timings?.[k] ?? 0;
  const dispatch = (run, name) => t(run, name, 'executor_ms') - t(run, name, 'import_ms') - t(run, name, 'code_ms') - t(run, name, 'write_ms');
  const engine = (run, name) => of(run, name).duration_ms - t(run, name, 'import_ms') - t(run, name, 'code_ms');

  console.log(`cold run of the default pipeline (${names.length} stages, empty store and caches, --jobs ${JOBS ?? cpus().length}), median of ${RUNS}`);
  console.log(`  load average ${loadBefore} before, ${loadAfter} after; wall ${fmt(med((r) => r.wall))} (runs: ${runs.map((r) => fmt(r.wall)).join(', ')}), cpu ${fmt(med((r) => r.cpu))}`);
  console.log('  target: < 5 s wall');
  const cols = ['stage', 'wall', 'import', 'code', 'engine', '= key', 'inputs', 'dispatch', 'write', 'collect', 'record'];
  const widths = [12, 9, 9, 9, 9, 8, 8, 9, 8, 9, 8];
  const line = (cells) => `  ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ')}`;
  const ms = (x) => `${Math.round(x)}`;
  console.log(line(cols));
  for (const name of names) {
    console.log(
      line([
        name,
        ms(med((r) => of(r, name).duration_ms)),
        ms(med((r) => t(r, name, 'import_ms'))),
        ms(med((r) => t(r, name, 'code_ms'))),
        ms(med((r) => engine(r, name))),
        ms(med((r) => t(r, name, 'decide_ms'))),
        ms(med((r) => t(r, name, 'inputs_ms'))),
        ms(med((r) => dispatch(r, name))),
        ms(med((r) => t(r, name, 'write_ms'))),
        ms(med((r) => t(r, name, 'collect_ms'))),
        ms(med((r) => t(r, name, 'record_ms'))),
      ]),
    );
  }
  const sum = (run, f) => run.stages.reduce((n, s) => n + f(run, s.stage), 0);
  console.log(line(['all stages', ms(med((r) => sum(r, (x, n) => of(x, n).duration_ms))), ms(med((r) => sum(r, (x, n) => t(x, n, 'import_ms')))), ms(med((r) => sum(r, (x, n) => t(x, n, 'code_ms')))), ms(med((r) => sum(r, engine))), '', '', '', '', '', '']));
  const first = (run) => Math.min(...run.stages.map((s) => s.timings.start_ms));
  const last = (run) => Math.max(...run.stages.map((s) => s.timings.end_ms));
  console.log(`  (ms; wall = the stage's duration; engine = wall - import - code; stages run ${JOBS ?? cpus().length} at a time, so the sum exceeds the run)`);
  console.log(`  engine fixed cost: before the first stage ${fmt(med(first))} (Node start-up, CLI, pipeline load and validation, lock, lockfile), after the last ${fmt(med((r) => r.wall - last(r)))} (lockfile, caches, workers, exit)`);
  console.log(`  critical path: first stage start to last stage end ${fmt(med((r) => last(r) - first(r)))}`);
} finally {
  remove(dir);
}
