// The interface between a likelihood and the optimiser, and the row operations shared by the likelihoods. Rows are
// stored sparse (compressed rows, column indices ascending) because year dummies make most of a panel design zero:
// a rank-one Hessian update then costs (nonzeros per row)² / 2 instead of p² / 2.
import type { PreparedData } from './prepare.js';

export interface Objective {
  /** number of parameters */
  dim: number;
  /** log-likelihood at theta, or NaN when exp(x'b) would overflow (the optimiser rejects such a step) */
  loglik(theta: Float64Array): number;
  /** log-likelihood at theta, filling the gradient and the Hessian (dim × dim, row-major, symmetric) */
  derivatives(theta: Float64Array, gradient: Float64Array, hessian: Float64Array): number;
  /** the largest change a step would make to any linear index (or other log-scale parameter), for step capping */
  stepReach(direction: Float64Array): number;
}

/** Compressed sparse rows: row r's nonzeros are values[rowStart[r] .. rowStart[r+1]-1] in columns colIndex[…] (ascending). */
export interface SparseRows {
  rowStart: Int32Array;
  colIndex: Int32Array;
  values: Float64Array;
}

/**
 * Sparse rows of the columns `columns` (default all) of the n × stride row-major X, column j shifted by shift[j].
 * `nonzeros`, when the caller knows it (the number of entries x - shift ≠ 0), saves the counting pass.
 */
export function toSparseRows(X: Float64Array, n: number, stride: number, columns?: number[], shift?: Float64Array, nonzeros = -1): SparseRows {
  const used = Int32Array.from(columns ?? Array.from({ length: stride }, (_, c) => c));
  const p = used.length;
  const by = shift ?? new Float64Array(p);
  const rowStart = new Int32Array(n + 1);
  if (nonzeros < 0) {
    nonzeros = 0;
    for (let r = 0; r < n; r++) {
      const base = r * stride;
      for (let c = 0; c < p; c++) if (X[base + used[c]] !== by[c]) nonzeros++;
    }
  }
  const colIndex = new Int32Array(nonzeros);
  const values = new Float64Array(nonzeros);
  let k = 0;
  for (let r = 0; r < n; r++) {
    rowStart[r] = k;
    const base = r * stride;
    for (let c = 0; c < p; c++) {
      const v = X[base + used[c]] - by[c];
      if (v !== 0) {
        colIndex[k] = c;
        values[k++] = v;
      }
    }
  }
  rowStart[n] = k;
  if (k !== nonzeros) throw new Error(`toSparseRows: ${k} nonzeros for ${nonzeros} counted`);
  return { rowStart, colIndex, values };
}

/** exp(709.8) overflows a double; beyond this linear index a step is rejected rather than producing Infinity/NaN */
export const MAX_LINEAR_INDEX = 700;

/** η = offset + Xβ into `eta`; returns false when some η exceeds MAX_LINEAR_INDEX (or is not finite). */
export function linearIndex(data: PreparedData, beta: Float64Array, eta: Float64Array): boolean {
  const { n, offset } = data;
  const { rowStart, colIndex, values } = data.rows;
  let ok = true;
  for (let r = 0; r < n; r++) {
    let s = offset[r];
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) s += values[k] * beta[colIndex[k]];
    eta[r] = s;
    if (!(s <= MAX_LINEAR_INDEX)) ok = false;
  }
  return ok;
}

/** max_r |x_r'δ| over the first p entries of δ, and |δ_j| for the ancillary entries beyond p (log scale). */
export function linearIndexReach(data: PreparedData, direction: Float64Array): number {
  const { rowStart, colIndex, values } = data.rows;
  let reach = 0;
  for (let r = 0; r < data.n; r++) {
    let s = 0;
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) s += values[k] * direction[colIndex[k]];
    if (Math.abs(s) > reach) reach = Math.abs(s);
  }
  for (let j = data.p; j < direction.length; j++) reach = Math.max(reach, Math.abs(direction[j]));
  return reach;
}

/** Adds w·v vᵀ (v dense, length p) to the upper triangle of the dim × dim `hessian`. */
export function addDenseOuter(hessian: Float64Array, dim: number, v: Float64Array, p: number, w: number): void {
  for (let a = 0; a < p; a++) {
    const wa = w * v[a];
    if (wa === 0) continue;
    const row = a * dim;
    for (let b = a; b < p; b++) hessian[row + b] += wa * v[b];
  }
}

/** Copies the upper triangle onto the lower one. */
export function symmetrize(hessian: Float64Array, dim: number): void {
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) hessian[b * dim + a] = hessian[a * dim + b];
}
