// fitCountModel: prepares the design, chooses start values, maximises the likelihood, and reports the fit with
// observed-information standard errors (the inverse of minus the analytic Hessian at the maximum).
import { cholesky, choleskyInverse, choleskySolve } from './matrix.js';
import { SpillwayError } from '../../errors.js';
import { twoSidedP, Z_975 } from '../special-functions.js';
import { fePoissonObjective } from './fe-poisson.js';
import { hhgConstantStart, hhgObjective } from './hhg.js';
import { splitLinearIndex } from './objective.js';
import { maximize, type NewtonOptions, type NewtonResult } from './newton.js';
import { LN_ALPHA_FLOOR, nb2Objective } from './nb2.js';
import { poissonObjective } from './poisson.js';
import { CONSTANT, prepare, type PreparedData } from './prepare.js';
import type { CountDesign, FitOptions, FitResult, PackedCountDesign } from './types.js';

export const DEFAULTS = { maxIterations: 200, tolerance: 1e-12, gradientTolerance: 1e-16 } as const;

function newtonOptions(options: FitOptions): NewtonOptions {
  return {
    maxIterations: options.maxIterations ?? DEFAULTS.maxIterations,
    tolerance: options.tolerance ?? DEFAULTS.tolerance,
    gradientTolerance: options.gradientTolerance ?? DEFAULTS.gradientTolerance,
  };
}

/** The caller's start values (FitOptions.start) for the kept columns `columns` (default all), 0 where not given. */
function startValues(data: PreparedData, start: FitOptions['start'], columns?: number[]): Float64Array {
  const used = columns ?? data.names.map((_, c) => c);
  const values = new Float64Array(used.length);
  if (start) {
    used.forEach((c, k) => {
      if (!Object.hasOwn(start, data.names[c])) return;
      const value = start[data.names[c]];
      if (!Number.isFinite(value)) throw new SpillwayError('usage', `start value ${String(value)} for ${data.names[c]} is not a finite number`, { field: data.names[c] });
      values[k] = value;
    });
  }
  return values;
}

/** Maximum of the conditional FE Poisson likelihood on the given data (slopes and log-likelihood). */
function fitFePoisson(data: PreparedData, options: NewtonOptions, columns?: number[], start?: FitOptions['start']): NewtonResult {
  return maximize(fePoissonObjective(data, columns), startValues(data, start, columns), options);
}

function fitPooledPoisson(data: PreparedData, options: NewtonOptions, warm?: FitOptions['start']): NewtonResult {
  if (warm) return maximize(poissonObjective(data), startValues(data, warm), options);
  const start = new Float64Array(data.p);
  const cons = data.names.indexOf(CONSTANT);
  if (cons >= 0) {
    let sy = 0;
    let so = 0;
    for (let r = 0; r < data.n; r++) {
      sy += data.y[r];
      so += Math.exp(data.offset[r]);
    }
    start[cons] = Math.log(Math.max(sy, 0.5) / so);
  }
  return maximize(poissonObjective(data), start, options);
}

function fitNb2(data: PreparedData, options: NewtonOptions, warm?: FitOptions['start']): { run: NewtonResult; warnings: string[] } {
  const poisson = fitPooledPoisson(data, { ...options, maxIterations: 50, tolerance: 1e-8, gradientTolerance: 1e-8 }, warm);
  // start ln α from the moment estimate Σ[(y-μ)² - y] / Σ μ² (Cameron & Trivedi 2013, §3.2.4), floored at 0.01
  const eta = new Float64Array(data.n);
  splitLinearIndex(data.split, data.offset, poisson.theta, eta);
  let num = 0;
  let den = 0;
  for (let r = 0; r < data.n; r++) {
    const mu = Math.exp(eta[r]);
    num += (data.y[r] - mu) ** 2 - data.y[r];
    den += mu * mu;
  }
  const alpha0 = Number.isFinite(num / den) ? Math.max(num / den, 0.01) : 0.1;
  const start = new Float64Array(data.p + 1);
  start.set(Number.isFinite(poisson.loglik) ? poisson.theta : new Float64Array(data.p));
  start[data.p] = Math.log(alpha0);
  const run = maximize(nb2Objective(data), start, {
    ...options,
    monitor: (theta) => (theta[data.p] < LN_ALPHA_FLOOR ? `ln(alpha) fell below ${LN_ALPHA_FLOOR}` : undefined),
  });
  const warnings: string[] = [];
  if (run.theta[data.p] < LN_ALPHA_FLOOR + 5) {
    warnings.push('flat likelihood: alpha → 0 (no overdispersion); NB2 reduces to Poisson and ln(alpha) is not identified');
    run.converged = false;
  }
  return { run, warnings };
}

function fitHhg(data: PreparedData, options: NewtonOptions, warm?: FitOptions['start']): { run: NewtonResult; warnings: string[]; poissonLoglik: number } {
  // As the constant → +∞ the HHG likelihood tends to the conditional FE Poisson one (the time-invariant columns
  // drop out), so the FE Poisson maximum ℓ_P bounds the likelihood "at infinity": an HHG maximum not above it is flat.
  const varying = data.names.map((_, c) => c).filter((c) => data.variesWithinGroups[c]);
  let poissonLoglik: number;
  const start = new Float64Array(data.p);
  if (varying.length > 0) {
    // Start values need no more than a scaled gradient s = g'(-H)⁻¹g below 1e-8 (Newton converges quadratically, so that
    // saves the last one or two evaluations of the derivatives). ℓ_P is then the value there plus the gain Newton's
    // quadratic model predicts for the next step, s/2 (the FE Poisson likelihood is concave): what is left is third
    // order, about s^1.5 ≈ 1e-12, against ≈ s/2 ≈ 5e-9 without it.
    const poisson = fitFePoisson(data, { ...options, tolerance: 1, gradientTolerance: 1e-8 }, varying, warm);
    poissonLoglik = poisson.loglik + (poisson.converged ? poisson.scaledGradient / 2 : 0);
    varying.forEach((c, k) => (start[c] = poisson.theta[k]));
    const cons = data.names.indexOf(CONSTANT);
    if (cons >= 0 && !warm) start[cons] = hhgConstantStart(data, start, cons);
  } else {
    poissonLoglik = fePoissonObjective(data, []).loglik(new Float64Array(0));
  }
  const run = maximize(hhgObjective(data), start, options);
  const warnings: string[] = [];
  if (run.loglik <= poissonLoglik + 1e-8 * (1 + Math.abs(poissonLoglik))) {
    warnings.push(
      `flat likelihood: the HHG log-likelihood rises towards its limit at constant = +infinity (${poissonLoglik.toFixed(6)}, the conditional FE Poisson maximum) without an interior maximum, i.e. the data show no overdispersion within groups; the reported coefficients are not estimates — fit fe-poisson instead`,
    );
    run.converged = false;
  }
  return { run, warnings, poissonLoglik };
}

/**
 * Near-flat HHG likelihood: an interior maximum exists, but the data barely tell it from the limit at constant = +∞
 * (the conditional FE Poisson model). Three indicators, each computed differently, vote; two of three flag the fit:
 *  - gap: 2(ℓ_HHG − ℓ_P) below NEAR_FLAT.lr (the likelihood values: the whole climb from the limit is negligible);
 *  - curvature: the constant's SE above NEAR_FLAT.constantSe (the Hessian: near the limit 2(ℓ − ℓ_P) ≈ 1/se(_cons)²,
 *    so this is the same distance measured by the curvature instead of the values); absent without _cons;
 *  - λ size: the implied within-group overdispersion κ = ΣY/ΣΛ (HHG: Var/E = 1 + 1/δ_i, 1/δ_i ≈ Y_i/Λ_i) below
 *    NEAR_FLAT.overdispersion (the fitted λ are so large that the model is Poisson for practical purposes).
 * On the seed-16 synthetic data (test/stats/count/fixtures), model 5 has (0.0007, 37.9, 0.004) and model 6
 * (0.114, 3.09, 0.054): each a factor 2.5-14 from the thresholds, on opposite sides.
 */
export const NEAR_FLAT = { lr: 0.01, constantSe: 10, overdispersion: 0.01 } as const;

function hhgIdentification(data: PreparedData, run: NewtonResult, poissonLoglik: number, constantSe: number | null): NonNullable<FitResult['identification']> {
  const lr = 2 * (run.loglik - poissonLoglik);
  const eta = new Float64Array(data.n);
  splitLinearIndex(data.split, data.offset, run.theta, eta);
  let sumY = 0;
  let sumLambda = 0;
  for (let r = 0; r < data.n; r++) {
    sumY += data.y[r];
    sumLambda += Math.exp(eta[r]);
  }
  const overdispersion = sumY / sumLambda;
  return { fe_poisson_loglik: poissonLoglik, ...nearFlatVerdict(lr, constantSe, overdispersion) };
}

/** The vote of the three near-flat indicators (see NEAR_FLAT); a missing constant SE (no _cons) abstains. */
export function nearFlatVerdict(lr: number, constantSe: number | null, overdispersion: number): Omit<NonNullable<FitResult['identification']>, 'fe_poisson_loglik'> {
  const indicators = {
    gap: lr < NEAR_FLAT.lr,
    curvature: constantSe === null ? null : !(constantSe <= NEAR_FLAT.constantSe),
    lambda: overdispersion < NEAR_FLAT.overdispersion,
  };
  const votes = [indicators.gap, indicators.curvature, indicators.lambda].filter((v) => v === true).length;
  return {
    near_flat: votes >= 2,
    lr_vs_fe_poisson: lr,
    constant_se: constantSe,
    implied_overdispersion: overdispersion,
    indicators,
    thresholds: { ...NEAR_FLAT },
  };
}

/** Fits a count-panel model (hhg-fenb, fe-poisson, nb2); see docs/estimators.md. */
export function fitCountModel(design: CountDesign | PackedCountDesign, options: FitOptions): FitResult {
  const data = prepare(design, options);
  const newton = newtonOptions(options);
  let run: NewtonResult;
  let poissonLimit: number | undefined;
  const warnings = [...data.warnings];
  if (options.model === 'fe-poisson') {
    run = fitFePoisson(data, newton, undefined, options.start);
  } else if (options.model === 'hhg-fenb') {
    const fit = fitHhg(data, newton, options.start);
    run = fit.run;
    poissonLimit = fit.poissonLoglik;
    warnings.push(...fit.warnings);
  } else if (options.model === 'nb2') {
    const fit = fitNb2(data, newton, options.start);
    run = fit.run;
    warnings.push(...fit.warnings);
  } else {
    throw new SpillwayError('usage', `unknown count model "${String(options.model)}"`, { expected: 'hhg-fenb, fe-poisson or nb2' });
  }
  if (!Number.isFinite(run.loglik)) {
    throw new SpillwayError('notConverged', `${options.model}: the log-likelihood is not finite at the start values`, {
      hint: 'check the scale of the regressors and the offset (exp(x\'b + offset) overflows)',
    });
  }
  warnings.push(...run.warnings);
  const result = buildResult(options.model, data, run, warnings);
  if (poissonLimit !== undefined && run.converged) {
    const se = result.se[CONSTANT];
    const id = hhgIdentification(data, run, poissonLimit, se === undefined ? null : Number.isFinite(se) ? se : Infinity);
    result.identification = id;
    if (id.near_flat) {
      const seText = id.constant_se === null ? 'no _cons' : `se(_cons) = ${id.constant_se.toPrecision(3)}`;
      result.warnings.push(
        `near-flat likelihood: the HHG maximum is barely above its limit at constant = +infinity, the conditional FE Poisson fit on the same rows (2·Δlog L = ${id.lr_vs_fe_poisson.toPrecision(2)}, ${seText}, implied overdispersion ${id.implied_overdispersion.toPrecision(2)}); the constant is not identified and the slopes are close to fe-poisson's — read it as a Poisson model`,
      );
    }
  }
  return result;
}

function buildResult(model: FitOptions['model'], data: PreparedData, run: NewtonResult, warnings: string[]): FitResult {
  const dim = run.theta.length;
  const information = new Float64Array(dim * dim);
  for (let a = 0; a < dim * dim; a++) information[a] = -run.hessian[a];
  // the observed information is positive definite where Newton ended concave: invert it through its Cholesky factor
  let covariance: Float64Array | null = null;
  if (!run.notConcave) {
    const factor = cholesky(information, dim);
    if (factor.positiveDefinite) covariance = choleskyInverse(factor);
  }
  if (covariance === null) warnings.push('the observed information is not invertible: standard errors are unavailable');
  const variance = (a: number): number => (covariance ? covariance[a * dim + a] : NaN);

  const coef: Record<string, number> = {};
  const se: Record<string, number> = {};
  const z: Record<string, number> = {};
  const p: Record<string, number> = {};
  const ci95: Record<string, [number, number]> = {};
  data.names.forEach((name, c) => {
    const b = run.theta[c];
    const s = Math.sqrt(variance(c));
    // own properties: `coef[name] = b` with a column named __proto__ would set no key, and its coefficient would vanish
    defineOwn(coef, name, b);
    defineOwn(se, name, s);
    defineOwn(z, name, b / s);
    defineOwn(p, name, twoSidedP(b / s));
    defineOwn(ci95, name, [b - Z_975 * s, b + Z_975 * s]);
  });
  const ancillary: Record<string, number> = {};
  if (model === 'nb2') {
    const lnAlpha = run.theta[data.p];
    const seLnAlpha = Math.sqrt(variance(data.p));
    ancillary.lnalpha = lnAlpha;
    ancillary.se_lnalpha = seLnAlpha;
    ancillary.alpha = Math.exp(lnAlpha);
    ancillary.se_alpha = Math.exp(lnAlpha) * seLnAlpha;
  }
  const matrix = data.names.map((_, a) => data.names.map((__, b) => (covariance ? covariance[a * dim + b] : NaN)));
  const k = dim;
  const result: FitResult = {
    model,
    coef,
    se,
    z,
    p,
    ci95,
    ancillary,
    vcov: { names: [...data.names], matrix },
    loglik: run.loglik,
    aic: -2 * run.loglik + 2 * k,
    bic: -2 * run.loglik + k * Math.log(data.n),
    n: data.n,
    groups: data.groups,
    dropped_groups: data.droppedGroups,
    dropped_observations: data.droppedObservations,
    dropped_columns: data.droppedColumns,
    iterations: run.iterations,
    converged: run.converged,
    convergence: { loglik_change: run.loglikChange, gradient_norm: run.scaledGradient },
    warnings,
  };
  const wald = waldTest(data, covariance, dim, run.theta);
  if (wald) result.wald = wald;
  return result;
}

/** Sets `record[key] = value` as an own enumerable property, also for a key such as `__proto__`. */
function defineOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Wald χ² that every coefficient except _cons is zero, b'V⁻¹b (Stata's header "Wald chi2(df)"), by a Cholesky solve. */
function waldTest(data: PreparedData, covariance: Float64Array | null, dim: number, theta: Float64Array): FitResult['wald'] | undefined {
  if (!covariance) return undefined;
  const slopes = data.names.map((_, c) => c).filter((c) => data.names[c] !== CONSTANT);
  if (slopes.length === 0) return undefined;
  const m = slopes.length;
  const sub = new Float64Array(m * m);
  slopes.forEach((a, i) => slopes.forEach((b, j) => (sub[i * m + j] = covariance[a * dim + b])));
  const factor = cholesky(sub, m);
  if (!factor.positiveDefinite) return undefined;
  const solved = choleskySolve(factor, slopes.map((c) => theta[c]));
  const chi2 = slopes.reduce((sum, c, k) => sum + theta[c] * solved[k], 0);
  return { chi2, df: slopes.length };
}
