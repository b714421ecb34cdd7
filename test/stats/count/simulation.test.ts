// Data drawn from the HHG model itself recover its coefficients (30 groups × 11 years, seeded).
import { describe, expect, it } from 'vitest';
import { expandFactor, fitCountModel } from '../../../src/stats/count/index.js';
import { Rng } from '../../../src/stats/random.js';

describe('simulation from the HHG conditional negative binomial model', () => {
  // HHG (1984) eq. 3.1: y_it ~ NegBin(λ_it, δ_i), mean λ_it/δ_i, variance λ_it(1 + δ_i)/δ_i², drawn as
  // Poisson(Gamma(shape λ_it, scale 1/δ_i)); λ_it = exp(β0 + β1 x1 + β2 x2 + year effect)
  const truth: Record<string, number> = { x1: 0.5, x2: -0.3, _cons: 1.0 };
  const years = Array.from({ length: 11 }, (_, t) => 2000 + t);
  years.slice(1).forEach((year, t) => (truth[`${year}.year`] = 0.04 * (t + 1) - 0.2));
  const rng = Rng.fromSeed(20240611);
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  const yearOf: number[] = [];
  for (let i = 0; i < 30; i++) {
    const delta = Math.exp(0.6 * rng.normal());
    const level = rng.normal();
    for (const year of years) {
      const x1 = 0.5 * level + rng.normal();
      const x2 = rng.uniform() * 2;
      const index = truth._cons + truth.x1 * x1 + truth.x2 * x2 + (truth[`${year}.year`] ?? 0);
      y.push(rng.poisson(rng.gamma(Math.exp(index)) / delta));
      X.push([x1, x2]);
      groups.push(i);
      yearOf.push(year);
    }
  }
  const dummies = expandFactor(yearOf, { name: 'year' });

  it('recovers every coefficient within 3 standard errors', () => {
    const fit = fitCountModel(
      { y, X: X.map((row, i) => [...row, ...dummies.columns.map((column) => column[i])]), names: ['x1', 'x2', ...dummies.names], groups },
      { model: 'hhg-fenb', addConstant: true },
    );
    expect(fit.converged).toBe(true);
    expect(fit.n + fit.dropped_observations).toBe(330);
    expect(Object.keys(fit.coef).sort()).toEqual(Object.keys(truth).sort());
    for (const [name, value] of Object.entries(truth)) {
      expect(Math.abs(fit.coef[name] - value) / fit.se[name]).toBeLessThan(3);
    }
    // and the slopes are estimated with useful precision, not vacuously "within 3 SE" of anything
    expect(fit.se.x1).toBeLessThan(0.1);
    expect(fit.se.x2).toBeLessThan(0.15);
  });
});
