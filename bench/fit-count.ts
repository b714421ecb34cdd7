// Times fitCountModel on a paper-sized problem (30 groups × 11 years = 330 obs, 20 parameters with year dummies) and a
// large one (3,000 groups × 20 years = 60,000 obs, 30 parameters), and — when Rscript with MASS is installed — compares
// the NB2 fit with MASS::glm.nb on the same data. Prints medians of several runs.
// Usage: npx tsx bench/fit-count.ts [--runs N] [--quick]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fePoissonObjective } from '../src/stats/count/fe-poisson.js';
import { hhgObjective } from '../src/stats/count/hhg.js';
import { hhgPanelRows } from './_hhg-panel.js';
import { expandFactor, fitCountModel, type CountDesign, type CountModel } from '../src/stats/count/index.js';
import { prepare } from '../src/stats/count/prepare.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, quick: { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);


/** An HHG-type panel: group scale δ_i, regressors correlated with a group level, year effects. */
function panel(groups: number, years: number, regressors: number, seed: number): { y: number[]; X: Float64Array[]; names: string[]; groups: number[]; year: number[] } {
  const y: number[] = [];
  const X: number[][] = [];
  const g: number[] = [];
  const year: number[] = [];
  for (const { group, t, y: count, row } of hhgPanelRows(groups, years, regressors, seed)) {
    y.push(count);
    X.push(row);
    g.push(group);
    year.push(2000 + t);
  }
  const dummies = expandFactor(year, { name: 'year' });
  const names = [...Array.from({ length: regressors }, (_, j) => `x${j + 1}`), ...dummies.names];
  // rows as Float64Array (an ArrayLike<number>, read much faster than arrays of boxed numbers at this size)
  return { y, X: X.map((row, i) => Float64Array.from([...row, ...dummies.columns.map((c) => c[i])])), names, groups: g, year };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(design: CountDesign, model: CountModel, runs: number): { ms: number; cpuMs: number; iterations: number; params: number; loglik: number } {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let fit = fitCountModel(design, { model, addConstant: model !== 'fe-poisson' });
  for (let w = 0; w < (design.y.length < 5000 ? 10 : 1); w++) fit = fitCountModel(design, { model, addConstant: model !== 'fe-poisson' }); // warm-up (JIT)
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    fit = fitCountModel(design, { model, addConstant: model !== 'fe-poisson' });
    const used = process.cpuUsage(cpu);
    times.push(performance.now() - started);
    cpuTimes.push((used.user + used.system) / 1000);
  }
  if (!fit.converged) throw new Error(`${model} did not converge: ${fit.warnings.join('; ')}`);
  return { ms: median(times), cpuMs: median(cpuTimes), iterations: fit.iterations, params: Object.keys(fit.coef).length + (model === 'nb2' ? 1 : 0), loglik: fit.loglik };
}

function report(label: string, design: CountDesign, models: CountModel[], runs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const model of models) {
    const r = time(design, model, runs);
    out[model] = r.ms;
    console.log(`${label.padEnd(34)} ${model.padEnd(11)} n=${String(design.y.length).padStart(6)}  k=${String(r.params).padStart(2)}  iterations=${String(r.iterations).padStart(2)}  median ${r.ms.toFixed(1).padStart(7)} ms wall, ${r.cpuMs.toFixed(1).padStart(7)} ms CPU  (${runs} runs)  loglik ${r.loglik.toFixed(4)}`);
  }
  return out;
}

console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
const paper = panel(30, 11, 9, 1); // 9 regressors + 10 year dummies + _cons = 20 parameters
report('paper-sized (30 groups x 11 years)', paper, ['hhg-fenb', 'fe-poisson', 'nb2'], RUNS);

const largeGroups = values.quick ? 300 : 3000;
const large = panel(largeGroups, 20, 10, 2); // 10 regressors + 19 year dummies + _cons = 30 parameters
const largeRuns = Math.max(3, Math.min(RUNS, 5));
const largeTimes = report(`large (${largeGroups} groups x 20 years)`, large, ['hhg-fenb', 'fe-poisson', 'nb2'], largeRuns);
console.log(`target: large hhg-fenb fit < 1000 ms -> ${largeTimes['hhg-fenb'] < 1000 ? 'met' : 'NOT met'}`);

// memory: the fit keeps O(n·p) packed arrays (typed arrays: ArrayBuffer memory) and O(p²) matrices, never n × n;
// the typed-array memory of the prepared data and the HHG and FE Poisson objectives should grow linearly with n
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const keep: unknown[] = []; // earlier sizes stay alive so that no collection during a measurement frees their buffers
for (const groups of values.quick ? [75, 150, 300] : [750, 1500, 3000]) {
  const design = panel(groups, 20, 10, 3);
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const data = prepare(design, { model: 'hhg-fenb', addConstant: true });
  const objectives = [hhgObjective(data), fePoissonObjective(data)];
  const bytes = process.memoryUsage().arrayBuffers - before;
  keep.push(data, objectives);
  console.log(`typed-array memory of a fit's working data, n=${String(data.n).padStart(6)}: ${(bytes / 1e6).toFixed(1).padStart(6)} MB = ${(bytes / data.n).toFixed(0)} bytes per observation (${objectives.length} objectives)`);
}

// side by side with R's MASS::glm.nb on the same NB2 problem
const rscript = spawnSync('Rscript', ['-e', 'suppressMessages(library(MASS)); cat("ok")'], { encoding: 'utf8' });
if (rscript.status === 0 && rscript.stdout.includes('ok')) {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
  try {
    const file = join(dir, 'large.csv');
    const xNames = large.names.filter((n) => !n.endsWith('.year'));
    const lines = [['y', ...xNames, 'year'].join(',')];
    large.y.forEach((y, i) => lines.push([y, ...xNames.map((_, j) => large.X[i][j]), large.year[i]].join(',')));
    writeFileSync(file, lines.join('\n') + '\n');
    const formula = `y ~ ${xNames.join(' + ')} + factor(year)`;
    const script = `suppressMessages(library(MASS)); d <- read.csv("${file}");
      fit <- glm.nb(${formula}, data = d); times <- numeric(${largeRuns});
      for (r in seq_len(${largeRuns})) times[r] <- system.time(fit <- glm.nb(${formula}, data = d))[["elapsed"]];
      cat(format(c(median(times) * 1000, logLik(fit), log(1 / fit$theta)), digits = 15), "\\n")`;
    const r = spawnSync('Rscript', ['-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const [rMs, rLoglik, rLnAlpha] = r.stdout.trim().split(/\s+/).map(Number);
    const ours = fitCountModel(large, { model: 'nb2', addConstant: true });
    console.log(`MASS::glm.nb same NB2 problem: median ${rMs.toFixed(1)} ms (${largeRuns} runs), loglik ${rLoglik.toFixed(4)} (ours ${ours.loglik.toFixed(4)}), ln alpha ${rLnAlpha.toFixed(6)} (ours ${ours.ancillary.lnalpha.toFixed(6)})`);
    console.log(`ratio glm.nb / spillway nb2 = ${(rMs / largeTimes.nb2).toFixed(2)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log('Rscript with MASS not installed: no glm.nb comparison (apt-get install r-base-core r-cran-mass)');
}
