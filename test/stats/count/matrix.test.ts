// The estimators' small linear algebra (src/stats/count/matrix.ts): hand-computed cases, and the same numbers as the
// ml-matrix CholeskyDecomposition it replaces (operation for operation, so Newton's path is unchanged).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { cholesky, choleskyInverse, choleskySolve } from '../../../src/stats/count/matrix.js';
import { Rng } from '../../../src/stats/random.js';

const ml = createRequire(import.meta.url)('ml-matrix') as typeof import('ml-matrix');

describe('cholesky, choleskySolve, choleskyInverse', () => {
  it('hand-computed: [[4, 2], [2, 3]] = L Lᵀ with L = [[2, 0], [1, √2]]; inverse [[3, -2], [-2, 4]] / 8', () => {
    const factor = cholesky(Float64Array.of(4, 2, 2, 3), 2);
    expect(factor.positiveDefinite).toBe(true);
    expect(Array.from(factor.L)).toEqual([2, 0, 1, Math.SQRT2]);
    choleskySolve(factor, [8, 7]).forEach((v, i) => expect(v).toBeCloseTo([1.25, 1.5][i], 15)); // 4·1.25 + 2·1.5 = 8, 2·1.25 + 3·1.5 = 7
    const inverse = choleskyInverse(factor);
    [3 / 8, -2 / 8, -2 / 8, 4 / 8].forEach((v, i) => expect(inverse[i]).toBeCloseTo(v, 15));
  });

  it('an indefinite matrix, or one with NaN, is not positive definite (and solving with it throws)', () => {
    const indefinite = cholesky(Float64Array.of(1, 2, 2, 1), 2);
    expect(indefinite.positiveDefinite).toBe(false);
    expect(() => choleskySolve(indefinite, [1, 1])).toThrow(/not positive definite/);
    expect(cholesky(Float64Array.of(1, 0, 0, NaN), 2).positiveDefinite).toBe(false);
  });

  it('the same bits as ml-matrix on seeded 30 × 30 positive definite matrices', () => {
    const rng = Rng.fromSeed(5);
    for (let trial = 0; trial < 5; trial++) {
      const n = 30;
      const B = Array.from({ length: n * n }, () => rng.normal());
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = i === j ? 1 : 0; for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k]; A[i * n + j] = s; }
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i];
      const b = Array.from({ length: n }, () => rng.normal());
      const theirs = new ml.CholeskyDecomposition(new ml.Matrix(Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * n, i * n + n)))));
      const ours = cholesky(A, n);
      expect(ours.positiveDefinite).toBe(theirs.isPositiveDefinite());
      expect(Array.from(choleskySolve(ours, b))).toEqual(theirs.solve(ml.Matrix.columnVector(b)).getColumn(0));
      const inverse = choleskyInverse(ours);
      const product = (i: number, j: number) => { let s = 0; for (let k = 0; k < n; k++) s += A[i * n + k] * inverse[k * n + j]; return s; };
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(product(i, j) - (i === j ? 1 : 0))).toBeLessThan(1e-9);
    }
  });
});
