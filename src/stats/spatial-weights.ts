// Great-circle distances between regional capitals and the paper's spatial proximity weights, eq. (3)-(5)
// (Wang, Notten et al., section 3; distance between capitals, footnote 6).
//
// A note on names, checked against the paper's text: eq. (4) divides w*_ij by Σ_j w*_ij, so every ROW of the
// matrix sums to 1 — what spatial econometrics usually calls "row standardisation" — yet the paper calls it
// "column standardization" (citing Vinciguerra et al. 2011). Eq. (5) divides by Σ_i w*_ij, so every COLUMN
// sums to 1 — usually "column standardisation" — and the paper calls it "row standardization". We implement
// the equations exactly as written and name the options by equation number ('eq3' | 'eq4' | 'eq5') to avoid
// the ambiguity. The paper reports results with eq. (4).
import { SpillwayError } from '../errors.js';

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;

export interface LatLon {
  /** WGS84 latitude, decimal degrees */
  lat: number;
  /** WGS84 longitude, decimal degrees */
  lon: number;
}

export type SpatialStandardization = 'eq3' | 'eq4' | 'eq5';

export interface SpatialWeightOptions {
  /** exponent γ of the inverse-distance kernel w*_ij = d_ij^(-γ); the paper uses 2 (eq. 3) */
  decay: number;
  /** 'eq3' none, 'eq4' divide by Σ_j (rows sum to 1), 'eq5' divide by Σ_i (columns sum to 1) */
  standardization: SpatialStandardization;
}

const RAD = Math.PI / 180;

/** Haversine great-circle distance in km on a sphere of radius EARTH_RADIUS_KM. */
export function greatCircleKm(a: LatLon, b: LatLon): number {
  const phi1 = a.lat * RAD;
  const phi2 = b.lat * RAD;
  const dPhi = phi2 - phi1;
  const dLambda = (b.lon - a.lon) * RAD;
  const h = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  // min() guards against h drifting a hair above 1 for antipodal points
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Symmetric matrix of great-circle distances (km) between the points, zero diagonal. */
export function distanceMatrix(points: readonly LatLon[]): number[][] {
  const n = points.length;
  const d = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const km = greatCircleKm(points[i], points[j]);
      d[i][j] = km;
      d[j][i] = km;
    }
  }
  return d;
}

/**
 * Spatial proximity weights, eq. (3)-(5): w*_ij = d_ij^(-decay) for i ≠ j (diagonal 0), then
 * eq3: w*_ij;  eq4: w*_ij / Σ_j w*_ij;  eq5: w*_ij / Σ_i w*_ij.
 * Used as w_ij in eq. (6)-(7): region i receives Σ_{j≠i} w_ij · x_j.
 */
export function spatialWeights(distanceKm: readonly (readonly number[])[], options: SpatialWeightOptions): number[][] {
  const { decay, standardization } = options;
  if (!Number.isFinite(decay) || decay < 0) {
    throw new SpillwayError('invalidInput', `distance decay must be a finite number ≥ 0, got ${decay}`, {
      expected: 'a non-negative exponent (the paper uses 2)',
    });
  }
  if (standardization !== 'eq3' && standardization !== 'eq4' && standardization !== 'eq5') {
    throw new SpillwayError('invalidInput', `unknown spatial standardization "${String(standardization)}"`, {
      expected: "'eq3' (none), 'eq4' (divide by the sum over j) or 'eq5' (divide by the sum over i)",
    });
  }
  const n = distanceKm.length;
  const raw = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    if (distanceKm[i].length !== n) {
      throw new SpillwayError('invalidInput', `distance matrix row ${i} has ${distanceKm[i].length} entries, expected ${n}`);
    }
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const d = distanceKm[i][j];
      if (!(d > 0) || !Number.isFinite(d)) {
        throw new SpillwayError('invalidInput', `distance between regions ${i} and ${j} is ${d}; inverse-distance weights need a positive finite distance`, {
          expected: 'distinct capitals at distinct coordinates',
          hint: 'check the lat/lon of both regions in regions.csv',
        });
      }
      raw[i][j] = d ** -decay;
    }
  }
  if (standardization === 'eq3') return raw;
  if (standardization === 'eq4') {
    return raw.map((row) => {
      const sum = row.reduce((s, w) => s + w, 0);
      return row.map((w) => (sum > 0 ? w / sum : 0));
    });
  }
  const colSums = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) colSums[j] += raw[i][j];
  return raw.map((row) => row.map((w, j) => (colSums[j] > 0 ? w / colSums[j] : 0)));
}
