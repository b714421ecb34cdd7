// The likelihoods and the collinearity check read the design split in two: mostly-nonzero columns dense (column-major),
// the others (indicators) as sparse rows. Which part a column lands in must not change any result: checked by shifting
// an indicator by a constant, which moves it from the sparse part to the dense one and, with _cons in the model, leaves
// every slope, standard error and the log-likelihood where they were (only _cons moves, by -shift · slope).
import { describe, expect, it } from 'vitest';
import { fitCountModel, type CountDesign } from '../../../src/stats/count/index.js';
import { prepare } from '../../../src/stats/count/prepare.js';
import { Rng } from '../../../src/stats/random.js';

/** 40 groups × 8 periods: a continuous regressor, a time-varying indicator (~30% ones) and a group-level indicator */
function panel(seed: number): CountDesign {
  const rng = Rng.fromSeed(seed);
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  for (let i = 0; i < 40; i++) {
    const level = rng.normal();
    const treated = i % 5 === 0 ? 1 : 0; // 8 of 40 groups: 20% of the rows
    const delta = Math.exp(0.5 * rng.normal());
    for (let t = 0; t < 8; t++) {
      const x = rng.normal() + 0.3 * level;
      const d = rng.uniform() < 0.3 ? 1 : 0;
      X.push([x, d, treated]);
      groups.push(i);
      y.push(rng.poisson(rng.gamma(Math.exp(0.5 + 0.4 * x - 0.5 * d + 0.3 * treated)) / delta));
    }
  }
  return { y, X, names: ['x', 'd', 'treated'], groups };
}

const shiftColumn = (design: CountDesign, column: number, by: number): CountDesign => ({
  ...design,
  X: design.X.map((row) => Array.from(row, (v, c) => (c === column ? v + by : v))),
});

describe('split design: a column stored sparse or dense gives the same fit', () => {
  const design = panel(5);
  const shifted = shiftColumn(design, 1, 2); // d + 2: never zero

  it('the shift moves d from the sparse part to the dense one', () => {
    const isDense = (data: ReturnType<typeof prepare>, name: string) => Array.from(data.split.denseColumns).includes(data.names.indexOf(name));
    expect(isDense(prepare(design, { model: 'hhg-fenb', addConstant: true }), 'd')).toBe(false);
    expect(isDense(prepare(shifted, { model: 'hhg-fenb', addConstant: true }), 'd')).toBe(true);
  });

  for (const model of ['hhg-fenb', 'fe-poisson', 'nb2'] as const) {
    it(`${model}: same slopes, SEs and log-likelihood`, () => {
      const options = { model, addConstant: model !== 'fe-poisson' };
      const base = fitCountModel(design, options);
      const moved = fitCountModel(shifted, options);
      expect(base.converged && moved.converged).toBe(true);
      for (const name of ['x', 'd']) {
        expect(moved.coef[name]).toBeCloseTo(base.coef[name], 9);
        expect(moved.se[name]).toBeCloseTo(base.se[name], 9);
      }
      expect(moved.loglik).toBeCloseTo(base.loglik, 8);
      if (model !== 'fe-poisson') expect(moved.coef._cons).toBeCloseTo(base.coef._cons - 2 * base.coef.d, 9);
      expect(moved.dropped_columns).toEqual(base.dropped_columns);
    });
  }
});

describe('split design: within-group variation of sparse columns', () => {
  it('fe-poisson drops a group-level indicator (sparse or dense) as absorbed by the fixed effects', () => {
    for (const design of [panel(6), shiftColumn(panel(6), 2, 3)]) {
      const fit = fitCountModel(design, { model: 'fe-poisson' });
      expect(fit.dropped_columns).toEqual([{ name: 'treated', reason: 'no within-group variation (absorbed by the group fixed effects)' }]);
    }
  });

  it('hhg keeps it, and leaves it out of its FE Poisson start only while it is constant within every group', () => {
    const design = panel(7);
    expect(prepare(design, { model: 'hhg-fenb', addConstant: true }).variesWithinGroups).toEqual([true, true, false, false]);
    // 2 instead of 1 in one row of a treated group: the sparse column now varies within that group
    const twice = { ...design, X: design.X.map((row, r) => (r === 1 ? [row[0], row[1], 2] : row)) };
    expect(prepare(twice, { model: 'hhg-fenb', addConstant: true }).variesWithinGroups).toEqual([true, true, true, false]);
    // 0 in one row of a treated group: nonzero in some of the group's rows but not all
    const gap = { ...design, X: design.X.map((row, r) => (r === 1 ? [row[0], row[1], 0] : row)) };
    expect(prepare(gap, { model: 'hhg-fenb', addConstant: true }).variesWithinGroups).toEqual([true, true, true, false]);
    const fit = fitCountModel(design, { model: 'hhg-fenb', addConstant: true });
    expect(fit.converged).toBe(true);
    expect(Object.keys(fit.coef)).toEqual(['x', 'd', 'treated', '_cons']);
  });

  it('an indicator that is the sum of two others is dropped, naming them', () => {
    const design = panel(8);
    const rng = Rng.fromSeed(9);
    const X = design.X.map((row) => {
      const a = row[1] === 1 && rng.uniform() < 0.5 ? 1 : 0;
      const b = row[1] === 1 ? 1 - a : 0;
      return [row[0], a, b, a + b];
    });
    const fit = fitCountModel({ ...design, X, names: ['x', 'a', 'b', 'a_or_b'] }, { model: 'hhg-fenb', addConstant: true });
    expect(fit.dropped_columns).toEqual([{ name: 'a_or_b', reason: 'collinear with a, b, _cons' }]);
  });
});

describe('packed indicator columns (a factor given by level numbers)', () => {
  /** the panel with two factors: `period` (8 levels, base 0: sparse columns) and `regime` (3 levels, one in 70% of rows: a dense column) */
  function withFactors(seed: number) {
    const design = panel(seed);
    const rng = Rng.fromSeed(seed + 100);
    const n = design.y.length;
    const period = Int32Array.from({ length: n }, (_, i) => (i % 8) - 1); // -1: base level
    const regime = Int32Array.from({ length: n }, () => (rng.uniform() < 0.7 ? 0 : rng.uniform() < 0.5 ? 1 : -1));
    const values = Float64Array.from(design.X.flatMap((row) => [row[0], row[1]]));
    const names = ['x', 'd', ...Array.from({ length: 7 }, (_, t) => `${t + 1}.period`), 'a.regime', 'b.regime'];
    const written = design.X.map((row, i) => [row[0], row[1], ...Array.from({ length: 7 }, (_, t) => (period[i] === t ? 1 : 0)), regime[i] === 0 ? 1 : 0, regime[i] === 1 ? 1 : 0]);
    return {
      packed: { ...design, X: { values, width: 2, indicators: [{ codes: period, count: 7 }, { codes: regime, count: 2 }] }, names },
      written: { ...design, X: written, names },
    };
  }

  for (const model of ['hhg-fenb', 'fe-poisson', 'nb2'] as const) {
    it(`${model}: the same fit as with the indicator columns written out`, () => {
      const { packed, written } = withFactors(11);
      const options = { model, addConstant: model !== 'fe-poisson' };
      const a = fitCountModel(packed, options);
      const b = fitCountModel(written, options);
      expect(a.converged).toBe(true);
      expect(Object.keys(a.coef)).toEqual(Object.keys(b.coef));
      for (const name of Object.keys(b.coef)) {
        expect(a.coef[name]).toBeCloseTo(b.coef[name], 12);
        expect(a.se[name]).toBeCloseTo(b.se[name], 12);
      }
      expect(a.loglik).toBeCloseTo(b.loglik, 9);
    });
  }

  it('the level in 70% of the rows is stored dense, the others sparse', () => {
    const data = prepare(withFactors(11).packed, { model: 'hhg-fenb', addConstant: true });
    const dense = Array.from(data.split.denseColumns, (c) => data.names[c]);
    expect(dense).toEqual(['x', 'a.regime', '_cons']);
  });

  it('a code outside -1 .. count-1 is an error naming the row', () => {
    const { packed } = withFactors(12);
    const codes = Int32Array.from(packed.X.indicators[0].codes);
    codes[4] = 7;
    const bad = { ...packed, X: { ...packed.X, indicators: [{ codes, count: 7 }, packed.X.indicators[1]] } };
    expect(() => fitCountModel(bad, { model: 'hhg-fenb', addConstant: true })).toThrow(/indicator code 7 is not -1 or a column number below 7/);
  });
});
