// Pooled NB2 negative binomial, Var(y) = μ + αμ², parameters (β, ln α) (Cameron & Trivedi 2013, eq. 3.26; Stata nbreg):
//   ln L = Σ [ln Γ(y + r) - ln Γ(r) - ln Γ(y + 1) + y ln(αμ) - (r + y) ln(1 + αμ)],  r = 1/α, μ = exp(x'β + offset).
// Derivatives (θ = ln α, D1 = ψ(y + r) - ψ(r), D2 = ψ'(y + r) - ψ'(r)):
//   ∂/∂η = (y - μ)/(1 + αμ);  ∂/∂θ = r[ln(1 + αμ) - D1] + (y - μ)/(1 + αμ);
//   ∂²/∂η² = -μ(1 + αy)/(1 + αμ)²;  ∂²/∂η∂θ = -(y - μ)αμ/(1 + αμ)²;
//   ∂²/∂θ² = r[D1 - ln(1 + αμ)] + μ/(1 + αμ) + r² D2 - (y - μ)αμ/(1 + αμ)².
import { gammaDifferences, lnGamma, lnGammaDiff } from '../special-functions.js';
import { linearIndex, linearIndexReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

/** ln α below which the model is Poisson for every practical purpose (α < 2e-9) */
export const LN_ALPHA_FLOOR = -20;

export function nb2Objective(data: PreparedData): Objective {
  const { n, p, y, rows } = data;
  const { rowStart, colIndex, values } = rows;
  const dim = p + 1;
  const eta = new Float64Array(n);
  /** ∂²ℓ/∂β∂θ */
  const crossColumn = new Float64Array(p);
  const differences = new Float64Array(3);
  let constant = 0;
  for (let r = 0; r < n; r++) constant -= lnGamma(y[r] + 1);

  function loglik(theta: Float64Array): number {
    const lnAlpha = theta[p];
    if (!(lnAlpha <= MAX_LN_ALPHA && lnAlpha >= MIN_LN_ALPHA)) return NaN;
    if (!linearIndex(data, theta, eta)) return NaN;
    const alpha = Math.exp(lnAlpha);
    const size = 1 / alpha;
    let ll = constant;
    for (let i = 0; i < n; i++) {
      const am = alpha * Math.exp(eta[i]);
      ll += lnGammaDiff(size, y[i]) + y[i] * (lnAlpha + eta[i]) - (size + y[i]) * Math.log1p(am);
    }
    return ll;
  }

  function derivatives(theta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    const lnAlpha = theta[p];
    if (!(lnAlpha <= MAX_LN_ALPHA && lnAlpha >= MIN_LN_ALPHA)) return NaN;
    if (!linearIndex(data, theta, eta)) return NaN;
    const alpha = Math.exp(lnAlpha);
    const size = 1 / alpha;
    let ll = constant;
    let gTheta = 0;
    let hThetaTheta = 0;
    const last = p * dim;
    crossColumn.fill(0);
    for (let i = 0; i < n; i++) {
      const yi = y[i];
      const mu = Math.exp(eta[i]);
      const am = alpha * mu;
      const log1pAm = Math.log1p(am);
      gammaDifferences(size, yi, differences);
      const d1 = differences[1];
      ll += differences[0] + yi * (lnAlpha + eta[i]) - (size + yi) * log1pAm;
      const inv = 1 / (1 + am);
      const score = (yi - mu) * inv;
      const cross = -(yi - mu) * am * inv * inv;
      gTheta += size * (log1pAm - d1) + score;
      hThetaTheta += size * (d1 - log1pAm) + mu * inv + differences[2] + cross;
      const weight = -mu * (1 + alpha * yi) * inv * inv;
      // one pass over the row's nonzeros: gradient += score·x, ∂²ℓ/∂β∂θ += cross·x, H += weight·x x' (upper triangle)
      const end = rowStart[i + 1];
      for (let k = rowStart[i]; k < end; k++) {
        const v = values[k];
        const c = colIndex[k];
        gradient[c] += score * v;
        crossColumn[c] += cross * v;
        const wa = weight * v;
        const row = c * dim;
        for (let j = k; j < end; j++) hessian[row + colIndex[j]] += wa * values[j];
      }
    }
    for (let c = 0; c < p; c++) hessian[c * dim + p] = crossColumn[c];
    gradient[p] = gTheta;
    hessian[last + p] = hThetaTheta;
    symmetrize(hessian, dim);
    return ll;
  }

  return { dim, loglik, derivatives, stepReach: (direction) => linearIndexReach(data, direction) };
}

/** the optimiser may not leave this range of ln α (beyond it the likelihood is flat to double precision) */
const MAX_LN_ALPHA = 50;
const MIN_LN_ALPHA = -50;
