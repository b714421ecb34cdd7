// Conditional fixed-effects Poisson (Hausman, Hall & Griliches 1984, eq. 3.5; Stata [XT] xtpoisson, fe, Methods and formulas):
//   ln L_i = ln Γ(Y_i + 1) - Σ_t ln Γ(y_it + 1) + Σ_t y_it ln p_it,  p_it = exp(η_it) / Σ_s exp(η_is),
// a multinomial in the group's total; η is shifted by its group maximum, so a group constant (in the offset or in X)
// cancels exactly and exp never overflows. Globally concave.
import { lnGamma } from '../special-functions.js';
import { linearIndex, linearIndexReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

export function fePoissonObjective(data: PreparedData): Objective {
  const { n, p, X, y, groupStart, groupTotal } = data;
  const G = groupStart.length - 1;
  const eta = new Float64Array(n);
  const share = new Float64Array(n);
  const mean = new Float64Array(p);
  const centred = new Float64Array(p);
  let constant = 0;
  for (let g = 0; g < G; g++) constant += lnGamma(groupTotal[g] + 1);
  for (let r = 0; r < n; r++) constant -= lnGamma(y[r] + 1);

  /** fills share[] with p_it for group g and returns Σ_t y_it ln p_it */
  function groupShares(g: number): number {
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
    let ll = 0;
    for (let r = from; r < to; r++) {
      share[r] /= sum;
      if (y[r] > 0) ll += y[r] * (eta[r] - max - logSum);
    }
    return ll;
  }

  function loglik(beta: Float64Array): number {
    linearIndex(data, beta, eta);
    let ll = constant;
    for (let g = 0; g < G; g++) ll += groupShares(g);
    return Number.isFinite(ll) ? ll : NaN;
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    linearIndex(data, beta, eta);
    let ll = constant;
    for (let g = 0; g < G; g++) {
      ll += groupShares(g);
      const from = groupStart[g];
      const to = groupStart[g + 1];
      const Y = groupTotal[g];
      // score Σ_t x_t (y_t - Y p_t); Hessian -Y Σ_t p_t (x_t - x̄)(x_t - x̄)', x̄ = Σ_t p_t x_t
      mean.fill(0);
      for (let r = from; r < to; r++) for (let c = 0; c < p; c++) mean[c] += share[r] * X[r * p + c];
      for (let r = from; r < to; r++) {
        const residual = y[r] - Y * share[r];
        const w = -Y * share[r];
        for (let c = 0; c < p; c++) {
          const x = X[r * p + c];
          gradient[c] += residual * x;
          centred[c] = x - mean[c];
        }
        for (let a = 0; a < p; a++) {
          const wa = w * centred[a];
          for (let b = a; b < p; b++) hessian[a * p + b] += wa * centred[b];
        }
      }
    }
    symmetrize(hessian, p);
    return Number.isFinite(ll) ? ll : NaN;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => linearIndexReach(data, direction) };
}
