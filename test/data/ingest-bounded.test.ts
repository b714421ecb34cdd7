// Ingest in bounded memory: duplicate ids are still caught with file and row (through the exact fingerprint set, or
// the Bloom filter past its cap, and the exact second pass), and the structures that track ids and applicants keep a
// bounded size however many records stream by.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BloomFilter, DuplicateIds, FingerprintSet, HeavyHitters } from '../../src/data/bounded.js';
import { SpillwayError } from '../../src/errors.js';
import { runStage, TINY_OVERRIDES, tinyDataset } from '../replication/helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tinyCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-ingest-bounded-'));
  dirs.push(dir);
  cpSync(tinyDataset, dir, { recursive: true });
  return dir;
}
const PUBS = readFileSync(join(tinyDataset, 'publications.csv'), 'utf8').trimEnd().split('\n');

describe('ingest duplicate ids', () => {
  it('stops at a repeated publication id with the file, its row and the first row', async () => {
    const dir = tinyCopy();
    // the tiny file has 21 data rows; row 22 repeats row 2 (WOS002)
    writeFileSync(join(dir, 'publications.csv'), [...PUBS, PUBS[2]].join('\n') + '\n');
    const error = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SpillwayError);
    const e = error as SpillwayError;
    expect(e.details).toMatchObject({ file: 'data/raw/publications.csv', row: 22, line: 23, field: 'id' });
    expect(e.message).toBe('publication WOS002 appears twice (first at row 2)');
  });

  it('judges the rows of the second pass by their own values, not by what the first pass derived from the same value codes', async () => {
    // pass 1 meets CN-XZ (excluded) first; pass 2 reads only WOS001's rows, whose CN-BJ is then the first value seen
    const dir = tinyCopy();
    writeFileSync(join(dir, 'publications.csv'), [PUBS[0], 'X1,1999,CN-XZ,U.S.A.', ...PUBS.slice(1), PUBS[1]].join('\n') + '\n');
    const error = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES }).then(
      () => undefined,
      (e: unknown) => e as SpillwayError,
    );
    expect(error?.message).toBe('publication WOS001 appears twice (first at row 2)');
    expect(error?.details).toMatchObject({ row: PUBS.length + 1, field: 'id' });
  });

  it('in drop mode drops the repeat only: counts equal those of the file without it', async () => {
    const clean = await runStage('ingest', { overrides: TINY_OVERRIDES });
    const dir = tinyCopy();
    writeFileSync(join(dir, 'publications.csv'), [...PUBS, PUBS[2], PUBS[5]].join('\n') + '\n');
    const dropped = await runStage('ingest', { dataDir: dir, overrides: { ...TINY_OVERRIDES, 'ingest.on_bad_row': 'drop' } });
    expect(dropped.panel).toEqual(clean.panel);
    expect(dropped.collaboration).toEqual(clean.collaboration);
    const file = dropped.ingest_report.files.find((f: { file: string }) => f.file === 'data/raw/publications.csv');
    expect(file).toMatchObject({ rows_read: 23, rows_dropped: 2 });
    expect(file.dropped_examples.map((d: { row: number; column: string }) => [d.row, d.column])).toEqual([
      [22, 'id'],
      [23, 'id'],
    ]);
  });

  // fingerprints cut to a few bits collide for most ids, as would a saturated fallback filter: both must cost work only
  const crowded = {
    'colliding fingerprints': { fingerprintMask: 0x7 },
    'the fallback Bloom filter, saturated': { maxLog2Slots: 4, fallbackLog2Bits: 9, probes: 4 },
  };
  for (const [name, options] of Object.entries(crowded)) {
    it(`settles candidates exactly (${name}): nearly every id is held back, yet only true repeats are duplicates`, () => {
      const ids = new DuplicateIds('publication', options);
      const held: number[] = [];
      const n = 2000;
      const idOf = (row: number) => (row === n ? 'W-17' : `W-${row}`); // the last row repeats row 17
      for (let row = 1; row <= n; row++) if (ids.offer(idOf(row), row)) held.push(row);
      expect(held.length).toBeGreaterThan(n / 2); // most rows are candidates
      const verdicts = new Map<number, ReturnType<DuplicateIds['confirm']>>();
      for (let row = 1; row <= n; row++) verdicts.set(row, ids.confirm(idOf(row), row));
      expect(verdicts.get(n)).toBe(17);
      const duplicates = [...verdicts].filter(([, v]) => typeof v === 'number');
      expect(duplicates).toEqual([[n, 17]]);
      // every held row but the repeat is counted in pass 2, and no row is counted twice
      expect([...verdicts].filter(([, v]) => v === 'count').map(([r]) => r)).toEqual(held.filter((r) => r !== n));
    });
  }

  const halfCrowded = {
    'colliding fingerprints': { fingerprintMask: 0x1f },
    'the fallback Bloom filter': { maxLog2Slots: 6, fallbackLog2Bits: 12, probes: 4 },
  };
  for (const [name, options] of Object.entries(halfCrowded)) {
    it(`offered in batches (queue, flush), ids get the verdicts and candidates of one-by-one offers, in row order (${name})`, () => {
      // both verdicts occur often; the repeats are true duplicates
      const idOf = (row: number) => (row % 97 === 0 ? `W-${row - 50}` : `W-${row}`);
      const n = 1500;
      const single = new DuplicateIds('publication', options);
      const acceptedSingle: number[] = [];
      for (let row = 1; row <= n; row++) if (!single.offer(idOf(row), row)) acceptedSingle.push(row);
      const batched = new DuplicateIds('publication', options);
      const acceptedBatched: number[] = [];
      const slots: number[] = [];
      for (let row = 1; row <= n; row++) {
        const slot = batched.queue(idOf(row), row);
        slots[slot] = row;
        // flush at full batches and, as ingest does before a bad row, at some rows in between
        if (slot === DuplicateIds.BATCH - 1 || row % 211 === 0) batched.flush((k) => acceptedBatched.push(slots[k]));
      }
      batched.flush((k) => acceptedBatched.push(slots[k]));
      expect(acceptedSingle.length).toBeGreaterThan(n / 10);
      expect(acceptedSingle.length).toBeLessThan(n - n / 10);
      expect(acceptedBatched).toEqual(acceptedSingle);
      expect([...batched.heldRows]).toEqual([...single.heldRows]);
      expect([...batched.candidateIds]).toEqual([...single.candidateIds]);
      expect(batched.filter?.bits).toEqual(single.filter?.bits);
      // the same ids queued as bytes (each in a buffer of its own, kept until the flush; some longer than 64 bytes)
      const long = (row: number) => (row % 5 === 0 ? `${idOf(row)}-${'x'.repeat(70)}` : idOf(row));
      const asStrings = new DuplicateIds('publication', options);
      const asBytes = new DuplicateIds('publication', options);
      const [acceptedStrings, acceptedBytes]: number[][] = [[], []];
      for (let row = 1; row <= n; row++) {
        const a = asStrings.queue(long(row), row);
        const bytes = Buffer.from(`..${long(row)}.`);
        const b = asBytes.queueBytes(bytes, 2, bytes.length - 1, row);
        slots[a] = row;
        expect(b).toBe(a);
        if (a === DuplicateIds.BATCH - 1) {
          asStrings.flush((k) => acceptedStrings.push(slots[k]));
          asBytes.flush((k) => acceptedBytes.push(slots[k]));
        }
      }
      asStrings.flush((k) => acceptedStrings.push(slots[k]));
      asBytes.flush((k) => acceptedBytes.push(slots[k]));
      expect(acceptedBytes).toEqual(acceptedStrings);
      expect([...asBytes.candidateIds]).toEqual([...asStrings.candidateIds]);
      expect([...asBytes.candidateIds].some((id) => id.length > 64)).toBe(true);
      expect(() => {
        for (let k = 0; k <= DuplicateIds.BATCH; k++) batched.queue(`X${k}`, k);
      }).toThrow(/flush/);
    });
  }

  it('a file without repeated ids has no candidate (the set is exact), whether an id comes as a string or as bytes', () => {
    const ids = new DuplicateIds('application');
    const n = 300_000;
    for (let row = 1; row <= n; row++) expect(ids.offer(`SYN-PAT-2005-${String(row).padStart(7, '0')}`, row)).toBe(false);
    expect(ids.needsSecondPass).toBe(false);
    expect(ids.offer('SYN-PAT-2005-0000001', n + 1)).toBe(true);
    expect(ids.offer('专利-1', n + 2)).toBe(false);
    expect(ids.offer('专利-1', n + 3)).toBe(true);
    expect([...ids.heldRows]).toEqual([n + 1, n + 3]);
  });
});

describe('bounded structures', () => {
  it('the id set grows with the ids up to its cap, then a fixed-size filter takes over: candidates stay a tiny fraction', () => {
    const sizes = [10_000, 200_000].map((n) => {
      const ids = new DuplicateIds('application', { maxLog2Slots: 12, fallbackLog2Bits: 24 });
      for (let row = 1; row <= n; row++) ids.offer(`SYN-PAT-2005-${String(row).padStart(7, '0')}`, row);
      return { bytes: ids.byteLength, held: ids.heldRows.size, candidates: ids.candidateIds.size, set: ids.set };
    });
    // 2^12 slots hold 70 % of 4096 ids: past 2867 the fingerprints move into the 2^24-bit filter
    expect(sizes[0].set).toBeUndefined();
    expect(sizes[0].bytes).toBe(2 ** 24 / 8);
    expect(sizes[1].bytes).toBe(sizes[0].bytes);
    // 2^24 bits for 200,000 ids: 84 bits per id, 8 probes → false positives ≪ 0.1 %
    expect(sizes[1].held).toBeLessThan(200);
    expect(sizes[1].candidates).toBe(sizes[1].held);
    // uncapped, the set grows fourfold at half full (2^16, 2^18, 2^20 slots): 8 bytes a slot, at most 8 slots an id
    const exact = new DuplicateIds('application');
    for (let row = 1; row <= 200_000; row++) exact.offer(`A${row}`, row);
    expect(exact.set).toBeDefined();
    expect(exact.byteLength).toBe(2 ** 20 * 8);
  });

  it('the id filter refuses to grow its candidate list past the cap (an error, not unbounded memory)', () => {
    const ids = new DuplicateIds('grant', { fingerprintMask: 0x3, maxCandidates: 50 });
    expect(() => {
      for (let row = 1; row <= 10_000; row++) ids.offer(`G${row}`, row);
    }).toThrow(/more than 50 grant ids may repeat/);
    expect(ids.heldRows.size).toBe(50);
  });

  it('a fingerprint set never forgets a fingerprint while it doubles, (0, 0) included', () => {
    const set = new FingerprintSet(4, 20);
    let x = 12345;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) | 0);
    const pairs: [number, number][] = [[0, 0], [1, 0], [-1, -1]];
    for (let k = 0; k < 5000; k++) pairs.push([next(), next()]);
    for (const [a, b] of pairs) expect(set.add(a, b)).toBe(false);
    for (const [a, b] of pairs) expect(set.add(a, b)).toBe(true);
    expect(set.size).toBe(pairs.length);
    expect(set.add(0, 1)).toBe(true); // (0, 0) marks an empty slot and is stored as (0, 1): a collision, costing work only
    expect(set.byteLength).toBe(2 ** 14 * 8); // 2^4, 2^6, …, 2^14 slots: 5003 ids need 2^14 at half full
  });

  it('Misra–Gries counters stay at capacity over 100,000 distinct applicants and keep one with a third of the filings', () => {
    const hh = new HeavyHitters(3);
    let n = 0;
    for (let k = 0; k < 100_000; k++) {
      hh.offer(`applicant ${k}`);
      n++;
      if (k % 2 === 0) {
        hh.offer('the outlier'); // 50,000 of 150,000 filings: a third, above 1/(3+1)
        n++;
      }
      expect(hh.counters.size).toBeLessThanOrEqual(3);
    }
    expect(n).toBe(150_000);
    expect(hh.keys()).toContain('the outlier');
  });

  it('a Bloom filter never forgets a key', () => {
    const filter = new BloomFilter(12, 6);
    for (let k = 0; k < 300; k++) filter.add(`k${k}`);
    for (let k = 0; k < 300; k++) expect(filter.add(`k${k}`)).toBe(true);
  });
});

describe('the outlier rule past its exact counts', () => {
  it('with more than 100,000 year-applicant pairs finds the outlier through Misra–Gries and a second pass, exactly', async () => {
    const dir = tinyCopy();
    const patents = gunzipSync(readFileSync(join(tinyDataset, 'patents.csv.gz'))).toString('utf8').trimEnd().split('\n');
    rmSync(join(dir, 'patents.csv.gz'));
    // 1999: 100,500 applicants with one nano filing each in CN-SH, and "Big Applicant" with 101,000 in CN-GD
    const extra: string[] = [];
    for (let k = 0; k < 100_500; k++) extra.push(`X-A${k},1999,CN-SH,Applicant ${k},nano thing ${k}`);
    for (let k = 0; k < 101_000; k++) extra.push(`X-B${k},1999,CN-GD,Big Applicant,nano film ${k % 7}`);
    writeFileSync(join(dir, 'patents.csv'), [...patents, ...extra].join('\n') + '\n');
    const regionYear = readFileSync(join(tinyDataset, 'region_year.csv'), 'utf8').split('\n');
    const more = (line: string, add: number) => line.replace(/^(CN-\w+,1999,(?:[^,]*,){3})(\d+)/, (_, head: string, total: string) => head + (Number(total) + add));
    writeFileSync(join(dir, 'region_year.csv'), regionYear.map((l) => (l.startsWith('CN-SH,1999,') ? more(l, 100_500) : l.startsWith('CN-GD,1999,') ? more(l, 101_000) : l)).join('\n'));
    const logs: string[] = [];
    const r = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES, logs });
    expect(logs.some((l) => l.startsWith('outlier rule: more than 100000 year-applicant pairs'))).toBe(true);
    // national 1999 = 5 + 1 + 4 + 2 (the tiny file) + 100,500 + 101,000 = 201,512; 101,000 / 201,512 > 0.5
    expect(r.ingest_report.outliers).toEqual([
      { year: 1999, applicant: 'Big Applicant', filings: 101_000, national_total: 201_512, share: 101_000 / 201_512, by_region: { 'CN-GD': 101_000 } },
      { year: 2000, applicant: 'Zhang Wei', filings: 60, national_total: 79, share: 60 / 79, by_region: { 'CN-BJ': 60 } },
    ]);
    const at = (region: string, year: number) => r.panel.rows.find((x: { region: string; year: number }) => x.region === region && x.year === year);
    expect(at('CN-GD', 1999)).toMatchObject({ nano_patents: 2, nano_patents_outlier: 101_000 });
    expect(at('CN-SH', 1999)).toMatchObject({ nano_patents: 4 + 100_500, nano_patents_outlier: 0 });
  }, 60_000);

  it('below that, counts every applicant in the one pass (no second pass is announced) with the same outliers', async () => {
    const logs: string[] = [];
    const r = await runStage('ingest', { overrides: TINY_OVERRIDES, logs });
    expect(logs.some((l) => l.startsWith('outlier rule:'))).toBe(false);
    expect(r.ingest_report.outliers.map((o: { applicant: string }) => o.applicant)).toEqual(['Zhang Wei']);
  });
});

describe('ingest of a file repeated N times', () => {
  it('gives N times the counts of the file itself (fresh ids per copy)', async () => {
    const N = 30;
    const dir = tinyCopy();
    const body = PUBS.slice(1);
    const rows = Array.from({ length: N }, (_, copy) => body.map((line) => line.replace(/^([^,]+)/, `$1-c${copy}`))).flat();
    writeFileSync(join(dir, 'publications.csv'), [PUBS[0], ...rows].join('\n') + '\n');
    const once = await runStage('ingest', { overrides: TINY_OVERRIDES });
    const many = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES });
    type Row = { nano_publications: number; interregional_publications: number; foreign_copublications: number };
    many.panel.rows.forEach((r: Row, k: number) => {
      expect(r.nano_publications).toBe(N * once.panel.rows[k].nano_publications);
      expect(r.interregional_publications).toBe(N * once.panel.rows[k].interregional_publications);
      expect(r.foreign_copublications).toBe(N * once.panel.rows[k].foreign_copublications);
    });
    expect(many.collaboration.copublications.map((c: { count: number }) => c.count)).toEqual(once.collaboration.copublications.map((c: { count: number }) => N * c.count));
    expect(many.ingest_report.publications.rows_used).toBe(N * once.ingest_report.publications.rows_used);
  });
});
