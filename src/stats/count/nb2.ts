// Pooled NB2 negative binomial, Var(y) = μ + αμ², parameters (β, ln α) (Cameron & Trivedi 2013, eq. 3.26; Stata nbreg):
//   ln L = Σ [ln Γ(y + r) - ln Γ(r) - ln Γ(y + 1) + y ln(αμ) - (r + y) ln(1 + αμ)],  r = 1/α, μ = exp(x'β + offset).
// Derivatives (θ = ln α, D1 = ψ(y + r) - ψ(r), D2 = ψ'(y + r) - ψ'(r)):
//   ∂/∂η = (y - μ)/(1 + αμ);  ∂/∂θ = r[ln(1 + αμ) - D1] + (y - μ)/(1 + αμ);
//   ∂²/∂η² = -μ(1 + αy)/(1 + αμ)²;  ∂²/∂η∂θ = -(y - μ)αμ/(1 + αμ)²;
//   ∂²/∂θ² = r[D1 - ln(1 + αμ)] + μ/(1 + αμ) + r² D2 - (y - μ)αμ/(1 + αμ)².
import { gammaDifferences, lnFactorial, lnGammaDiff } from '../special-functions.js';
import { addWeighted, addWeightedSums, splitLinearIndex, splitReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

/** ln α below which the model is Poisson for every practical purpose (α < 2e-9) */
export const LN_ALPHA_FLOOR = -20;

export function nb2Objective(data: PreparedData): Objective {
  const { n, p, y, offset, split } = data;
  const dim = p + 1;
  const eta = new Float64Array(n);
  /** per row: ∂ℓ/∂η (score), ∂²ℓ/∂η∂θ (cross), ∂²ℓ/∂η² (weight) */
  const score = new Float64Array(n);
  const cross = new Float64Array(n);
  const weight = new Float64Array(n);
  /** ∂²ℓ/∂β∂θ; [ℓ, ∂ℓ/∂θ, ∂²ℓ/∂θ²] from the row loop */
  const crossColumn = new Float64Array(p);
  const sums = new Float64Array(3);
  const differences = new Float64Array(3);
  let constant = 0;
  for (let r = 0; r < n; r++) constant -= lnFactorial(y[r]);

  function loglik(theta: Float64Array): number {
    const lnAlpha = theta[p];
    if (!(lnAlpha <= MAX_LN_ALPHA && lnAlpha >= MIN_LN_ALPHA)) return NaN;
    if (!splitLinearIndex(split, offset, theta, eta)) return NaN;
    return nb2Value(y, eta, lnAlpha, n, constant);
  }

  function derivatives(theta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    const lnAlpha = theta[p];
    if (!(lnAlpha <= MAX_LN_ALPHA && lnAlpha >= MIN_LN_ALPHA)) return NaN;
    if (!splitLinearIndex(split, offset, theta, eta)) return NaN;
    nb2Weights(y, eta, lnAlpha, n, constant, score, cross, weight, differences, sums);
    // gradient += score·x, H += weight·x x' (upper triangle), ∂²ℓ/∂β∂θ = Σ cross·x
    addWeighted(split, score, weight, gradient, hessian, dim);
    crossColumn.fill(0);
    addWeightedSums(split, cross, crossColumn);
    for (let c = 0; c < p; c++) hessian[c * dim + p] = crossColumn[c];
    gradient[p] = sums[1];
    hessian[p * dim + p] = sums[2];
    symmetrize(hessian, dim);
    return sums[0];
  }

  const reach = (direction: Float64Array) => Math.max(splitReach(split, direction), Math.abs(direction[p]));
  return { dim, loglik, derivatives, stepReach: reach };
}

// The row loops, each in its own function (see the note on kernels in objective.ts).

/** constant + Σ [ln Γ(y + r) - ln Γ(r) + y ln(αμ) - (r + y) ln(1 + αμ)], summed onto the constant (less rounding) */
function nb2Value(y: Float64Array, eta: Float64Array, lnAlpha: number, n: number, constant: number): number {
  const alpha = Math.exp(lnAlpha);
  const size = 1 / alpha;
  let ll = constant;
  for (let i = 0; i < n; i++) {
    const am = alpha * Math.exp(eta[i]);
    ll += lnGammaDiff(size, y[i]) + y[i] * (lnAlpha + eta[i]) - (size + y[i]) * Math.log1p(am);
  }
  return ll;
}

/** the row weights of the derivatives (see the header), and sums = [ℓ (rows summed onto the constant), ∂ℓ/∂θ, ∂²ℓ/∂θ²] */
function nb2Weights(
  y: Float64Array,
  eta: Float64Array,
  lnAlpha: number,
  n: number,
  constant: number,
  score: Float64Array,
  crossWeight: Float64Array,
  weight: Float64Array,
  differences: Float64Array,
  sums: Float64Array,
): void {
  const alpha = Math.exp(lnAlpha);
  const size = 1 / alpha;
  let ll = constant;
  let gTheta = 0;
  let hThetaTheta = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    const mu = Math.exp(eta[i]);
    const am = alpha * mu;
    const log1pAm = Math.log1p(am);
    gammaDifferences(size, yi, differences);
    const d1 = differences[1];
    ll += differences[0] + yi * (lnAlpha + eta[i]) - (size + yi) * log1pAm;
    const inv = 1 / (1 + am);
    const s = (yi - mu) * inv;
    const cross = -(yi - mu) * am * inv * inv;
    gTheta += size * (log1pAm - d1) + s;
    hThetaTheta += size * (d1 - log1pAm) + mu * inv + differences[2] + cross;
    score[i] = s;
    crossWeight[i] = cross;
    weight[i] = -mu * (1 + alpha * yi) * inv * inv;
  }
  sums[0] = ll;
  sums[1] = gTheta;
  sums[2] = hThetaTheta;
}

/** the optimiser may not leave this range of ln α (beyond it the likelihood is flat to double precision) */
const MAX_LN_ALPHA = 50;
const MIN_LN_ALPHA = -50;
