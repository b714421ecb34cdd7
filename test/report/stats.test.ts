import { describe, expect, it } from 'vitest';
import { coefficientOfVariation, compoundGrowthRate, correlationMatrix, summarize } from '../../src/report/index.js';

describe('summarize', () => {
  it('matches hand-computed mean, sample SD, min, max', () => {
    // x = 2, 4, 4, 4, 5, 5, 7, 9: mean = 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
    // sample variance = 32/7 = 4.571428…; sd = sqrt(32/7) = 2.138089935…
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.n).toBe(8);
    expect(s.mean).toBe(5);
    expect(s.sd).toBeCloseTo(2.138089935299395, 12);
    expect(s.min).toBe(2);
    expect(s.max).toBe(9);
  });
  it('gives NaN where the sample cannot', () => {
    expect(summarize([]).mean).toBeNaN();
    expect(summarize([3]).sd).toBeNaN();
    expect(summarize([3]).mean).toBe(3);
  });
});

describe('correlationMatrix', () => {
  it('matches hand-computed Pearson correlations', () => {
    // a = 1,2,3,4; b = 2,4,6,8 (b = 2a → r = 1); c = 4,3,1,2:
    // a − ā = −1.5,−.5,.5,1.5; c − c̄ (c̄ = 2.5) = 1.5,.5,−1.5,−.5
    // Σ(a−ā)(c−c̄) = −2.25 − .25 − .75 − .75 = −4; Σ(a−ā)² = 5; Σ(c−c̄)² = 2.25+.25+2.25+.25 = 5 → r = −4/5 = −0.8
    const m = correlationMatrix([[1, 2, 3, 4], [2, 4, 6, 8], [4, 3, 1, 2]]);
    expect(m[0][0]).toBe(1);
    expect(m[1][0]).toBeCloseTo(1, 12);
    expect(m[2][0]).toBeCloseTo(-0.8, 12);
    expect(m[0][2]).toBeCloseTo(-0.8, 12);
    expect(m[2][1]).toBeCloseTo(-0.8, 12);
  });
  it('is NaN for a constant column instead of dividing by zero', () => {
    const m = correlationMatrix([[1, 2, 3], [5, 5, 5]]);
    expect(m[1][0]).toBeNaN();
  });
});

describe('coefficientOfVariation and compoundGrowthRate', () => {
  it('CV = sample SD / mean', () => {
    // 1,2,3,4: mean 2.5, sample variance (2.25+.25+.25+2.25)/3 = 5/3, sd = 1.290994…, CV = 0.516397…
    expect(coefficientOfVariation([1, 2, 3, 4])).toBeCloseTo(0.5163977794943222, 12);
    expect(coefficientOfVariation([0, 0])).toBeNaN();
  });
  it('reproduces the paper\'s Table 1 growth 2005-10 from its own levels', () => {
    // leading: (4419/1704)^(1/5) − 1 = 2.5933^(0.2) − 1 = 0.2099 → the paper prints 21%
    expect(compoundGrowthRate(1704, 4419, 5)).toBeCloseTo(0.2099, 3);
    // lagging: (1914/692)^(1/5) − 1 = 2.7659^(0.2) − 1 = 0.2256 → the paper prints 23%
    expect(compoundGrowthRate(692, 1914, 5)).toBeCloseTo(0.2256, 3);
    expect(compoundGrowthRate(0, 5, 5)).toBeNaN();
  });
});
