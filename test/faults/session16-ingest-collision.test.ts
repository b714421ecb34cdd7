// Ingest's second pass (stages/ingest.ts) looks only at the rows whose id bytes hash (32-bit FNV-1a, src/data/bounded.ts)
// like a candidate duplicate's. Two different ids with the same hash (WOSX64197 and WOSX337400, found by search) must
// cost only extra work: the colliding row is let through and judged on its exact id, never called a duplicate.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { hashBytes } from '../../src/data/bounded.js';
import { runStage, TINY_OVERRIDES, tinyDataset } from '../replication/helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const PUBS = readFileSync(join(tinyDataset, 'publications.csv'), 'utf8').trimEnd().split('\n');

function dataset(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-collision-'));
  dirs.push(dir);
  cpSync(tinyDataset, dir, { recursive: true });
  writeFileSync(join(dir, 'publications.csv'), lines.join('\n') + '\n');
  return dir;
}

it('a row whose id hashes like a duplicate candidate\'s, but differs, is not a duplicate', async () => {
  const [a, b] = ['WOSX64197', 'WOSX337400'];
  const bytes = (s: string) => Buffer.from(s);
  expect(hashBytes(bytes(a), 0, a.length)).toBe(hashBytes(bytes(b), 0, b.length));
  const renamed = [...PUBS];
  renamed[3] = renamed[3].replace(/^WOS\d+/, a);
  renamed[5] = renamed[5].replace(/^WOS\d+/, b);
  const clean = await runStage('ingest', { dataDir: dataset(renamed), overrides: TINY_OVERRIDES });
  // row 22 repeats row 3 (id a): the second pass looks at a's rows, and at b's row (same hash)
  const withRepeat = [...renamed, renamed[3]];
  const error = await runStage('ingest', { dataDir: dataset(withRepeat), overrides: TINY_OVERRIDES }).then(() => undefined, (e: unknown) => e as { message: string; details: unknown });
  expect(error?.message).toBe(`publication ${a} appears twice (first at row 3)`);
  expect(error?.details).toMatchObject({ row: 22, field: 'id' });
  const dropped = await runStage('ingest', { dataDir: dataset(withRepeat), overrides: { ...TINY_OVERRIDES, 'ingest.on_bad_row': 'drop' } });
  expect(dropped.panel).toEqual(clean.panel);
  expect(dropped.collaboration).toEqual(clean.collaboration);
  const file = dropped.ingest_report.files.find((f: { file: string }) => f.file === 'data/raw/publications.csv');
  expect(file.dropped_examples.map((d: { row: number }) => d.row)).toEqual([22]);
});
