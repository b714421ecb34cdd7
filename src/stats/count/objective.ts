// The interface between a likelihood and the optimiser, and the row operations shared by the likelihoods. Rows are
// stored sparse (compressed rows, column indices ascending) because year dummies make most of a panel design zero:
// a rank-one Hessian update then costs (nonzeros per row)² / 2 instead of p² / 2.
import { KernelSpace } from './kernels.js';
import type { PreparedData } from './prepare.js';

export interface Objective {
  /** number of parameters */
  dim: number;
  /** log-likelihood at theta, or NaN when exp(x'b) would overflow (the optimiser rejects such a step) */
  loglik(theta: Float64Array): number;
  /** log-likelihood at theta, filling the gradient and the Hessian (dim × dim, row-major, symmetric) */
  derivatives(theta: Float64Array, gradient: Float64Array, hessian: Float64Array): number;
  /** the largest change a step would make to any linear index (or other log-scale parameter), for step capping */
  stepReach(direction: Float64Array): number;
}

/** Compressed sparse rows: row r's nonzeros are values[rowStart[r] .. rowStart[r+1]-1] in columns colIndex[…] (ascending). */
export interface SparseRows {
  rowStart: Int32Array;
  colIndex: Int32Array;
  values: Float64Array;
}

/**
 * Sparse rows of the columns `columns` (default all) of the n × stride row-major X, column j shifted by shift[j].
 * `nonzeros`, when the caller knows it (the number of entries x - shift ≠ 0), saves the counting pass.
 */
export function toSparseRows(X: Float64Array, n: number, stride: number, columns?: number[], shift?: Float64Array, nonzeros = -1): SparseRows {
  const used = Int32Array.from(columns ?? Array.from({ length: stride }, (_, c) => c));
  const p = used.length;
  const by = shift ?? new Float64Array(p);
  const rowStart = new Int32Array(n + 1);
  if (nonzeros < 0) {
    nonzeros = 0;
    for (let r = 0; r < n; r++) {
      const base = r * stride;
      for (let c = 0; c < p; c++) if (X[base + used[c]] !== by[c]) nonzeros++;
    }
  }
  const colIndex = new Int32Array(nonzeros);
  const values = new Float64Array(nonzeros);
  let k = 0;
  for (let r = 0; r < n; r++) {
    rowStart[r] = k;
    const base = r * stride;
    for (let c = 0; c < p; c++) {
      const v = X[base + used[c]] - by[c];
      if (v !== 0) {
        colIndex[k] = c;
        values[k++] = v;
      }
    }
  }
  rowStart[n] = k;
  if (k !== nonzeros) throw new Error(`toSparseRows: ${k} nonzeros for ${nonzeros} counted`);
  return { rowStart, colIndex, values };
}

/** exp(709.8) overflows a double; beyond this linear index a step is rejected rather than producing Infinity/NaN */
export const MAX_LINEAR_INDEX = 700;

/** Copies the upper triangle onto the lower one. */
export function symmetrize(hessian: Float64Array, dim: number): void {
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) hessian[b * dim + a] = hessian[a * dim + b];
}

/**
 * The design as the conditional likelihoods' kernels read it: the mostly-nonzero columns (the regressors, _cons) dense
 * and column-major, so that their block of X'WX is a set of plain dot products over contiguous arrays, and the other
 * columns (indicator columns such as year dummies) as sparse rows. Column numbers are 0 .. p-1 in both parts.
 */
export interface SplitDesign {
  n: number;
  p: number;
  /** the dense columns' numbers, ascending */
  denseColumns: Int32Array;
  /** dense[k]: column denseColumns[k] (minus its shift), n values */
  dense: Float64Array[];
  /** the other columns as sparse rows (column numbers ascending within a row) */
  sparse: SparseRows;
}

/** a column with nonzeros in more than this share of the rows is stored dense */
export const DENSE_SHARE = 0.5;

/**
 * Splits the columns `columns` of the n × stride row-major X (column j of the result is X's column columns[j]): those
 * with more than half their values nonzero (nonzero[j], counted by the caller) dense, shifted by shift[j] when given;
 * the rest sparse and unshifted.
 */
export function splitDesign(X: Float64Array, n: number, stride: number, columns: ArrayLike<number>, nonzero: ArrayLike<number>, shift?: ArrayLike<number>): SplitDesign {
  const p = columns.length;
  const denseList: number[] = [];
  const sparseList: number[] = [];
  for (let j = 0; j < p; j++) (nonzero[j] > n * DENSE_SHARE ? denseList : sparseList).push(j);
  const dense = denseList.map(() => new Float64Array(n));
  const from = Int32Array.from(denseList, (j) => columns[j]);
  const by = Float64Array.from(denseList, (j) => (shift ? shift[j] : 0));
  denseColumnsOf(X, n, stride, from, by, dense);
  let nonzeros = 0;
  for (const j of sparseList) nonzeros += nonzero[j];
  const sparseSource = sparseList.map((j) => columns[j]);
  const sparse = toSparseRows(X, n, stride, sparseSource, undefined, nonzeros);
  // toSparseRows numbers the columns by their position in sparseSource: back to 0 .. p-1
  const colIndex = sparse.colIndex;
  for (let k = 0; k < colIndex.length; k++) colIndex[k] = sparseList[colIndex[k]];
  return { n, p, denseColumns: Int32Array.from(denseList), dense, sparse };
}

/** dense[k][r] = X[r·stride + from[k]] - by[k], in one pass over the rows (a column at a time would stride through X) */
function denseColumnsOf(X: Float64Array, n: number, stride: number, from: Int32Array, by: Float64Array, dense: Float64Array[]): void {
  const D = dense.length;
  for (let r = 0; r < n; r++) {
    const base = r * stride;
    for (let k = 0; k < D; k++) dense[k][r] = X[base + from[k]] - by[k];
  }
}

/**
 * The columns `columns` (ascending) of a split design, numbered 0 .. columns.length-1, each dense one shifted by
 * shift[j] (j its new number): the sparse rows are copied without the other columns, nothing is read from X.
 */
export function splitSubset(design: SplitDesign, columns: ArrayLike<number>, shift?: ArrayLike<number>): SplitDesign {
  const { n, p } = design;
  const renumber = new Int32Array(p).fill(-1);
  for (let j = 0; j < columns.length; j++) renumber[columns[j]] = j;
  const denseColumns: number[] = [];
  const dense: Float64Array[] = [];
  design.denseColumns.forEach((c, k) => {
    const j = renumber[c];
    if (j < 0) return;
    const by = shift ? shift[j] : 0;
    const source = design.dense[k];
    const column = new Float64Array(n);
    shiftInto(source, by, column, n);
    denseColumns.push(j);
    dense.push(column);
  });
  return { n, p: columns.length, denseColumns: Int32Array.from(denseColumns), dense, sparse: sparseSubset(design.sparse, renumber, n) };
}

/** out = x - by */
function shiftInto(x: Float64Array, by: number, out: Float64Array, n: number): void {
  for (let r = 0; r < n; r++) out[r] = x[r] - by;
}

/**
 * the sparse rows without the columns whose renumber is -1, the others renumbered; the rows themselves (shared, never
 * written to) when every sparse column keeps its number
 */
function sparseSubset(rows: SparseRows, renumber: Int32Array, n: number): SparseRows {
  const { rowStart, colIndex, values } = rows;
  let nonzeros = 0;
  let same = true;
  for (let k = 0; k < colIndex.length; k++) {
    const j = renumber[colIndex[k]];
    if (j >= 0) nonzeros++;
    if (j !== colIndex[k]) same = false;
  }
  if (same) return rows;
  const start = new Int32Array(n + 1);
  const index = new Int32Array(nonzeros);
  const kept = new Float64Array(nonzeros);
  let at = 0;
  for (let r = 0; r < n; r++) {
    start[r] = at;
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) {
      const j = renumber[colIndex[k]];
      if (j < 0) continue;
      index[at] = j;
      kept[at++] = values[k];
    }
  }
  start[n] = at;
  return { rowStart: start, colIndex: index, values: kept };
}

// The kernels below are written as small functions with one loop each: V8 compiles a long loop while it runs (on-stack
// replacement), and a function with several long loops would be compiled before its later loops ever ran, then thrown
// away ("insufficient type feedback") and compiled again, once per loop; in a one-shot `spillway fit` that costs more
// than the arithmetic. The heaviest loops (dot products, the weighted columns, group sums, Xβ) run in kernels.ts.

let backend: 'wasm' | 'js' = 'wasm';

/**
 * Which kernels the designs created from now on use: 'wasm' (the default; JavaScript where WebAssembly is unavailable)
 * or 'js'. Both give the same numbers bit for bit; the switch is for tests and for timing the two.
 */
export function useKernels(choice: 'wasm' | 'js'): void {
  backend = choice;
}

const spaces = new WeakMap<SplitDesign, KernelSpace>();

/**
 * The design's kernel space, with room for G groups: made on first use, when the dense columns move into it
 * (design.dense then points at the space's copies, so the columns are not held twice; a JavaScript space reads the
 * design's columns where they are); a later need for more groups makes a larger space the same way. A space's memory
 * never grows, so no column array is ever detached.
 */
export function kernelSpace(design: SplitDesign, G = 0): KernelSpace {
  const known = spaces.get(design);
  if (known !== undefined && known.shape.G >= G) return known;
  const { n, p, dense } = design;
  const single = singleRows(design.sparse, n);
  const space = KernelSpace.create({ n, D: dense.length, p, G: Math.max(G, known?.shape.G ?? 0), single: single !== null }, backend === 'wasm', dense);
  for (let k = 0; k < dense.length; k++) {
    if (space.dense[k] === dense[k]) continue; // the JavaScript kernels read the design's own columns
    space.dense[k].set(dense[k]);
    dense[k] = space.dense[k];
  }
  if (single !== null) {
    space.at.set(single.column);
    space.value.set(single.value);
  }
  spaces.set(design, space);
  return space;
}

/** eta[r] += x_r'β over the sparse rows; false when some eta exceeds MAX_LINEAR_INDEX (or is not finite) */
function addSparseIndex(rows: SparseRows, beta: Float64Array, eta: Float64Array, n: number): boolean {
  const { rowStart, colIndex, values } = rows;
  let ok = true;
  for (let r = 0; r < n; r++) {
    let s = eta[r];
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) s += values[k] * beta[colIndex[k]];
    eta[r] = s;
    if (!(s <= MAX_LINEAR_INDEX)) ok = false;
  }
  return ok;
}

/** max_r |eta[r] + x_r'δ| over the sparse rows */
function sparseReach(rows: SparseRows, direction: Float64Array, eta: Float64Array, n: number): number {
  const { rowStart, colIndex, values } = rows;
  let reach = 0;
  for (let r = 0; r < n; r++) {
    let s = eta[r];
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) s += values[k] * direction[colIndex[k]];
    if (Math.abs(s) > reach) reach = Math.abs(s);
  }
  return reach;
}

/**
 * Sparse rows with at most one nonzero each (a single factor's indicator columns, the common case), as one column
 * number per row (-1: none) and its value: the kernels then read them without an inner loop. Built on first use and
 * kept with the rows; null when some row has two or more nonzeros.
 */
interface SingleRows {
  column: Int32Array;
  value: Float64Array;
}

const singles = new WeakMap<SparseRows, SingleRows | null>();

function singleRows(rows: SparseRows, n: number): SingleRows | null {
  let single = singles.get(rows);
  if (single !== undefined) return single;
  const { rowStart, colIndex, values } = rows;
  single = null;
  if (rowStart.length === n + 1) {
    const column = new Int32Array(n);
    const value = new Float64Array(n);
    let ok = true;
    for (let r = 0; r < n; r++) {
      const k = rowStart[r];
      const m = rowStart[r + 1] - k;
      if (m > 1) {
        ok = false;
        break;
      }
      column[r] = m === 1 ? colIndex[k] : -1;
      value[r] = m === 1 ? values[k] : 0;
    }
    if (ok) single = { column, value };
  }
  singles.set(rows, single);
  return single;
}

/** column[c] += Σ_r t_r x_rc over the sparse rows (rows in order) */
function sparseScatter(t: Float64Array, rows: SparseRows, column: Float64Array, n: number): void {
  const { rowStart, colIndex, values } = rows;
  for (let r = 0; r < n; r++) {
    const v = t[r];
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) column[colIndex[k]] += v * values[k];
  }
}

/** gradient += Σ w1 x, upper triangle of hessian += Σ w2 x x', over the sparse rows alone */
function sparseWeighted(rows: SparseRows, w1: Float64Array, w2: Float64Array, gradient: Float64Array, hessian: Float64Array, dim: number, n: number): void {
  const { rowStart, colIndex, values } = rows;
  for (let r = 0; r < n; r++) {
    const end = rowStart[r + 1];
    const first = w1[r];
    const second = w2[r];
    for (let i = rowStart[r]; i < end; i++) {
      const v = values[i];
      const c = colIndex[i];
      gradient[c] += first * v;
      const wa = second * v;
      const row = c * dim;
      for (let j = i; j < end; j++) hessian[row + colIndex[j]] += wa * values[j];
    }
  }
}

/** sparseWeighted over rows with at most one sparse nonzero each */
function singleWeighted(at: Int32Array, value: Float64Array, w1: Float64Array, w2: Float64Array, gradient: Float64Array, hessian: Float64Array, dim: number, n: number): void {
  for (let r = 0; r < n; r++) {
    const c = at[r];
    if (c < 0) continue;
    const v = value[r];
    gradient[c] += w1[r] * v;
    hessian[c * dim + c] += w2[r] * v * v;
  }
}

/** scores[c·G + g] += Σ_{r in g} share_r x_rc over the sparse rows */
function sparseGroupSums(rows: SparseRows, share: Float64Array, groupStart: Int32Array, scores: Float64Array): void {
  const { rowStart, colIndex, values } = rows;
  const G = groupStart.length - 1;
  for (let g = 0; g < G; g++) {
    for (let r = groupStart[g], end = groupStart[g + 1]; r < end; r++) {
      const s = share[r];
      for (let k = rowStart[r], last = rowStart[r + 1]; k < last; k++) scores[colIndex[k] * G + g] += s * values[k];
    }
  }
}

/** out = weight · scores[base .. base+G-1]; returns whether any is nonzero */
function scaleInto(weight: Float64Array, scores: Float64Array, base: number, out: Float64Array, G: number): boolean {
  let any = false;
  for (let g = 0; g < G; g++) {
    const v = weight[g] * scores[base + g];
    out[g] = v;
    if (v !== 0) any = true;
  }
  return any;
}

/** η = offset + Xβ into `eta`; returns false when some η exceeds MAX_LINEAR_INDEX (or is not finite). */
export function splitLinearIndex(design: SplitDesign, offset: Float64Array, beta: Float64Array, eta: Float64Array): boolean {
  const space = kernelSpace(design);
  const { kernels, dense, eta: work } = space;
  const { n, p, denseColumns } = design;
  work.set(offset.subarray(0, n));
  for (let k = 0; k < dense.length; k++) {
    const b = beta[denseColumns[k]];
    if (b !== 0) kernels.axpy(b, dense[k], work, n);
  }
  let ok: boolean;
  if (space.shape.single) {
    space.beta.set(beta.subarray(0, p));
    ok = kernels.addSingleIndex(space.at, space.value, space.beta, work, n, MAX_LINEAR_INDEX);
  } else ok = addSparseIndex(design.sparse, beta, work, n);
  eta.set(work);
  return ok;
}

/** max_r |x_r'δ| (the first p entries of δ). */
export function splitReach(design: SplitDesign, direction: Float64Array): number {
  const space = kernelSpace(design);
  const { kernels, dense, scratch } = space;
  const { n, denseColumns } = design;
  scratch.fill(0);
  for (let k = 0; k < dense.length; k++) {
    const b = direction[denseColumns[k]];
    if (b !== 0) kernels.axpy(b, dense[k], scratch, n);
  }
  return sparseReach(design.sparse, direction, scratch, n);
}

/**
 * gradient += Σ_r w1_r x_r and the upper triangle of the dim × dim `hessian` += Σ_r w2_r x_r x_r', over the design's p
 * columns.
 */
export function addWeighted(design: SplitDesign, w1: Float64Array, w2: Float64Array, gradient: Float64Array, hessian: Float64Array, dim: number): void {
  const space = kernelSpace(design);
  const { kernels, dense, scratch, four, cross } = space;
  const { n, p, denseColumns, sparse } = design;
  const D = dense.length;
  const anySparse = sparse.colIndex.length > 0;
  const single = space.shape.single;
  space.w1.set(w1.subarray(0, n));
  space.w2.set(w2.subarray(0, n));
  for (let i = 0; i < D; i++) {
    const a = denseColumns[i];
    gradient[a] += kernels.weightColumn(space.w1, space.w2, dense[i], scratch, n);
    // dense × dense: dot products of scratch = w2·x_a with the later columns
    let j = i;
    for (; j + 4 <= D; j += 4) {
      kernels.dot4(scratch, dense[j], dense[j + 1], dense[j + 2], dense[j + 3], n, four);
      for (let m = 0; m < 4; m++) hessian[a * dim + denseColumns[j + m]] += four[m];
    }
    for (; j < D; j++) hessian[a * dim + denseColumns[j]] += kernels.dot(scratch, dense[j], n);
    // dense × sparse: Σ_r w2 x_a x_c for each sparse column c
    if (!anySparse) continue;
    const column = cross.subarray(i * p, (i + 1) * p);
    column.fill(0);
    if (single) kernels.scatter(scratch, space.at, space.value, column, n);
    else sparseScatter(scratch, sparse, column, n);
    for (let c = 0; c < p; c++) {
      if (column[c] === 0) continue;
      if (c > a) hessian[a * dim + c] += column[c];
      else hessian[c * dim + a] += column[c];
    }
  }
  // sparse × sparse, and the sparse columns' gradient
  if (!anySparse) return;
  if (single) singleWeighted(space.at, space.value, w1, w2, gradient, hessian, dim, n);
  else sparseWeighted(sparse, w1, w2, gradient, hessian, dim, n);
}

/** out[c] += Σ_r w_r x_rc over the design's p columns (a gradient without a Hessian) */
export function addWeightedSums(design: SplitDesign, w: Float64Array, out: Float64Array): void {
  const space = kernelSpace(design);
  const { kernels, dense, cross } = space;
  const { n, p, denseColumns, sparse } = design;
  space.w1.set(w.subarray(0, n));
  for (let k = 0; k < dense.length; k++) out[denseColumns[k]] += kernels.dot(space.w1, dense[k], n);
  if (sparse.colIndex.length === 0) return;
  const column = cross.subarray(0, p);
  column.fill(0);
  if (space.shape.single) kernels.scatter(space.w1, space.at, space.value, column, n);
  else sparseScatter(space.w1, sparse, column, n);
  for (let c = 0; c < p; c++) if (column[c] !== 0) out[c] += column[c];
}

/**
 * The upper triangle of `hessian` += Σ_g weight_g x̄_g x̄_g', x̄_g = Σ_{r in g} share_r x_r (groups are the row ranges
 * groupStart[g] .. groupStart[g+1]-1).
 */
export function addGroupOuter(design: SplitDesign, groupStart: Int32Array, share: Float64Array, weight: Float64Array, hessian: Float64Array, dim: number): void {
  const { n, p, denseColumns, sparse } = design;
  const G = groupStart.length - 1;
  const space = kernelSpace(design, G);
  const { kernels, dense, scores, four, groupWeight } = space;
  const starts = space.groupStart;
  starts.set(groupStart);
  space.share.set(share.subarray(0, n));
  // x̄ column by column: scores[c·G + g]
  scores.fill(0, 0, p * G);
  for (let k = 0; k < dense.length; k++) kernels.groupSums(space.share, dense[k], starts, scores.subarray(denseColumns[k] * G), G);
  if (sparse.colIndex.length > 0) {
    if (space.shape.single) kernels.singleGroupSums(space.at, space.value, space.share, starts, scores, G);
    else sparseGroupSums(sparse, space.share, groupStart, scores);
  }
  const column = (c: number) => scores.subarray(c * G, (c + 1) * G);
  for (let a = 0; a < p; a++) {
    if (!scaleInto(weight, scores, a * G, groupWeight, G)) continue;
    let b = a;
    for (; b + 4 <= p; b += 4) {
      kernels.dot4(groupWeight, column(b), column(b + 1), column(b + 2), column(b + 3), G, four);
      for (let m = 0; m < 4; m++) hessian[a * dim + b + m] += four[m];
    }
    for (; b < p; b++) hessian[a * dim + b] += kernels.dot(groupWeight, column(b), G);
  }
}
