// The HHG-type panel the count-model benches share (bench/fit-count.ts, fit-kernels.ts, fit-vs-r.ts): group scale
// δ_i, regressors correlated with a group level, a year trend; y ~ Poisson(Gamma(exp(index)) / δ_i). Seeded.
import { Rng } from '../src/stats/random.js';

export interface PanelRow {
  group: number;
  t: number;
  y: number;
  row: number[];
}

/** The true coefficients of the K regressors. */
const panelBeta = (K: number) => Array.from({ length: K }, (_, j) => (j % 2 === 0 ? 0.3 : -0.2) / Math.sqrt(1 + j / 4));

/** groups x years rows, group by group, in the same order (and the same draws) for every bench. */
export function* hhgPanelRows(groups: number, years: number, K: number, seed: number): Generator<PanelRow> {
  const rng = Rng.fromSeed(seed);
  const beta = panelBeta(K);
  for (let group = 0; group < groups; group++) {
    const delta = Math.exp(0.5 * rng.normal());
    const level = rng.normal();
    for (let t = 0; t < years; t++) {
      const row = beta.map(() => 0.5 * level + rng.normal());
      const index = 0.8 + row.reduce((s, x, j) => s + beta[j] * x, 0) + 0.02 * t;
      yield { group, t, y: rng.poisson(rng.gamma(Math.exp(index)) / delta), row };
    }
  }
}
