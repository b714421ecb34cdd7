// Descriptive statistics for report tables, through simple-statistics: summary (n, mean, sample SD, min,
// max), Pearson correlation matrices and the coefficient of variation.
import * as ss from 'simple-statistics';

export interface Summary {
  n: number;
  mean: number;
  /** sample standard deviation (divisor n − 1), as Stata's `summarize` */
  sd: number;
  min: number;
  max: number;
}

/** NaN for the statistics an empty (or, for sd, one-element) sample cannot give. */
export function summarize(values: readonly number[]): Summary {
  const x = [...values];
  if (x.length === 0) return { n: 0, mean: NaN, sd: NaN, min: NaN, max: NaN };
  return {
    n: x.length,
    mean: ss.mean(x),
    sd: x.length > 1 ? ss.sampleStandardDeviation(x) : NaN,
    min: ss.min(x),
    max: ss.max(x),
  };
}

/** Pearson correlation r_ij = cov(x_i, x_j) / (s_i s_j) for every pair of columns; NaN where a column is constant. */
export function correlationMatrix(columns: readonly (readonly number[])[]): number[][] {
  const k = columns.length;
  const m: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(NaN));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      const r = i === j ? 1 : safeCorrelation(columns[i], columns[j]);
      m[i][j] = r;
      m[j][i] = r;
    }
  }
  return m;
}

function safeCorrelation(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) return NaN;
  if (ss.sampleVariance([...a]) === 0 || ss.sampleVariance([...b]) === 0) return NaN;
  return ss.sampleCorrelation([...a], [...b]);
}

/** Coefficient of variation: sample SD / mean (simple-statistics' definition); NaN for a zero mean or n < 2. */
export function coefficientOfVariation(values: readonly number[]): number {
  const x = [...values];
  if (x.length < 2) return NaN;
  const m = ss.mean(x);
  return m === 0 ? NaN : ss.coefficientOfVariation(x);
}

/** Compound (exponential) growth rate per period between two levels: (end / start)^(1 / periods) − 1. */
export function compoundGrowthRate(start: number, end: number, periods: number): number {
  if (!(start > 0) || !(end >= 0) || !(periods > 0)) return NaN;
  return Math.pow(end / start, 1 / periods) - 1;
}
