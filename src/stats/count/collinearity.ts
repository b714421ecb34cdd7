// Detects columns to drop before fitting: (1) no variation (within groups, around the mean, or at all), judged by the
// column's exactly computed centred sum of squares relative to its raw sum of squares, i.e. to the column's own scale;
// (2) exact collinearity, by a Cholesky factorisation in column order of the centred cross-product matrix (a later
// column is dropped, as Stata's _rmcoll does), with the columns it is a combination of named.

import { SpillwayError } from '../../errors.js';

export type Centering = 'none' | 'mean' | 'within';

/** a column varies "not at all" when its centred sum of squares is below this share of its raw sum of squares (relative size 1e-7) */
const NO_VARIATION = 1e-14;
/** a column is collinear when the part of it unexplained by earlier columns is below this share of its centred sum of squares (R² > 1 - 1e-9) */
const COLLINEAR = 1e-9;
/** a coefficient of the collinear combination is reported when it carries at least this share of the column's size */
const REPORTED_SHARE = 1e-6;

export interface CollinearityInput {
  n: number;
  /** n × q, row-major, observations ordered by group */
  X: Float64Array;
  names: string[];
  groupStart: Int32Array;
  centering: Centering;
  /** index of the `_cons` column: never dropped in 'mean' mode, where centring accounts for it */
  constantIndex: number;
  /** per column Σx², Σx and number of nonzeros, when the caller has them already (computed in row order, as here) */
  stats?: { raw: Float64Array; sum: Float64Array; nonzero: Float64Array };
}

export function findDroppedColumns(input: CollinearityInput): { name: string; reason: string }[] {
  const { n, X, names, groupStart, centering, constantIndex } = input;
  const q = names.length;
  const G = groupStart.length - 1;
  const dropped: { name: string; reason: string }[] = [];

  // (1) exact centred sums of squares: sums per column (and per group), then squared deviations, row by row
  const active = (c: number) => !(c === constantIndex && centering === 'mean');
  const { raw, sum, nonzero } = input.stats ?? columnStats(X, n, q);
  const squares = new Float64Array(q);
  if (centering === 'none') squares.set(raw);
  else {
    const spans = centering === 'mean' ? [0, n] : Array.from(groupStart);
    const groupMean = new Float64Array(q);
    for (let s = 0; s + 1 < spans.length; s++) {
      const from = spans[s];
      const to = spans[s + 1];
      if (centering === 'mean') {
        for (let c = 0; c < q; c++) groupMean[c] = sum[c] / n; // the same row-order sum
      } else {
        groupMean.fill(0);
        for (let r = from; r < to; r++) for (let c = 0; c < q; c++) groupMean[c] += X[r * q + c];
        for (let c = 0; c < q; c++) groupMean[c] /= to - from;
      }
      for (let r = from; r < to; r++) {
        const base = r * q;
        for (let c = 0; c < q; c++) {
          const d = X[base + c] - groupMean[c];
          squares[c] += d * d;
        }
      }
    }
  }
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

  // (2) centred cross products of the candidates: Σ z z' - correction, z = x - shift (sparse rows)
  const k = candidates.length;
  const C = new Float64Array(k * k);
  const z = new Float64Array(k);
  const index = new Int32Array(k);
  const column = Int32Array.from(candidates);
  const by = Float64Array.from(candidates, (c) => shift[c]);
  for (let r = 0; r < n; r++) {
    let nz = 0;
    const base = r * q;
    for (let a = 0; a < k; a++) {
      const v = X[base + column[a]] - by[a];
      if (v !== 0) {
        index[nz] = a;
        z[nz++] = v;
      }
    }
    for (let i = 0; i < nz; i++) {
      const row = index[i] * k;
      const zi = z[i];
      for (let j = i; j < nz; j++) C[row + index[j]] += zi * z[j];
    }
  }
  if (centering !== 'none') {
    const spans = centering === 'mean' ? [[0, n]] : Array.from({ length: G }, (_, g) => [groupStart[g], groupStart[g + 1]]);
    const mean = new Float64Array(k);
    for (const [from, to] of spans) {
      mean.fill(0);
      for (let r = from; r < to; r++) {
        const base = r * q;
        for (let a = 0; a < k; a++) mean[a] += X[base + column[a]] - by[a];
      }
      const size = to - from;
      for (let a = 0; a < k; a++) {
        const ma = mean[a] / size;
        for (let b = a; b < k; b++) C[a * k + b] -= ma * mean[b];
      }
    }
  }
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

/** Σx², Σx and the number of nonzero values of each column of the n × q row-major X. */
function columnStats(X: Float64Array, n: number, q: number): { raw: Float64Array; sum: Float64Array; nonzero: Float64Array } {
  const raw = new Float64Array(q);
  const sum = new Float64Array(q);
  const nonzero = new Float64Array(q);
  for (let r = 0; r < n; r++) {
    const base = r * q;
    for (let c = 0; c < q; c++) {
      const v = X[base + c];
      raw[c] += v * v;
      sum[c] += v;
      if (v !== 0) nonzero[c]++;
    }
  }
  return { raw, sum, nonzero };
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
