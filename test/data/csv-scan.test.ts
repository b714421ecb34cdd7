// The fast path of CSV reading (src/data/csv-scan.ts): numbers parsed from bytes must be exactly Number() of the text,
// and a file whose simple lines are followed by a quoted one must read as a whole exactly as csv-parse reads it, with
// the file's own line numbers after the hand-over.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LineScanner, plainDecimal } from '../../src/data/csv-scan.js';
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

describe('LineScanner: fields and numbers in one pass, whatever the chunks', () => {
  // seeded random lines of numeric-looking and text fields; the scanner must give the same fields and, for the marked
  // columns, exactly plainDecimal of each field, however the bytes are cut into chunks
  const rng = Rng.fromSeed(23);
  const cells = ['', '-', '.', '+.5', '5.', '-0', '007', '1e5', '12x', 'abc', ' 7', '2.675', '123456789012345678', '9007199254740993', '-3.25', '0.1'];
  const cell = (): string => {
    const u = rng.uniform();
    if (u < 0.3) return cells[Math.floor(rng.uniform() * cells.length)];
    if (u < 0.6) return String(Math.floor(rng.uniform() * 1e6));
    return (rng.normal() * 10 ** Math.floor(rng.uniform() * 8)).toFixed(Math.floor(rng.uniform() * 9));
  };
  // (a line of one empty field would be a blank line, which is skipped)
  const lines = Array.from({ length: 3000 }, () => Array.from({ length: 1 + Math.floor(rng.uniform() * 7) }, cell)).map((l) => (l.join('') === '' ? ['0'] : l));
  const bytes = Buffer.from(lines.map((l) => l.join(',')).join('\n') + '\n');
  const scanAll = (chunkSizes: () => number, numeric: Uint8Array | undefined) => {
    const seen: { fields: string[]; numbers: number[]; line: number; end: number }[] = [];
    const scanner = new LineScanner(({ buf, starts, ends, count, numbers, line, end }) => {
      const fields: string[] = [];
      const nums: number[] = [];
      for (let i = 0; i < count; i++) {
        fields.push(buf.toString('utf8', starts[i], ends[i]));
        if (numeric && numeric[i]) nums.push(numbers[i]);
      }
      seen.push({ fields, numbers: nums, line, end });
    });
    scanner.numeric = numeric;
    for (let at = 0; at < bytes.length; ) {
      const size = chunkSizes();
      expect(scanner.push(bytes.subarray(at, at + size))).toBeUndefined();
      at += size;
    }
    expect(scanner.push(Buffer.alloc(0), true)).toBeUndefined();
    return seen;
  };
  const mask = new Uint8Array([1, 0, 1, 1, 0, 1]); // column 7 (if any) is past the mask: not parsed

  it('numbers are plainDecimal of the field (so exactly Number() of a plain decimal, NaN otherwise)', () => {
    const seen = scanAll(() => bytes.length, mask);
    expect(seen).toHaveLength(lines.length);
    let checked = 0;
    seen.forEach(({ fields, numbers, line }, k) => {
      expect(fields).toEqual(lines[k]);
      expect(line).toBe(k + 1);
      const marked = fields.map((f, i) => ({ f, i })).filter(({ i }) => mask[i]);
      marked.forEach(({ f }, j) => {
        const b = Buffer.from(f);
        expect(Object.is(numbers[j], plainDecimal(b, 0, b.length)), `${f} on line ${line}`).toBe(true);
        checked++;
      });
    });
    expect(checked).toBeGreaterThan(5000);
  });

  it('chunks of 1 to 200 bytes, lines cut anywhere: the same fields, numbers, lines and byte offsets', () => {
    const whole = scanAll(() => bytes.length, mask);
    const cut = Rng.fromSeed(29);
    const pieces = scanAll(() => 1 + Math.floor(cut.uniform() * 200), mask);
    expect(pieces).toEqual(whole);
    expect(whole.at(-1)!.end).toBe(bytes.length);
  });

  it('a quoted line cut across two chunks: the hand-over starts at that line and holds the rest of the stream', () => {
    const text = 'a,b\n1,2\n3,"x\ny"\n5,6\n';
    const at = text.indexOf('"') + 1; // the chunk ends inside the quoted line
    const seen: number[] = [];
    const scanner = new LineScanner(({ line }) => void seen.push(line));
    expect(scanner.push(Buffer.from(text.slice(0, at)))).toBeUndefined();
    const handover = scanner.push(Buffer.from(text.slice(at)));
    expect(seen).toEqual([1, 2]);
    expect(handover).toMatchObject({ line: 3, offset: text.indexOf('3,"'), newline: '\n' });
    expect(handover!.rest.toString()).toBe('3,"x\ny"\n5,6\n');
  });
});
