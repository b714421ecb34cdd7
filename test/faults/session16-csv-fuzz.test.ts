// Differential fuzz of the CSV reader (src/data/csv.ts and its byte scanner): seeded random files with quotes,
// embedded line breaks and quotes, CRLF, a byte-order mark, empty fields, signs, exponents, overflow, hex, Infinity,
// NaN, spaces around numbers, long fields, and chunk boundaries (large gzipped files) are read by the reader and by an
// independent reference: csv-parse's synchronous parser over the whole text, each numeric cell typed by Number() of its
// trimmed text when that text is a decimal number (docs/data-format.md), each row validated by ajv. Every accepted row
// must carry the same values (Object.is: -0 stays -0), and every file the reference rejects must be rejected at the
// same row and column.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import ajvModule from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsvRows, type RowSchema } from '../../src/data/csv.js';
import { SpillwayError } from '../../src/errors.js';
import { Rng } from '../../src/stats/random.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-csvfuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema: RowSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1 },
    year: { type: 'integer', minimum: 1900, maximum: 2100 },
    x: { type: 'number' },
    w: { type: 'number', minimum: 0 },
    region: { type: 'string', pattern: '^CN-[A-Z]{2}$' },
    title: { type: 'string' },
  },
  required: ['id', 'year', 'x', 'w', 'region', 'title'],
};
const columns = Object.keys(schema.properties);
const numeric = new Set(['year', 'x', 'w']);

/** seeded uniform draws in [0, 1) (the project's generator, src/stats/random.ts) */
const rng = (seed: number): (() => number) => {
  const g = Rng.fromSeed(seed);
  return () => g.uniform();
};

const NUMBERS = [
  '0', '-0', '+0', '1', '+5', '-5', '.5', '5.', '-.5', '+.5', '1e3', '1E-3', '-1e+2', '1e400', '-1e400', '1e-400',
  '0x10', 'Infinity', '-Infinity', 'NaN', ' 7', '7 ', ' 7 ', '\t7', '', '-', '+', '.', '1.2.3', '12a', '00012',
  '0.1', '0.30000000000000004', '123456789012345678', '9007199254740993', '1234567890.12345', '0.000000000000000000000001',
  '3.14159265358979323846', '2000', '2001.0', '2010.5', '1899', '2101', '1e1', '٣', '1_000', '1,5',
];
const YEARS = ['2000', '2001', '2005', '2010', '2000.0', '+2003', ' 2004', '2e3', '1899', '2101', '2003.5', '02002', ''];
const WORDS = ['nano', 'tube', 'carbon', 'fil"m', 'a,b', 'line\nbreak', 'cr\r\nlf', '', ' ', '中文', 'é', 'x'.repeat(70)];

function pick<T>(r: () => number, list: T[]): T {
  return list[Math.floor(r() * list.length)];
}

function cell(r: () => number, column: string): string {
  if (column === 'year') return r() < 0.85 ? String(2000 + Math.floor(r() * 11)) : pick(r, YEARS);
  if (column === 'x' || column === 'w') {
    const u = r();
    if (u < 0.5) return (r() * 2000 - 1000).toFixed(Math.floor(r() * 8));
    if (u < 0.6) return String(Math.floor(r() * 1e6));
    if (u < 0.7) return String(r() * 10 ** Math.floor(r() * 40 - 20));
    return pick(r, NUMBERS);
  }
  if (column === 'region') return r() < 0.9 ? pick(r, ['CN-BJ', 'CN-SH', 'CN-GD']) : pick(r, ['cn-bj', 'CN-B', 'CN-BJX', '']);
  if (column === 'id') return r() < 0.97 ? `P${Math.floor(r() * 1e6)}` : '';
  const n = Math.floor(r() * 4);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(pick(r, WORDS));
  return words.join(' ');
}

/** quoted when it must be (or at random when it need not) */
function field(r: () => number, text: string, quoteAll: number): string {
  if (/[",\r\n]/.test(text) || r() < quoteAll) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

interface Shape {
  rows: number;
  crlf: boolean;
  bom: boolean;
  quoteAll: number;
  plain: number; // share of rows generated with only plain values (exercises the fast path over many lines)
  order: string[];
  blankLines: number;
  wrongCount: number;
  mixed?: boolean;
}

function generate(seed: number, shape: Shape): string {
  const r = rng(seed);
  const nl = shape.crlf ? '\r\n' : '\n';
  const lines = [shape.order.join(',')];
  for (let i = 0; i < shape.rows; i++) {
    if (r() < shape.blankLines) lines.push('');
    const plainRow = r() < shape.plain;
    const cells = shape.order.map((c) => {
      if (!plainRow) return field(r, cell(r, c), shape.quoteAll);
      if (c === 'year') return String(2000 + Math.floor(r() * 11));
      if (numeric.has(c)) return (r() * 1000).toFixed(Math.floor(r() * 6));
      if (c === 'region') return 'CN-BJ';
      if (c === 'id') return `P${i}`;
      return `t${Math.floor(r() * 50)}`;
    });
    if (r() < shape.wrongCount) cells.push('extra');
    lines.push(cells.join(','));
  }
  // mixed line endings: each break LF or CRLF at random (a file edited on two systems)
  const body = shape.mixed ? lines.map((l, i) => (i === 0 ? l : (r() < 0.5 ? '\r\n' : '\n') + l)).join('') : lines.join(nl);
  return (shape.bom ? '\ufeff' : '') + body + (r() < 0.8 ? nl : '');
}

type Outcome = { ok: true; rows: unknown[][] } | { ok: false; row: number | undefined; field: string | undefined; message: string };

const ajv = new ajvModule.default({ allErrors: false, strict: false });
const validate = ajv.compile(schema);
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The reference reader: csv-parse over the whole text, Number() on decimal text, ajv per row; stops at the first bad row. */
function reference(text: string, drop = false): Outcome & { dropped?: number[]; malformed?: boolean } {
  const dropped: number[] = [];
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (error) {
    // malformed quoting (e.g. a CR after a closing quote in a file whose first line break is LF): the reader must
    // reject the file too (at that record, or at a bad row before it)
    return { ok: false, row: undefined, field: undefined, message: (error as Error).message, malformed: true };
  }
  const header = records[0].map((h) => h.trim());
  const rows: unknown[][] = [];
  for (let i = 1; i < records.length; i++) {
    const record = records[i];
    const row = i;
    if (record.length !== header.length) {
      if (drop) {
        dropped.push(row);
        continue;
      }
      return { ok: false, row, field: undefined, message: 'field count' };
    }
    let overflow: string | undefined;
    const typed: Record<string, unknown> = {};
    const values: unknown[] = [];
    for (const c of columns) {
      const raw = record[header.indexOf(c)];
      let v: unknown = raw;
      if (numeric.has(c)) {
        const t = raw.trim();
        if (NUMBER_TEXT.test(t)) v = Number(t);
        if (typeof v === 'number' && !Number.isFinite(v)) overflow ??= c;
      }
      typed[c] = v;
      values.push(v);
    }
    if (overflow !== undefined) {
      if (drop) {
        dropped.push(row);
        continue;
      }
      return { ok: false, row, field: overflow, message: 'overflow' };
    }
    if (!validate(typed)) {
      if (drop) {
        dropped.push(row);
        continue;
      }
      const e = validate.errors![0];
      const f = e.keyword === 'required' ? String((e.params as { missingProperty: string }).missingProperty) : e.instancePath.split('/')[1];
      return { ok: false, row, field: f, message: String(e.message) };
    }
    rows.push(values);
  }
  return { ok: true, rows, dropped };
}

async function reader(path: string, drop = false): Promise<Outcome & { dropped?: number[] }> {
  const rows: unknown[][] = [];
  try {
    const summary = await readCsvRows(path, { schema, onBadRow: drop ? 'drop' : 'fail', maxReported: 1e6 }, (values) => {
      rows.push([...values]);
    });
    return { ok: true, rows, dropped: summary.dropped_examples.map((d) => d.row) };
  } catch (e) {
    if (!(e instanceof SpillwayError)) throw e;
    const d = e.details as { row?: number; field?: string };
    return { ok: false, row: d.row, field: d.field, message: e.message };
  }
}

function same(a: unknown[][], b: unknown[][]): string | undefined {
  if (a.length !== b.length) return `row counts ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < a[i].length; j++)
      if (!Object.is(a[i][j], b[i][j])) return `row ${i + 1} column ${columns[j]}: ${String(a[i][j])} vs ${String(b[i][j])}`;
  return undefined;
}

const tally = { accepted: 0, rejected: 0 };

async function check(seed: number, shape: Shape, gz: boolean): Promise<string | undefined> {
  const text = generate(seed, shape);
  const path = join(dir, `f${seed}.csv${gz ? '.gz' : ''}`);
  writeFileSync(path, gz ? gzipSync(text) : text);
  const want = reference(text);
  const got = await reader(path);
  tally[want.ok ? 'accepted' : 'rejected']++;
  if (want.ok && got.ok) return same(got.rows, want.rows);
  if (want.ok !== got.ok) return `seed ${seed}: reference ${want.ok ? 'accepts' : `rejects row ${(want as { row?: number }).row}`}, reader ${got.ok ? 'accepts' : `rejects: ${(got as { message: string }).message}`}`;
  const w = want as { row?: number; field?: string; malformed?: boolean };
  const g = got as { row?: number; field?: string; message: string };
  if (w.malformed) return undefined; // rejected (at the malformed record, or at a bad row before it)
  if (w.row !== g.row || (w.field !== undefined && w.field !== g.field)) return `seed ${seed}: reference rejects row ${w.row} ${w.field}, reader row ${g.row} ${g.field}: ${g.message}`;
  return undefined;
}

describe('CSV reader against an independent reference (seeded fuzz)', () => {
  it('small files of every kind of cell: same values, same first bad row', async () => {
    const problems: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed * 7919);
      const order = [...columns].sort(() => r() - 0.5);
      const shape: Shape = { rows: 1 + Math.floor(r() * 12), crlf: r() < 0.4, bom: r() < 0.2, quoteAll: r() < 0.3 ? 0.3 : 0, plain: r() < 0.5 ? 0.8 : 0, order, blankLines: r() < 0.2 ? 0.2 : 0, wrongCount: r() < 0.1 ? 0.1 : 0, mixed: r() < 0.15 };
      const problem = await check(seed, shape, r() < 0.3);
      if (problem) problems.push(problem);
      // drop mode: the same rows kept, the same rows dropped
      const text = generate(seed, shape);
      const path = join(dir, `d${seed}.csv`);
      writeFileSync(path, text);
      const want = reference(text, true);
      if (want.malformed) continue;
      const got = await reader(path, true);
      if (!got.ok) problems.push(`seed ${seed} drop mode: reader fails: ${(got as { message: string }).message}`);
      else {
        const differs = same(got.rows, (want as { rows: unknown[][] }).rows);
        if (differs) problems.push(`seed ${seed} drop mode: ${differs}`);
        if (JSON.stringify(got.dropped) !== JSON.stringify(want.dropped)) problems.push(`seed ${seed} drop mode: dropped ${JSON.stringify(got.dropped)} vs ${JSON.stringify(want.dropped)}`);
      }
    }
    expect(problems).toEqual([]);
    // the fuzz reaches both outcomes, many times each
    expect(tally.accepted).toBeGreaterThan(50);
    expect(tally.rejected).toBeGreaterThan(50);
  });

  it('large files across read and gunzip chunk boundaries: same values', async () => {
    const problems: string[] = [];
    for (let seed = 1001; seed <= 1006; seed++) {
      const r = rng(seed);
      const shape: Shape = { rows: 30_000, crlf: seed % 2 === 0, bom: seed % 3 === 0, quoteAll: 0, plain: seed <= 1003 ? 1 : 0.999, order: columns, blankLines: 0.001, wrongCount: 0 };
      const problem = await check(seed, shape, r() < 0.5);
      if (problem) problems.push(problem);
    }
    expect(problems).toEqual([]);
  });
});

describe('damaged files: never fewer rows in silence', () => {
  const shape: Shape = { rows: 20_000, crlf: false, bom: false, quoteAll: 0, plain: 1, order: columns, blankLines: 0, wrongCount: 0 };
  const text = generate(77, shape);

  it('a truncated .csv.gz is an error (seeded cut points), never a shorter read', async () => {
    const gz = gzipSync(text);
    const r = rng(78);
    const accepted: string[] = [];
    for (let k = 0; k < 12; k++) {
      const cut = 10 + Math.floor(r() * (gz.length - 11));
      const path = join(dir, `cut${k}.csv.gz`);
      writeFileSync(path, gz.subarray(0, cut));
      const got = await reader(path);
      if (got.ok) accepted.push(`cut at ${cut} of ${gz.length}: ${got.rows.length} rows accepted`);
      else expect(got.message).toMatch(/gzip|unexpected end/i);
    }
    expect(accepted).toEqual([]);
  });

  it('an invalid UTF-8 byte anywhere (plain and gzipped) is an error naming its byte offset', async () => {
    const bytes = Buffer.from(text, 'utf8');
    const r = rng(79);
    const wrong: string[] = [];
    for (let k = 0; k < 12; k++) {
      const at = 40 + Math.floor(r() * (bytes.length - 41));
      const damaged = Buffer.from(bytes);
      damaged[at] = [0xff, 0xc3, 0x80, 0xe4][k % 4];
      // a lone continuation byte or lead byte is invalid wherever it lands in ASCII text
      const gz = k % 2 === 1;
      const path = join(dir, `utf${k}.csv${gz ? '.gz' : ''}`);
      writeFileSync(path, gz ? gzipSync(damaged) : damaged);
      const got = await reader(path);
      if (got.ok || !got.message.includes(`byte offset ${at}`)) wrong.push(`byte ${damaged[at].toString(16)} at ${at}${gz ? ' (gz)' : ''}: ${got.ok ? 'accepted' : got.message}`);
    }
    expect(wrong).toEqual([]);
  });
});
