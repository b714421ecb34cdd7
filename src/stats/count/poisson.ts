// Pooled Poisson regression, ln L = Σ [y η - exp(η) - ln Γ(y + 1)] (Cameron & Trivedi 2013, eq. 3.7): start values
// for NB2 and the "Poisson with group dummies" used to check the conditional FE Poisson.
import { lnFactorial } from '../special-functions.js';
import { addWeighted, splitLinearIndex, splitReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

export function poissonObjective(data: PreparedData): Objective {
  const { n, p, y, offset, split } = data;
  const eta = new Float64Array(n);
  /** per row: ∂ℓ/∂η = y - μ and ∂²ℓ/∂η² = -μ */
  const first = new Float64Array(n);
  const second = new Float64Array(n);
  let constant = 0;
  for (let r = 0; r < n; r++) constant -= lnFactorial(y[r]);

  function loglik(beta: Float64Array): number {
    if (!splitLinearIndex(split, offset, beta, eta)) return NaN;
    return poissonValue(y, eta, n, constant);
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    if (!splitLinearIndex(split, offset, beta, eta)) return NaN;
    const ll = poissonWeights(y, eta, first, second, n, constant);
    addWeighted(split, first, second, gradient, hessian, p);
    symmetrize(hessian, p);
    return ll;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => splitReach(split, direction) };
}

// The row loops, each in its own function (see the note on kernels in objective.ts).

function poissonValue(y: Float64Array, eta: Float64Array, n: number, constant: number): number {
  let ll = constant;
  for (let r = 0; r < n; r++) ll += y[r] * eta[r] - Math.exp(eta[r]);
  return ll;
}

function poissonWeights(y: Float64Array, eta: Float64Array, first: Float64Array, second: Float64Array, n: number, constant: number): number {
  let ll = constant;
  for (let r = 0; r < n; r++) {
    const mu = Math.exp(eta[r]);
    ll += y[r] * eta[r] - mu;
    first[r] = y[r] - mu;
    second[r] = -mu;
  }
  return ll;
}
