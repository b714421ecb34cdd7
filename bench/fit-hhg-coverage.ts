// Monte Carlo check of the HHG estimator beyond the single seeded test: R panels of 30 groups × 11 years drawn from
// the HHG model (as test/stats/count/simulation.test.ts), reporting per coefficient the mean bias, the ratio of the
// mean reported SE to the empirical SD of the estimates, and the coverage of the 95% interval (nominal 0.95).
// Usage: npx tsx bench/fit-hhg-coverage.ts [--replications 400]
import { parseArgs } from 'node:util';
import { Rng } from '../src/stats/random.js';
import { expandFactor, fitCountModel } from '../src/stats/count/index.js';

const { values } = parseArgs({ options: { replications: { type: 'string', default: '400' } } });
const R = Number(values.replications);


const truth: Record<string, number> = { x1: 0.5, x2: -0.3, _cons: 1.0 };
const years = Array.from({ length: 11 }, (_, t) => 2000 + t);
years.slice(1).forEach((year, t) => (truth[`${year}.year`] = 0.04 * (t + 1) - 0.2));
const names = Object.keys(truth);
const estimates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const ses: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const covered: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
let usable = 0;
let flat = 0;
let notConverged = 0;
const started = performance.now();
for (let rep = 0; rep < R; rep++) {
  const rng = Rng.fromSeed(1000 + rep);
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  const yearOf: number[] = [];
  for (let i = 0; i < 30; i++) {
    const delta = Math.exp(0.6 * rng.normal());
    const level = rng.normal();
    for (const year of years) {
      const x1 = 0.5 * level + rng.normal();
      const x2 = rng.uniform() * 2;
      const index = truth._cons + truth.x1 * x1 + truth.x2 * x2 + (truth[`${year}.year`] ?? 0);
      y.push(rng.poisson(rng.gamma(Math.exp(index)) / delta));
      X.push([x1, x2]);
      groups.push(i);
      yearOf.push(year);
    }
  }
  const dummies = expandFactor(yearOf, { name: 'year' });
  const fit = fitCountModel(
    { y, X: X.map((row, i) => [...row, ...dummies.columns.map((c) => c[i])]), names: ['x1', 'x2', ...dummies.names], groups },
    { model: 'hhg-fenb', addConstant: true },
  );
  if (!fit.converged) {
    if (fit.warnings.some((w) => w.startsWith('flat likelihood'))) flat++;
    else notConverged++;
    continue;
  }
  usable++;
  for (const name of names) {
    estimates[name].push(fit.coef[name]);
    ses[name].push(fit.se[name]);
    const [lo, hi] = fit.ci95[name];
    if (lo <= truth[name] && truth[name] <= hi) covered[name]++;
  }
}
const seconds = (performance.now() - started) / 1000;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
console.log(`${R} replications (30 groups x 11 years), ${usable} converged, ${flat} flat likelihoods, ${notConverged} not converged; ${seconds.toFixed(1)} s (${((seconds / R) * 1000).toFixed(1)} ms per fit)`);
console.log(`${'coefficient'.padEnd(12)} ${'true'.padStart(7)} ${'mean bias'.padStart(10)} ${'mean SE/SD'.padStart(11)} ${'coverage'.padStart(9)}`);
for (const name of names) {
  console.log(
    `${name.padEnd(12)} ${truth[name].toFixed(3).padStart(7)} ${(mean(estimates[name]) - truth[name]).toFixed(4).padStart(10)} ${(mean(ses[name]) / sd(estimates[name])).toFixed(3).padStart(11)} ${(covered[name] / usable).toFixed(3).padStart(9)}`,
  );
}
// binomial standard error of a coverage estimate at 0.95
console.log(`(a coverage estimate from ${usable} fits has a standard error of about ${Math.sqrt((0.95 * 0.05) / usable).toFixed(3)})`);
