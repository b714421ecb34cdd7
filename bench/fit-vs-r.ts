// `spillway fit` as a whole process (node start-up, module loading, CSV reading, fit, output) against R on the same file
// in the same bench run: a 60,000-observation HHG panel (3,000 groups x 20 years, 10 regressors and 19 year dummies,
// generated as in bench/fit-count.ts, seeded). hhg-fenb is compared with a plain R implementation of the same
// likelihood (bench/r/hhg.R: analytic derivatives, Newton), nb2 with MASS::glm.nb. Both sides are whole processes
// (Rscript reads the CSV with read.csv); wall and CPU time (user + system of the child), medians of --runs runs, the
// ratio R / spillway, and the largest difference of the coefficients (must be < 1e-6). Installs r-base-core and
// r-cran-mass with apt-get when Rscript or MASS is missing (as root).
// Usage: npx tsx bench/fit-vs-r.ts [--runs 5] [--keep FILE.csv]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hhgPanelRows } from './_hhg-panel.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, keep: { type: 'string' } } });
const RUNS = Number(values.runs);
const K = 10;

/** The panel as CSV: id, year, y, x1..x10 (values with 6 decimals), one row per group-year. */
function panelCsv(groups: number, years: number, seed: number): string {
  const lines = [['id', 'year', 'y', ...Array.from({ length: K }, (_, j) => `x${j + 1}`)].join(',')];
  for (const { group, t, y, row } of hhgPanelRows(groups, years, K, seed)) {
    lines.push([`G${group}`, 2000 + t, y, ...row.map((x) => x.toFixed(6))].join(','));
  }
  return lines.join('\n') + '\n';
}

/** CPU seconds (user + system) of this process's waited-for children so far, from /proc (clock ticks of 1/100 s). */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function timed(command: string, args: string[]): { wall: number; cpu: number; stdout: string } {
  const cpu0 = childrenCpu();
  const t0 = performance.now();
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 24, cwd: root });
  const wall = (performance.now() - t0) / 1000;
  if (run.status !== 0 && run.status !== 7) throw new Error(`${command} ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return { wall, cpu: childrenCpu() - cpu0, stdout: run.stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function ensureR(): void {
  const check = () => spawnSync('Rscript', ['-e', 'suppressMessages(library(MASS)); cat("ok")'], { encoding: 'utf8' });
  const probe = check();
  if (probe.status === 0 && probe.stdout.includes('ok')) return;
  console.log('installing r-base-core and r-cran-mass (apt-get) …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'r-base-core', 'r-cran-mass']]) {
    const apt = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (apt.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: install R and MASS by hand (apt-get install r-base-core r-cran-mass)`);
  }
  if (check().status !== 0) throw new Error('Rscript with MASS still not available');
}

ensureR();
const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-fit-r-'));
try {
  const file = values.keep ? resolve(values.keep) : join(dir, 'panel.csv');
  writeFileSync(file, panelCsv(3000, 20, 2));
  const xs = Array.from({ length: K }, (_, j) => `x${j + 1}`);
  console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs; ${file} ${(statSync(file).size / 1e6).toFixed(1)} MB, 60,000 rows; ${RUNS} runs each, alternating`);
  console.log('| model | spillway wall s | spillway CPU s | R wall s | R CPU s | R fit alone s | ratio R/spillway wall | ratio CPU | max |Δcoef| | Δ loglik |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const model of ['hhg-fenb', 'nb2'] as const) {
    const ours = ['bin/spillway.js', 'fit', '--data', file, '--y', 'y', '--x', xs.join(','), '--factor', 'year', '--model', model, '--json', ...(model === 'nb2' ? [] : ['--id', 'id'])];
    const theirs = [join(root, 'bench/r/hhg.R'), file, model === 'nb2' ? 'nb2' : 'hhg'];
    const s: { wall: number; cpu: number; stdout: string }[] = [];
    const r: { wall: number; cpu: number; stdout: string }[] = [];
    for (let k = 0; k < RUNS; k++) {
      s.push(timed(process.execPath, ours));
      r.push(timed('Rscript', theirs));
    }
    const fit = JSON.parse(s[0].stdout) as { coef: Record<string, number>; loglik: number; converged: boolean };
    const rOut = new Map(r[0].stdout.trim().split('\n').map((line) => line.trim().split(/\s+/) as [string, string]));
    const rName = (name: string) => (name === '_cons' ? '(Intercept)' : name.endsWith('.year') ? `factor(year)${name.split('.')[0]}` : name);
    let maxDiff = 0;
    for (const [name, value] of Object.entries(fit.coef)) {
      const theirsValue = Number(rOut.get(rName(name)));
      if (!Number.isFinite(theirsValue)) throw new Error(`R gave no ${rName(name)}`);
      maxDiff = Math.max(maxDiff, Math.abs(value - theirsValue));
    }
    const sw = median(s.map((m) => m.wall));
    const sc = median(s.map((m) => m.cpu));
    const rw = median(r.map((m) => m.wall));
    const rc = median(r.map((m) => m.cpu));
    const rFit = median(r.map((m) => Number(m.stdout.match(/fit_seconds (\S+)/)![1])));
    const dll = fit.loglik - Number(rOut.get('loglik'));
    console.log(`| ${model} | ${sw.toFixed(2)} | ${sc.toFixed(2)} | ${rw.toFixed(2)} | ${rc.toFixed(2)} | ${rFit.toFixed(2)} | ${(rw / sw).toFixed(1)}x | ${(rc / sc).toFixed(1)}x | ${maxDiff.toExponential(1)} | ${dll.toExponential(1)} |`);
    if (!fit.converged) console.log(`  warning: spillway ${model} did not converge`);
    if (maxDiff > 1e-6) console.log(`  WARNING: coefficients differ by more than 1e-6`);
  }
  console.log(`load average at end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
