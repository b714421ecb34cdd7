// The fast path of CSV reading (src/data/csv-scan.ts): numbers parsed from bytes must be exactly Number() of the text,
// and a file whose simple lines are followed by a quoted one must read as a whole exactly as csv-parse reads it, with
// the file's own line numbers after the hand-over.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { plainDecimal } from '../../src/data/csv-scan.js';
import { readCsv, type RowSchema } from '../../src/data/csv.js';
import { SpillwayError } from '../../src/errors.js';
import { Rng } from '../../src/stats/random.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-csv-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const schema = JSON.parse(readFileSync(new URL('../../schemas/raw/funding.schema.json', import.meta.url), 'utf8')) as RowSchema;

describe('plainDecimal', () => {
  const at = (text: string) => plainDecimal(Buffer.from(`,${text},`), 1, 1 + Buffer.byteLength(text));

  it('is Number(text) on plain decimals, bit for bit (seeded random, 1 to 20 digits, signs, points)', () => {
    const rng = Rng.fromSeed(5);
    for (let k = 0; k < 20000; k++) {
      const digits = 1 + Math.floor(rng.uniform() * 20);
      let text = '';
      for (let d = 0; d < digits; d++) text += String(Math.floor(rng.uniform() * 10));
      const point = Math.floor(rng.uniform() * (digits + 2)) - 1;
      if (point >= 0 && point <= digits) text = `${text.slice(0, point)}.${text.slice(point)}`;
      const sign = rng.uniform();
      if (sign < 0.2) text = `-${text}`;
      else if (sign < 0.25) text = `+${text}`;
      expect(Object.is(at(text), Number(text)), text).toBe(true);
    }
    for (const text of ['0', '-0', '-0.0', '007', '5.', '.5', '-.5', '0.1', '0.3', '2.675', '9007199254740993', '123456789012345.6', '0.000000000000000000000001'])
      expect(Object.is(at(text), Number(text)), text).toBe(true);
  });

  it('is NaN for anything else (the caller reads the text its own way)', () => {
    for (const text of ['', '-', '.', '+.', '1e5', '1E-3', ' 5', '5 ', '5-', '1.2.3', '0x10', 'NaN', 'Infinity', '1,5']) expect(at(text), text).toBeNaN();
  });
});

describe('simple lines, then a quoted line: csv-parse takes over at that line', () => {
  // enough rows to cross the 1 MiB read chunks several times before and after the quoted row
  const simple = (from: number, n: number) => Array.from({ length: n }, (_, k) => `G${from + k},2001,CN-BJ,${(from + k) / 4},grant ${from + k}\n`).join('');
  const before = 40000;
  const text = `grant_id,year,region,amount,title\n${simple(1, before)}Q1,2002,CN-SH,7,"Nano, tubes ""quoted"""\n${simple(before + 2, 40000)}`;

  for (const name of ['mixed.csv', 'mixed.csv.gz']) {
    it(`${name}: every row, typed, in order`, async () => {
      const path = join(dir, name);
      writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
      const rows: Record<string, unknown>[] = [];
      const lines: number[] = [];
      const summary = await readCsv(path, { schema }, (r, position) => {
        rows.push(r);
        lines.push(position.line);
      });
      expect(summary.rows_accepted).toBe(80001);
      expect(rows[before]).toEqual({ grant_id: 'Q1', year: 2002, region: 'CN-SH', amount: 7, title: 'Nano, tubes "quoted"' });
      expect(rows[before + 1]).toEqual({ grant_id: `G${before + 2}`, year: 2001, region: 'CN-BJ', amount: (before + 2) / 4, title: `grant ${before + 2}` });
      expect(rows[123]).toEqual({ grant_id: 'G124', year: 2001, region: 'CN-BJ', amount: 31, title: 'grant 124' });
      expect(lines.every((line, i) => line === i + 2)).toBe(true);
    });
  }

  it('a bad cell after the hand-over names its own line and row', async () => {
    const path = join(dir, 'mixed-bad.csv');
    writeFileSync(path, `${text}G9,20x1,CN-BJ,1,t\n`);
    try {
      await readCsv(path, { schema }, () => undefined);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpillwayError);
      expect((e as SpillwayError).details).toMatchObject({ row: 80002, line: 80003, field: 'year' });
    }
  });

  it('a CRLF file with a quoted row reads the same', async () => {
    const path = join(dir, 'mixed-crlf.csv');
    writeFileSync(path, text.replaceAll('\n', '\r\n'));
    const rows: Record<string, unknown>[] = [];
    await readCsv(path, { schema }, (r) => {
      rows.push(r);
    });
    expect(rows).toHaveLength(80001);
    expect(rows[before].title).toBe('Nano, tubes "quoted"');
    expect(rows[80000].title).toBe('grant 80001');
  });

  it('a line longer than 16 MiB is handed over (not carried from chunk to chunk) and read whole', async () => {
    const path = join(dir, 'long-line.csv');
    const long = 'n'.repeat(17 * (1 << 20));
    writeFileSync(path, `grant_id,year,region,amount,title\n${simple(1, 3)}G9,2001,CN-BJ,2,${long}\n${simple(10, 2)}`);
    const rows: Record<string, unknown>[] = [];
    await readCsv(path, { schema }, (r) => {
      rows.push(r);
    });
    expect(rows.map((r) => r.grant_id)).toEqual(['G1', 'G2', 'G3', 'G9', 'G10', 'G11']);
    expect((rows[3].title as string).length).toBe(long.length);
  });
});
