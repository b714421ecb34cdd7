// Conditional fixed-effects Poisson (Hausman, Hall & Griliches 1984, eq. 3.5; Stata [XT] xtpoisson, fe, Methods and formulas):
//   ln L_i = ln Γ(Y_i + 1) - Σ_t ln Γ(y_it + 1) + Σ_t y_it ln p_it,  p_it = exp(η_it) / Σ_s exp(η_is),
// a multinomial in the group's total; η is shifted by its group maximum, so a group constant (in the offset or in X)
// cancels exactly and exp never overflows. Globally concave.
import { lnFactorial } from '../special-functions.js';
import { addGroupOuter, addWeighted, kernelSpace, splitLinearIndex, splitSubset, splitReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

/** The conditional FE Poisson likelihood of `data` restricted to `columns` (default: all of them). */
export function fePoissonObjective(data: PreparedData, columns?: number[]): Objective {
  const { n, y, offset, groupStart, groupTotal } = data;
  const used = columns ?? Array.from({ length: data.p }, (_, c) => c);
  const p = used.length;
  const G = groupStart.length - 1;
  const eta = new Float64Array(n);
  const share = new Float64Array(n);
  const first = new Float64Array(n);
  const second = new Float64Array(n);
  // The Hessian is accumulated as -Σ_g Y_g [Σ_t p_t x_t x_t' - x̄_g x̄_g']. Shifting a column by a constant changes
  // neither score nor Hessian (Σ_t p_t = 1), so mostly-nonzero columns (stored dense) are centred on their overall
  // mean first, which keeps the subtraction accurate; mostly-zero columns (dummies) stay sparse and unshifted.
  // (column sums and nonzero counts from prepare(), summed in row order)
  const shift = Float64Array.from(used, (c) => data.columnSum[c] / n);
  const split = splitSubset(data.split, used, shift);
  kernelSpace(split, G);
  // η uses the shifted columns too: that moves every η by the same constant, which cancels within each group
  let constant = 0;
  for (let g = 0; g < G; g++) constant += lnFactorial(groupTotal[g]);
  for (let r = 0; r < n; r++) constant -= lnFactorial(y[r]);

  function loglik(beta: Float64Array): number {
    splitLinearIndex(split, offset, beta, eta);
    const ll = constant + fePoissonWeights(groupStart, groupTotal, y, eta, share, undefined, undefined);
    return Number.isFinite(ll) ? ll : NaN;
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    splitLinearIndex(split, offset, beta, eta);
    // score Σ_t x_t (y_t - Y p_t); Hessian -Y [Σ_t p_t x_t x_t' - x̄x̄'], x̄ = Σ_t p_t x_t
    const ll = constant + fePoissonWeights(groupStart, groupTotal, y, eta, share, first, second);
    addWeighted(split, first, second, gradient, hessian, p);
    addGroupOuter(split, groupStart, share, groupTotal, hessian, p);
    symmetrize(hessian, p);
    return Number.isFinite(ll) ? ll : NaN;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => splitReach(split, direction) };
}

/**
 * Σ_i Σ_t y_it ln p_it, filling share[] with p_it and, when given, first[] with y - Y p and second[] with -Y p (one
 * function with one row loop: see the note on kernels in objective.ts).
 */
function fePoissonWeights(
  groupStart: Int32Array,
  groupTotal: Float64Array,
  y: Float64Array,
  eta: Float64Array,
  share: Float64Array,
  first: Float64Array | undefined,
  second: Float64Array | undefined,
): number {
  const G = groupStart.length - 1;
  let ll = 0;
  for (let g = 0; g < G; g++) {
    const from = groupStart[g];
    const to = groupStart[g + 1];
    let max = -Infinity;
    for (let r = from; r < to; r++) if (eta[r] > max) max = eta[r];
    let sum = 0;
    for (let r = from; r < to; r++) {
      share[r] = Math.exp(eta[r] - max);
      sum += share[r];
    }
    const logSum = Math.log(sum);
    for (let r = from; r < to; r++) {
      share[r] /= sum;
      if (y[r] > 0) ll += y[r] * (eta[r] - max - logSum);
    }
    if (first === undefined || second === undefined) continue;
    const Y = groupTotal[g];
    for (let r = from; r < to; r++) {
      first[r] = y[r] - Y * share[r];
      second[r] = -Y * share[r];
    }
  }
  return ll;
}
