// The embedded dataset: deterministic generation, schema-valid files, and data/raw equal to what the generator writes.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, type RowSchema } from '../../src/data/csv.js';
import { DEFAULT_SEED, generateDataset, RAW_FILES } from '../../src/synth/index.js';

const root = join(import.meta.dirname, '..', '..');
const content = async (path: string): Promise<Buffer> => {
  const bytes = await readFile(path);
  return path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
};

let dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'spillway-synth-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe('generateDataset', () => {
  let defaultA: string;
  let defaultB: string;
  let other: string;
  beforeAll(async () => {
    [defaultA, defaultB, other] = await Promise.all([tempDir(), tempDir(), tempDir()]);
    await generateDataset({ seed: DEFAULT_SEED, outDir: defaultA });
    await generateDataset({ seed: DEFAULT_SEED, outDir: defaultB });
    await generateDataset({ seed: DEFAULT_SEED + 1, outDir: other });
  }, 120_000);

  it('writes every raw file, truth.json and README.md', async () => {
    expect((await readdir(defaultA)).sort()).toEqual([...RAW_FILES].sort());
  });

  it('gives byte-identical files for the same seed', async () => {
    for (const f of RAW_FILES) expect((await readFile(join(defaultB, f))).equals(await readFile(join(defaultA, f))), f).toBe(true);
  });

  it('gives different draws for a different seed (real data stays the same)', async () => {
    for (const f of ['patents.csv.gz', 'publications.csv.gz', 'funding.csv.gz', 'region_year.csv', 'truth.json']) {
      expect((await content(join(other, f))).equals(await content(join(defaultA, f))), f).toBe(false);
    }
    expect((await readFile(join(other, 'regions.csv'))).equals(await readFile(join(defaultA, 'regions.csv')))).toBe(true);
  });

  it('data/raw (the embedded dataset) equals what the generator writes for the default seed', async () => {
    for (const f of RAW_FILES) expect((await content(join(root, 'data/raw', f))).equals(await content(join(defaultA, f))), f).toBe(true);
  }, 30_000);

  it('truth.json holds Table 4 model 5 (leading) and model 8 (lagging) as the true coefficients, and the leading set', async () => {
    const truth = JSON.parse(await readFile(join(root, 'data/raw/truth.json'), 'utf8'));
    const published = JSON.parse(await readFile(join(root, 'data/paper/published.json'), 'utf8'));
    const rows = published.table4_negative_binomial_fe.rows as Record<string, { coef: (number | null)[] }>;
    for (const [group, column] of [['leading', 4], ['lagging', 7]] as const) {
      const model = truth.models[group];
      expect(model.paper_model).toBe(String(column + 1));
      for (const [name, value] of Object.entries(model.coefficients)) expect(value, `${group} ${name}`).toBe(rows[name].coef[column]);
      expect(model.constant).toBe(rows.constant.coef[column]);
      expect(Object.keys(model.year_effects)).toEqual(['2000', '2001', '2002', '2003', '2004', '2005', '2006', '2007', '2008', '2009', '2010']);
    }
    expect(truth.seed).toBe(DEFAULT_SEED);
    expect(truth.leading_regions).toEqual(['CN-BJ', 'CN-SH', 'CN-JS', 'CN-ZJ', 'CN-SD', 'CN-JL', 'CN-GD', 'CN-HB']);
    expect(Object.keys(truth.dispersion_delta)).toHaveLength(30);
  });

  it('every record of every file is valid against schemas/raw/*.schema.json (read with the pipeline\'s CSV reader)', async () => {
    for (const name of ['regions', 'region_year', 'patents', 'publications', 'funding']) {
      const file = RAW_FILES.find((f) => f.startsWith(`${name}.csv`))!;
      const schema = JSON.parse(await readFile(join(root, 'schemas/raw', `${name}.schema.json`), 'utf8')) as RowSchema;
      let rows = 0;
      const summary = await readCsv(join(root, 'data/raw', file), { schema, onBadRow: 'fail' }, () => {
        rows++;
      });
      expect(summary.rows_dropped, name).toBe(0);
      expect(summary.ignored_columns, name).toEqual([]);
      expect(rows, name).toBeGreaterThan(0);
    }
  }, 60_000);

  it('contains the outlier applicant and titles that do not match the nano pattern', async () => {
    const text = (await content(join(root, 'data/raw/patents.csv.gz'))).toString('utf8');
    const lines = text.trim().split('\n').slice(1);
    const outlier = lines.filter((l) => l.includes('Individual applicant BJ-0911'));
    expect(outlier.length).toBe(911);
    expect(outlier.every((l) => l.includes(',2001,CN-BJ,'))).toBe(true);
    const nonNano = lines.filter((l) => !/nano/i.test(l.slice(l.lastIndexOf(',') + 1)));
    expect(nonNano.length).toBeGreaterThan(100);
    expect(nonNano.length / lines.length).toBeLessThan(0.06);
  }, 30_000);

  it('scale K multiplies the record counts', async () => {
    const dir = await tempDir();
    const result = await generateDataset({ seed: DEFAULT_SEED, scale: 2, outDir: dir });
    const lines = async (f: string) => (await content(join(dir, f))).toString('utf8').trim().split('\n').length - 1;
    const base = async (f: string) => (await content(join(defaultA, f))).toString('utf8').trim().split('\n').length - 1;
    for (const f of ['patents.csv.gz', 'publications.csv.gz', 'funding.csv.gz']) expect(await lines(f), f).toBe(2 * (await base(f)));
    expect(result.records.publications).toBe(await lines('publications.csv.gz'));
  }, 60_000);
});
