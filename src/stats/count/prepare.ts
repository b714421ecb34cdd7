// Validates a CountDesign and packs it for the likelihoods: observations sorted by group in flat typed arrays,
// all-zero and single-observation groups dropped (as Stata's xtpoisson/xtnbreg, fe do), collinear columns dropped by name.
import { SpillwayError } from '../../errors.js';
import { findDroppedColumns, type Centering } from './collinearity.js';
import { DENSE_SHARE, splitSubset, type SplitDesign } from './objective.js';
import type { CountDesign, FitOptions, PackedCountDesign, PackedRows } from './types.js';

export const CONSTANT = '_cons';

/**
 * The largest regressor magnitude the estimators accept. Sums of squares and cross products of a column (collinearity
 * checks, the Hessian) must stay finite: above ~1.3e154 one square overflows to Infinity, and a column of 1e308 would
 * then look constant. 1e150 leaves room for sums over 10^7 observations; rescale a column beyond it (units, logs).
 */
export const MAX_REGRESSOR_MAGNITUDE = 1e150;

function regressorProblem(v: number, row: number, field: string): SpillwayError | undefined {
  if (!Number.isFinite(v)) return invalid(`regressor value ${String(v)} is not a finite number`, { row, field, expected: 'a finite number' });
  if (Math.abs(v) > MAX_REGRESSOR_MAGNITUDE) {
    return invalid(`regressor value ${String(v)} is too large for the estimator (|x| > ${MAX_REGRESSOR_MAGNITUDE}): its square overflows`, {
      row,
      field,
      expected: `a finite number with |x| ≤ ${MAX_REGRESSOR_MAGNITUDE}`,
      hint: 'rescale the column (other units, or its log)',
    });
  }
  return undefined;
}

export interface PreparedData {
  /** observations kept */
  n: number;
  /** columns kept */
  p: number;
  names: string[];
  /** n × p, row-major, observations ordered by group (built on first use: the likelihoods read `split`) */
  readonly X: Float64Array;
  /** the same matrix split into dense columns and sparse rows, for the likelihoods' inner loops */
  split: SplitDesign;
  y: Float64Array;
  offset: Float64Array;
  /** groupStart[g] .. groupStart[g+1]-1 are group g's rows; a single group [0, n) for pooled models */
  groupStart: Int32Array;
  /** Σ y over each group */
  groupTotal: Float64Array;
  /** number of groups kept (null for pooled models) */
  groups: number | null;
  droppedGroups: number;
  droppedObservations: number;
  droppedColumns: { name: string; reason: string }[];
  /** per kept column: does it vary within at least one group? */
  variesWithinGroups: boolean[];
  /** per kept column: Σ x over the observations kept, and the number of nonzero values */
  columnSum: Float64Array;
  columnNonzero: Float64Array;
  warnings: string[];
}

function invalid(message: string, details: { row?: number; field?: string; expected?: string; hint?: string }): SpillwayError {
  return new SpillwayError('invalidInput', message, details);
}

function packedRows(X: (CountDesign | PackedCountDesign)['X']): PackedRows | undefined {
  return Array.isArray(X) ? undefined : (X as PackedRows);
}

/** Checks types and values; rows in messages are 1-based observation numbers of the design. */
function validate(design: CountDesign | PackedCountDesign, grouped: boolean): void {
  const n = design.y.length;
  const packed = packedRows(design.X);
  if (packed) {
    let columns = packed.width;
    for (const factor of packed.indicators ?? []) {
      if (factor.codes.length !== n) throw invalid(`indicator codes have ${factor.codes.length} values for ${n} outcomes`, { expected: 'one code per outcome' });
      for (let i = 0; i < n; i++) {
        const code = factor.codes[i];
        if (!(Number.isInteger(code) && code >= -1 && code < factor.count)) {
          throw invalid(`indicator code ${String(code)} is not -1 or a column number below ${factor.count}`, { row: i + 1, expected: `an integer from -1 to ${factor.count - 1}` });
        }
      }
      columns += factor.count;
    }
    if (columns !== design.names.length) {
      throw invalid(`packed regressors have ${columns} columns for ${design.names.length} names`, { expected: `${design.names.length} columns` });
    }
    if (packed.values.length !== n * packed.width) {
      throw invalid(`design has ${n} outcomes but ${packed.values.length / packed.width} packed regressor rows`, { expected: 'one X row per outcome' });
    }
  } else if ((design.X as ArrayLike<number>[]).length !== n) {
    throw invalid(`design has ${n} outcomes but ${(design.X as ArrayLike<number>[]).length} regressor rows`, { expected: 'one X row per outcome' });
  }
  for (let i = 0; i < n; i++) {
    const y = design.y[i];
    if (!(Number.isInteger(y) && y >= 0)) {
      throw invalid(`outcome ${String(y)} is not a count`, { row: i + 1, field: 'y', expected: 'a non-negative integer' });
    }
    const row = packed ? undefined : (design.X as ArrayLike<number>[])[i];
    if (row && row.length !== design.names.length) {
      throw invalid(`regressor row has ${row.length} values for ${design.names.length} names`, { row: i + 1, expected: `${design.names.length} values` });
    }
    if (design.offset && !Number.isFinite(design.offset[i])) {
      throw invalid(`offset ${String(design.offset[i])} is not finite`, { row: i + 1, field: 'offset', expected: 'a finite number (log exposure; exposure must be > 0)' });
    }
  }
  if (design.offset && design.offset.length !== n) throw invalid(`offset has ${design.offset.length} values for ${n} outcomes`, {});
  if (grouped) {
    if (!design.groups) throw invalid('this model needs a group (panel id) per observation', { field: 'groups', hint: 'pass design.groups' });
    if (design.groups.length !== n) throw invalid(`groups has ${design.groups.length} values for ${n} outcomes`, { field: 'groups' });
  }
  const seen = new Set<string>();
  for (const name of design.names) {
    if (seen.has(name)) throw invalid(`column name "${name}" appears twice`, { field: name });
    seen.add(name);
  }
}

export function prepare(design: CountDesign | PackedCountDesign, options: FitOptions): PreparedData {
  const grouped = options.model !== 'nb2';
  validate(design, grouped);
  const packed = packedRows(design.X);
  const rowsX = packed ? undefined : (design.X as ArrayLike<number>[]);
  const n0 = design.y.length;
  const warnings: string[] = [];
  const droppedColumns: { name: string; reason: string }[] = [];

  // observation order: by group (first appearance), keeping the original order within a group (a stable counting
  // sort on a group number per row: one Map lookup per row, no per-group arrays)
  let order: Int32Array;
  let groupStarts: number[];
  let droppedGroups = 0;
  let droppedObservations = 0;
  if (grouped) {
    const groupOf = new Int32Array(n0);
    const size: number[] = [];
    const total: number[] = [];
    const groups = design.groups!;
    if (!(groups instanceof Int32Array && codeGroups(groups, design.y, groupOf, size, total))) numberGroups(groups, design.y, groupOf, size, total);
    groupStarts = [0];
    const cursor = new Int32Array(size.length).fill(-1);
    let kept = 0;
    let singletons = 0;
    for (let k = 0; k < size.length; k++) {
      if (total[k] === 0 || size[k] === 1) {
        droppedGroups++;
        droppedObservations += size[k];
        if (total[k] !== 0) singletons++;
        continue;
      }
      cursor[k] = kept;
      kept += size[k];
      groupStarts.push(kept);
    }
    order = new Int32Array(kept);
    placeRows(groupOf, cursor, order);
    const allZero = droppedGroups - singletons;
    if (allZero > 0) warnings.push(`${allZero} group(s) (${droppedObservations - singletons} obs) dropped because all outcomes are zero`);
    if (singletons > 0) warnings.push(`${singletons} group(s) dropped because they have only one observation`);
  } else {
    order = new Int32Array(n0);
    for (let i = 0; i < n0; i++) order[i] = i;
    groupStarts = [0, n0];
  }
  const n = order.length;
  if (n < n0) {
    // rows of dropped groups are not packed below; their regressors must still be valid numbers
    const kept = new Uint8Array(n0);
    for (const i of order) kept[i] = 1;
    const width = packed ? packed.width : design.names.length;
    for (let i = 0; i < n0; i++) {
      if (kept[i]) continue;
      for (let j = 0; j < width; j++) {
        const problem = regressorProblem(packed ? packed.values[i * width + j] : rowsX![i][j], i + 1, design.names[j]);
        if (problem) throw problem;
      }
    }
  }
  if (n === 0) {
    throw new SpillwayError('notConverged', 'no observations left to fit', {
      hint: grouped ? 'every group has all-zero outcomes or a single observation' : 'the design is empty',
    });
  }

  // candidate columns: the caller's, then _cons; read in group order straight into the split design (dense columns,
  // sparse rows: see objective.ts), with no n × q copy of the rows
  const wantConstant = options.addConstant === true;
  const candidateNames = wantConstant ? [...design.names, CONSTANT] : [...design.names];
  const q = candidateNames.length;
  const given = design.names.length;
  // the numbers: the first `width` columns (all of them without indicators), row-major
  const width = packed ? packed.width : given;
  const source = packed ? packed.values : packRows(rowsX!, n0, given);
  const indicators = packed?.indicators ?? [];
  // the numbers in group order, a column each, and per column in the same pass: Σx², Σx and the number of nonzeros
  // (for the collinearity check, the dense/sparse split and the FE Poisson centring)
  const raw = new Float64Array(q);
  const sum = new Float64Array(q);
  const nonzero = new Float64Array(q);
  const numbers = Array.from({ length: width }, () => new Float64Array(n));
  const bad = readColumns(source, order, width, numbers, raw, sum, nonzero);
  if (bad >= 0) {
    const i = order[Math.floor(bad / width)];
    const c = bad % width;
    throw regressorProblem(packed ? source[i * width + c] : rowsX![i][c], i + 1, design.names[c])!;
  }
  const indicatorCodes: Int32Array[] = [];
  let first = width;
  for (const factor of indicators) {
    const codes = inOrder(factor.codes, order, first, nonzero);
    for (let c = first; c < first + factor.count; c++) sum[c] = raw[c] = nonzero[c];
    indicatorCodes.push(codes);
    first += factor.count;
  }
  if (wantConstant) {
    raw[given] = n;
    sum[given] = n;
    nonzero[given] = n;
  }
  const candidates = readSplit(numbers, n, q, nonzero, indicatorCodes, given);
  const pick = (values: Float64Array, columns: number[]) => Float64Array.from(columns, (c) => values[c]);
  const constantIndex = wantConstant ? given : -1;
  if (wantConstant && options.model === 'fe-poisson') {
    droppedColumns.push({ name: CONSTANT, reason: 'absorbed by the group fixed effects' });
  }
  const centering: Centering = options.model === 'fe-poisson' ? 'within' : wantConstant ? 'mean' : 'none';
  const groupStart = Int32Array.from(groupStarts);
  const candidateIndex = Array.from({ length: q }, (_, c) => c).filter((c) => !(c === constantIndex && options.model === 'fe-poisson'));
  const dropped = findDroppedColumns({
    n,
    design: candidateIndex.length === q ? candidates : splitSubset(candidates, candidateIndex),
    names: candidateIndex.map((c) => candidateNames[c]),
    groupStart,
    centering,
    constantIndex: candidateIndex.indexOf(constantIndex),
    stats: { raw: pick(raw, candidateIndex), sum: pick(sum, candidateIndex), nonzero: pick(nonzero, candidateIndex) },
  });
  droppedColumns.push(...dropped);
  const droppedNames = new Set(droppedColumns.map((d) => d.name));
  const kept = candidateIndex.filter((c) => !droppedNames.has(candidateNames[c]));
  const p = kept.length;
  if (p === 0) throw new SpillwayError('notConverged', 'no regressors left to estimate after dropping collinear columns', { context: { dropped_columns: droppedColumns } });

  const split = kept.length === q ? candidates : splitSubset(candidates, kept);
  const y = new Float64Array(n);
  const offset = new Float64Array(n);
  gather(design.y, order, y);
  if (design.offset) gather(design.offset, order, offset);
  const G = groupStart.length - 1;
  const groupTotal = new Float64Array(G);
  sumGroups(y, groupStart, groupTotal);

  const columnSum = pick(sum, kept);
  const columnNonzero = pick(nonzero, kept);
  const variesWithinGroups = Array.from(variesWithin(split, groupStart), (v) => v === 1);

  let X: Float64Array | undefined;
  return {
    n,
    p,
    names: kept.map((j) => candidateNames[j]),
    get X() {
      return (X ??= rowMajor(split));
    },
    split,
    y,
    offset,
    groupStart,
    groupTotal,
    groups: grouped ? G : null,
    droppedGroups,
    droppedObservations,
    droppedColumns,
    variesWithinGroups,
    columnSum,
    columnNonzero,
    warnings,
  };
}

// The row loops of prepare, each in its own small function (see the note on kernels in objective.ts).

/** groups numbered in order of first appearance (a Map from each group's value): groupOf, size and total per group */
function numberGroups(groups: ArrayLike<string | number>, y: ArrayLike<number>, groupOf: Int32Array, size: number[], total: number[]): void {
  const numberOf = new Map<string | number, number>();
  for (let i = 0; i < groupOf.length; i++) {
    const g = groups[i];
    let k = numberOf.get(g);
    if (k === undefined) {
      k = size.length;
      numberOf.set(g, k);
      size.push(0);
      total.push(0);
    }
    groupOf[i] = k;
    size[k]++;
    total[k] += y[i];
  }
}

/**
 * numberGroups for groups given as small non-negative integer codes (the CLI's): the same numbering through an array
 * instead of a Map; false (nothing done) when some code is negative or large
 */
function codeGroups(groups: Int32Array, y: ArrayLike<number>, groupOf: Int32Array, size: number[], total: number[]): boolean {
  const n0 = groupOf.length;
  let max = -1;
  for (let i = 0; i < n0; i++) {
    const g = groups[i];
    if (g < 0) return false;
    if (g > max) max = g;
  }
  if (max > 4 * n0 + 1024) return false;
  const numberOf = new Int32Array(max + 1).fill(-1);
  for (let i = 0; i < n0; i++) {
    const g = groups[i];
    let k = numberOf[g];
    if (k < 0) {
      k = size.length;
      numberOf[g] = k;
      size.push(0);
      total.push(0);
    }
    groupOf[i] = k;
    size[k]++;
    total[k] += y[i];
  }
  return true;
}

/** order[cursor[k]++] = i for each row i of a kept group k (cursor -1: dropped) */
function placeRows(groupOf: Int32Array, cursor: Int32Array, order: Int32Array): void {
  for (let i = 0; i < groupOf.length; i++) {
    const k = groupOf[i];
    if (cursor[k] >= 0) order[cursor[k]++] = i;
  }
}

/** out[r] = values[order[r]] */
function gather(values: ArrayLike<number>, order: Int32Array, out: Float64Array): void {
  for (let r = 0; r < order.length; r++) out[r] = values[order[r]];
}

/** total[g] = Σ y over group g's rows */
function sumGroups(y: Float64Array, groupStart: Int32Array, total: Float64Array): void {
  const G = groupStart.length - 1;
  for (let g = 0; g < G; g++) for (let r = groupStart[g]; r < groupStart[g + 1]; r++) total[g] += y[r];
}

/** The rows of a CountDesign's X in one row-major array. */
function packRows(rows: ArrayLike<number>[], n: number, width: number): Float64Array {
  const out = new Float64Array(n * width);
  for (let i = 0; i < n; i++) for (let c = 0; c < width; c++) out[i * width + c] = rows[i][c];
  return out;
}

/**
 * The `width` columns of the row-major source over the rows `order` (in that order) into `columns`, and Σx², Σx and the
 * number of nonzeros of each; returns -1, or the position (row of order · width + column) of the first value that is
 * not finite or above MAX_REGRESSOR_MAGNITUDE.
 */
function readColumns(source: Float64Array, order: Int32Array, width: number, columns: Float64Array[], raw: Float64Array, sum: Float64Array, nonzero: Float64Array): number {
  const n = order.length;
  for (let r = 0; r < n; r++) {
    const from = order[r] * width;
    for (let c = 0; c < width; c++) {
      const v = source[from + c];
      if (!(Math.abs(v) <= MAX_REGRESSOR_MAGNITUDE)) return r * width + c;
      columns[c][r] = v;
      raw[c] += v * v;
      sum[c] += v;
      if (v !== 0) nonzero[c]++;
    }
  }
  return -1;
}

/**
 * codes[order[r]] + offset (-1 stays -1) for each r: a factor's level codes in prepare's row order, as column numbers;
 * nonzero[c]++ for each row's column c
 */
function inOrder(codes: ArrayLike<number>, order: Int32Array, offset: number, nonzero: Float64Array): Int32Array {
  const out = new Int32Array(order.length);
  for (let r = 0; r < order.length; r++) {
    const code = codes[order[r]];
    if (code < 0) out[r] = -1;
    else {
      out[r] = code + offset;
      nonzero[code + offset]++;
    }
  }
  return out;
}

/**
 * The split design of the number columns (`numbers`, n rows each), then the indicator columns (`indicatorCodes`: per
 * factor the column set to 1 in each row, or -1) up to column `given`, and, when q > given, a constant column q-1 of
 * ones: columns with more than half their values nonzero dense (a number column's array is used as it is), the others
 * as sparse rows.
 */
function readSplit(numbers: Float64Array[], n: number, q: number, nonzero: Float64Array, indicatorCodes: Int32Array[], given: number): SplitDesign {
  const width = numbers.length;
  const denseList: number[] = [];
  const sparseList: number[] = [];
  let nonzeros = 0;
  for (let c = 0; c < q; c++) {
    if (nonzero[c] > n * DENSE_SHARE) denseList.push(c);
    else {
      sparseList.push(c);
      nonzeros += nonzero[c];
    }
  }
  const dense = denseList.map((c) => (c < width ? numbers[c] : new Float64Array(n)));
  const rowStart = new Int32Array(n + 1);
  const colIndex = new Int32Array(nonzeros);
  const values = new Float64Array(nonzeros);
  // numbers, then each factor's indicator (none without factors): row by row, sparse entries in column order
  const sparseNumbers = Int32Array.from(sparseList.filter((c) => c < width));
  const isDense = new Uint8Array(q);
  for (const c of denseList) isDense[c] = 1;
  readSparseRows(
    Array.from(sparseNumbers, (c) => numbers[c]),
    sparseNumbers,
    indicatorCodes,
    isDense,
    rowStart,
    colIndex,
    values,
  );
  if (indicatorCodes.length > 0) {
    // indicator columns stored dense (a level in more than half the rows)
    denseList.forEach((c, k) => {
      if (c < width || c >= given) return;
      const codes = indicatorCodes.find((f) => f.includes(c))!;
      const column = dense[k];
      for (let r = 0; r < n; r++) column[r] = codes[r] === c ? 1 : 0;
    });
  }
  if (q > given) dense[dense.length - 1].fill(1); // _cons, always dense, always last
  return { n, p: q, denseColumns: Int32Array.from(denseList), dense, sparse: { rowStart, colIndex, values } };
}

/** the sparse rows: the nonzeros of the number columns `sparseColumns` (their values in `sparse`), then the indicators */
function readSparseRows(
  sparse: Float64Array[],
  sparseColumns: Int32Array,
  indicatorCodes: Int32Array[],
  isDense: Uint8Array,
  rowStart: Int32Array,
  colIndex: Int32Array,
  values: Float64Array,
): void {
  const n = rowStart.length - 1;
  const S = sparseColumns.length;
  const F = indicatorCodes.length;
  let at = 0;
  for (let r = 0; r < n; r++) {
    rowStart[r] = at;
    for (let k = 0; k < S; k++) {
      const v = sparse[k][r];
      if (v !== 0) {
        colIndex[at] = sparseColumns[k];
        values[at++] = v;
      }
    }
    for (let f = 0; f < F; f++) {
      const c = indicatorCodes[f][r];
      if (c >= 0 && isDense[c] === 0) {
        colIndex[at] = c;
        values[at++] = 1;
      }
    }
  }
  rowStart[n] = at;
}

/** The split design as one row-major n × p array (for the pooled likelihoods' sparse rows and the NB2 start). */
function rowMajor(design: SplitDesign): Float64Array {
  const { n, p, denseColumns, dense } = design;
  const { rowStart, colIndex, values } = design.sparse;
  const X = new Float64Array(n * p);
  for (let k = 0; k < dense.length; k++) {
    const x = dense[k];
    const c = denseColumns[k];
    for (let r = 0; r < n; r++) X[r * p + c] = x[r];
  }
  for (let r = 0; r < n; r++) for (let k = rowStart[r]; k < rowStart[r + 1]; k++) X[r * p + colIndex[k]] = values[k];
  return X;
}

/** Per column (1 or 0): does it take two different values within at least one group? (exact comparisons) */
function variesWithin(design: SplitDesign, groupStart: Int32Array): Uint8Array {
  const { p, denseColumns, dense } = design;
  const { rowStart, colIndex, values } = design.sparse;
  const G = groupStart.length - 1;
  const varies = new Uint8Array(p);
  for (let k = 0; k < dense.length; k++) varies[denseColumns[k]] = denseVaries(dense[k], groupStart) ? 1 : 0;
  if (colIndex.length === 0) return varies;
  // a sparse column varies in a group when it is nonzero in some of its rows but not all, or takes two nonzero values
  const count = new Int32Array(p);
  const first = new Float64Array(p);
  const touched: number[] = [];
  for (let g = 0; g < G; g++) {
    const from = groupStart[g];
    const to = groupStart[g + 1];
    for (let k = rowStart[from]; k < rowStart[to]; k++) {
      const c = colIndex[k];
      if (count[c] === 0) {
        first[c] = values[k];
        touched.push(c);
      } else if (values[k] !== first[c]) varies[c] = 1;
      count[c]++;
    }
    for (const c of touched) {
      if (count[c] < to - from) varies[c] = 1;
      count[c] = 0;
    }
    touched.length = 0;
  }
  return varies;
}

function denseVaries(x: Float64Array, groupStart: Int32Array): boolean {
  const G = groupStart.length - 1;
  for (let g = 0; g < G; g++) {
    const first = x[groupStart[g]];
    for (let r = groupStart[g] + 1; r < groupStart[g + 1]; r++) if (x[r] !== first) return true;
  }
  return false;
}
