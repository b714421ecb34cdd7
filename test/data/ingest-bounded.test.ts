// Ingest in bounded memory: duplicate ids are still caught with file and row (through the Bloom filter and the exact
// second pass), and the structures that track ids and applicants keep a fixed size however many records stream by.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BloomFilter, DuplicateIds, HeavyHitters } from '../../src/data/bounded.js';
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

  it('settles Bloom-filter false positives exactly: a saturated 512-bit filter flags nearly every id, yet only true repeats are duplicates', () => {
    const ids = new DuplicateIds('publication', { log2Bits: 9, probes: 4 });
    const held: number[] = [];
    const n = 2000;
    const idOf = (row: number) => (row === n ? 'W-17' : `W-${row}`); // the last row repeats row 17
    for (let row = 1; row <= n; row++) if (ids.offer(idOf(row), row)) held.push(row);
    expect(held.length).toBeGreaterThan(n / 2); // saturated: most rows are candidates
    const verdicts = new Map<number, ReturnType<DuplicateIds['confirm']>>();
    for (let row = 1; row <= n; row++) verdicts.set(row, ids.confirm(idOf(row), row));
    expect(verdicts.get(n)).toBe(17);
    const duplicates = [...verdicts].filter(([, v]) => typeof v === 'number');
    expect(duplicates).toEqual([[n, 17]]);
    // every held row but the repeat is counted in pass 2, and no row is counted twice
    expect([...verdicts].filter(([, v]) => v === 'count').map(([r]) => r)).toEqual(held.filter((r) => r !== n));
  });
  it('offered in batches (queue, flush), ids get the verdicts, candidates and filter bits of one-by-one offers, in row order', () => {
    // a half-saturated 2^12-bit filter, so that both verdicts occur often; the repeats are true duplicates
    const idOf = (row: number) => (row % 97 === 0 ? `W-${row - 50}` : `W-${row}`);
    const n = 1500;
    const single = new DuplicateIds('publication', { log2Bits: 12, probes: 4 });
    const acceptedSingle: number[] = [];
    for (let row = 1; row <= n; row++) if (!single.offer(idOf(row), row)) acceptedSingle.push(row);
    const batched = new DuplicateIds('publication', { log2Bits: 12, probes: 4 });
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
    expect(batched.filter.bits).toEqual(single.filter.bits);
    expect(() => {
      for (let k = 0; k <= DuplicateIds.BATCH; k++) batched.queue(`X${k}`, k);
    }).toThrow(/flush/);
  });
});

describe('bounded structures', () => {
  it('the id filter keeps its size while 20× more ids stream through; candidates stay a tiny fraction', () => {
    const sizes = [10_000, 200_000].map((n) => {
      const ids = new DuplicateIds('application', { log2Bits: 24 });
      for (let row = 1; row <= n; row++) ids.offer(`SYN-PAT-2005-${String(row).padStart(7, '0')}`, row);
      return { bytes: ids.filter.byteLength, held: ids.heldRows.size, candidates: ids.candidateIds.size };
    });
    expect(sizes[0].bytes).toBe(2 ** 24 / 8);
    expect(sizes[1].bytes).toBe(sizes[0].bytes);
    // 2^24 bits for 200,000 ids: 84 bits per id, 8 probes → false positives ≪ 0.1 %
    expect(sizes[1].held).toBeLessThan(200);
    expect(sizes[1].candidates).toBe(sizes[1].held);
  });

  it('the id filter refuses to grow its candidate list past the cap (an error, not unbounded memory)', () => {
    const ids = new DuplicateIds('grant', { log2Bits: 9, probes: 2, maxCandidates: 50 });
    expect(() => {
      for (let row = 1; row <= 10_000; row++) ids.offer(`G${row}`, row);
    }).toThrow(/more than 50 grant ids may repeat/);
    expect(ids.heldRows.size).toBe(50);
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
