// Spillover pools of eq. (1), (2), (6), (7): region i receives Σ_{j≠i} w_ij · x_j (paper section 3).
import { SpillwayError } from '../errors.js';

/** Σ_{j≠i} w_ij · x_j for every i; the diagonal of `weights` is ignored (i ≠ j in every equation). */
export function spillover(weights: readonly (readonly number[])[], values: readonly number[]): number[] {
  const n = values.length;
  if (weights.length !== n || weights.some((row) => row.length !== n)) {
    throw new SpillwayError('invalidInput', `weight matrix must be ${n}×${n} to match ${n} values`);
  }
  return weights.map((row, i) => {
    let sum = 0;
    for (let j = 0; j < n; j++) if (j !== i) sum += row[j] * values[j];
    return sum;
  });
}
