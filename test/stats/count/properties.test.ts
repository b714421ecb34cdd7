// Properties the estimators must have, checked on real (ships) and seeded simulated data.
import { describe, expect, it } from 'vitest';
import { fePoissonObjective } from '../../../src/stats/count/fe-poisson.js';
import { hhgObjective } from '../../../src/stats/count/hhg.js';
import { fitCountModel, type CountDesign } from '../../../src/stats/count/index.js';
import { maximize } from '../../../src/stats/count/newton.js';
import { nb2Objective } from '../../../src/stats/count/nb2.js';
import type { Objective } from '../../../src/stats/count/objective.js';
import { poissonObjective } from '../../../src/stats/count/poisson.js';
import { prepare } from '../../../src/stats/count/prepare.js';
import { Rng } from '../../../src/stats/random.js';
import { shipsDesign } from './reference-data.js';

/** a small overdispersed panel with an offset, a time-invariant column and varied count sizes (incl. counts > 64) */
function simulatedPanel(seed: number, groups = 12, periods = 6): CountDesign {
  const rng = Rng.fromSeed(seed);
  const y: number[] = [];
  const X: number[][] = [];
  const g: number[] = [];
  const offset: number[] = [];
  for (let i = 0; i < groups; i++) {
    const level = rng.normal();
    const fixed = rng.uniform();
    for (let t = 0; t < periods; t++) {
      const x1 = rng.normal() + 0.3 * level;
      const x2 = t / periods;
      const off = 0.5 * rng.normal();
      X.push([x1, x2, fixed]);
      offset.push(off);
      g.push(i);
      y.push(rng.poisson(rng.gamma(2) * Math.exp(1 + 0.5 * x1 - 0.4 * x2 + 0.3 * fixed + off + (i % 4 === 0 ? 2.5 : 0))));
    }
  }
  return { y, X, names: ['x1', 'x2', 'fixed'], groups: g, offset };
}

function groupDummies(groups: ArrayLike<string | number>): { columns: number[][]; names: string[] } {
  const levels = [...new Set(Array.from(groups))];
  return {
    columns: Array.from(groups, (g) => levels.map((level) => (level === g ? 1 : 0))),
    names: levels.map((level) => `group_${level}`),
  };
}

describe('conditional FE Poisson = Poisson with group dummies', () => {
  for (const [label, design] of [
    ['ships (exposure)', shipsDesign(['op_75_79', 'co_65_69', 'co_70_74', 'co_75_79'])],
    ['simulated panel', (() => { const d = simulatedPanel(21); return { ...d, X: d.X.map((r) => Array.from(r).slice(0, 2)), names: ['x1', 'x2'] }; })()],
  ] as [string, CountDesign][]) {
    it(`same coefficients and standard errors (${label})`, () => {
      const conditional = fitCountModel(design, { model: 'fe-poisson' });
      const dummies = groupDummies(design.groups!);
      const pooled = prepare(
        { y: design.y, X: Array.from(design.X, (row, i) => [...Array.from(row), ...dummies.columns[i]]), names: [...design.names, ...dummies.names], offset: design.offset },
        { model: 'nb2' },
      );
      const run = maximize(poissonObjective(pooled), new Float64Array(pooled.p), { maxIterations: 100, tolerance: 1e-14, gradientTolerance: 1e-16 });
      expect(run.converged).toBe(true);
      // observed information of the dummy model, inverted, for the slope block
      const k = pooled.p;
      const { Matrix, inverse } = require('ml-matrix') as typeof import('ml-matrix');
      const info = new Matrix(k, k);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) info.set(a, b, -run.hessian[a * k + b]);
      const covariance = inverse(info);
      design.names.forEach((name, c) => {
        expect(conditional.coef[name]).toBeCloseTo(run.theta[c], 8);
        expect(conditional.se[name]).toBeCloseTo(Math.sqrt(covariance.get(c, c)), 8);
      });
    });
  }
});

describe('conditional FE Poisson ignores a group constant in the offset', () => {
  it('coefficients, SEs and log-likelihood are unchanged', () => {
    const design = simulatedPanel(22);
    const base = fitCountModel(design, { model: 'fe-poisson' });
    const shifted = fitCountModel(
      { ...design, offset: Array.from(design.offset!, (o, i) => o + 3.7 * Number(design.groups![i]) - 9) },
      { model: 'fe-poisson' },
    );
    for (const name of Object.keys(base.coef)) {
      expect(shifted.coef[name]).toBeCloseTo(base.coef[name], 10);
      expect(shifted.se[name]).toBeCloseTo(base.se[name], 10);
    }
    expect(shifted.loglik).toBeCloseTo(base.loglik, 9);
    // …which the HHG model does not (there the group's scale is informative): a sanity check that the test can fail
    const hhg = fitCountModel(design, { model: 'hhg-fenb', addConstant: true });
    const hhgShifted = fitCountModel({ ...design, offset: Array.from(design.offset!, (o, i) => o + 0.7 * Number(design.groups![i])) }, { model: 'hhg-fenb', addConstant: true });
    expect(Math.abs(hhgShifted.loglik - hhg.loglik)).toBeGreaterThan(1e-3);
  });
});

/** central differences of ℓ (for the gradient) and of the analytic gradient (for the Hessian) */
function checkDerivatives(objective: Objective, theta: Float64Array): void {
  const k = objective.dim;
  const gradient = new Float64Array(k);
  const hessian = new Float64Array(k * k);
  const ll = objective.derivatives(theta, gradient, hessian);
  expect(ll).toBeCloseTo(objective.loglik(theta), 9);
  const g1 = new Float64Array(k);
  const g2 = new Float64Array(k);
  const h = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const step = 1e-5 * Math.max(1, Math.abs(theta[j]));
    const up = Float64Array.from(theta);
    const down = Float64Array.from(theta);
    up[j] += step;
    down[j] -= step;
    const numeric = (objective.loglik(up) - objective.loglik(down)) / (2 * step);
    expect(Math.abs(numeric - gradient[j])).toBeLessThan(1e-6 * Math.max(1, Math.abs(gradient[j]), Math.abs(ll) * 1e-3));
    objective.derivatives(up, g1, h);
    objective.derivatives(down, g2, h);
    for (let i = 0; i < k; i++) {
      const numericH = (g1[i] - g2[i]) / (2 * step);
      expect(Math.abs(numericH - hessian[i * k + j])).toBeLessThan(1e-5 * Math.max(1, Math.abs(hessian[i * k + j])));
    }
  }
}

describe('analytic gradients and Hessians match finite differences at random points', () => {
  const design = simulatedPanel(23);
  const rng = Rng.fromSeed(24);
  const randomTheta = (k: number, scale: number) => Float64Array.from({ length: k }, () => scale * rng.normal());

  it('hhg-fenb', () => {
    const data = prepare(design, { model: 'hhg-fenb', addConstant: true });
    for (let trial = 0; trial < 5; trial++) checkDerivatives(hhgObjective(data), randomTheta(data.p, 0.8));
    // a point with large means (the asymptotic branches) and one with tiny means
    const large = randomTheta(data.p, 0.3);
    large[data.names.indexOf('_cons')] = 6;
    checkDerivatives(hhgObjective(data), large);
    const small = randomTheta(data.p, 0.3);
    small[data.names.indexOf('_cons')] = -6;
    checkDerivatives(hhgObjective(data), small);
  });

  it('fe-poisson', () => {
    const data = prepare(design, { model: 'fe-poisson' });
    for (let trial = 0; trial < 5; trial++) checkDerivatives(fePoissonObjective(data), randomTheta(data.p, 1));
  });

  it('nb2 (β and ln α)', () => {
    const data = prepare(design, { model: 'nb2', addConstant: true });
    for (let trial = 0; trial < 5; trial++) {
      const theta = randomTheta(data.p + 1, 0.5);
      theta[data.p] = [-3, -1, 0, 1, 2.5][trial];
      checkDerivatives(nb2Objective(data), theta);
    }
  });

  it('pooled Poisson', () => {
    const data = prepare(design, { model: 'nb2', addConstant: true });
    for (let trial = 0; trial < 3; trial++) checkDerivatives(poissonObjective(data), randomTheta(data.p, 0.5));
  });
});

describe('packed regressors (PackedCountDesign) and warm starts (FitOptions.start)', () => {
  const design = simulatedPanel(23, 15, 7);
  const packed = { ...design, X: { values: Float64Array.from(design.X.flatMap((row) => Array.from(row))), width: design.names.length } };

  it('a packed design gives the same fit as rows of arrays, for every model', () => {
    for (const model of ['hhg-fenb', 'fe-poisson', 'nb2'] as const) {
      const rows = fitCountModel(design, { model, addConstant: model !== 'fe-poisson' });
      const flat = fitCountModel(packed, { model, addConstant: model !== 'fe-poisson' });
      expect(flat.coef).toEqual(rows.coef);
      expect(flat.se).toEqual(rows.se);
      expect(flat.loglik).toBe(rows.loglik);
      expect(flat.dropped_columns).toEqual(rows.dropped_columns);
    }
  });

  it('a packed design of the wrong shape, or a bad value in it, is an invalidInput error naming the row', () => {
    expect(() => fitCountModel({ ...packed, X: { values: packed.X.values.subarray(1), width: 3 } }, { model: 'nb2' })).toThrow(/packed regressor rows/);
    expect(() => fitCountModel({ ...packed, X: { values: packed.X.values, width: 2 } }, { model: 'nb2' })).toThrow(/2 columns for 3 names/);
    const bad = Float64Array.from(packed.X.values);
    bad[3 * 4 + 1] = NaN; // row 5, column x2
    expect(() => fitCountModel({ ...packed, X: { values: bad, width: 3 } }, { model: 'nb2' })).toThrow(expect.objectContaining({ kind: 'invalidInput', details: expect.objectContaining({ row: 5, field: 'x2' }) }));
  });

  it('a warm start reaches the same maximum in fewer iterations (fe-poisson; nb2 through its Poisson start fit)', () => {
    const cold = fitCountModel(design, { model: 'fe-poisson' });
    const warm = fitCountModel(design, { model: 'fe-poisson', start: Object.fromEntries(Object.entries(cold.coef).map(([k, v]) => [k, v + 0.01])) });
    expect(warm.iterations).toBeLessThan(cold.iterations);
    for (const name of Object.keys(cold.coef)) expect(warm.coef[name]).toBeCloseTo(cold.coef[name], 9);
    expect(warm.loglik).toBeCloseTo(cold.loglik, 9);
    const nb2 = fitCountModel(design, { model: 'nb2', addConstant: true });
    const nb2Warm = fitCountModel(design, { model: 'nb2', addConstant: true, start: { x1: 0.4, nonsense: 5 } });
    for (const name of Object.keys(nb2.coef)) expect(nb2Warm.coef[name]).toBeCloseTo(nb2.coef[name], 7);
    expect(() => fitCountModel(design, { model: 'fe-poisson', start: { x1: NaN } })).toThrow(/start value NaN for x1/);
  });
});
