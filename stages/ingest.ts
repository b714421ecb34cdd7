// ingest: the five raw files (docs/data-format.md) → counts per region-year (panel), co-publications
// (collaboration) and what was read, dropped and why (ingest_report).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { StageFunction } from '../src/engine/stage-api.js';
import { SpillwayError } from '../src/errors.js';
import { readCsv, type CsvReadSummary, type RowProblem, type RowSchema } from '../src/data/csv.js';
import type { CollaborationArtifact, IngestReport, OutlierDrop, PanelRow, RegionInfo } from '../src/data/artifacts.js';
import { numberIn, oneOf, regex, stringList, yearRange } from '../src/data/params.js';

const RAW = ['regions', 'region_year', 'patents', 'publications', 'funding'] as const;
type RawName = (typeof RAW)[number];

const ingest: StageFunction = async (ctx) => {
  const nanoTitle = regex(ctx, 'ingest.nano_pattern', 'iu');
  const maxShare = numberIn(ctx, 'ingest.outlier_max_share', 0, 1);
  const minFilings = numberIn(ctx, 'ingest.outlier_min_filings', 0, Number.MAX_SAFE_INTEGER, true);
  const onBadRow = oneOf(ctx, 'ingest.on_bad_row', ['fail', 'drop'] as const);
  const [firstYear, lastYear] = yearRange(ctx, 'ingest.years');
  const partners = stringList(ctx, 'ingest.foreign_partners');
  // regions left out of the analysis (the paper: Tibet, for lack of data): their records are counted, not used
  const excluded = new Set(stringList(ctx, 'ingest.excluded_regions'));
  const partnerIndex = new Map(partners.map((p, k) => [p, k]));

  const fileOf = (name: RawName): string => {
    const matches = ctx.deps.filter((d) => new RegExp(`^${name}\\.csv(\\.gz)?$`).test(basename(d)));
    if (matches.length !== 1) {
      throw new SpillwayError('invalidPipeline', `stage ingest needs exactly one ${name}.csv or ${name}.csv.gz among its deps, found ${matches.length}`, {
        hint: `list data/raw/${name}.csv(.gz) under stages.ingest.deps in pipeline.yaml`,
      });
    }
    return matches[0];
  };
  const schemaOf = (name: RawName): RowSchema => JSON.parse(readFileSync(ctx.dep(`schemas/raw/${name}.schema.json`), 'utf8')) as RowSchema;
  const files: IngestReport['files'] = [];
  const EXCLUDED = 'excluded region';
  const read = async (name: RawName, onRecord: (r: Record<string, unknown>, row: number) => RowProblem | typeof EXCLUDED | void) => {
    const path = fileOf(name);
    let outside = 0;
    let ofExcluded = 0;
    const summary: CsvReadSummary = await readCsv(
      path,
      { schema: schemaOf(name), onBadRow, displayPath: `data/raw/${basename(path)}`, policyParam: 'ingest.on_bad_row' },
      (record, position) => {
        if (typeof record.year === 'number' && (record.year < firstYear || record.year > lastYear)) {
          outside++;
          return;
        }
        const result = onRecord(record, position.row);
        if (result === EXCLUDED) {
          ofExcluded++;
          return;
        }
        return result;
      },
    );
    // rows outside the years or of excluded regions are read and deliberately unused: counted apart from the accepted ones
    files.push({
      ...summary,
      rows_accepted: summary.rows_accepted - outside - ofExcluded,
      rows_outside_years: outside,
      rows_excluded_regions: ofExcluded,
    });
    return { path, summary };
  };

  // regions
  const regions: RegionInfo[] = [];
  const regionIndex = new Map<string, number>();
  await read('regions', (r) => {
    const code = r.code as string;
    if (excluded.has(code)) return EXCLUDED;
    if (regionIndex.has(code)) return { column: 'code', message: `region ${code} is listed twice`, expected: 'one row per region' };
    regionIndex.set(code, regions.length);
    regions.push({ code, name: r.name as string, capital: r.capital as string, lat: r.lat as number, lon: r.lon as number });
  });
  if (regions.length < 2) throw new SpillwayError('invalidInput', `regions.csv lists ${regions.length} region(s)`, { file: 'data/raw/regions.csv', expected: 'at least 2 regions' });
  const unknownRegion = (code: string, column = 'region'): RowProblem | undefined =>
    regionIndex.has(code) ? undefined : { column, message: `unknown region code ${code}`, expected: 'a code listed in regions.csv' };

  const years = Array.from({ length: lastYear - firstYear + 1 }, (_, k) => firstYear + k);
  const nR = regions.length;
  const nY = years.length;
  const cell = () => Array.from({ length: nR }, () => new Array<number>(nY).fill(0));
  const yi = (year: number) => year - firstYear;

  // region_year
  const regionYear = new Map<string, { row: number; gdp: number; population: number; rd: number; patentsTotal: number; publicationsTotal: number }>();
  const regionYearRead = await read('region_year', (r, row) => {
    if (excluded.has(r.region as string)) return EXCLUDED;
    const problem = unknownRegion(r.region as string);
    if (problem) return problem;
    const key = `${r.region}|${r.year}`;
    if (regionYear.has(key)) return { column: 'year', message: `${r.region} ${r.year} appears twice (first at row ${regionYear.get(key)!.row})`, expected: 'one row per region and year' };
    regionYear.set(key, {
      row,
      gdp: r.gdp as number,
      population: r.population as number,
      rd: r.rd_expenditure as number,
      patentsTotal: r.patents_total as number,
      publicationsTotal: r.publications_total as number,
    });
  });
  const missing = regions.flatMap((g) => years.filter((y) => !regionYear.has(`${g.code}|${y}`)).map((y) => `${g.code} ${y}`));
  if (missing.length > 0) {
    throw new SpillwayError('invalidInput', `region_year lacks ${missing.length} region-year(s): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`, {
      file: `data/raw/${basename(regionYearRead.path)}`,
      expected: `one row for every region of regions.csv and every year ${firstYear}–${lastYear}`,
      hint: 'add the rows, or narrow ingest.years',
    });
  }

  // patents: nano by title, then the outlier rule per year on the national nano total
  const seenPatents = new Set<string>();
  const filings = new Map<number, Map<string, Map<string, number>>>(); // year → applicant → region → nano filings
  let nonMatching = 0;
  let patentRows = 0;
  await read('patents', (r) => {
    if (excluded.has(r.region as string)) return EXCLUDED;
    const problem = unknownRegion(r.region as string);
    if (problem) return problem;
    const id = r.application_id as string;
    if (seenPatents.has(id)) return { column: 'application_id', message: `application ${id} appears twice`, expected: 'unique application ids' };
    seenPatents.add(id);
    patentRows++;
    if (!nanoTitle.test(r.title as string)) {
      nonMatching++;
      return;
    }
    const byApplicant = filings.get(r.year as number) ?? new Map<string, Map<string, number>>();
    filings.set(r.year as number, byApplicant);
    const byRegion = byApplicant.get(r.applicant as string) ?? new Map<string, number>();
    byApplicant.set(r.applicant as string, byRegion);
    byRegion.set(r.region as string, (byRegion.get(r.region as string) ?? 0) + 1);
  });
  seenPatents.clear();
  const nanoKept = cell();
  const nanoOutlier = cell();
  const outliers: OutlierDrop[] = [];
  let nanoMatched = 0;
  for (const [year, byApplicant] of [...filings].sort((a, b) => a[0] - b[0])) {
    const total = (m: Map<string, number>) => [...m.values()].reduce((s, c) => s + c, 0);
    const national = [...byApplicant.values()].reduce((s, m) => s + total(m), 0);
    nanoMatched += national;
    for (const [applicant, byRegion] of [...byApplicant].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const count = total(byRegion);
      const isOutlier = count > maxShare * national && count >= minFilings && maxShare < 1;
      const target = isOutlier ? nanoOutlier : nanoKept;
      for (const [region, c] of byRegion) target[regionIndex.get(region)!][yi(year)] += c;
      if (isOutlier) {
        outliers.push({ year, applicant, filings: count, national_total: national, share: count / national, by_region: Object.fromEntries([...byRegion].sort()) });
        ctx.log(`outlier: dropped ${count} nano filings of "${applicant}" in ${year} (${((100 * count) / national).toFixed(1)}% of ${national})`);
      }
    }
  }
  filings.clear();

  // publications: PUB_it, PUB_ijt, PUB_ikt, inter-regional papers
  const pubs = cell();
  const interregional = cell();
  const foreign = cell();
  const copubs = new Map<string, number>(); // "year|a|b" with a < b by region index
  const foreignByPartner = new Map<string, number>(); // "year|region|k"
  const otherPartners = new Map<string, number>();
  const seenPubs = new Set<string>();
  let pubRows = 0;
  let interregionalPapers = 0;
  let partnerMentions = 0;
  let excludedMentions = 0;
  await read('publications', (r) => {
    const all = [...new Set((r.regions as string).split(';'))];
    const codes = all.filter((c) => !excluded.has(c));
    if (codes.length === 0) return EXCLUDED;
    for (const code of codes) {
      const problem = unknownRegion(code, 'regions');
      if (problem) return problem;
    }
    const id = r.id as string;
    if (seenPubs.has(id)) return { column: 'id', message: `publication ${id} appears twice`, expected: 'unique publication ids' };
    seenPubs.add(id);
    pubRows++;
    const y = yi(r.year as number);
    const idx = codes.map((c) => regionIndex.get(c)!).sort((a, b) => a - b);
    // a paper with an excluded region is still inter-regional for the others, but that region has no row or column
    const interRegional = all.length > 1;
    excludedMentions += all.length - codes.length;
    const names = (r.countries as string) === '' ? [] : [...new Set((r.countries as string).split(';').map((s) => s.trim()))];
    const known = names.filter((n) => partnerIndex.has(n));
    for (const n of names) if (!partnerIndex.has(n)) otherPartners.set(n, (otherPartners.get(n) ?? 0) + 1);
    if (interRegional) interregionalPapers++;
    for (const i of idx) {
      pubs[i][y]++;
      if (interRegional) interregional[i][y]++;
      foreign[i][y] += known.length;
      for (const n of known) {
        const key = `${r.year}|${i}|${partnerIndex.get(n)}`;
        foreignByPartner.set(key, (foreignByPartner.get(key) ?? 0) + 1);
      }
    }
    partnerMentions += known.length;
    for (let a = 0; a < idx.length; a++) {
      for (let b = a + 1; b < idx.length; b++) {
        const key = `${r.year}|${idx[a]}|${idx[b]}`;
        copubs.set(key, (copubs.get(key) ?? 0) + 1);
      }
    }
  });
  seenPubs.clear();

  // funding
  const funding = cell();
  const seenGrants = new Set<string>();
  let fundingRows = 0;
  let fundingTotal = 0;
  await read('funding', (r) => {
    if (excluded.has(r.region as string)) return EXCLUDED;
    const problem = unknownRegion(r.region as string);
    if (problem) return problem;
    if (seenGrants.has(r.grant_id as string)) return { column: 'grant_id', message: `grant ${r.grant_id} appears twice`, expected: 'unique grant ids' };
    seenGrants.add(r.grant_id as string);
    fundingRows++;
    fundingTotal += r.amount as number;
    funding[regionIndex.get(r.region as string)!][yi(r.year as number)] += r.amount as number;
  });

  // the panel
  const rows: PanelRow[] = [];
  for (const [i, region] of regions.entries()) {
    for (const [t, year] of years.entries()) {
      const ry = regionYear.get(`${region.code}|${year}`)!;
      const nonnano = ry.patentsTotal - nanoKept[i][t] - nanoOutlier[i][t];
      if (nonnano < 0) {
        throw new SpillwayError('invalidInput', `${region.code} ${year}: patents_total ${ry.patentsTotal} is below the ${nanoKept[i][t] + nanoOutlier[i][t]} nano filings in the patents file`, {
          file: `data/raw/${basename(regionYearRead.path)}`,
          row: ry.row,
          field: 'patents_total',
          expected: 'all patent applications of the region, nano included',
        });
      }
      rows.push({
        region: region.code,
        year,
        nano_patents: nanoKept[i][t],
        nano_patents_outlier: nanoOutlier[i][t],
        nonnano_patents: nonnano,
        patents_total: ry.patentsTotal,
        nano_publications: pubs[i][t],
        interregional_publications: interregional[i][t],
        foreign_copublications: foreign[i][t],
        total_publications: ry.publicationsTotal,
        nano_funding: roundMoney(funding[i][t]),
        gdp: ry.gdp,
        population: ry.population,
        rd_expenditure: ry.rd,
      });
    }
  }

  const codes = regions.map((g) => g.code);
  const collaboration: CollaborationArtifact = {
    regions: codes,
    years,
    partners,
    copublications: [...copubs]
      .map(([key, count]) => {
        const [year, a, b] = key.split('|').map(Number);
        return { year, region_a: codes[a], region_b: codes[b], count, a, b };
      })
      .sort((p, q) => p.year - q.year || p.a - q.a || p.b - q.b)
      .map(({ year, region_a, region_b, count }) => ({ year, region_a, region_b, count })),
    foreign_copublications: [...foreignByPartner]
      .map(([key, count]) => {
        const [year, i, k] = key.split('|').map(Number);
        return { year, i, k, count };
      })
      .sort((p, q) => p.year - q.year || p.i - q.i || p.k - q.k)
      .map(({ year, i, k, count }) => ({ year, region: codes[i], partner: partners[k], count })),
  };

  const outlierDropped = outliers.reduce((s, o) => s + o.filings, 0);
  const ingestReport: IngestReport = {
    years: [firstYear, lastYear],
    files,
    patents: {
      rows_used: patentRows,
      nano_matched: nanoMatched,
      non_matching_titles: nonMatching,
      outlier_filings_dropped: outlierDropped,
      nano_kept: nanoMatched - outlierDropped,
    },
    outliers,
    publications: {
      rows_used: pubRows,
      interregional: interregionalPapers,
      partner_mentions: partnerMentions,
      excluded_region_mentions: excludedMentions,
      other_partners: Object.fromEntries([...otherPartners].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    },
    funding: { rows_used: fundingRows, total_amount: roundMoney(fundingTotal) },
  };
  const dropped = files.reduce((s, f) => s + f.rows_dropped, 0);
  ctx.log(`${nR} regions × ${nY} years; ${ingestReport.patents.nano_kept} nano patents, ${pubRows} publications, ${fundingRows} grants${dropped ? `; ${dropped} bad rows dropped` : ''}`);
  return { panel: { regions, years, rows }, collaboration, ingest_report: ingestReport };
};

/** Sums of decimal amounts: round to 1e-6 so that the artifact does not depend on summation noise. */
function roundMoney(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export default ingest;
