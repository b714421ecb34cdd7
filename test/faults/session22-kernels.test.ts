// Session 22 fault pass over the count models' WebAssembly kernels (src/stats/count/kernels.ts, objective.ts): hostile
// designs for the kernel spaces and the derivatives built on them (tests written to fail first).
import { afterAll, describe, expect, it } from 'vitest';
import { fitCountModel, type CountDesign } from '../../src/stats/count/index.js';
import { nb2Objective } from '../../src/stats/count/nb2.js';
import { addWeightedSums, splitLinearIndex, useKernels, type SplitDesign } from '../../src/stats/count/objective.js';
import { poissonObjective } from '../../src/stats/count/poisson.js';
import { prepare } from '../../src/stats/count/prepare.js';
import { lnFactorial, lnGammaDiff } from '../../src/stats/special-functions.js';
import { Rng } from '../../src/stats/random.js';

afterAll(() => useKernels('wasm'));

/** a split design with no dense column: 5 rows, 3 sparse columns (row 3 has two nonzeros, row 4 none) */
function allSparse(): SplitDesign {
  return {
    n: 5,
    p: 3,
    denseColumns: new Int32Array(0),
    dense: [],
    sparse: {
      rowStart: Int32Array.of(0, 1, 2, 3, 5, 5),
      colIndex: Int32Array.of(0, 1, 2, 0, 2),
      values: Float64Array.of(1, 2, 1, 3, 1),
    },
  };
}

/** n rows of two mostly-zero indicators a, b (no dense column without _cons), overdispersed counts, 20 groups */
function sparseOnly(seed: number, n: number): CountDesign {
  const rng = Rng.fromSeed(seed);
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.uniform() < 0.3 ? 1 : 0;
    const b = rng.uniform() < 0.2 ? 1 : 0;
    X.push([a, b]);
    groups.push(i % 20);
    y.push(rng.poisson(rng.gamma(2) * Math.exp(0.5 + 0.8 * a - 0.4 * b) / 2));
  }
  return { y, X, names: ['a', 'b'], groups };
}

describe('kernels: a design with no dense column', () => {
  for (const backend of ['wasm', 'js'] as const) {
    it(`addWeightedSums sums w·x over the sparse columns (${backend})`, () => {
      useKernels(backend);
      const out = new Float64Array(3);
      // w = 1, 10, 100, 1000, 10000: column 0 = 1·1 + 3·1000, column 1 = 2·10, column 2 = 1·100 + 1·1000
      addWeightedSums(allSparse(), Float64Array.of(1, 10, 100, 1000, 10000), out);
      expect(Array.from(out)).toEqual([3001, 20, 1100]);
    });

    it(`nb2 without _cons on mostly-zero regressors has standard errors (${backend})`, () => {
      useKernels(backend);
      const fit = fitCountModel(sparseOnly(11, 400), { model: 'nb2', addConstant: false });
      expect(fit.warnings).toEqual([]);
      expect(fit.converged).toBe(true);
      for (const name of ['a', 'b']) expect(fit.se[name]).toBeGreaterThan(0);
      expect(fit.ancillary.se_lnalpha).toBeGreaterThan(0);
      // main (d3ac45f, sparse rows without kernels) on the same data: a 1.2430941865183895 (se 0.09532566087793079),
      // b -0.31215272519624027 (0.14758486139234286), ln alpha -0.3744490079313518 (0.1451106744266769)
      const close = (x: number, y: number) => expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-12 * Math.abs(y));
      close(fit.coef.a, 1.2430941865183895);
      close(fit.se.a, 0.09532566087793079);
      close(fit.coef.b, -0.31215272519624027);
      close(fit.se.b, 0.14758486139234286);
      close(fit.ancillary.lnalpha, -0.3744490079313518);
      close(fit.ancillary.se_lnalpha, 0.1451106744266769);
    });
  }
});

describe('pooled likelihoods: the rows are summed onto the constant, as before the kernels', () => {
  // ℓ = Σ_r [-ln y_r!] + Σ_r term_r. Summed from 0 with the constant added last, the partial sums climb to |constant|
  // (here ~1e5 against ℓ ~ -1e3) and the rounding noise of ℓ doubles: measured on the replication's NB2 model 1, the
  // line search then rejected full Newton steps near the maximum (noise above its allowance) and the fit took 15
  // iterations instead of 6. main summed onto the constant (constant first, rows in order); so must the objectives.
  const rng = Rng.fromSeed(2211);
  const n = 301;
  const y: number[] = [];
  const X: number[][] = [];
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    const d = rng.uniform() < 0.3 ? 1 : 0;
    X.push([x, d]);
    y.push(rng.poisson(rng.gamma(2) * Math.exp(4 + 0.5 * x - 0.3 * d) / 2));
  }
  const data = prepare({ y, X, names: ['x', 'd'] }, { model: 'nb2', addConstant: true });
  const beta = Float64Array.of(0.41, -0.27, 3.9);
  const eta = new Float64Array(n);
  splitLinearIndex(data.split, data.offset, beta, eta);

  it('nb2: ℓ is the constant plus the rows, in that order', () => {
    const lnAlpha = -0.7;
    const alpha = Math.exp(lnAlpha);
    let ll = 0;
    for (let r = 0; r < n; r++) ll -= lnFactorial(data.y[r]);
    expect(ll).toBeLessThan(-1e4);
    for (let r = 0; r < n; r++) {
      ll += lnGammaDiff(1 / alpha, data.y[r]) + data.y[r] * (lnAlpha + eta[r]) - (1 / alpha + data.y[r]) * Math.log1p(alpha * Math.exp(eta[r]));
    }
    const theta = Float64Array.of(...beta, lnAlpha);
    const objective = nb2Objective(data);
    expect(objective.loglik(theta)).toBe(ll);
    expect(objective.derivatives(theta, new Float64Array(4), new Float64Array(16))).toBe(ll);
  });

  it('poisson: ℓ is the constant plus the rows, in that order', () => {
    let ll = 0;
    for (let r = 0; r < n; r++) ll -= lnFactorial(data.y[r]);
    for (let r = 0; r < n; r++) ll += data.y[r] * eta[r] - Math.exp(eta[r]);
    const objective = poissonObjective(data);
    expect(objective.loglik(beta)).toBe(ll);
    expect(objective.derivatives(beta, new Float64Array(3), new Float64Array(9))).toBe(ll);
  });
});
