// Conditional fixed-effects Poisson (Hausman, Hall & Griliches 1984, eq. 3.5; Stata [XT] xtpoisson, fe, Methods and formulas):
//   ln L_i = ln Γ(Y_i + 1) - Σ_t ln Γ(y_it + 1) + Σ_t y_it ln p_it,  p_it = exp(η_it) / Σ_s exp(η_is),
// a multinomial in the group's total; η is shifted by its group maximum, so a group constant (in the offset or in X)
// cancels exactly and exp never overflows. Globally concave.
import { lnGamma } from '../special-functions.js';
import { addDenseOuter, linearIndex, linearIndexReach, symmetrize, toSparseRows, type Objective } from './objective.js';
import type { PreparedData } from './prepare.js';

/** The conditional FE Poisson likelihood of `data` restricted to `columns` (default: all of them). */
export function fePoissonObjective(data: PreparedData, columns?: number[]): Objective {
  const { n, X, y, groupStart, groupTotal } = data;
  const used = columns ?? Array.from({ length: data.p }, (_, c) => c);
  const p = used.length;
  const stride = data.p;
  const G = groupStart.length - 1;
  const eta = new Float64Array(n);
  const share = new Float64Array(n);
  const mean = new Float64Array(p);
  // The Hessian is accumulated as -Σ_g Y_g [Σ_t p_t x_t x_t' - x̄_g x̄_g'] over sparse rows. Shifting a column by a
  // constant changes neither score nor Hessian (Σ_t p_t = 1), so mostly-nonzero columns are centred on their overall
  // mean first, which keeps the subtraction accurate; mostly-zero columns (dummies) stay sparse.
  // (column sums and nonzero counts from prepare(), summed in row order)
  const shift = new Float64Array(p);
  const shiftedColumns: number[] = [];
  const shiftedBy: number[] = [];
  let nonzeros = 0;
  for (let c = 0; c < p; c++) {
    const nonzero = data.columnNonzero[used[c]];
    if (nonzero > n / 2) {
      shift[c] = data.columnSum[used[c]] / n;
      shiftedColumns.push(used[c]);
      shiftedBy.push(shift[c]);
    } else nonzeros += nonzero;
  }
  // a shifted column is nonzero where x ≠ shift: count those (row-major, only over the shifted columns)
  for (let r = 0; r < n; r++) {
    const base = r * stride;
    for (let k = 0; k < shiftedColumns.length; k++) if (X[base + shiftedColumns[k]] !== shiftedBy[k]) nonzeros++;
  }
  const rows = toSparseRows(X, n, stride, used, shift, nonzeros);
  const { rowStart, colIndex, values } = rows;
  // η uses the shifted columns too: that moves every η by the same constant, which cancels within each group
  const shifted = { ...data, p, rows } as PreparedData;
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
    linearIndex(shifted, beta, eta);
    let ll = constant;
    for (let g = 0; g < G; g++) ll += groupShares(g);
    return Number.isFinite(ll) ? ll : NaN;
  }

  function derivatives(beta: Float64Array, gradient: Float64Array, hessian: Float64Array): number {
    gradient.fill(0);
    hessian.fill(0);
    linearIndex(shifted, beta, eta);
    let ll = constant;
    for (let g = 0; g < G; g++) {
      ll += groupShares(g);
      const Y = groupTotal[g];
      // score Σ_t x_t (y_t - Y p_t); Hessian -Y [Σ_t p_t x_t x_t' - x̄x̄'], x̄ = Σ_t p_t x_t
      mean.fill(0);
      // one pass over each row's nonzeros: gradient += (y - Y p) x, x̄ += p x, H += -Y p x x' (upper triangle)
      for (let r = groupStart[g], last = groupStart[g + 1]; r < last; r++) {
        const s = share[r];
        const first = y[r] - Y * s;
        const second = -Y * s;
        const end = rowStart[r + 1];
        for (let i = rowStart[r]; i < end; i++) {
          const v = values[i];
          const c = colIndex[i];
          gradient[c] += first * v;
          mean[c] += s * v;
          const wa = second * v;
          const row = c * p;
          for (let j = i; j < end; j++) hessian[row + colIndex[j]] += wa * values[j];
        }
      }
      addDenseOuter(hessian, p, mean, p, Y);
    }
    symmetrize(hessian, p);
    return Number.isFinite(ll) ? ll : NaN;
  }

  return { dim: p, loglik, derivatives, stepReach: (direction) => linearIndexReach(shifted, direction) };
}
