// The interface between a likelihood and the optimiser, and helpers shared by the likelihoods.
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

/** max_r |x_r'δ| over the first p entries of δ, and |δ_j| for the ancillary entries beyond p (log scale). */
export function linearIndexReach(data: PreparedData, direction: Float64Array): number {
  const { n, p, X } = data;
  let reach = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    const base = r * p;
    for (let c = 0; c < p; c++) s += X[base + c] * direction[c];
    if (Math.abs(s) > reach) reach = Math.abs(s);
  }
  for (let j = p; j < direction.length; j++) reach = Math.max(reach, Math.abs(direction[j]));
  return reach;
}

/** exp(709.8) overflows a double; beyond this linear index a step is rejected rather than producing Infinity/NaN */
export const MAX_LINEAR_INDEX = 700;

/** η = offset + Xβ into `eta`; returns false when some η exceeds MAX_LINEAR_INDEX (or is not finite). */
export function linearIndex(data: PreparedData, beta: Float64Array, eta: Float64Array): boolean {
  const { n, p, X, offset } = data;
  let ok = true;
  for (let r = 0; r < n; r++) {
    let s = offset[r];
    const base = r * p;
    for (let c = 0; c < p; c++) s += X[base + c] * beta[c];
    eta[r] = s;
    if (!(s <= MAX_LINEAR_INDEX)) ok = false;
  }
  return ok;
}

/** Adds w·x xᵀ to the upper triangle of the dim × dim row-major `hessian`, x being row r of X (first p parameters). */
export function addOuter(hessian: Float64Array, dim: number, X: Float64Array, p: number, r: number, w: number): void {
  const base = r * p;
  for (let a = 0; a < p; a++) {
    const wa = w * X[base + a];
    if (wa === 0) continue;
    const rowA = a * dim;
    for (let b = a; b < p; b++) hessian[rowA + b] += wa * X[base + b];
  }
}

/** Copies the upper triangle onto the lower one. */
export function symmetrize(hessian: Float64Array, dim: number): void {
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) hessian[b * dim + a] = hessian[a * dim + b];
}
