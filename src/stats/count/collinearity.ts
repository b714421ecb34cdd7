// Detects columns to drop before fitting: (1) no variation (within groups, around the mean, or at all), judged by the
// column's exactly computed centred sum of squares relative to its raw sum of squares, i.e. to the column's own scale;
// (2) exact collinearity, by a Cholesky factorisation in column order of the centred cross-product matrix (a later
// column is dropped, as Stata's _rmcoll does), with the columns it is a combination of named.

import { SpillwayError } from '../../errors.js';
import { addGroupOuter, addWeighted, kernelSpace, splitSubset, type SparseRows, type SplitDesign } from './objective.js';

export type Centering = 'none' | 'mean' | 'within';

/** a column varies "not at all" when its centred sum of squares is below this share of its raw sum of squares (relative size 1e-7) */
const NO_VARIATION = 1e-14;
/** a column is collinear when the part of it unexplained by earlier columns is below this share of its centred sum of squares (R² > 1 - 1e-9) */
const COLLINEAR = 1e-9;
/** a coefficient of the collinear combination is reported when it carries at least this share of the column's size */
const REPORTED_SHARE = 1e-6;

export interface CollinearityInput {
  n: number;
  /** the columns (unshifted), observations ordered by group */
  design: SplitDesign;
  names: string[];
  groupStart: Int32Array;
  centering: Centering;
  /** index of the `_cons` column: never dropped in 'mean' mode, where centring accounts for it */
  constantIndex: number;
  /** per column Σx², Σx and number of nonzeros (computed in row order) */
  stats: { raw: Float64Array; sum: Float64Array; nonzero: Float64Array };
}

export function findDroppedColumns(input: CollinearityInput): { name: string; reason: string }[] {
  const { n, design, names, groupStart, centering, constantIndex } = input;
  const q = names.length;
  const dropped: { name: string; reason: string }[] = [];

  // (1) exact centred sums of squares: sums per column (and per group), then squared deviations
  const active = (c: number) => !(c === constantIndex && centering === 'mean');
  const { raw, sum, nonzero } = input.stats;
  const squares = centredSquares(design, centering, groupStart, sum, raw);
  const candidates: number[] = [];
  const centred = new Float64Array(q);
  const shift = new Float64Array(q);
  for (let c = 0; c < q; c++) {
    if (!active(c)) continue;
    // an overflowed sum would make the variation test below meaningless (Infinity ≤ Infinity): never drop for that
    if (!Number.isFinite(raw[c]) || !Number.isFinite(squares[c])) {
      throw new SpillwayError('invalidInput', `column ${names[c]}: its sum of squares overflows (values too large to fit)`, {
        field: names[c],
        expected: 'regressor values whose squares, summed over the observations, stay finite',
        hint: 'rescale the column (other units, or its log)',
      });
    }
    if (raw[c] === 0) {
      dropped.push({ name: names[c], reason: 'all values are zero' });
      continue;
    }
    if (squares[c] <= NO_VARIATION * raw[c]) {
      dropped.push({
        name: names[c],
        reason: centering === 'within' ? 'no within-group variation (absorbed by the group fixed effects)' : 'constant column (collinear with _cons)',
      });
      continue;
    }
    centred[c] = squares[c];
    // shifting a mostly-nonzero column by its mean keeps the cross-product subtraction below accurate
    if (centering !== 'none' && nonzero[c] > n / 2) shift[c] = sum[c] / n;
    candidates.push(c);
  }

  // (2) centred cross products of the candidates: Σ z z' - correction, z = x - shift (the dense columns shifted, the
  // sparse ones not), by the likelihoods' kernels with unit weights
  const k = candidates.length;
  const shifted = splitSubset(design, Array.from({ length: q }, (_, c) => c), shift);
  kernelSpace(shifted, centering === 'within' ? groupStart.length - 1 : centering === 'mean' ? 1 : 0);
  const full = new Float64Array(q * q);
  const ones = new Float64Array(n).fill(1);
  addWeighted(shifted, new Float64Array(n), ones, new Float64Array(q), full, q);
  if (centering !== 'none') {
    // - Σ_span (Σ z)(Σ z)' / size over the whole sample ('mean') or each group ('within')
    const spans = centering === 'mean' ? Int32Array.of(0, n) : groupStart;
    const S = spans.length - 1;
    const weight = new Float64Array(S);
    for (let g = 0; g < S; g++) weight[g] = -1 / (spans[g + 1] - spans[g]);
    addGroupOuter(shifted, spans, ones, weight, full, q);
  }
  const C = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) C[a * k + b] = full[candidates[a] * q + candidates[b]];
  for (let a = 0; a < k; a++) C[a * k + a] = centred[candidates[a]];

  // (3) Cholesky in column order; L holds the kept columns' rows
  const kept: number[] = [];
  const L: Float64Array[] = [];
  for (let a = 0; a < k; a++) {
    const l = new Float64Array(kept.length);
    for (let i = 0; i < kept.length; i++) {
      const b = kept[i];
      let s = a > b ? C[b * k + a] : C[a * k + b];
      for (let j = 0; j < i; j++) s -= L[i][j] * l[j];
      l[i] = s / L[i][i];
    }
    let residual = C[a * k + a];
    for (let i = 0; i < l.length; i++) residual -= l[i] * l[i];
    if (residual <= COLLINEAR * C[a * k + a]) {
      const combination = solveTransposed(L, l);
      const partners = kept
        .filter((b, i) => Math.abs(combination[i]) * Math.sqrt(C[b * k + b]) > REPORTED_SHARE * Math.sqrt(C[a * k + a]))
        .map((b) => names[candidates[b]]);
      if (centering === 'mean') partners.push('_cons');
      dropped.push({ name: names[candidates[a]], reason: `collinear with ${partners.join(', ')}${centering === 'within' ? ' within groups' : ''}` });
      continue;
    }
    const row = new Float64Array(kept.length + 1);
    row.set(l);
    row[kept.length] = Math.sqrt(residual);
    L.push(row);
    kept.push(a);
  }
  // report in column order
  const order = new Map(names.map((name, c) => [name, c]));
  return dropped.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
}

/**
 * Σ (x - m)² per column, m the column's mean ('mean') or its group's mean ('within'), or Σx² ('none'): two passes,
 * the deviations squared exactly; a sparse column's zeros add (count of zeros) · m².
 */
function centredSquares(design: SplitDesign, centering: Centering, groupStart: Int32Array, sum: Float64Array, raw: Float64Array): Float64Array {
  const { n, p, denseColumns, dense, sparse } = design;
  const squares = new Float64Array(p);
  if (centering === 'none') {
    squares.set(raw);
    return squares;
  }
  const spans = centering === 'mean' ? Int32Array.of(0, n) : groupStart;
  for (let k = 0; k < dense.length; k++) {
    const c = denseColumns[k];
    squares[c] = centering === 'mean' ? deviationSquares(dense[k], 0, n, sum[c] / n) : withinSquares(dense[k], spans);
  }
  if (sparse.colIndex.length > 0) sparseSquares(sparse, spans, centering === 'mean' ? sum : undefined, squares);
  return squares;
}

/** Σ (x[r] - m)² over r in [from, to) */
function deviationSquares(x: Float64Array, from: number, to: number, m: number): number {
  let s = 0;
  for (let r = from; r < to; r++) {
    const d = x[r] - m;
    s += d * d;
  }
  return s;
}

/** Σ_g Σ_{r in g} (x[r] - mean_g)² */
function withinSquares(x: Float64Array, spans: Int32Array): number {
  let s = 0;
  for (let g = 0; g + 1 < spans.length; g++) {
    const from = spans[g];
    const to = spans[g + 1];
    let mean = 0;
    for (let r = from; r < to; r++) mean += x[r];
    mean /= to - from;
    s += deviationSquares(x, from, to, mean);
  }
  return s;
}

/** squares[c] of the sparse columns, span by span (the whole sample with its column sums, or each group) */
function sparseSquares(rows: SparseRows, spans: Int32Array, totals: Float64Array | undefined, squares: Float64Array): void {
  const { rowStart, colIndex, values } = rows;
  const p = squares.length;
  const mean = new Float64Array(p);
  const count = new Float64Array(p);
  const touched: number[] = [];
  for (let g = 0; g + 1 < spans.length; g++) {
    const from = rowStart[spans[g]];
    const to = rowStart[spans[g + 1]];
    const size = spans[g + 1] - spans[g];
    for (let k = from; k < to; k++) {
      const c = colIndex[k];
      if (count[c] === 0) touched.push(c);
      count[c]++;
      mean[c] += values[k];
    }
    for (const c of touched) mean[c] = (totals ? totals[c] : mean[c]) / size;
    for (let k = from; k < to; k++) {
      const d = values[k] - mean[colIndex[k]];
      squares[colIndex[k]] += d * d;
    }
    for (const c of touched) {
      squares[c] += (size - count[c]) * mean[c] * mean[c];
      mean[c] = 0;
      count[c] = 0;
    }
    touched.length = 0;
  }
}

/** Solves Lᵀ b = l for the lower-triangular L given by rows. */
function solveTransposed(L: Float64Array[], l: Float64Array): Float64Array {
  const m = l.length;
  const b = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let s = l[i];
    for (let j = i + 1; j < m; j++) s -= L[j][i] * b[j];
    b[i] = s / L[i][i];
  }
  return b;
}
