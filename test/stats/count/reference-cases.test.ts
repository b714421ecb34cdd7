// The estimators against published outputs (test/fixtures/reference-cases/README.md names the sources).
// Printed values must agree to their printed digits (within half a unit of the last printed decimal); full-precision
// stored values to a relative 1e-6.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitCountModel } from '../../../src/stats/count/index.js';
import { patentsDesign, randhieDesign, referenceCase, shipsDesign } from './reference-data.js';

const RAW = readFileSync(new URL('../../fixtures/reference-cases/cases.json', import.meta.url), 'utf8');

/** The number of decimals a value was printed with, read from the raw text of cases.json (JSON.parse drops trailing zeros). */
function printedDecimals(caseName: string, section: string, key: string): number {
  const block = RAW.slice(RAW.indexOf(`"${caseName}"`));
  const sectionText = block.slice(block.indexOf(`"${section}"`));
  const match = new RegExp(`"${key.replace('.', '\\.')}"\\s*:\\s*\\[?\\s*(-?[0-9.]+)`).exec(sectionText);
  if (!match) throw new Error(`no printed value ${caseName}.${section}.${key}`);
  const decimals = match[1].split('.')[1];
  return decimals ? decimals.length : 0;
}

function expectPrinted(actual: number, printed: number, decimals: number): void {
  expect(Math.abs(actual - printed)).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-12);
}

function expectRelative(actual: number, reference: number, tolerance = 1e-6): void {
  expect(Math.abs(actual - reference) / Math.abs(reference)).toBeLessThanOrEqual(tolerance);
}

describe('Stata xtpoisson, fe on the ships data (printed output)', () => {
  const reference = referenceCase('ships_xtpoisson_fe').published;
  const fit = fitCountModel(shipsDesign(['op_75_79', 'co_65_69', 'co_70_74', 'co_75_79']), { model: 'fe-poisson' });

  it('uses 34 observations in 5 ships and converges', () => {
    expect(fit.converged).toBe(true);
    expect(fit.n).toBe(reference.n);
    expect(fit.groups).toBe(reference.groups);
    expect(fit.dropped_groups).toBe(0);
  });

  it('matches the log-likelihood and the Wald chi2 to the printed digits', () => {
    expectPrinted(fit.loglik, reference.loglik, printedDecimals('ships_xtpoisson_fe', 'published', 'loglik'));
    expect(fit.wald?.df).toBe(reference.wald_df);
    expectPrinted(fit.wald!.chi2, reference.wald_chi2, 2);
  });

  it('matches the incidence-rate ratios exp(b) and their delta-method SEs exp(b)·se(b) to the printed digits', () => {
    for (const name of Object.keys(reference.irr)) {
      const irr = Math.exp(fit.coef[name]);
      expectPrinted(irr, reference.irr[name], printedDecimals('ships_xtpoisson_fe', 'irr', name));
      expectPrinted(irr * fit.se[name], reference.se_irr[name], printedDecimals('ships_xtpoisson_fe', 'se_irr', name));
    }
  });
});

describe('Stata nbreg on the ships data with exposure (full precision)', () => {
  const reference = referenceCase('ships_nbreg').published;
  const fit = fitCountModel(shipsDesign(['yr_con', 'op_75_79']), { model: 'nb2', addConstant: true });

  it('matches coefficients, observed-information SEs, ln(alpha), alpha and the log-likelihood to 1e-6', () => {
    expect(fit.converged).toBe(true);
    expect(fit.n).toBe(34);
    expect(fit.groups).toBeNull();
    for (const name of Object.keys(reference.coef)) {
      expectRelative(fit.coef[name], reference.coef[name]);
      expectRelative(fit.se[name], reference.se[name]);
    }
    expectRelative(fit.ancillary.lnalpha, reference.lnalpha);
    expectRelative(fit.ancillary.se_lnalpha, reference.se_lnalpha);
    expectRelative(fit.ancillary.alpha, reference.alpha);
    expectRelative(fit.ancillary.se_alpha, reference.se_alpha);
    expectRelative(fit.loglik, reference.loglik);
  });
});

describe('NB2 on the RAND HIE data (20,190 rows)', () => {
  const reference = referenceCase('randhie_nb2').published;
  const fit = fitCountModel(randhieDesign(), { model: 'nb2', addConstant: true });

  it('matches the Stata log-likelihood and ln(alpha), and the glm.nb coefficients, to 1e-6', () => {
    expect(fit.converged).toBe(true);
    expect(fit.n).toBe(20190);
    expectRelative(fit.loglik, reference.loglik);
    expectRelative(fit.ancillary.lnalpha, reference.lnalpha);
    for (const name of Object.keys(reference.coef)) expectRelative(fit.coef[name], reference.coef[name]);
  });

  it("matches Stata's printed OIM se(ln alpha) to the printed digits and its 95% intervals to the last printed digit", () => {
    expectPrinted(fit.ancillary.se_lnalpha, reference.se_lnalpha, printedDecimals('randhie_nb2', 'published', 'se_lnalpha'));
    // Stata's intervals are centred on its own b, which is the ML estimate only to Stata's convergence tolerance: their
    // midpoints differ from the glm.nb coefficients (matched above to ~1e-8) by up to 3.5e-8. So the bounds are held to
    // one unit of the 7th decimal, not half a unit; 18 of the 20 bounds are within half a unit.
    let withinHalfUnit = 0;
    for (const name of Object.keys(reference.ci95_stata_oim)) {
      const [lo, hi] = reference.ci95_stata_oim[name] as [number, number];
      for (const [ours, printed] of [[fit.ci95[name][0], lo], [fit.ci95[name][1], hi]]) {
        expect(Math.abs(ours - printed)).toBeLessThanOrEqual(1e-7);
        if (Math.abs(ours - printed) <= 0.5e-7) withinHalfUnit++;
      }
    }
    expect(withinHalfUnit).toBeGreaterThanOrEqual(18);
  });
});

describe('pglm HHG FE negative binomial on the patents panel (Hall, Griliches & Hausman)', () => {
  const reference = referenceCase('patents_hhg_pglm').published;
  const fit = fitCountModel(patentsDesign(), { model: 'hhg-fenb', addConstant: true });

  it('drops the 22 all-zero firms, leaving 1,620 observations in 324 firms, and converges', () => {
    expect(fit.converged).toBe(true);
    expect(fit.n).toBe(reference.n);
    expect(fit.groups).toBe(reference.groups);
    expect(fit.dropped_groups).toBe(reference.dropped_groups);
    expect(fit.dropped_observations).toBe(22 * 5);
    expect(fit.dropped_columns).toEqual([]);
    expect(fit.warnings.join('\n')).not.toMatch(/flat/);
  });

  it('matches the log-likelihood, 13 coefficients and SEs to 1e-6 (and to 1e-8 absolute, pglm having stopped at its own tolerance)', () => {
    expectRelative(fit.loglik, reference.loglik);
    expect(Object.keys(fit.coef).sort()).toEqual(Object.keys(reference.coef).sort());
    for (const name of Object.keys(reference.coef)) {
      expectRelative(fit.coef[name], reference.coef[name]);
      expectRelative(fit.se[name], reference.se[name]);
      expect(Math.abs(fit.coef[name] - reference.coef[name])).toBeLessThan(1e-8);
      expect(Math.abs(fit.se[name] - reference.se[name])).toBeLessThan(1e-8);
    }
  });
});
