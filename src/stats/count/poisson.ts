// Pooled Poisson regression, ln L = Σ [y η - exp(η) - ln Γ(y + 1)] (Cameron & Trivedi 2013, eq. 3.7): start values
// for NB2 and the "Poisson with group dummies" used to check the conditional FE Poisson.
import { lnGamma } from '../special-functions.js';
import { linearIndex, linearIndexReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

export function poissonObjective(data: PreparedData): Objective {
  const { n, p, y, rows } = data;
  const { rowStart, colIndex, values } = rows;
  const eta = new Float64Array(n);
  let constant = 0;
  for (let r = 0; r < n; r++) constant -= lnGamma(y[r] + 1);

  function loglik(beta: Float64Array): number {
    if (!linearIndex(data, beta, eta)) return NaN;
    let ll = constant;
    for (let r = 0; r < n; r++) ll += y[r] * eta[r] - Math.exp(eta[r]);
    return ll;
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    if (!linearIndex(data, beta, eta)) return NaN;
    let ll = constant;
    for (let r = 0; r < n; r++) {
      const mu = Math.exp(eta[r]);
      ll += y[r] * eta[r] - mu;
      const residual = y[r] - mu;
      const end = rowStart[r + 1];
      for (let i = rowStart[r]; i < end; i++) {
        const v = values[i];
        const c = colIndex[i];
        gradient[c] += residual * v;
        const wa = -mu * v;
        const row = c * p;
        for (let j = i; j < end; j++) hessian[row + colIndex[j]] += wa * values[j];
      }
    }
    symmetrize(hessian, p);
    return ll;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => linearIndexReach(data, direction) };
}
