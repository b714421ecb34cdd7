// Panel transformations for the estimation design of the paper's Table 3/4: log(1 + x), lagging regressors by a
// number of years within a region, and the three controls with their units.
//
// Units (chosen so that the magnitudes match Table 3, given the raw units of docs/data-format.md:
// gdp and rd_expenditure in 100 million yuan (亿元), population in 10,000 persons (万人)):
//   R&D/GDP                 percent                       = 100 · rd_expenditure / gdp           (Table 3 mean 1.08)
//   non-nano patents / R&D  patents per million yuan R&D  = nonnano_patents / (100 · rd_expenditure) (mean 1.07)
//   GDP per capita          10,000 yuan per person        = gdp / population                     (mean 1.57)
import { SpillwayError } from '../errors.js';

/** log(1 + x), the transformation Table 3 marks "(log)"; defined for counts and amounts ≥ 0. */
export function logOnePlus(x: number): number {
  if (!(x >= 0) || !Number.isFinite(x)) {
    throw new SpillwayError('invalidInput', `log(1 + x) needs a finite x ≥ 0, got ${x}`, {
      expected: 'a non-negative count or amount',
    });
  }
  return Math.log1p(x);
}

export interface RegionYear {
  region: string;
  year: number;
}

/**
 * For each row, the row of the same region `years` earlier (undefined when the panel lacks it), in the order of `rows`.
 * `years` = 0 returns each row itself. Duplicate region-years are an error: a lag would be ambiguous.
 */
export function laggedRows<T extends RegionYear>(rows: readonly T[], years: number): (T | undefined)[] {
  if (!Number.isInteger(years) || years < 0) {
    throw new SpillwayError('invalidInput', `lag must be a whole number of years ≥ 0, got ${years}`);
  }
  const byKey = new Map<string, T>();
  for (const row of rows) {
    const key = `${row.region}\u0000${row.year}`;
    if (byKey.has(key)) {
      throw new SpillwayError('invalidInput', `region ${row.region} appears twice in year ${row.year}`, {
        expected: 'one row per region and year',
      });
    }
    byKey.set(key, row);
  }
  return rows.map((row) => byKey.get(`${row.region}\u0000${row.year - years}`));
}

function ratio(numerator: number, denominator: number, what: string): number {
  if (!(denominator > 0)) {
    throw new SpillwayError('invalidInput', `${what}: denominator is ${denominator}, must be > 0`, {
      expected: 'positive GDP, population and R&D expenditure in region_year.csv',
    });
  }
  return numerator / denominator;
}

/** R&D intensity in percent: 100 · rd_expenditure / gdp (both in the same currency unit). */
export function rdIntensityPercent(rdExpenditure: number, gdp: number): number {
  return 100 * ratio(rdExpenditure, gdp, 'R&D/GDP');
}

/** Non-nano patent applications per million yuan of R&D expenditure; rd_expenditure in 100 million yuan (亿元). */
export function nonNanoPatentsPerMillionRd(nonNanoPatents: number, rdExpenditure100MYuan: number): number {
  return ratio(nonNanoPatents, 100 * rdExpenditure100MYuan, 'non-nano patents / R&D');
}

/** GDP per capita in 10,000 yuan per person: gdp in 100 million yuan (亿元) / population in 10,000 persons (万人). */
export function gdpPerCapita10kYuan(gdp100MYuan: number, population10k: number): number {
  return ratio(gdp100MYuan, population10k, 'GDP per capita');
}

export interface ControlInputs {
  gdp: number;
  population: number;
  rd_expenditure: number;
  nonnano_patents: number;
}

export interface Controls {
  rd_gdp: number;
  nonnano_patents_per_rd: number;
  gdp_per_capita: number;
}

/** The three Table 3 controls of one region-year, in the units stated at the top of this file. */
export function controls(row: ControlInputs): Controls {
  return {
    rd_gdp: rdIntensityPercent(row.rd_expenditure, row.gdp),
    nonnano_patents_per_rd: nonNanoPatentsPerMillionRd(row.nonnano_patents, row.rd_expenditure),
    gdp_per_capita: gdpPerCapita10kYuan(row.gdp, row.population),
  };
}
