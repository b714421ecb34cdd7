// Detects columns to drop before fitting: no (within-group) variation, judged relative to the column's own scale, and
// exact collinearity, by modified Gram-Schmidt on the centred columns in order (a later column is dropped, as Stata's _rmcoll).

export type Centering = 'none' | 'mean' | 'within';

/** a column varies "not at all" when its centred sum of squares is below this share of its raw sum of squares (relative size 1e-7) */
const NO_VARIATION = 1e-14;
/** a column is collinear when the part of it unexplained by earlier columns is below this share of its centred sum of squares (R² > 1 - 1e-9) */
const COLLINEAR = 1e-9;
/** a coefficient of the collinear combination is reported when it carries at least this share of the column's size */
const REPORTED_SHARE = 1e-6;

export interface CandidateColumn {
  name: string;
  value: (row: number) => number;
  /** the `_cons` column: never dropped in 'mean' mode, where centring accounts for it */
  isConstant: boolean;
}

export function findDroppedColumns(input: {
  n: number;
  groupStart: Int32Array;
  columns: CandidateColumn[];
  centering: Centering;
}): { name: string; reason: string }[] {
  const { n, groupStart, columns, centering } = input;
  const dropped: { name: string; reason: string }[] = [];
  // orthonormal basis of the kept centred columns, and the triangular factor to recover combinations
  const basis: Float64Array[] = [];
  const basisNames: string[] = [];
  const rFactor: number[][] = [];

  for (const column of columns) {
    if (column.isConstant && centering === 'mean') continue;
    const v = new Float64Array(n);
    let raw = 0;
    for (let r = 0; r < n; r++) {
      v[r] = column.value(r);
      raw += v[r] * v[r];
    }
    if (raw === 0) {
      dropped.push({ name: column.name, reason: 'all values are zero' });
      continue;
    }
    if (centering === 'mean') subtractMean(v, 0, n);
    else if (centering === 'within') for (let g = 0; g + 1 < groupStart.length; g++) subtractMean(v, groupStart[g], groupStart[g + 1]);
    const centred = dot(v, v);
    if (hasNoVariation(centred, raw)) {
      dropped.push({
        name: column.name,
        reason: centering === 'within' ? 'no within-group variation (absorbed by the group fixed effects)' : 'constant column (collinear with _cons)',
      });
      continue;
    }
    const coefficients: number[] = [];
    for (const q of basis) {
      const c = dot(q, v);
      coefficients.push(c);
      for (let r = 0; r < n; r++) v[r] -= c * q[r];
    }
    const residual = dot(v, v);
    if (residual <= COLLINEAR * centred) {
      const combination = backSubstitute(rFactor, coefficients);
      const partners = basisNames.filter((_, k) => Math.abs(combination[k]) * rFactor[k][k] > REPORTED_SHARE * Math.sqrt(centred));
      if (centering === 'mean') partners.push('_cons');
      const within = centering === 'within' ? ' within groups' : '';
      dropped.push({ name: column.name, reason: `collinear with ${partners.join(', ')}${within}` });
      continue;
    }
    const norm = Math.sqrt(residual);
    for (let r = 0; r < n; r++) v[r] /= norm;
    basis.push(v);
    basisNames.push(column.name);
    rFactor.push([...coefficients, norm]);
  }
  return dropped;
}

function hasNoVariation(centred: number, raw: number): boolean {
  return centred <= NO_VARIATION * raw;
}

function subtractMean(v: Float64Array, from: number, to: number): void {
  let sum = 0;
  for (let r = from; r < to; r++) sum += v[r];
  const mean = sum / (to - from);
  for (let r = from; r < to; r++) v[r] -= mean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let r = 0; r < a.length; r++) s += a[r] * b[r];
  return s;
}

/** Solves R b = c for the upper-triangular R stored by columns (rFactor[k] = column k, entries 0..k). */
function backSubstitute(rFactor: number[][], c: number[]): number[] {
  const k = c.length;
  const b = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = c[i];
    for (let j = i + 1; j < k; j++) s -= rFactor[j][i] * b[j];
    b[i] = s / rFactor[i][i];
  }
  return b;
}
