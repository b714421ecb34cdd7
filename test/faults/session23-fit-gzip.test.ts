// Session 23 fault pass: `spillway fit --data F.csv.gz`. The data layer reads .csv.gz (src/data/csv.ts) but fit read the
// compressed bytes as CSV and failed with a quote error over binary garbage (test written to fail first). It now
// decompresses a .gz file as csv.ts does (full reader; the fast reader never takes it) and names a damaged one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'spillway-s23-gz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TEXT =
  'g,y,x,year\n' +
  [
    [1, 2, 0.5, 2001], [1, 3, 0.1, 2002], [1, 0, 1.3, 2003], [2, 1, 0.2, 2001], [2, 4, 0.3, 2002], [2, 2, 0.9, 2003],
    [3, 0, 1.0, 2001], [3, 5, 0.2, 2002], [3, 3, 0.7, 2003], [4, 2, 0.6, 2001], [4, 7, 0.8, 2002], [4, 3, 0.4, 2003],
  ].map((r) => r.join(',')).join('\n') + '\n';

const fit = (file: string) =>
  execa('node', [join(ROOT, 'bin/spillway.js'), 'fit', '--data', file, '--id', 'g', '--y', 'y', '--x', 'x', '--factor', 'year', '--model', 'fe-poisson', '--json'], { reject: false, cwd: tmp });

describe('spillway fit on a gzipped CSV', () => {
  it('fits F.csv.gz exactly as F.csv', async () => {
    writeFileSync(join(tmp, 'p.csv'), TEXT);
    writeFileSync(join(tmp, 'p.csv.gz'), gzipSync(TEXT));
    const [plain, gz] = await Promise.all([fit(join(tmp, 'p.csv')), fit(join(tmp, 'p.csv.gz'))]);
    expect(plain.exitCode).toBe(0);
    expect(gz.exitCode).toBe(0);
    expect(gz.stdout).toBe(plain.stdout);
    expect(JSON.parse(gz.stdout).n).toBe(12);
  });

  it('a damaged .gz is an error naming the file, never a fit', async () => {
    const bytes = gzipSync(TEXT);
    writeFileSync(join(tmp, 'cut.csv.gz'), bytes.subarray(0, bytes.length - 12)); // cut short
    const garbage = Buffer.from(bytes);
    garbage.fill(0x41, 12, 40); // the deflate stream damaged
    writeFileSync(join(tmp, 'bad.csv.gz'), garbage);
    writeFileSync(join(tmp, 'plain-named.csv.gz'), TEXT); // not gzip at all
    for (const name of ['cut.csv.gz', 'bad.csv.gz', 'plain-named.csv.gz']) {
      const r = await fit(join(tmp, name));
      expect(r.exitCode, name).toBe(4);
      const error = JSON.parse(r.stdout);
      expect(error.file).toBe(join(tmp, name));
      expect(error.message).toMatch(/gzip/);
    }
  });
});
