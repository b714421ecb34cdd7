// The small dense linear algebra the estimators need (dimension = number of parameters), on row-major Float64Arrays:
// a Cholesky factorisation, solves with it, and the inverse of a positive definite matrix. The factorisation and the
// solves follow ml-matrix's CholeskyDecomposition operation for operation (Cholesky–Banachiewicz, row by row; same
// order of summation), so Newton's path and the estimates are the same as with it, without a Matrix object per
// iteration or ml-matrix's 150 kB module in every `spillway fit`.

export interface Cholesky {
  /** lower-triangular factor, row-major dim × dim (zeros above the diagonal) */
  L: Float64Array;
  dim: number;
  positiveDefinite: boolean;
}

/** The Cholesky factor of the symmetric dim × dim row-major `a` (a NaN or a non-positive pivot: not positive definite). */
export function cholesky(a: Float64Array, dim: number): Cholesky {
  const L = new Float64Array(dim * dim);
  let positiveDefinite = true;
  for (let j = 0; j < dim; j++) {
    let d = 0;
    for (let k = 0; k < j; k++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += L[k * dim + i] * L[j * dim + i];
      s = (a[j * dim + k] - s) / L[k * dim + k];
      L[j * dim + k] = s;
      d = d + s * s;
    }
    d = a[j * dim + j] - d;
    positiveDefinite &&= d > 0;
    L[j * dim + j] = Math.sqrt(Math.max(d, 0));
  }
  return { L, dim, positiveDefinite };
}

/** Solves L Lᵀ x = b for x (a new array); the factor must be positive definite. */
export function choleskySolve({ L, dim, positiveDefinite }: Cholesky, b: ArrayLike<number>): Float64Array {
  if (!positiveDefinite) throw new Error('choleskySolve: the matrix is not positive definite');
  const x = Float64Array.from(b);
  for (let k = 0; k < dim; k++) {
    for (let i = 0; i < k; i++) x[k] = x[k] - x[i] * L[k * dim + i];
    x[k] = x[k] / L[k * dim + k];
  }
  for (let k = dim - 1; k >= 0; k--) {
    for (let i = k + 1; i < dim; i++) x[k] = x[k] - x[i] * L[i * dim + k];
    x[k] = x[k] / L[k * dim + k];
  }
  return x;
}

/** The inverse of a positive definite matrix from its Cholesky factor, column by column, made exactly symmetric. */
export function choleskyInverse(factor: Cholesky): Float64Array {
  const { dim } = factor;
  const inverse = new Float64Array(dim * dim);
  const unit = new Float64Array(dim);
  for (let c = 0; c < dim; c++) {
    unit.fill(0);
    unit[c] = 1;
    const column = choleskySolve(factor, unit);
    for (let r = 0; r < dim; r++) inverse[r * dim + c] = column[r];
  }
  for (let r = 0; r < dim; r++) {
    for (let c = r + 1; c < dim; c++) {
      const v = (inverse[r * dim + c] + inverse[c * dim + r]) / 2;
      inverse[r * dim + c] = v;
      inverse[c * dim + r] = v;
    }
  }
  return inverse;
}
