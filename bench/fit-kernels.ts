// The count models' kernels side by side: the same fits with the WebAssembly SIMD kernels (the default) and with their
// JavaScript twins (what runs under node --jitless), in one process after a warm-up, medians of --runs runs each,
// alternated. The large problem of bench/fit-count.ts (3,000 groups x 20 years = 60,000 obs, 10 regressors, year
// dummies), and one derivative evaluation of the HHG likelihood alone. The two give the same bits (checked here too).
// Usage: npx tsx bench/fit-kernels.ts [--runs 7]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fitCountModel, type CountDesign, type CountModel } from '../src/stats/count/index.js';
import { hhgObjective } from '../src/stats/count/hhg.js';
import { useKernels } from '../src/stats/count/objective.js';
import { prepare } from '../src/stats/count/prepare.js';
import { hhgPanelRows } from './_hhg-panel.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const RUNS = Number(values.runs);

/** 3,000 groups x 20 years, 10 regressors, 19 year dummies (the HHG data-generating process of bench/fit-count.ts) */
function panel(groups: number, years: number, K: number, seed: number): CountDesign {
  const y: number[] = [];
  const X: Float64Array[] = [];
  const g: number[] = [];
  for (const { group, t, y: count, row } of hhgPanelRows(groups, years, K, seed)) {
    y.push(count);
    X.push(Float64Array.from([...row, ...Array.from({ length: years - 1 }, (_, k) => (t === k + 1 ? 1 : 0))]));
    g.push(group);
  }
  const names = [...Array.from({ length: K }, (_, j) => `x${j + 1}`), ...Array.from({ length: years - 1 }, (_, k) => `${2001 + k}.year`)];
  return { y, X, names, groups: g };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timed(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const design = panel(3000, 20, 10, 11);
console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs; ${design.y.length} obs; medians of ${RUNS} runs each, alternated, after a warm-up`);
console.log('| what | WebAssembly ms | JavaScript ms | ratio JS / wasm | same bits |');
console.log('|---|---:|---:|---:|---|');
for (const model of ['hhg-fenb', 'fe-poisson', 'nb2'] as CountModel[]) {
  const options = { model, addConstant: model !== 'fe-poisson' };
  const times: Record<'wasm' | 'js', number[]> = { wasm: [], js: [] };
  const fits: Record<string, ReturnType<typeof fitCountModel>> = {};
  for (const k of ['wasm', 'js'] as const) {
    useKernels(k);
    fits[k] = fitCountModel(design, options); // warm-up
  }
  for (let r = 0; r < RUNS; r++) {
    for (const k of ['wasm', 'js'] as const) {
      useKernels(k);
      times[k].push(timed(() => fitCountModel(design, options)));
    }
  }
  const same = Object.keys(fits.js.coef).every((name) => Object.is(fits.js.coef[name], fits.wasm.coef[name]) && Object.is(fits.js.se[name], fits.wasm.se[name]));
  const w = median(times.wasm);
  const j = median(times.js);
  console.log(`| ${model} fit (prepare, starts, Newton) | ${w.toFixed(1)} | ${j.toFixed(1)} | ${(j / w).toFixed(2)}x | ${same ? 'yes' : 'NO'} |`);
}
// one evaluation of the HHG gradient and Hessian (the optimiser's unit of work)
{
  const evals: Record<'wasm' | 'js', number[]> = { wasm: [], js: [] };
  const objectives = Object.fromEntries(
    (['wasm', 'js'] as const).map((k) => {
      useKernels(k);
      const data = prepare(design, { model: 'hhg-fenb', addConstant: true });
      return [k, { objective: hhgObjective(data), dim: data.p }];
    }),
  ) as Record<'wasm' | 'js', { objective: ReturnType<typeof hhgObjective>; dim: number }>;
  const results: Record<string, Float64Array> = {};
  for (let r = 0; r < RUNS + 3; r++) {
    for (const k of ['wasm', 'js'] as const) {
      const { objective, dim } = objectives[k];
      const theta = new Float64Array(dim).fill(0.01);
      const gradient = new Float64Array(dim);
      const hessian = new Float64Array(dim * dim);
      const ms = timed(() => objective.derivatives(theta, gradient, hessian));
      if (r >= 3) evals[k].push(ms); // the first three warm up
      results[k] = hessian;
    }
  }
  const same = results.wasm.every((v, i) => Object.is(v, results.js[i]));
  const w = median(evals.wasm);
  const j = median(evals.js);
  console.log(`| hhg-fenb: one gradient + Hessian | ${w.toFixed(2)} | ${j.toFixed(2)} | ${(j / w).toFixed(2)}x | ${same ? 'yes' : 'NO'} |`);
}
useKernels('wasm');
console.log(`load average at end ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
