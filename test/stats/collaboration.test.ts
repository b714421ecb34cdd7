import { describe, expect, it } from 'vitest';
import { collaborationWeights, internationalIntensity, nationalIntensity } from '../../src/stats/collaboration.js';

describe('collaborationWeights, eq. (1)-(2): w_ij = PUB_ij / PUB_j', () => {
  it('year 1 fixture', () => {
    // PUB = [10, 5, 4]; co-publications PUB12 = 2, PUB13 = 1, PUB23 = 0
    //   w12 = 2/5 = 0.4,  w13 = 1/4 = 0.25
    //   w21 = 2/10 = 0.2, w23 = 0/4 = 0
    //   w31 = 1/10 = 0.1, w32 = 0/5 = 0
    const w = collaborationWeights(
      [
        [10, 2, 1],
        [2, 5, 0],
        [1, 0, 4],
      ],
      [10, 5, 4],
    );
    expect(w).toEqual([
      [0, 0.4, 0.25],
      [0.2, 0, 0],
      [0.1, 0, 0],
    ]);
  });

  it('year 2 fixture: a region without publications gives and gets weight 0', () => {
    // PUB = [12, 6, 0]; PUB12 = 3 → w12 = 3/6 = 0.5, w21 = 3/12 = 0.25; region 3 has no papers: w13 = w31 = 0
    const w = collaborationWeights(
      [
        [0, 3, 0],
        [3, 0, 0],
        [0, 0, 0],
      ],
      [12, 6, 0],
    );
    expect(w).toEqual([
      [0, 0.5, 0],
      [0.25, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('rejects more co-publications than publications and non-square input', () => {
    expect(() => collaborationWeights([[0, 3], [3, 0]], [5, 2])).toThrow(/co-publications/);
    expect(() => collaborationWeights([[0, 1]], [1, 1])).toThrow(/2×2/);
  });
});

describe('internationalIntensity, eq. (8) in percent', () => {
  it('counts each foreign partner (footnote 7)', () => {
    // region 1: 10 papers, one with USA+Japan (2) and one with Germany (1) → Σ_k PUB_1k = 3 → 30 %
    // region 2: 5 papers, one with Hong Kong → 1/5 = 20 %; region 3: no partners → 0 %; region 4: no papers → 0
    expect(internationalIntensity([3, 1, 0, 0], [10, 5, 4, 0])).toEqual([30, 20, 0, 0]);
  });
  it('can exceed 100 when papers have several partners', () => {
    // 2 papers each with 3 foreign partners: 6/2 = 300 %
    expect(internationalIntensity([6], [2])).toEqual([300]);
  });
});

describe('nationalIntensity (Table 2) in percent', () => {
  it('is the share of papers with another Chinese region', () => {
    // region 1: 3 of 10 papers inter-regional → 30 %; region 2: 2 of 5 → 40 %; region 3: 1 of 4 → 25 %
    expect(nationalIntensity([3, 2, 1], [10, 5, 4])).toEqual([30, 40, 25]);
  });
});
