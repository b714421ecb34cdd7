// Session 22 fault pass over the count models' WebAssembly kernels (src/stats/count/kernels.ts, objective.ts): hostile
// designs for the kernel spaces and the derivatives built on them (tests written to fail first).
import { afterAll, describe, expect, it } from 'vitest';
import { fitCountModel, type CountDesign } from '../../src/stats/count/index.js';
import { addWeightedSums, useKernels, type SplitDesign } from '../../src/stats/count/objective.js';
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
