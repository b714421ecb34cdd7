// The known traps of count-panel estimation (issue 2), each with a test that fails on the naive implementation.
import { describe, expect, it } from 'vitest';
import { SpillwayError } from '../../../src/errors.js';
import { fePoissonObjective } from '../../../src/stats/count/fe-poisson.js';
import { hhgObjective } from '../../../src/stats/count/hhg.js';
import { fitCountModel, type CountDesign } from '../../../src/stats/count/index.js';
import { ascentDirection, maximize } from '../../../src/stats/count/newton.js';
import { poissonObjective } from '../../../src/stats/count/poisson.js';
import { prepare } from '../../../src/stats/count/prepare.js';
import { lnGamma } from '../../../src/stats/special-functions.js';
import { Rng } from '../../../src/stats/random.js';
import { patentsDesign } from './reference-data.js';

const NEWTON = { maxIterations: 200, tolerance: 1e-12, gradientTolerance: 1e-12 };

describe('ln Γ differences at a large constant', () => {
  const design = patentsDesign();
  const data = prepare(design, { model: 'hhg-fenb', addConstant: true });
  const objective = hhgObjective(data);
  const fit = fitCountModel(design, { model: 'hhg-fenb', addConstant: true });
  // as the constant → ∞ the HHG log-likelihood at fixed slopes tends to the conditional FE Poisson one at the same
  // time-varying slopes (scisect and lcap72 are time-invariant and drop out)
  const varying = data.names.filter((name) => !['_cons', 'scisect', 'lcap72'].includes(name));
  const poissonData = prepare(
    { ...design, X: design.X.map((row) => varying.map((name) => row[design.names.indexOf(name)])), names: varying },
    { model: 'fe-poisson' },
  );
  const poissonLimit = fePoissonObjective(poissonData).loglik(Float64Array.from(varying.map((name) => fit.coef[name])));

  /** the textbook formula with ln Γ(λ+y) - ln Γ(λ) computed as a difference of two ln Γ values */
  function naiveLoglik(theta: Float64Array): number {
    const k = data.p;
    let ll = 0;
    for (let g = 0; g + 1 < data.groupStart.length; g++) {
      let total = 0;
      for (let r = data.groupStart[g]; r < data.groupStart[g + 1]; r++) {
        let eta = 0;
        for (let j = 0; j < k; j++) eta += data.X[r * k + j] * theta[j];
        const lambda = Math.exp(eta);
        total += lambda;
        ll += lnGamma(lambda + data.y[r]) - lnGamma(lambda) - lnGamma(data.y[r] + 1);
      }
      ll += lnGamma(total) + lnGamma(data.groupTotal[g] + 1) - lnGamma(total + data.groupTotal[g]);
    }
    return ll;
  }

  it('the HHG log-likelihood tends to the FE Poisson limit as the constant grows, where the naive one goes astray', () => {
    const theta = Float64Array.from(data.names.map((name) => fit.coef[name]));
    const cons = data.names.indexOf('_cons');
    const distances: number[] = [];
    for (const constant of [15, 25, 35, 45]) {
      theta[cons] = constant;
      const ll = objective.loglik(theta);
      expect(ll).toBeLessThan(0);
      distances.push(Math.abs(ll - poissonLimit));
      if (constant >= 25) expect(Math.abs(ll - poissonLimit)).toBeLessThan(1e-6 * Math.abs(poissonLimit));
      if (constant >= 35) expect(Math.abs(naiveLoglik(theta) - ll)).toBeGreaterThan(100); // λ ~ 1e15: naive has no digits left
    }
    // the distance to the limit shrinks like e^-constant (down to rounding)
    expect(distances[1]).toBeLessThan(distances[0] * 1e-3);
    expect(distances[3]).toBeLessThan(1e-9 * Math.abs(poissonLimit));
  });
});

describe('flat likelihood: no overdispersion within groups', () => {
  // every group's counts are as even as integers allow (variance far below the Poisson mean): the HHG maximum is at constant = +∞
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  for (let g = 0; g < 8; g++) {
    for (let t = 0; t < 5; t++) {
      const x = (t - 2) / 2 + 0.1 * g;
      X.push([x]);
      y.push(Math.round((4 + g) * Math.exp(0.3 * x)));
      groups.push(g);
    }
  }
  const design: CountDesign = { y, X, names: ['x'], groups };

  it('is reported in warnings with converged = false, not as a converged constant with a huge SE', () => {
    const fit = fitCountModel(design, { model: 'hhg-fenb', addConstant: true });
    expect(fit.converged).toBe(false);
    expect(fit.warnings.join('\n')).toMatch(/flat likelihood/);
    // the supremum is the conditional FE Poisson maximum
    const poisson = fitCountModel(design, { model: 'fe-poisson' });
    expect(fit.loglik).toBeLessThanOrEqual(poisson.loglik + 1e-8);
    expect(fit.loglik).toBeGreaterThan(poisson.loglik - 1e-4);
  });

  it('overdispersed data with the same design converge to an interior maximum above the FE Poisson limit', () => {
    const rng = Rng.fromSeed(11);
    const overdispersed = { ...design, y: design.X.map((row) => rng.poisson(rng.gamma(2) * 3 * Math.exp(0.3 * row[0]))) };
    const fit = fitCountModel(overdispersed, { model: 'hhg-fenb', addConstant: true });
    expect(fit.converged).toBe(true);
    expect(fit.warnings.join('\n')).not.toMatch(/flat/);
    expect(fit.loglik).toBeGreaterThan(fitCountModel(overdispersed, { model: 'fe-poisson' }).loglik);
  });

  it('NB2 without overdispersion reports alpha → 0 as a flat likelihood', () => {
    const fit = fitCountModel({ y, X, names: ['x'] }, { model: 'nb2', addConstant: true });
    expect(fit.converged).toBe(false);
    expect(fit.warnings.join('\n')).toMatch(/alpha → 0/);
  });
});

describe('the HHG likelihood is not globally concave', () => {
  const design = patentsDesign();
  const data = prepare(design, { model: 'hhg-fenb', addConstant: true });
  const objective = hhgObjective(data);
  const reference = fitCountModel(design, { model: 'hhg-fenb', addConstant: true });

  it('from a start where the Hessian is not negative definite, Newton with Hessian correction reaches the same maximum', () => {
    for (const constant of [6, 10, -20]) {
      const start = new Float64Array(data.p);
      start[data.names.indexOf('_cons')] = constant;
      const gradient = new Float64Array(data.p);
      const hessian = new Float64Array(data.p * data.p);
      objective.derivatives(start, gradient, hessian);
      if (constant > 0) expect(ascentDirection(hessian, gradient, data.p).concave).toBe(false);
      const run = maximize(objective, start, NEWTON);
      expect(run.converged).toBe(true);
      expect(run.loglik).toBeCloseTo(reference.loglik, 8);
      data.names.forEach((name, c) => expect(run.theta[c]).toBeCloseTo(reference.coef[name], 6));
    }
  });
});

describe('non-convergence', () => {
  it('running out of iterations gives converged = false and a diagnostic naming both criteria, not an error', () => {
    const fit = fitCountModel(patentsDesign(), { model: 'hhg-fenb', addConstant: true, maxIterations: 2 });
    expect(fit.converged).toBe(false);
    expect(fit.iterations).toBe(2);
    expect(fit.warnings.join('\n')).toMatch(/no convergence after 2 iterations \(relative change in log-likelihood .*, scaled gradient .*\)/);
    expect(fit.convergence.gradient_norm).toBeGreaterThan(1e-16);
  });
});

describe('exp(x\'b) overflow is a rejected step', () => {
  it('the likelihoods return NaN (not ±Infinity) beyond the overflow bound', () => {
    const data = prepare(patentsDesign(), { model: 'hhg-fenb', addConstant: true });
    const theta = new Float64Array(data.p);
    theta[data.names.indexOf('_cons')] = 800;
    expect(hhgObjective(data).loglik(theta)).toBeNaN();
  });

  it('a Newton step that would overflow is shortened and the fit converges to the right maximum', () => {
    // a regressor on a large scale: the first Newton step from a poor start overshoots far beyond exp's range
    const rng = Rng.fromSeed(3);
    const X = Array.from({ length: 200 }, () => [1, rng.uniform() * 300]);
    const y = X.map((row) => rng.poisson(Math.exp(0.5 + 0.01 * row[1])));
    const data = prepare({ y, X, names: ['one', 'x'] }, { model: 'nb2' });
    const objective = poissonObjective(data);
    const start = Float64Array.from([-15, 0]);
    const direction = ascentDirection(...(() => {
      const g = new Float64Array(2);
      const h = new Float64Array(4);
      objective.derivatives(start, g, h);
      return [h, g, 2] as const;
    })()).direction;
    const fullStep = Float64Array.from([start[0] + direction[0], start[1] + direction[1]]);
    expect(objective.loglik(fullStep)).toBeNaN(); // the untamed step overflows
    const run = maximize(objective, start, NEWTON);
    expect(run.converged).toBe(true);
    const good = maximize(objective, Float64Array.from([0.5, 0.01]), NEWTON);
    expect(run.theta[1]).toBeCloseTo(good.theta[1], 8);
    expect(Number.isFinite(run.loglik)).toBe(true);
  });
});

describe('columns without (within-group) variation, judged relative to their scale', () => {
  const rng = Rng.fromSeed(5);
  const rows = 10 * 6;
  const groups = Array.from({ length: rows }, (_, i) => Math.floor(i / 6));
  const z = Array.from({ length: rows }, () => rng.normal());
  const y = z.map((v) => rng.poisson(3 * Math.exp(0.4 * v)));
  // 1e8 plus rounding-level jitter (relative 1e-13): no real variation; 1e-9·z: tiny scale, real variation
  const big = z.map((v) => 1e8 * (1 + 1e-13 * v));
  const tiny = z.map((v) => 1e-9 * v);
  const timeInvariant = groups.map((g) => g * 0.5);

  it('fe-poisson drops the jittered constant and the time-invariant column by name, and keeps the tiny-scale regressor', () => {
    const fit = fitCountModel({ y, X: z.map((_, i) => [big[i], tiny[i], timeInvariant[i]]), names: ['big', 'tiny', 'fixed'], groups }, { model: 'fe-poisson' });
    expect(fit.dropped_columns.map((d) => d.name)).toEqual(['big', 'fixed']);
    expect(fit.dropped_columns[0].reason).toMatch(/no within-group variation/);
    const onZ = fitCountModel({ y, X: z.map((v) => [v]), names: ['z'], groups }, { model: 'fe-poisson' });
    expect(fit.coef.tiny * 1e-9).toBeCloseTo(onZ.coef.z, 10);
    expect(fit.se.tiny * 1e-9).toBeCloseTo(onZ.se.z, 10);
  });

  it('hhg-fenb keeps a time-invariant regressor (identified, as in Stata xtnbreg, fe) but drops one collinear with _cons', () => {
    const fit = fitCountModel({ y, X: z.map((_, i) => [z[i], timeInvariant[i], big[i]]), names: ['z', 'fixed', 'big'], groups }, { model: 'hhg-fenb', addConstant: true });
    expect(Object.keys(fit.coef)).toEqual(['z', 'fixed', '_cons']);
    expect(fit.dropped_columns).toEqual([{ name: 'big', reason: 'constant column (collinear with _cons)' }]);
  });
});

describe('collinear columns', () => {
  const rng = Rng.fromSeed(9);
  const groups: number[] = [];
  const years: number[] = [];
  const x: number[] = [];
  for (let g = 0; g < 12; g++) for (let t = 2001; t <= 2005; t++) {
    groups.push(g);
    years.push(t);
    x.push(rng.normal());
  }
  const y = x.map((v) => rng.poisson(rng.gamma(3) * Math.exp(0.3 * v)));

  it('a dummy for every year next to _cons: the last is dropped with its partners named, and the fit equals the one with a base level', () => {
    const allYears = [2001, 2002, 2003, 2004, 2005];
    const X = x.map((v, i) => [v, ...allYears.map((t) => (years[i] === t ? 1 : 0))]);
    const names = ['x', ...allYears.map((t) => `${t}.year`)];
    const fit = fitCountModel({ y, X, names, groups }, { model: 'hhg-fenb', addConstant: true });
    expect(fit.dropped_columns).toEqual([{ name: '2005.year', reason: 'collinear with 2001.year, 2002.year, 2003.year, 2004.year, _cons' }]);
    const withBase = fitCountModel({ y, X: X.map((row) => [row[0], ...row.slice(2)]), names: ['x', ...names.slice(2)], groups }, { model: 'hhg-fenb', addConstant: true });
    expect(fit.loglik).toBeCloseTo(withBase.loglik, 9);
    expect(fit.coef.x).toBeCloseTo(withBase.coef.x, 8);
    expect(fit.se.x).toBeCloseTo(withBase.se.x, 8);
  });

  it('a multiple of another regressor is dropped as collinear with it; fe-poisson drops _cons as absorbed', () => {
    const fit = fitCountModel({ y, X: x.map((v) => [v, -2.5 * v]), names: ['x', 'x_scaled'], groups }, { model: 'fe-poisson', addConstant: true });
    expect(fit.dropped_columns).toEqual([
      { name: '_cons', reason: 'absorbed by the group fixed effects' },
      { name: 'x_scaled', reason: 'collinear with x within groups' },
    ]);
    expect(Number.isFinite(fit.se.x)).toBe(true);
  });
});

describe('groups and bad input', () => {
  it('drops all-zero groups and single-observation groups and counts them', () => {
    const design: CountDesign = {
      y: [0, 0, 0, 1, 3, 2, 5, 0, 4, 7],
      X: [[0.1], [0.4], [0.2], [0.3], [0.9], [0.5], [0.8], [0.6], [0.2], [0.7]],
      names: ['x'],
      groups: ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'd', 'd', 'd'],
    };
    const fit = fitCountModel(design, { model: 'fe-poisson' });
    expect(fit.n).toBe(6);
    expect(fit.groups).toBe(2);
    expect(fit.dropped_groups).toBe(2);
    expect(fit.dropped_observations).toBe(4);
    expect(fit.warnings).toEqual([
      '1 group(s) (3 obs) dropped because all outcomes are zero',
      '1 group(s) dropped because they have only one observation',
    ]);
  });

  it('rejects a fractional count with its row and column', () => {
    try {
      fitCountModel({ y: [1, 2.5], X: [[1], [2]], names: ['x'], groups: [1, 1] }, { model: 'fe-poisson' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SpillwayError);
      expect((error as SpillwayError).kind).toBe('invalidInput');
      expect((error as SpillwayError).details).toMatchObject({ row: 2, field: 'y' });
    }
  });
});
