import { describe, expect, it } from 'vitest';
import {
  controls,
  gdpPerCapita10kYuan,
  laggedRows,
  logOnePlus,
  nonNanoPatentsPerMillionRd,
  rdIntensityPercent,
} from '../../src/stats/panel-variables.js';

describe('panel variables', () => {
  it('log(1 + x)', () => {
    expect(logOnePlus(0)).toBe(0);
    expect(logOnePlus(Math.E - 1)).toBeCloseTo(1, 15);
    expect(() => logOnePlus(-1)).toThrow(/x ≥ 0/);
  });

  it('lags within a region by the given number of years', () => {
    // 3 regions × 2 years (2000, 2001): lag 1 maps (r, 2001) → (r, 2000) and (r, 2000) → nothing
    const rows = ['A', 'B', 'C'].flatMap((region) => [2000, 2001].map((year) => ({ region, year, v: `${region}${year}` })));
    const lagged = laggedRows(rows, 1);
    expect(lagged.map((r) => r?.v)).toEqual([undefined, 'A2000', undefined, 'B2000', undefined, 'C2000']);
    expect(laggedRows(rows, 0).map((r) => r?.v)).toEqual(rows.map((r) => r.v));
    expect(laggedRows(rows, 2).every((r) => r === undefined)).toBe(true);
    expect(() => laggedRows([...rows, rows[0]], 1)).toThrow(/twice/);
    expect(() => laggedRows(rows, 0.5)).toThrow(/whole number/);
  });

  it('controls in the units of Table 3', () => {
    // Beijing-like row: gdp 6969.5 亿元, population 1538 万人, R&D 382.1 亿元, non-nano patents 22500
    //   R&D/GDP = 100 · 382.1 / 6969.5 = 5.4825 %
    //   non-nano / R&D = 22500 / (100 · 382.1) = 22500 / 38210 = 0.58885 patents per million yuan
    //   GDP per capita = 6969.5 / 1538 = 4.5315 (10,000 yuan per person, i.e. 45,315 yuan)
    const c = controls({ gdp: 6969.5, population: 1538, rd_expenditure: 382.1, nonnano_patents: 22500 });
    expect(c.rd_gdp).toBeCloseTo(5.48246, 4);
    expect(c.nonnano_patents_per_rd).toBeCloseTo(0.588851, 5);
    expect(c.gdp_per_capita).toBeCloseTo(4.531534, 5);
    expect(rdIntensityPercent(1, 200)).toBe(0.5);
    expect(nonNanoPatentsPerMillionRd(50, 0.5)).toBe(1);
    expect(gdpPerCapita10kYuan(300, 100)).toBe(3);
    expect(() => rdIntensityPercent(1, 0)).toThrow(/denominator/);
  });
});
