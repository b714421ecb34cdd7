// Builds the reference cases' designs from the copied fixtures (test/fixtures/reference-cases, sources in its README).
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { expandFactor, type CountDesign } from '../../../src/stats/count/index.js';

const FIXTURES = new URL('../../fixtures/reference-cases/', import.meta.url);

export interface ReferenceCase {
  source: string;
  published: Record<string, any>;
}

export function referenceCase(name: string): ReferenceCase {
  const cases = JSON.parse(readFileSync(new URL('cases.json', FIXTURES), 'utf8')) as { cases: Record<string, ReferenceCase> };
  return cases.cases[name];
}

function readCsv(file: string): Record<string, string>[] {
  return parse(readFileSync(new URL(file, FIXTURES)), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

/** ships.csv without the rows whose service/accident are missing (34 rows in 5 ships); offset = ln(service) */
export function shipsDesign(x: string[]): CountDesign {
  const rows = readCsv('ships.csv').filter((r) => r.service !== '' && r.accident !== '');
  return {
    y: rows.map((r) => Number(r.accident)),
    X: rows.map((r) => x.map((name) => Number(r[name]))),
    names: x,
    groups: rows.map((r) => r.ship),
    offset: rows.map((r) => Math.log(Number(r.service))),
  };
}

export const RANDHIE_X = ['lncoins', 'idp', 'lpi', 'fmde', 'physlm', 'disea', 'hlthg', 'hlthf', 'hlthp'];

export function randhieDesign(): CountDesign {
  const rows = readCsv('randhie.csv');
  return {
    y: rows.map((r) => Number(r.mdvis)),
    X: rows.map((r) => RANDHIE_X.map((name) => Number(r[name]))),
    names: RANDHIE_X,
  };
}

/**
 * The pglm example on PatentsRDUS: lrd0..lrd5 = ln(rd) lagged 0..5 years within cusip, scisect, lcap72 = ln(capital72),
 * year dummies 1976-1979 (base 1975), sample 1975-1979.
 */
export function patentsDesign(): CountDesign {
  const rows = readCsv('patents_rd_us.csv');
  const byFirmYear = new Map(rows.map((r) => [`${r.cusip}/${r.year}`, r]));
  const sample = rows.filter((r) => Number(r.year) >= 1975);
  const years = expandFactor(sample.map((r) => Number(r.year)), { name: 'year' });
  const slopes = ['lrd0', 'lrd1', 'lrd2', 'lrd3', 'lrd4', 'lrd5', 'scisect', 'lcap72'];
  const X = sample.map((r, i) => {
    const lags = [0, 1, 2, 3, 4, 5].map((lag) => Math.log(Number(byFirmYear.get(`${r.cusip}/${Number(r.year) - lag}`)!.rd)));
    return [...lags, Number(r.scisect), Math.log(Number(r.capital72)), ...years.columns.map((col) => col[i])];
  });
  return { y: sample.map((r) => Number(r.patents)), X, names: [...slopes, ...years.names], groups: sample.map((r) => r.cusip) };
}
