import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { distanceMatrix, greatCircleKm, spatialWeights } from '../../src/stats/spatial-weights.js';
import { Rng } from '../../src/stats/random.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/real-regions/${name}`, import.meta.url));

function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8').trim().split('\n').map((line) => line.split(','));
}

describe('greatCircleKm (haversine, R = 6371.0088 km)', () => {
  it('gives a quarter meridian for pole to equator', () => {
    // π/2 · 6371.0088 = 10007.557…
    expect(greatCircleKm({ lat: 90, lon: 0 }, { lat: 0, lon: 0 })).toBeCloseTo((Math.PI / 2) * 6371.0088, 6);
  });

  it('reproduces the independently computed distances between the 30 real capitals', () => {
    const regions = readCsv(fixture('regions.csv')).slice(1);
    const points = regions.map((r) => ({ lat: Number(r[4]), lon: Number(r[5]) }));
    const published = readCsv(fixture('capital_distance_km.csv'));
    const codes = published[0].slice(1);
    expect(codes).toEqual(regions.map((r) => r[0]));
    const d = distanceMatrix(points);
    let sum = 0;
    let pairs = 0;
    for (let i = 0; i < 30; i++) {
      for (let j = 0; j < 30; j++) {
        // the reference file is rounded to 0.1 km
        expect(Math.abs(d[i][j] - Number(published[i + 1][j + 1]))).toBeLessThanOrEqual(0.05 + 1e-9);
        if (j > i) {
          sum += d[i][j];
          pairs++;
        }
      }
    }
    expect(pairs).toBe(435);
    expect(Number((sum / pairs).toFixed(1))).toBe(1310.7);
    expect(d[0][1]).toBeCloseTo(108.2, 1); // Beijing–Tianjin
  });
});

describe('spatialWeights, eq. (3)-(5)', () => {
  // Three regions with d12 = 100, d13 = 200, d23 = 250 km, decay 2:
  //   w*12 = 100^-2 = 1e-4,  w*13 = 200^-2 = 2.5e-5,  w*23 = 250^-2 = 1.6e-5 (symmetric, diagonal 0)
  // eq4 divides by the row sum Σ_j:
  //   row 1: sum 1.25e-4  → [0, 0.8, 0.2]
  //   row 2: sum 1.16e-4  → [1e-4/1.16e-4 = 25/29, 0, 1.6e-5/1.16e-4 = 4/29]
  //   row 3: sum 4.1e-5   → [2.5e-5/4.1e-5 = 25/41, 1.6e-5/4.1e-5 = 16/41, 0]
  // eq5 divides by the column sum Σ_i (same sums, the matrix is symmetric), i.e. the transpose of eq4 here:
  //   [[0, 25/29, 25/41], [0.8, 0, 16/41], [0.2, 4/29, 0]]
  const d = [
    [0, 100, 200],
    [100, 0, 250],
    [200, 250, 0],
  ];

  it('eq3 is the raw inverse-distance kernel', () => {
    const w = spatialWeights(d, { decay: 2, standardization: 'eq3' });
    expect(w[0][1]).toBeCloseTo(1e-4, 15);
    expect(w[0][2]).toBeCloseTo(2.5e-5, 15);
    expect(w[1][2]).toBeCloseTo(1.6e-5, 15);
    expect([w[0][0], w[1][1], w[2][2]]).toEqual([0, 0, 0]);
  });

  it('eq4 matches the hand computation', () => {
    const w = spatialWeights(d, { decay: 2, standardization: 'eq4' });
    const expected = [
      [0, 0.8, 0.2],
      [25 / 29, 0, 4 / 29],
      [25 / 41, 16 / 41, 0],
    ];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(w[i][j]).toBeCloseTo(expected[i][j], 12);
  });

  it('eq5 matches the hand computation', () => {
    const w = spatialWeights(d, { decay: 2, standardization: 'eq5' });
    const expected = [
      [0, 25 / 29, 25 / 41],
      [0.8, 0, 16 / 41],
      [0.2, 4 / 29, 0],
    ];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(w[i][j]).toBeCloseTo(expected[i][j], 12);
  });

  it('decay 1 uses 1/d', () => {
    const w = spatialWeights(d, { decay: 1, standardization: 'eq3' });
    expect(w[1][2]).toBeCloseTo(1 / 250, 15);
  });

  it('rejects coincident capitals and bad options', () => {
    expect(() => spatialWeights([[0, 0], [0, 0]], { decay: 2, standardization: 'eq4' })).toThrow(/positive finite distance/);
    expect(() => spatialWeights(d, { decay: -1, standardization: 'eq4' })).toThrow(/decay/);
    expect(() => spatialWeights(d, { decay: 2, standardization: 'row' as never })).toThrow(/standardization/);
  });

  it('properties on random asymmetric distance matrices: eq4 rows and eq5 columns sum to 1, eq5 = eq4ᵀ when symmetric', () => {
    const rng = Rng.fromSeed(20260101, 'spatial-weights');
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + rng.int(10);
      const pts = Array.from({ length: n }, () => ({ lat: -60 + 120 * rng.uniform(), lon: -180 + 360 * rng.uniform() }));
      const sym = distanceMatrix(pts);
      const asym = sym.map((row) => row.map((x) => x * (0.5 + rng.uniform())));
      const decay = 0.5 + 2 * rng.uniform();
      for (const dm of [sym, asym]) {
        const w4 = spatialWeights(dm, { decay, standardization: 'eq4' });
        const w5 = spatialWeights(dm, { decay, standardization: 'eq5' });
        for (let i = 0; i < n; i++) {
          expect(w4[i].reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
          expect(w5.reduce((s, row) => s + row[i], 0)).toBeCloseTo(1, 12);
          expect(w4[i][i]).toBe(0);
          expect(w5[i][i]).toBe(0);
        }
      }
      const w4 = spatialWeights(sym, { decay, standardization: 'eq4' });
      const w5 = spatialWeights(sym, { decay, standardization: 'eq5' });
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(w5[i][j]).toBeCloseTo(w4[j][i], 12);
    }
  });
});
