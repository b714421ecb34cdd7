// Conditional fixed-effects negative binomial of Hausman, Hall & Griliches (1984, Econometrica 52, eq. 3.10 ff.), as in
// Stata's `xtnbreg, fe` ([XT] xtnbreg, Methods and formulas) and R's pglm (family = negbin, model = "within"):
//   ln L_i = ln Γ(Λ_i) + ln Γ(Y_i + 1) - ln Γ(Λ_i + Y_i) + Σ_t [ln Γ(λ_it + y_it) - ln Γ(λ_it) - ln Γ(y_it + 1)],
// λ_it = exp(x_it'β + offset_it), Λ_i = Σ_t λ_it, Y_i = Σ_t y_it. Gradient and Hessian are analytic (digamma/trigamma).
import { gammaDifferences, lnFactorial, lnGammaDiff } from '../special-functions.js';
import { addGroupOuter, addWeighted, kernelSpace, MAX_LINEAR_INDEX, splitLinearIndex, splitReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

export function hhgObjective(data: PreparedData): Objective {
  const { n, p, y, offset, groupStart, groupTotal, split } = data;
  const G = groupStart.length - 1;
  const lambda = new Float64Array(n);
  /** per row: ∂ℓ/∂η, ∂²ℓ/∂η² without the group term, and λ/Λ (the row's share of its group's x̄ = Σ_t λ_t x_t / Λ) */
  const first = new Float64Array(n);
  const second = new Float64Array(n);
  const share = new Float64Array(n);
  /** per group: Λ²[ψ'(Λ + Y) - ψ'(Λ)], which multiplies x̄x̄' */
  const groupSecond = new Float64Array(G);
  /** [ln Γ(a+y) - ln Γ(a), ψ(a+y) - ψ(a), a²(ψ′(a+y) - ψ′(a))] */
  const differences = new Float64Array(3);
  kernelSpace(split, G); // room for the group sums from the start (else a second space on the first derivatives)
  // the terms that do not depend on β: Σ_i [ln Γ(Y_i + 1) - Σ_t ln Γ(y_it + 1)]
  let constant = 0;
  for (let g = 0; g < G; g++) constant += lnFactorial(groupTotal[g]);
  for (let r = 0; r < n; r++) constant -= lnFactorial(y[r]);

  function loglik(beta: Float64Array): number {
    if (!splitLinearIndex(split, offset, beta, lambda)) return NaN;
    return constant + hhgValue(groupStart, groupTotal, y, lambda);
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    if (!splitLinearIndex(split, offset, beta, lambda)) return NaN;
    // gradient = Σ first·x, H = Σ second·x x' + Σ_g groupSecond·x̄x̄'
    const ll = constant + hhgWeights(groupStart, groupTotal, y, lambda, first, second, share, groupSecond, differences);
    addWeighted(split, first, second, gradient, hessian, p);
    addGroupOuter(split, groupStart, share, groupSecond, hessian, p);
    symmetrize(hessian, p);
    return ll;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => splitReach(split, direction) };
}

/**
 * A start for the constant (column `cons`) given the other coefficients of `beta` (whose entry `cons` is ignored): the
 * HHG maximum along the constant alone, by one-dimensional Newton steps that need only the row weights (the constant's
 * gradient Σ first and curvature Σ second + Σ groupSecond, x̄ = 1), not X'WX. Returns 0 (the plain start) unless
 * those steps converge within a few iterations: on a flat or near-flat likelihood the optimum runs off to +∞.
 */
export function hhgConstantStart(data: PreparedData, beta: Float64Array, cons: number): number {
  const { n, y, offset, groupStart, groupTotal, split } = data;
  const G = groupStart.length - 1;
  kernelSpace(split, G); // the space hhgObjective uses next
  const without = Float64Array.from(beta);
  without[cons] = 0;
  const base = new Float64Array(n);
  if (!splitLinearIndex(split, offset, without, base)) return 0;
  const lambda = new Float64Array(n);
  const first = new Float64Array(n);
  const second = new Float64Array(n);
  const share = new Float64Array(n);
  const groupSecond = new Float64Array(G);
  const differences = new Float64Array(3);
  const curve = new Float64Array(2);
  let c = 0;
  let ll = NaN;
  for (let iteration = 0; iteration < 8; iteration++) {
    const value = constantCurve(base, c, groupStart, groupTotal, y, lambda, first, second, share, groupSecond, differences, curve);
    if (!Number.isFinite(value)) return 0;
    if (value < ll) return 0; // the step lowered ℓ: not the well-behaved case
    ll = value;
    const [g, h] = curve;
    if (!(h < 0)) return 0;
    const step = -g / h;
    if (-g * step / 2 < 1e-6 * (1 + Math.abs(ll))) return c + step; // the predicted gain is negligible
    if (Math.abs(step) > 5) return 0;
    c += step;
  }
  return 0;
}

/** ℓ (without the constant terms) at η = base + c, and the constant's gradient and curvature into curve */
function constantCurve(
  base: Float64Array,
  c: number,
  groupStart: Int32Array,
  groupTotal: Float64Array,
  y: Float64Array,
  lambda: Float64Array,
  first: Float64Array,
  second: Float64Array,
  share: Float64Array,
  groupSecond: Float64Array,
  differences: Float64Array,
  curve: Float64Array,
): number {
  if (!shifted(base, c, lambda)) return NaN;
  const ll = hhgWeights(groupStart, groupTotal, y, lambda, first, second, share, groupSecond, differences);
  curve[0] = total(first);
  curve[1] = total(second) + total(groupSecond);
  return ll;
}

function shifted(base: Float64Array, c: number, out: Float64Array): boolean {
  let ok = true;
  for (let r = 0; r < base.length; r++) {
    const v = base[r] + c;
    out[r] = v;
    if (!(v <= MAX_LINEAR_INDEX)) ok = false;
  }
  return ok;
}

function total(x: Float64Array): number {
  let s = 0;
  for (let r = 0; r < x.length; r++) s += x[r];
  return s;
}

// The two row loops, each in its own function (see the note on kernels in objective.ts).

/** Σ_i [Σ_t (ln Γ(λ+y) - ln Γ(λ)) - (ln Γ(Λ+Y) - ln Γ(Λ))], λ = exp(η) */
function hhgValue(groupStart: Int32Array, groupTotal: Float64Array, y: Float64Array, eta: Float64Array): number {
  const G = groupStart.length - 1;
  let ll = 0;
  for (let g = 0; g < G; g++) {
    let total = 0;
    for (let r = groupStart[g]; r < groupStart[g + 1]; r++) {
      const l = Math.exp(eta[r]);
      total += l;
      ll += lnGammaDiff(l, y[r]);
    }
    ll -= lnGammaDiff(total, groupTotal[g]);
  }
  return ll;
}

/**
 * The same sum, turning η into λ = exp(η) and filling the weights of the derivatives: per row ∂ℓ/∂η (first), ∂²ℓ/∂η²
 * without the group term (second) and λ/Λ (share: x̄ = Σ_t λ_t x_t / Λ), per group Λ²[ψ'(Λ + Y) - ψ'(Λ)] (groupSecond).
 */
function hhgWeights(
  groupStart: Int32Array,
  groupTotal: Float64Array,
  y: Float64Array,
  lambda: Float64Array,
  first: Float64Array,
  second: Float64Array,
  share: Float64Array,
  groupSecond: Float64Array,
  differences: Float64Array,
): number {
  const G = groupStart.length - 1;
  let ll = 0;
  for (let g = 0; g < G; g++) {
    const from = groupStart[g];
    const to = groupStart[g + 1];
    let total = 0;
    for (let r = from; r < to; r++) {
      const l = Math.exp(lambda[r]);
      lambda[r] = l;
      total += l;
    }
    // ψ(Λ) - ψ(Λ + Y), and Λ²[ψ'(Λ) - ψ'(Λ + Y)] which multiplies x̄x̄', x̄ = Σ_t λ_t x_t / Λ (finite for tiny Λ)
    gammaDifferences(total, groupTotal[g], differences);
    ll -= differences[0];
    const groupFirst = -differences[1];
    groupSecond[g] = -differences[2];
    for (let r = from; r < to; r++) {
      const l = lambda[r];
      gammaDifferences(l, y[r], differences);
      ll += differences[0];
      const f = l * (groupFirst + differences[1]);
      first[r] = f;
      second[r] = f + differences[2];
      share[r] = l / total;
    }
  }
  return ll;
}
