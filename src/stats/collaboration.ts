// Collaboration weights of eq. (1)-(2), international collaboration intensity of eq. (8) and the
// inter-regional ("national") collaboration intensity of the paper's Table 2 (section 3 and 4.3).
import { SpillwayError } from '../errors.js';

function checkSquare(copubs: readonly (readonly number[])[], n: number): void {
  if (copubs.length !== n || copubs.some((row) => row.length !== n)) {
    throw new SpillwayError('invalidInput', `co-publication matrix must be ${n}×${n} (one row and column per region)`, {
      expected: `${n} rows of ${n} entries`,
    });
  }
}

/**
 * Eq. (1)-(2) weights: w_ij,t = PUB_ij,t / PUB_j,t for i ≠ j, diagonal 0.
 * PUB_ij,t = nano publications co-authored by regions i and j in year t; PUB_j,t = all nano publications of j.
 * A region without publications gives weight 0 (it has no co-publications either).
 */
export function collaborationWeights(copubs: readonly (readonly number[])[], pubs: readonly number[]): number[][] {
  const n = pubs.length;
  checkSquare(copubs, n);
  return copubs.map((row, i) =>
    row.map((c, j) => {
      if (i === j || pubs[j] === 0) return 0;
      if (c > pubs[j]) {
        throw new SpillwayError('invalidInput', `region ${j} has ${c} co-publications with region ${i} but only ${pubs[j]} publications`, {
          expected: 'PUB_ij ≤ PUB_j: every co-publication is also a publication of both regions',
        });
      }
      return c / pubs[j];
    }),
  );
}

/** Ratio in percent; 0 when the region has no publications (nothing to collaborate on). */
function percentOf(counts: readonly number[], pubs: readonly number[], what: string): number[] {
  if (counts.length !== pubs.length) {
    throw new SpillwayError('invalidInput', `${what}: ${counts.length} counts for ${pubs.length} regions`);
  }
  return counts.map((c, i) => (pubs[i] > 0 ? (100 * c) / pubs[i] : 0));
}

/**
 * Eq. (8), in percent: CI_it = 100 · Σ_k PUB_ik,t / PUB_i,t over the foreign partners k.
 * `foreignByRegion[i]` is Σ_k PUB_ik,t: a paper with two foreign partners counts twice (footnote 7),
 * so the value can exceed 100.
 */
export function internationalIntensity(foreignByRegion: readonly number[], pubs: readonly number[]): number[] {
  return percentOf(foreignByRegion, pubs, 'international intensity');
}

/**
 * Table 2's inter-regional ("national") collaboration intensity, in percent: 100 · (nano publications of region i
 * that also have an address in another Chinese region) / PUB_i,t. `interRegionalByRegion[i]` counts each such paper
 * once, however many other regions it has (unlike Σ_j PUB_ij, which would count a three-region paper twice).
 */
export function nationalIntensity(interRegionalByRegion: readonly number[], pubs: readonly number[]): number[] {
  return percentOf(interRegionalByRegion, pubs, 'national intensity');
}
