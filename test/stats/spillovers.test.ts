import { describe, expect, it } from 'vitest';
import { collaborationWeights } from '../../src/stats/collaboration.js';
import { spatialWeights } from '../../src/stats/spatial-weights.js';
import { spillover } from '../../src/stats/spillovers.js';
import { Rng } from '../../src/stats/random.js';

describe('spillover: Σ_{j≠i} w_ij · x_j (eq. 1, 2, 6, 7)', () => {
  it('collaboration spillovers, two years (eq. 1 and 2)', () => {
    // year 1: w = [[0, .4, .25], [.2, 0, 0], [.1, 0, 0]] (see collaboration.test.ts), PAT = [10, 20, 30]
    //   r1 = .4·20 + .25·30 = 8 + 7.5 = 15.5;  r2 = .2·10 = 2;  r3 = .1·10 = 1
    const w1 = collaborationWeights([[10, 2, 1], [2, 5, 0], [1, 0, 4]], [10, 5, 4]);
    expect(spillover(w1, [10, 20, 30])).toEqual([15.5, 2, 1]);
    // year 2: w = [[0, .5, 0], [.25, 0, 0], [0, 0, 0]], F = [100, 40, 7]
    //   r1 = .5·40 = 20;  r2 = .25·100 = 25;  r3 = 0
    const w2 = collaborationWeights([[0, 3, 0], [3, 0, 0], [0, 0, 0]], [12, 6, 0]);
    expect(spillover(w2, [100, 40, 7])).toEqual([20, 25, 0]);
  });

  it('spatial spillovers with eq4 weights (eq. 6)', () => {
    // eq4 weights of d12 = 100, d13 = 200, d23 = 250 (spatial-weights.test.ts): [[0,.8,.2],[25/29,0,4/29],[25/41,16/41,0]]
    // PAT = [10, 20, 30]:  r1 = .8·20 + .2·30 = 22;  r2 = (25·10 + 4·30)/29 = 370/29;  r3 = (25·10 + 16·20)/41 = 570/41
    const w = spatialWeights([[0, 100, 200], [100, 0, 250], [200, 250, 0]], { decay: 2, standardization: 'eq4' });
    const s = spillover(w, [10, 20, 30]);
    expect(s[0]).toBeCloseTo(22, 12);
    expect(s[1]).toBeCloseTo(370 / 29, 12);
    expect(s[2]).toBeCloseTo(570 / 41, 12);
  });

  it('ignores the diagonal (i ≠ j)', () => {
    // w11 = 5 would add 5·1 if the diagonal counted: r1 = 2·3 = 6 only
    expect(spillover([[5, 2], [1, 9]], [1, 3])).toEqual([6, 1]);
  });

  it('is linear in the values and independent of the own value', () => {
    const rng = Rng.fromSeed(7, 'spillover-linearity');
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + rng.int(8);
      const w = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.uniform()));
      const x = Array.from({ length: n }, () => 100 * rng.uniform());
      const y = Array.from({ length: n }, () => 100 * rng.uniform());
      const a = 3 * rng.uniform();
      const b = -2 + 4 * rng.uniform();
      const lhs = spillover(w, x.map((xi, k) => a * xi + b * y[k]));
      const sx = spillover(w, x);
      const sy = spillover(w, y);
      lhs.forEach((v, i) => expect(v).toBeCloseTo(a * sx[i] + b * sy[i], 9));
      // changing x_i leaves region i's own spillover unchanged
      const k = rng.int(n);
      const bumped = [...x];
      bumped[k] += 1000;
      expect(spillover(w, bumped)[k]).toBeCloseTo(sx[k], 9);
    }
  });

  it('rejects mismatched sizes', () => {
    expect(() => spillover([[0, 1], [1, 0]], [1, 2, 3])).toThrow(/3×3/);
  });
});
