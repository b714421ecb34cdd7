// Near-flat HHG likelihoods (issue 10): an interior maximum barely above the conditional FE Poisson limit is flagged,
// from three indicators that vote (src/stats/count/fit.ts, NEAR_FLAT); fits on either side of the boundary.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NEAR_FLAT, nearFlatVerdict } from '../../../src/stats/count/fit.js';
import { expandFactor, fitCountModel, type CountDesign } from '../../../src/stats/count/index.js';

const CONTROLS = ['intl_collab_intensity', 'rd_gdp', 'nonnano_patents_per_rd', 'gdp_per_capita'];
const MODEL5 = ['nano_funding_log', 'techspill_collab_log', 'techspill_spatial_log', ...CONTROLS];
const MODEL6 = ['nano_funding_log', 'fundspill_collab_log', 'fundspill_spatial_log', ...CONTROLS];

/** the leading sample of the default run (test/stats/count/fixtures/README.md), as estimate builds it: regressors, year dummies */
function leadingDesign(regressors: string[]): CountDesign {
  const text = readFileSync(fileURLToPath(new URL('./fixtures/leading-rows.csv', import.meta.url)), 'utf8').trim().split('\n');
  const header = text[0].split(',');
  const rows = text.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, k) => [header[k], v])));
  const years = expandFactor(rows.map((r) => Number(r.year)), { name: 'year' });
  return {
    y: rows.map((r) => Number(r.nano_patents)),
    X: rows.map((r, i) => [...regressors.map((v) => Number(r[v])), ...years.columns.map((c) => c[i])]),
    names: [...regressors, ...years.names],
    groups: rows.map((r) => r.region),
  };
}

/**
 * 10 groups × 8 periods with large means m and within-group deviations m·a·(±1) orthogonal to x: the overdispersion
 * beyond Poisson is ≈ a²m − 1, so a moves the data continuously (up to rounding) from "no overdispersion" to "plenty".
 */
function constructed(a: number): CountDesign {
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  const pattern = [1, -1, -1, 1, 1, -1, 1, -1];
  for (let g = 0; g < 10; g++) {
    for (let t = 0; t < 8; t++) {
      const x = (t - 3.5) / 4 + 0.05 * g;
      const m = (2000 + 300 * g) * Math.exp(0.4 * x);
      y.push(Math.round(m * (1 + a * pattern[(t + g) % 8])));
      X.push([x]);
      groups.push(g);
    }
  }
  return { y, X, names: ['x'], groups };
}

describe('near-flat HHG likelihood on the default data (Table 4, leading sample)', () => {
  const hhg5 = fitCountModel(leadingDesign(MODEL5), { model: 'hhg-fenb', addConstant: true });
  const poisson5 = fitCountModel(leadingDesign(MODEL5), { model: 'fe-poisson' });

  it('model (5) converges to a maximum 0.00035 above the FE Poisson limit and is flagged near-flat by all three indicators', () => {
    expect(hhg5.converged).toBe(true);
    expect(hhg5.coef._cons).toBeCloseTo(6.722, 2);
    expect(hhg5.se._cons).toBeGreaterThan(30);
    const id = hhg5.identification!;
    // the limit is the FE Poisson maximum on the same rows (fitted independently here)
    expect(id.fe_poisson_loglik).toBeCloseTo(poisson5.loglik, 8);
    expect(id.lr_vs_fe_poisson).toBeGreaterThan(0);
    expect(id.lr_vs_fe_poisson).toBeLessThan(0.001);
    expect(id.indicators).toEqual({ gap: true, curvature: true, lambda: true });
    expect(id.near_flat).toBe(true);
    expect(hhg5.warnings.join('\n')).toMatch(/^near-flat likelihood: .*FE Poisson/m);
    // converged stays true: a near-flat fit is a maximum, but not an informative one
    expect(hhg5.converged).toBe(true);
  });

  it('near the limit the value gap and the curvature measure the same distance: 2Δℓ ≈ 1/se(_cons)²', () => {
    const id = hhg5.identification!;
    expect(id.lr_vs_fe_poisson * id.constant_se! ** 2).toBeGreaterThan(0.8);
    expect(id.lr_vs_fe_poisson * id.constant_se! ** 2).toBeLessThan(1.25);
    // and the slopes are those of the Poisson limit to within a fraction of their SEs
    for (const name of MODEL5) expect(Math.abs(hhg5.coef[name] - poisson5.coef[name])).toBeLessThan(0.25 * hhg5.se[name]);
  });

  it('model (6) on the same rows is weakly identified but not near-flat: no indicator fires', () => {
    const hhg6 = fitCountModel(leadingDesign(MODEL6), { model: 'hhg-fenb', addConstant: true });
    const id = hhg6.identification!;
    expect(hhg6.converged).toBe(true);
    expect(id.lr_vs_fe_poisson).toBeGreaterThan(0.05);
    expect(id.constant_se).toBeLessThan(5);
    expect(id.indicators).toEqual({ gap: false, curvature: false, lambda: false });
    expect(id.near_flat).toBe(false);
    expect(hhg6.warnings.join('\n')).not.toMatch(/flat/);
  });
});

describe('constructed data on either side of the boundary', () => {
  it('a = 0.0147: a maximum exists but 2Δℓ < 0.01, se(_cons) > 10 and overdispersion < 1%: near-flat', () => {
    const fit = fitCountModel(constructed(0.0147), { model: 'hhg-fenb', addConstant: true });
    expect(fit.converged).toBe(true);
    expect(fit.identification!.indicators).toEqual({ gap: true, curvature: true, lambda: true });
    expect(fit.identification!.near_flat).toBe(true);
  });

  it('a = 0.0148 (one count more of spread per cell in a few cells): every indicator on the other side, not near-flat', () => {
    const fit = fitCountModel(constructed(0.0148), { model: 'hhg-fenb', addConstant: true });
    expect(fit.converged).toBe(true);
    const id = fit.identification!;
    expect(id.lr_vs_fe_poisson).toBeGreaterThan(NEAR_FLAT.lr);
    expect(id.constant_se).toBeLessThan(NEAR_FLAT.constantSe);
    expect(id.implied_overdispersion).toBeGreaterThan(NEAR_FLAT.overdispersion);
    expect(id.near_flat).toBe(false);
  });

  it('clearly overdispersed data (a = 0.03) are far from the limit', () => {
    const fit = fitCountModel(constructed(0.03), { model: 'hhg-fenb', addConstant: true });
    expect(fit.identification!.lr_vs_fe_poisson).toBeGreaterThan(50);
    expect(fit.identification!.near_flat).toBe(false);
  });

  it('no overdispersion at all (a = 0) stays the flat case: converged = false, no identification block', () => {
    const fit = fitCountModel(constructed(0), { model: 'hhg-fenb', addConstant: true });
    expect(fit.converged).toBe(false);
    expect(fit.identification).toBeUndefined();
    expect(fit.warnings.join('\n')).toMatch(/^flat likelihood/m);
  });

  it('fe-poisson and nb2 fits carry no identification block', () => {
    expect(fitCountModel(constructed(0.03), { model: 'fe-poisson' }).identification).toBeUndefined();
    expect(fitCountModel({ ...constructed(0.03), groups: undefined }, { model: 'nb2', addConstant: true }).identification).toBeUndefined();
  });
});

describe('the vote: one indicator across its threshold does not flip the verdict alone', () => {
  const { lr, constantSe, overdispersion } = NEAR_FLAT;
  it('two of three flag; one of three does not', () => {
    expect(nearFlatVerdict(lr * 0.9, constantSe * 1.1, overdispersion * 10).near_flat).toBe(true);
    expect(nearFlatVerdict(lr * 0.9, constantSe * 0.9, overdispersion * 0.9).near_flat).toBe(true);
    expect(nearFlatVerdict(lr * 0.9, constantSe * 0.9, overdispersion * 1.1).near_flat).toBe(false);
    expect(nearFlatVerdict(lr * 1.1, constantSe * 0.9, overdispersion * 0.9).near_flat).toBe(false);
    expect(nearFlatVerdict(lr * 1.1, constantSe * 1.1, overdispersion * 1.1).near_flat).toBe(false);
  });

  it('an infinite constant SE (no curvature at all) counts as flat; no _cons abstains, and then both others must agree', () => {
    expect(nearFlatVerdict(lr * 0.5, Infinity, overdispersion * 2).near_flat).toBe(true);
    expect(nearFlatVerdict(lr * 0.5, null, overdispersion * 2).near_flat).toBe(false);
    expect(nearFlatVerdict(lr * 0.5, null, overdispersion * 0.5).near_flat).toBe(true);
  });
});
