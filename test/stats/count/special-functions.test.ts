// Special functions against known values (A&S tables, closed forms) and the differences against independent sums.
import { describe, expect, it } from 'vitest';
import {
  lnFactorial,
  digamma,
  digammaDiff,
  erfc,
  gammaDifferences,
  lnGamma,
  lnGammaDiff,
  normalCdf,
  trigamma,
  trigammaDiff,
  trigammaDiffScaled,
  twoSidedP,
} from '../../../src/stats/special-functions.js';

const EULER = 0.5772156649015329;
const CATALAN = 0.915965594177219015;

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

describe('lnGamma, digamma, trigamma', () => {
  it('match closed forms and tabulated constants', () => {
    expect(lnGamma(1)).toBe(0);
    expect(lnGamma(2)).toBe(0);
    expectRelative(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-15);
    expectRelative(lnGamma(1 / 3), Math.log(2.678938534707747633), 1e-14); // Γ(1/3)
    expectRelative(lnGamma(0.25), Math.log(3.625609908221908311), 1e-14); // Γ(1/4)
    expectRelative(lnGamma(10), Math.log(362880), 1e-15); // 9!
    expectRelative(lnGamma(100), 359.13420536957539878, 1e-15); // ln 99!
    expectRelative(lnGamma(1e-10), -Math.log(1e-10) - EULER * 1e-10, 1e-14); // ln Γ(x) = -ln x - γx + O(x²)
    expectRelative(digamma(1), -EULER, 1e-15);
    expectRelative(digamma(0.5), -EULER - 2 * Math.LN2, 1e-15);
    expectRelative(digamma(0.25), -EULER - Math.PI / 2 - 3 * Math.LN2, 1e-15);
    expectRelative(digamma(100), 4.600161852738087, 1e-15);
    expectRelative(trigamma(1), Math.PI ** 2 / 6, 1e-15);
    expectRelative(trigamma(0.5), Math.PI ** 2 / 2, 1e-15);
    expectRelative(trigamma(0.25), Math.PI ** 2 + 8 * CATALAN, 1e-15);
  });

  it('satisfy the recurrences across the switch to the asymptotic series at 15', () => {
    for (const x of [0.7, 13.9, 14.2, 14.999, 15, 22.5, 1e4]) {
      expect(Math.abs(lnGamma(x + 1) - lnGamma(x) - Math.log(x))).toBeLessThanOrEqual(1e-15 * Math.max(10, Math.abs(lnGamma(x + 1))));
      expectRelative(digamma(x + 1) - digamma(x), 1 / x, 1e-11);
      expectRelative(trigamma(x) - trigamma(x + 1), 1 / (x * x), 1e-9);
    }
  });
});

describe('differences for an integer increment (the lgamma trap)', () => {
  it('ln Γ(a+y) - ln Γ(a) keeps full precision when a ≫ y, where the naive difference loses every digit', () => {
    const a = 1e15;
    const exact = 3 * Math.log(a) + Math.log1p(1 / a) + Math.log1p(2 / a); // ln[a(a+1)(a+2)]
    expectRelative(lnGammaDiff(a, 3), exact, 1e-15);
    const naive = lnGamma(a + 3) - lnGamma(a);
    expect(Math.abs(naive - exact) / exact).toBeGreaterThan(1e-3); // what the naive version would return
  });

  it('matches independent sums Σ ln(a+k), Σ 1/(a+k), -Σ 1/(a+k)² in every branch', () => {
    const cases: [number, number][] = [
      [3.7, 40], // exact-product branch
      [0.3, 200], // small a, large y: direct difference
      [1e-6, 7], // tiny a
      [20.5, 100], // asymptotic branch with y > a
      [1e8, 1000], // asymptotic branch with a ≫ y
      [15, 1], // boundary
    ];
    for (const [a, y] of cases) {
      let lnSum = 0;
      let inverse = 0;
      let inverseSquare = 0;
      for (let k = 0; k < y; k++) {
        lnSum += Math.log(a) + Math.log1p(k / a);
        inverse += 1 / (a + k);
        inverseSquare += 1 / ((a + k) * (a + k));
      }
      expectRelative(lnGammaDiff(a, y), lnSum, 1e-12);
      expectRelative(digammaDiff(a, y), inverse, 1e-12);
      expectRelative(trigammaDiff(a, y), -inverseSquare, 1e-11);
    }
    for (const [a, y] of [...cases, [1e-200, 3], [0.7, 1], [3, 64], [3, 65]] as [number, number][]) {
      const out = new Float64Array(3);
      gammaDifferences(a, y, out);
      expectRelative(out[0], lnGammaDiff(a, y), 1e-13);
      expectRelative(out[1], digammaDiff(a, y), 1e-13);
      expectRelative(out[2], trigammaDiffScaled(a, y), 1e-13);
    }
    expect(trigammaDiffScaled(1e-200, 3)).toBeCloseTo(-1, 12); // a²/a² without overflow
    expect(lnGammaDiff(5, 0)).toBe(0);
    expect(digammaDiff(5, 0)).toBe(0);
    expect(trigammaDiff(5, 0)).toBe(0);
  });

  it('digamma and trigamma differences stay accurate for a = 1e9 where naive differences cancel', () => {
    const a = 1e9;
    expectRelative(digammaDiff(a, 5), 1 / a + 1 / (a + 1) + 1 / (a + 2) + 1 / (a + 3) + 1 / (a + 4), 1e-13);
    expectRelative(trigammaDiff(a, 2), -(1 / (a * a) + 1 / ((a + 1) * (a + 1))), 1e-12);
    const b = 1e12;
    expectRelative(trigammaDiff(b, 1), -1 / (b * b), 1e-12);
    expect(Math.abs(trigamma(b + 1) - trigamma(b) + 1 / (b * b)) * b * b).toBeGreaterThan(1e-6); // naive

  });
});

describe('erfc and normal probabilities (Cody 1969)', () => {
  it('match known values in each of the three ranges', () => {
    expectRelative(erfc(0.3), 0.671373240540872583, 1e-15); // |x| ≤ 0.46875
    expectRelative(erfc(2), 0.004677734981047266, 1e-14); // 0.46875 < |x| ≤ 4
    expectRelative(erfc(10), 2.088487583762544757e-45, 1e-13); // |x| > 4
    expectRelative(erfc(-1), 1.842700792949714869, 1e-15);
    expectRelative(normalCdf(-1), 0.15865525393145707, 1e-14);
    expectRelative(normalCdf(-1.959963984540054), 0.025, 1e-14);
    expectRelative(twoSidedP(5), 2 * 2.866515718791939e-7, 1e-13);
    expectRelative(twoSidedP(-10), 2 * 7.619853024160527e-24, 1e-12);
    expect(twoSidedP(0)).toBe(1);
  });
});

describe('lnFactorial', () => {
  it('is ln k!, the same bits as lnGamma(k + 1), from the table and past it', () => {
    expect(lnFactorial(0)).toBe(0);
    expect(lnFactorial(1)).toBe(0);
    expect(lnFactorial(5)).toBe(Math.log(120));
    expectRelative(lnFactorial(20), Math.log(2432902008176640000), 1e-15);
    for (let k = 0; k <= 1100; k++) {
      const twice = [lnFactorial(k), lnFactorial(k)]; // the second from the table
      expect(Object.is(twice[0], lnGamma(k + 1)) && Object.is(twice[1], lnGamma(k + 1)), `k = ${k}`).toBe(true);
    }
    expect(Object.is(lnFactorial(2.5), lnGamma(3.5))).toBe(true);
  });
});
