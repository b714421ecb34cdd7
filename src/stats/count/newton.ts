// Newton-Raphson maximisation with step-halving and a Levenberg-Marquardt correction where the Hessian is not
// negative definite (Nocedal & Wright 2006, §3.4 "Newton's method with Hessian modification"; cf. Stata's ml "not concave").
import { cholesky, choleskySolve } from './matrix.js';
import type { Objective } from './objective.js';

export interface NewtonOptions {
  maxIterations: number;
  /** relative change in log-likelihood, |Δℓ| / (1 + |ℓ|) */
  tolerance: number;
  /** scaled gradient g'(-H)⁻¹g (Stata's nrtolerance criterion) */
  gradientTolerance: number;
  /** called after each accepted step; returning a string stops the iteration with that warning */
  monitor?: (theta: Float64Array, loglik: number) => string | undefined;
}

export interface NewtonResult {
  theta: Float64Array;
  loglik: number;
  gradient: Float64Array;
  /** Hessian of ℓ at theta, row-major */
  hessian: Float64Array;
  iterations: number;
  converged: boolean;
  loglikChange: number;
  scaledGradient: number;
  /** true when the final Hessian was not negative definite */
  notConcave: boolean;
  warnings: string[];
}

const MAX_HALVINGS = 60;
/** a step may change a linear index by at most this much (a factor e^10 in a mean); far from the maximum a full Newton
 * step can otherwise jump onto a plateau of the likelihood (HHG's limit at constant = +∞) and stall there */
const MAX_REACH = 10;
/** relative size of the rounding noise in a log-likelihood */
const ROUNDING = 1e-13;

/** Cholesky of -H, or of -H + τ·diag(max(|H_jj|, 1e-12·max)) with the smallest τ = 10^k·1e-8 that makes it positive definite. */
export function ascentDirection(
  hessian: Float64Array,
  gradient: Float64Array,
  dim: number,
): { direction: Float64Array; concave: boolean; scaledGradient: number } {
  const information = new Float64Array(dim * dim);
  for (let a = 0; a < dim * dim; a++) information[a] = -1 * hessian[a];
  let chol = cholesky(information, dim);
  const concave = chol.positiveDefinite;
  if (concave) {
    const direction = choleskySolve(chol, gradient);
    return { direction, concave, scaledGradient: dot(direction, gradient) };
  }
  let maxDiag = 0;
  for (let a = 0; a < dim; a++) maxDiag = Math.max(maxDiag, Math.abs(hessian[a * dim + a]));
  const floor = Math.max(maxDiag * 1e-12, 1e-300);
  for (let tau = 1e-8; tau < 1e12; tau *= 10) {
    const damped = Float64Array.from(information);
    for (let a = 0; a < dim; a++) damped[a * dim + a] = information[a * dim + a] + tau * Math.max(Math.abs(hessian[a * dim + a]), floor);
    chol = cholesky(damped, dim);
    if (chol.positiveDefinite) {
      const direction = choleskySolve(chol, gradient);
      return { direction, concave: false, scaledGradient: dot(direction, gradient) };
    }
  }
  // a Hessian with non-finite entries: fall back to steepest ascent scaled by the diagonal
  const direction = Float64Array.from(gradient, (v, a) => v / Math.max(Math.abs(hessian[a * dim + a]), 1));
  return { direction, concave: false, scaledGradient: dot(direction, gradient) };
}

function allFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function maximize(objective: Objective, start: Float64Array, options: NewtonOptions): NewtonResult {
  const dim = objective.dim;
  let theta = Float64Array.from(start);
  const gradient = new Float64Array(dim);
  const hessian = new Float64Array(dim * dim);
  const warnings: string[] = [];
  let loglik = objective.derivatives(theta, gradient, hessian);
  if (!Number.isFinite(loglik) || !allFinite(gradient) || !allFinite(hessian)) {
    return { theta, loglik, gradient, hessian, iterations: 0, converged: false, loglikChange: NaN, scaledGradient: NaN, notConcave: true, warnings: ['the log-likelihood is not finite at the start values'] };
  }
  let loglikChange = Infinity;
  let iterations = 0;
  let converged = false;
  let step = ascentDirection(hessian, gradient, dim);
  while (iterations < options.maxIterations) {
    if (step.concave && step.scaledGradient < options.gradientTolerance && loglikChange < options.tolerance) {
      converged = true;
      break;
    }
    // step-halving line search: accept the first step that does not lower ℓ; a NaN ℓ (exp overflow) or non-finite
    // derivatives reject it. Near the maximum the predicted gain (scaled gradient / 2) falls below the rounding noise
    // of a sum over n terms, so a step that "lowers" ℓ by rounding alone is accepted.
    const noise = ROUNDING * (1 + Math.abs(loglik));
    const reach = objective.stepReach(step.direction);
    let size = reach > MAX_REACH ? MAX_REACH / reach : 1;
    const candidate = new Float64Array(dim);
    const candidateGradient = new Float64Array(dim);
    const candidateHessian = new Float64Array(dim * dim);
    let candidateLoglik = NaN;
    let accepted = false;
    for (let halvings = 0; halvings <= MAX_HALVINGS && !accepted; halvings++, size /= 2) {
      for (let a = 0; a < dim; a++) candidate[a] = theta[a] + size * step.direction[a];
      // the full step is usually accepted: evaluate its derivatives at once; shorter steps are screened by ℓ alone
      if (halvings > 0) {
        candidateLoglik = objective.loglik(candidate);
        if (!(candidateLoglik >= loglik - noise)) continue;
      }
      candidateLoglik = objective.derivatives(candidate, candidateGradient, candidateHessian);
      accepted = candidateLoglik >= loglik - noise && allFinite(candidateGradient) && allFinite(candidateHessian);
    }
    if (!accepted) {
      // no ascent possible along the direction: at the optimum to rounding error, or stuck
      if (step.concave && step.scaledGradient < Math.max(options.gradientTolerance, 1e-10)) converged = true;
      else warnings.push(`line search failed at iteration ${iterations + 1} (no step along the Newton direction raises the log-likelihood)`);
      break;
    }
    iterations++;
    loglikChange = Math.abs(candidateLoglik - loglik) / (1 + Math.abs(loglik));
    theta = Float64Array.from(candidate);
    gradient.set(candidateGradient);
    hessian.set(candidateHessian);
    loglik = candidateLoglik;
    step = ascentDirection(hessian, gradient, dim);
    const stop = options.monitor?.(theta, loglik);
    if (stop !== undefined) {
      warnings.push(stop);
      break;
    }
  }
  if (!converged && iterations >= options.maxIterations) {
    warnings.push(`no convergence after ${iterations} iterations (relative change in log-likelihood ${loglikChange.toExponential(2)}, scaled gradient ${step.scaledGradient.toExponential(2)})`);
  }
  if (!step.concave) warnings.push('the Hessian is not negative definite at the final point: standard errors are not valid');
  return { theta, loglik, gradient, hessian, iterations, converged: converged && step.concave, loglikChange, scaledGradient: step.scaledGradient, notConcave: !step.concave, warnings };
}
