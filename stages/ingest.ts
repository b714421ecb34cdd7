// ingest: the five raw files (docs/data-format.md) → counts per region-year (panel), co-publications
// (collaboration) and what was read, dropped and why (ingest_report).
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { StageFunction } from '../src/engine/stage-api.js';
import { SpillwayError } from '../src/errors.js';
import { readCsvRows, type BadRow, type CsvReadSummary, type RowProblem, type RowSchema } from '../src/data/csv.js';
import { byteHashes, DuplicateIds, hashBytes, HeavyHitters } from '../src/data/bounded.js';
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
    // a raw file missing or given twice is a fault of the input data (exit 4), as a malformed row is
    if (matches.length === 0) {
      throw new SpillwayError('invalidInput', `raw file ${name}.csv (or ${name}.csv.gz) not found among the deps of stage ingest`, {
        file: `data/raw/${name}.csv`,
        expected: `exactly one of ${name}.csv and ${name}.csv.gz (docs/data-format.md)`,
        hint: `put the file in data/raw (or generate a dataset with spillway synth); if it lives elsewhere, point the glob under stages.ingest.deps in pipeline.yaml at it`,
      });
    }
    if (matches.length > 1) {
      throw new SpillwayError('invalidInput', `raw file ${name} is given ${matches.length} times: ${matches.map((m) => basename(m)).join(' and ')}`, {
        file: `data/raw/${basename(matches[1])}`,
        expected: `exactly one of ${name}.csv and ${name}.csv.gz, so that it is clear which one is read`,
        hint: 'remove the stale one',
      });
    }
    return matches[0];
  };
  // The id set is made about the size the file needs (rows ≈ its text's bytes / 48; the size of a .gz's text is in
  // its last 4 bytes, modulo 4 GiB), so that it does not grow (and move every id) on the way; a wrong guess costs only
  // a growth, or a larger set than needed (at most the cap, 256 MiB).
  const idSlotsFor = (path: string): number => {
    let bytes = statSync(path).size;
    if (path.endsWith('.gz') && bytes >= 18) {
      const fd = openSync(path, 'r');
      try {
        const trailer = Buffer.alloc(4);
        readSync(fd, trailer, 0, 4, bytes - 4);
        bytes = trailer.readUInt32LE(0);
      } finally {
        closeSync(fd);
      }
    }
    return Math.max(16, Math.min(25, Math.ceil(Math.log2(Math.max(2, (2 * bytes) / 48)))));
  };
  const schemaOf = (name: RawName): RowSchema => JSON.parse(readFileSync(ctx.dep(`schemas/raw/${name}.schema.json`), 'utf8')) as RowSchema;
  const files: IngestReport['files'] = [];
  const EXCLUDED = 'excluded region';
  type Values = (string | number)[];
  interface FileHandler {
    /**
     * For each read of the file (pass 1, pass 2): what check and count need to know of a row, derived once (e.g. its
     * parsed region list, kept by the reader's codes of repeated values, RowFields.codes — which are those of one read:
     * what is kept by code must not outlive it)
     */
    memoFor?: () => (v: Values, codes: Int32Array) => unknown;
    /** a reason to reject the row, EXCLUDED, or nothing; must not count anything (pass 2 calls it again) */
    check?: (v: Values, row: number, memo: unknown) => RowProblem | typeof EXCLUDED | void;
    /** sees every checked row of pass 1, duplicates included (the outlier rule's candidate search) */
    observe?: (v: Values, memo: unknown) => void;
    /** adds an accepted row to the aggregates */
    count: (v: Values, memo: unknown) => void;
    /** the id column whose values must be unique, with what the id is called in messages */
    unique?: { column: string; noun: string };
    /** a second pass over the accepted rows (duplicates removed), when asked for after the first */
    secondPass?: () => ((v: Values) => void) | undefined;
    /** the rows that second pass needs: those whose `column` is one of `keys` (undefined: every row) */
    secondPassKeys?: () => { column: string; keys: Iterable<string> } | undefined;
  }
  // Every file is streamed once; aggregates are per region-year and region-pair-year, so memory does not grow with
  // the number of records. Ids are checked for uniqueness through a fixed-size Bloom filter (src/data/bounded.ts);
  // the few rows it flags are held back and settled exactly in a second pass that looks only at the flagged ids.
  const read = async (name: RawName, handler: FileHandler) => {
    const path = fileOf(name);
    const schema = schemaOf(name);
    const columns = Object.keys(schema.properties);
    const yearAt = columns.indexOf('year');
    const idAt = handler.unique ? columns.indexOf(handler.unique.column) : -1;
    const displayPath = `data/raw/${basename(path)}`;
    const options = { schema, onBadRow, displayPath, policyParam: 'ingest.on_bad_row' };
    // pass 1 takes the id column as bytes: they are hashed, and made a string only for an id held back
    const byteColumns = handler.unique ? [handler.unique.column] : [];
    const ids = handler.unique ? new DuplicateIds(handler.unique.noun, { log2Slots: idSlotsFor(path) }) : undefined;
    let outside = 0;
    let ofExcluded = 0;
    const inYears = (v: Values) => yearAt < 0 || ((v[yearAt] as number) >= firstYear && (v[yearAt] as number) <= lastYear);
    // Rows with an id are counted in batches: the batch's ids go through the filter together (their cache misses
    // overlap, src/data/bounded.ts) and its rows are counted in their order, those the filter holds back left out.
    // The rows are copied, as the reader reuses its array.
    const batch = ids ? Array.from({ length: DuplicateIds.BATCH }, () => new Array<string | number>(columns.length)) : [];
    const batchMemo = new Array<unknown>(DuplicateIds.BATCH);
    const countQueued = (slot: number) => handler.count(batch[slot], batchMemo[slot]);
    const flush = () => ids?.flush(countQueued);
    let memoOf = handler.memoFor?.();
    const summary: CsvReadSummary = await readCsvRows(path, { ...options, byteColumns }, (v, row, _line, fields) => {
      if (!inYears(v)) {
        outside++;
        return;
      }
      const memo = memoOf?.(v, fields.codes);
      const result = handler.check?.(v, row, memo);
      if (result === EXCLUDED) {
        ofExcluded++;
        return;
      }
      if (result) {
        flush(); // the rows before a bad one are settled first, as one by one
        return result;
      }
      handler.observe?.(v, memo);
      if (ids) {
        // held back by the filter: settled in the second pass
        const slot = ids.queueBytes(fields.buf, fields.starts[0], fields.ends[0], row);
        const copy = batch[slot];
        for (let j = 0; j < copy.length; j++) copy[j] = v[j];
        batchMemo[slot] = memo;
        if (slot === DuplicateIds.BATCH - 1) flush();
        return;
      }
      handler.count(v, memo);
    });
    flush();
    const extra = handler.secondPass?.();
    if (ids?.needsSecondPass || extra) {
      const duplicates: BadRow[] = [];
      // Pass 2 matters only for rows with a candidate id (and, for `extra`, the rows it asks for): the others are
      // told apart from the bytes of those columns (a hash; a collision only lets a row through to the full check),
      // without being typed or checked again
      const wanted: { column: string; hashes: Set<number> }[] = [];
      let everyRow = false;
      if (ids?.needsSecondPass) wanted.push({ column: handler.unique!.column, hashes: byteHashes(ids.candidateIds) });
      if (extra) {
        const keys = handler.secondPassKeys?.();
        if (keys) wanted.push({ column: keys.column, hashes: byteHashes(keys.keys) });
        else everyRow = true;
      }
      const keepIf = everyRow
        ? undefined
        : {
            columns: wanted.map((w) => w.column),
            test: (buf: Buffer, starts: Int32Array, ends: Int32Array) => {
              for (let j = 0; j < wanted.length; j++) if (wanted[j].hashes.has(hashBytes(buf, starts[j], ends[j]))) return true;
              return false;
            },
          };
      memoOf = handler.memoFor?.();
      await readCsvRows(path, { ...options, onBadRow: 'drop', keepIf }, (v, row, line, fields) => {
        if (!inYears(v)) return;
        const memo = memoOf?.(v, fields.codes);
        if (handler.check?.(v, row, memo)) return;
        if (ids) {
          const id = v[idAt] as string;
          const verdict = ids.confirm(id, row);
          if (typeof verdict === 'number') {
            const problem = { row, line, column: handler.unique!.column, message: `${handler.unique!.noun} ${id} appears twice (first at row ${verdict})`, expected: `unique ${handler.unique!.noun} ids` };
            if (onBadRow === 'fail') {
              throw new SpillwayError('invalidInput', problem.message, { file: displayPath, row, line, field: problem.column, expected: problem.expected, hint: 'fix the row, or drop and count rows like it with --set ingest.on_bad_row=drop' });
            }
            duplicates.push(problem);
            return;
          }
          if (verdict === 'count') handler.count(v, memo);
        }
        extra?.(v);
      });
      summary.rows_accepted -= duplicates.length;
      summary.rows_dropped += duplicates.length;
      summary.dropped_examples = [...summary.dropped_examples, ...duplicates].sort((p, q) => p.row - q.row).slice(0, 20);
    }
    // rows outside the years or of excluded regions are read and deliberately unused: counted apart from the accepted ones
    const entry = {
      ...summary,
      rows_accepted: summary.rows_accepted - outside - ofExcluded,
      rows_outside_years: outside,
      rows_excluded_regions: ofExcluded,
    };
    files.push(entry);
    return { path, summary: entry };
  };
  const readSmall = (name: RawName, onRecord: (r: Record<string, unknown>, row: number) => RowProblem | typeof EXCLUDED | void) => {
    // small files (a row per region or region-year) without a second pass: their rows are kept in check itself
    const columns = Object.keys(schemaOf(name).properties);
    return read(name, {
      check: (v, row) => {
        const r: Record<string, unknown> = {};
        columns.forEach((c, k) => (r[c] = v[k]));
        return onRecord(r, row);
      },
      count: () => {},
    });
  };

  // regions
  const regions: RegionInfo[] = [];
  const regionIndex = new Map<string, number>();
  await readSmall('regions', (r) => {
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
  const regionYearRead = await readSmall('region_year', (r, row) => {
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
  // the region of a code as an index (−1 unknown); region codes are few, so this map stays small
  const regionAt = (code: string) => regionIndex.get(code) ?? -1;
  // the region of a row as a number, kept by the reader's code of the column's value for one read (memoFor):
  // its index, −1 unknown, −2 excluded
  const regionMemoFor = (column: number) => () => {
    const byCode = new Int32Array(4096).fill(-3); // −3: not seen yet
    const regionOf = (code: string) => (excluded.has(code) ? -2 : regionAt(code));
    return (v: Values, codes: Int32Array): number => {
      const c = codes[column];
      if (c < 0) return regionOf(v[column] as string);
      let r = byCode[c];
      if (r === -3) byCode[c] = r = regionOf(v[column] as string);
      return r;
    };
  };
  const regionCheck = (column: number, region: (memo: unknown) => number) => (v: Values, _row: number, memo: unknown) => {
    const r = region(memo);
    if (r === -2) return EXCLUDED;
    if (r === -1) return unknownRegion(v[column] as string);
  };

  // patents: nano by title, then the outlier rule per year on the national nano total. Applicants are as many as the
  // records, so the rule finds its candidates with Misra–Gries counters (a fixed number per year: an applicant above
  // the share s of a year's n filings is always among ceil(1/s) of them) and counts the candidates exactly in a
  // second pass; only a share below 1e-4 (thousands of candidates per year) falls back to exact counts of everyone.
  const P = Object.keys(schemaOf('patents').properties);
  const [pYear, pRegion, pApplicant, pTitle] = ['year', 'region', 'applicant', 'title'].map((c) => P.indexOf(c));
  const nanoAll = cell();
  // titles of a query repeat (and each row is tested up to three times): the verdict of each distinct title, bounded
  const nanoVerdicts = new Map<string, boolean>();
  const isNano = (title: string): boolean => {
    let verdict = nanoVerdicts.get(title);
    if (verdict === undefined) {
      verdict = nanoTitle.test(title);
      if (nanoVerdicts.size < 50_000) nanoVerdicts.set(title, verdict);
    }
    return verdict;
  };
  const ruleOn = maxShare < 1;
  const exactApplicants = maxShare < 1e-4;
  const heavy = new Map<number, HeavyHitters>();
  let nonMatching = 0;
  let patentRows = 0;
  const candidateFilings = new Map<number, Map<string, number[]>>(); // year → applicant → filings by region index
  // While the year-applicant pairs of nano filings are few, every applicant's filings are counted exactly as the rows
  // are counted, and the patents file is read once; past EXACT_PAIRS pairs (memory) those counts are given up for the
  // Misra–Gries candidates and a second pass, as below. Either way the rule is applied to exact counts.
  const EXACT_PAIRS = 100_000;
  let exactPairs = ruleOn ? 0 : -1; // −1: not counting
  let pass1Read = false; // from then on the exact counts are kept whatever their number (pass 2 adds only held-back rows)
  const filingsOf = (year: number, applicant: string): number[] => {
    let byApplicant = candidateFilings.get(year);
    if (!byApplicant) candidateFilings.set(year, (byApplicant = new Map()));
    let byRegion = byApplicant.get(applicant);
    if (!byRegion) {
      byApplicant.set(applicant, (byRegion = new Array<number>(nR).fill(0)));
      if (exactPairs >= 0) exactPairs++;
    }
    return byRegion;
  };
  // a patent's memo: 2 × its region (regionMemoFor) + 1 when its title is nano, the verdict kept by the title's code
  const patentMemoFor = () => {
    const regionOf = regionMemoFor(pRegion)();
    const nanoByCode = new Int8Array(4096).fill(-1);
    return (v: Values, codes: Int32Array): number => {
      const c = codes[pTitle];
      let nano: number;
      if (c < 0) nano = isNano(v[pTitle] as string) ? 1 : 0;
      else {
        nano = nanoByCode[c];
        if (nano < 0) nanoByCode[c] = nano = isNano(v[pTitle] as string) ? 1 : 0;
      }
      return 2 * regionOf(v, codes) + nano;
    };
  };
  const patentsRead = await read('patents', {
    memoFor: patentMemoFor,
    check: regionCheck(pRegion, (memo) => (memo as number) >> 1),
    unique: { column: 'application_id', noun: 'application' },
    count: (v, memo) => {
      patentRows++;
      if (((memo as number) & 1) === 0) {
        nonMatching++;
        return;
      }
      const region = (memo as number) >> 1;
      const year = v[pYear] as number;
      nanoAll[region][yi(year)]++;
      if (exactPairs >= 0) {
        filingsOf(year, v[pApplicant] as string)[region]++;
        if (exactPairs > EXACT_PAIRS && !pass1Read) {
          exactPairs = -1;
          candidateFilings.clear();
          ctx.log(`outlier rule: more than ${EXACT_PAIRS} year-applicant pairs of nano filings; the candidates' filings are counted in a second pass`);
        }
      }
    },
    observe: (v, memo) => {
      if (!ruleOn || exactApplicants || ((memo as number) & 1) === 0) return;
      const year = v[pYear] as number;
      let hh = heavy.get(year);
      // one counter more than 1/s leaves room for repeated ids seen here before the duplicate check removes them
      if (!hh) heavy.set(year, (hh = new HeavyHitters(Math.ceil(1 / maxShare) + 1)));
      hh.offer(v[pApplicant] as string);
    },
    secondPassKeys: () => (ruleOn && !exactApplicants ? { column: 'applicant', keys: [...heavy.values()].flatMap((hh) => hh.keys()) } : undefined),
    secondPass: () => {
      pass1Read = true;
      // counted exactly in pass 1 (and in pass 2's count() of held-back rows, if any): no second pass for the rule
      if (!ruleOn || exactPairs >= 0) return undefined;
      const candidates = new Map([...heavy].map(([year, hh]) => [year, new Set(hh.keys())]));
      return (v) => {
        const year = v[pYear] as number;
        const applicant = v[pApplicant] as string;
        if (!exactApplicants && !candidates.get(year)?.has(applicant)) return;
        if (!isNano(v[pTitle] as string)) return;
        filingsOf(year, applicant)[regionAt(v[pRegion] as string)]++;
      };
    },
  });
  heavy.clear();
  if (patentsRead.summary.rows_read === 0) {
    throw new SpillwayError('invalidInput', 'the patents file has a header but no rows: there are no patents to model', {
      file: patentsRead.summary.file,
      expected: 'one row per patent application (docs/data-format.md)',
      hint: 'check the export: a query that returned nothing, or a file cut short',
    });
  }
  const nanoKept = nanoAll.map((r) => r.slice());
  const nanoOutlier = cell();
  const outliers: OutlierDrop[] = [];
  let nanoMatched = 0;
  for (let t = 0; t < nY; t++) {
    const year = years[t];
    const national = nanoAll.reduce((s, r) => s + r[t], 0);
    nanoMatched += national;
    const byApplicant = candidateFilings.get(year);
    if (!byApplicant) continue;
    for (const [applicant, byRegion] of [...byApplicant].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const count = byRegion.reduce((s, c) => s + c, 0);
      if (!(count > maxShare * national && count >= minFilings)) continue;
      byRegion.forEach((c, i) => {
        nanoOutlier[i][t] += c;
        nanoKept[i][t] -= c;
      });
      const byRegionCode = byRegion.map((c, i) => [regions[i].code, c] as [string, number]).filter(([, c]) => c > 0).sort();
      outliers.push({ year, applicant, filings: count, national_total: national, share: count / national, by_region: Object.fromEntries(byRegionCode) });
      ctx.log(`outlier: dropped ${count} nano filings of "${applicant}" in ${year} (${((100 * count) / national).toFixed(1)}% of ${national})`);
    }
  }
  candidateFilings.clear();
  if (nanoKept.every((r) => r.every((c) => c === 0))) {
    // every model's outcome would be zero: nothing downstream could be meaningful
    const f = patentsRead.summary;
    const outlierFilings = outliers.reduce((sum, o) => sum + o.filings, 0);
    throw new SpillwayError(
      'invalidInput',
      `no nano patents to model in ${firstYear}–${lastYear}: of the ${f.rows_read} rows of the patents file, ${f.rows_dropped} were dropped as bad, ` +
        `${f.rows_outside_years} are of other years, ${f.rows_excluded_regions} of excluded regions, ${nonMatching} have titles that do not match ingest.nano_pattern` +
        `${outlierFilings ? ` and ${outlierFilings} nano filings went to the outlier rule` : ''}`,
      { file: f.file, expected: 'nano patent applications in the panel years (the outcome of every model)', hint: 'check the export, ingest.years and ingest.nano_pattern' },
    );
  }

  // publications: PUB_it, PUB_ijt, PUB_ikt, inter-regional papers
  const U = Object.keys(schemaOf('publications').properties);
  const [uYear, uRegions, uCountries] = ['year', 'regions', 'countries'].map((c) => U.indexOf(c));
  const pubs = cell();
  const interregional = cell();
  const foreign = cell();
  const nK = partners.length;
  // PUB_ijt as [year][a][b] with a < b by region index, PUB_ikt as [year][i][k]: fixed size, no per-record keys
  const copubs = Array.from({ length: nY }, () => Array.from({ length: nR }, () => new Float64Array(nR)));
  const foreignByPartner = Array.from({ length: nY }, () => Array.from({ length: nR }, () => new Float64Array(nK)));
  const otherPartners = new Map<string, number>();
  let pubRows = 0;
  let interregionalPapers = 0;
  let partnerMentions = 0;
  let excludedMentions = 0;
  // the region and partner fields repeat (a few hundred distinct values): parse each distinct text once, in bounded caches
  const regionLists = new Map<string, { kept: number[]; all: number; unknown?: string; interRegional: boolean }>();
  const partnerLists = new Map<string, { known: number[]; other: string[] }>();
  const CACHE_LIMIT = 100_000;
  const regionListOf = (text: string) => {
    let parsed = regionLists.get(text);
    if (parsed) return parsed;
    const all = [...new Set(text.split(';'))];
    const codes = all.filter((c) => !excluded.has(c));
    parsed = {
      kept: codes.map(regionAt).sort((a, b) => a - b),
      all: all.length,
      unknown: codes.find((c) => !regionIndex.has(c)),
      interRegional: all.length > 1,
    };
    if (regionLists.size < CACHE_LIMIT) regionLists.set(text, parsed);
    return parsed;
  };
  const partnerListOf = (text: string) => {
    let parsed = partnerLists.get(text);
    if (parsed) return parsed;
    const names = text === '' ? [] : [...new Set(text.split(';').map((s) => s.trim()))];
    parsed = { known: names.filter((n) => partnerIndex.has(n)).map((n) => partnerIndex.get(n)!), other: names.filter((n) => !partnerIndex.has(n)) };
    if (partnerLists.size < CACHE_LIMIT) partnerLists.set(text, parsed);
    return parsed;
  };
  // a row's two lists, kept by the reader's codes of the two columns' values (a few thousand pairs: bounded), per read
  type Lists = { list: ReturnType<typeof regionListOf>; partners: ReturnType<typeof partnerListOf> };
  const listsOf = () => {
    // open addressing by the pair's key (rc · 4096 + cc), half full at most: 65,536 pairs, the rest derived each time
    const LOG2 = 17;
    const keys = new Int32Array(1 << LOG2).fill(-1);
    const kept = new Array<Lists>(1 << LOG2);
    let size = 0;
    return (v: Values, codes: Int32Array): Lists => {
      const rc = codes[uRegions];
      const cc = codes[uCountries];
      if (rc < 0 || cc < 0) return { list: regionListOf(v[uRegions] as string), partners: partnerListOf(v[uCountries] as string) };
      const key = rc * 4096 + cc;
      let slot = Math.imul(key, 0x9e3779b1) >>> (32 - LOG2);
      for (;;) {
        const k = keys[slot];
        if (k === key) return kept[slot];
        if (k === -1) break;
        slot = (slot + 1) & ((1 << LOG2) - 1);
      }
      const lists = { list: regionListOf(v[uRegions] as string), partners: partnerListOf(v[uCountries] as string) };
      if (size < 1 << (LOG2 - 1)) {
        keys[slot] = key;
        kept[slot] = lists;
        size++;
      }
      return lists;
    };
  };
  const publicationsRead = await read('publications', {
    memoFor: listsOf,
    check: (_v, _row, memo) => {
      const { list } = memo as Lists;
      if (list.kept.length === 0 && list.unknown === undefined) return EXCLUDED;
      if (list.unknown !== undefined) return unknownRegion(list.unknown, 'regions');
    },
    unique: { column: 'id', noun: 'publication' },
    count: (v, memo) => {
      const { list, partners } = memo as Lists;
      const { known, other } = partners;
      pubRows++;
      const y = yi(v[uYear] as number);
      const idx = list.kept;
      // a paper with an excluded region is still inter-regional for the others, but that region has no row or column
      excludedMentions += list.all - idx.length;
      for (const n of other) otherPartners.set(n, (otherPartners.get(n) ?? 0) + 1);
      if (list.interRegional) interregionalPapers++;
      for (const i of idx) {
        pubs[i][y]++;
        if (list.interRegional) interregional[i][y]++;
        foreign[i][y] += known.length;
        for (const k of known) foreignByPartner[y][i][k]++;
      }
      partnerMentions += known.length;
      for (let a = 0; a < idx.length; a++) for (let b = a + 1; b < idx.length; b++) copubs[y][idx[a]][idx[b]]++;
    },
  });
  regionLists.clear();
  partnerLists.clear();

  // funding
  const F = Object.keys(schemaOf('funding').properties);
  const [fYear, fRegion, fAmount] = ['year', 'region', 'amount'].map((c) => F.indexOf(c));
  const funding = cell();
  let fundingRows = 0;
  let fundingTotal = 0;
  const fundingRead = await read('funding', {
    memoFor: regionMemoFor(fRegion),
    check: regionCheck(fRegion, (memo) => memo as number),
    unique: { column: 'grant_id', noun: 'grant' },
    count: (v, memo) => {
      fundingRows++;
      fundingTotal += v[fAmount] as number;
      funding[memo as number][yi(v[fYear] as number)] += v[fAmount] as number;
    },
  });

  // a file the pipeline can do without, but whose absence changes what the models mean, is not silent
  const warnings: string[] = [];
  const nothingUsed = (summary: IngestReport['files'][number], consequence: string) => {
    if (summary.rows_accepted > 0) return;
    const why =
      summary.rows_read === 0
        ? 'has a header but no rows'
        : `has no row to use in ${firstYear}–${lastYear} (${summary.rows_read} read: ${summary.rows_dropped} dropped as bad, ${summary.rows_outside_years} of other years, ${summary.rows_excluded_regions} of excluded regions)`;
    const warning = `${summary.file} ${why}: ${consequence}`;
    warnings.push(warning);
    ctx.log(`warning: ${warning}`);
  };
  nothingUsed(publicationsRead.summary, 'every publication count and co-publication is 0, so the collaboration spillovers and intensities carry no information');
  nothingUsed(fundingRead.summary, 'nano funding is 0 for every region-year, so the funding regressors carry no information');

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
    copublications: years.flatMap((year, t) =>
      codes.flatMap((region_a, a) =>
        codes.flatMap((region_b, b) => (b > a && copubs[t][a][b] > 0 ? [{ year, region_a, region_b, count: copubs[t][a][b] }] : [])),
      ),
    ),
    foreign_copublications: years.flatMap((year, t) =>
      codes.flatMap((region, i) => partners.flatMap((partner, k) => (foreignByPartner[t][i][k] > 0 ? [{ year, region, partner, count: foreignByPartner[t][i][k] }] : []))),
    ),
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
    warnings,
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
