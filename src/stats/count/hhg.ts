// Conditional fixed-effects negative binomial of Hausman, Hall & Griliches (1984, Econometrica 52, eq. 3.10 ff.), as in
// Stata's `xtnbreg, fe` ([XT] xtnbreg, Methods and formulas) and R's pglm (family = negbin, model = "within"):
//   ln L_i = ln Γ(Λ_i) + ln Γ(Y_i + 1) - ln Γ(Λ_i + Y_i) + Σ_t [ln Γ(λ_it + y_it) - ln Γ(λ_it) - ln Γ(y_it + 1)],
// λ_it = exp(x_it'β + offset_it), Λ_i = Σ_t λ_it, Y_i = Σ_t y_it. Gradient and Hessian are analytic (digamma/trigamma).
import { gammaDifferences, lnGamma, lnGammaDiff } from '../special-functions.js';
import { addDenseOuter, linearIndex, linearIndexReach, symmetrize, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

export function hhgObjective(data: PreparedData): Objective {
  const { n, p, y, groupStart, groupTotal, rows } = data;
  const { rowStart, colIndex, values } = rows;
  const G = groupStart.length - 1;
  const lambda = new Float64Array(n);
  /** x̄ = Σ_t λ_t x_t / Λ of the current group */
  const groupScore = new Float64Array(p);
  /** [ln Γ(a+y) - ln Γ(a), ψ(a+y) - ψ(a), a²(ψ′(a+y) - ψ′(a))] */
  const differences = new Float64Array(3);
  // the terms that do not depend on β: Σ_i [ln Γ(Y_i + 1) - Σ_t ln Γ(y_it + 1)]
  let constant = 0;
  for (let g = 0; g < G; g++) constant += lnGamma(groupTotal[g] + 1);
  for (let r = 0; r < n; r++) constant -= lnGamma(y[r] + 1);

  function loglik(beta: Float64Array): number {
    if (!linearIndex(data, beta, lambda)) return NaN;
    let ll = constant;
    for (let g = 0; g < G; g++) {
      let total = 0;
      for (let r = groupStart[g]; r < groupStart[g + 1]; r++) {
        const l = Math.exp(lambda[r]);
        total += l;
        ll += lnGammaDiff(l, y[r]);
      }
      ll -= lnGammaDiff(total, groupTotal[g]);
    }
    return ll;
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    if (!linearIndex(data, beta, lambda)) return NaN;
    let ll = constant;
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
      const groupSecond = -differences[2];
      groupScore.fill(0);
      for (let r = from; r < to; r++) {
        const l = lambda[r];
        gammaDifferences(l, y[r], differences);
        ll += differences[0];
        const first = l * (groupFirst + differences[1]);
        const second = first + differences[2];
        const share = l / total;
        // one pass over the row's nonzeros: gradient += first·x, x̄ += (λ/Λ)·x, H += second·x x' (upper triangle)
        const end = rowStart[r + 1];
        for (let i = rowStart[r]; i < end; i++) {
          const v = values[i];
          const c = colIndex[i];
          gradient[c] += first * v;
          groupScore[c] += share * v;
          const wa = second * v;
          const row = c * p;
          for (let j = i; j < end; j++) hessian[row + colIndex[j]] += wa * values[j];
        }
      }
      addDenseOuter(hessian, p, groupScore, p, groupSecond);
    }
    symmetrize(hessian, p);
    return ll;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => linearIndexReach(data, direction) };
}
