import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv, type RowSchema } from '../../src/data/csv.js';
import { SpillwayError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const schema = JSON.parse(readFileSync(new URL('../../schemas/raw/funding.schema.json', import.meta.url), 'utf8')) as RowSchema;

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

async function collect(path: string, onBadRow: 'fail' | 'drop' = 'fail') {
  const rows: Record<string, unknown>[] = [];
  const summary = await readCsv(path, { schema, onBadRow, policyParam: 'ingest.on_bad_row' }, (r) => {
    rows.push(r);
  });
  return { rows, summary };
}

async function failure(promise: Promise<unknown>): Promise<SpillwayError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof SpillwayError) return e;
    throw e;
  }
  throw new Error('expected a SpillwayError');
}

const good = 'grant_id,year,region,amount,title\nG1,2001,CN-BJ,25.5,"Nano, tubes"\nG2,2002,CN-SH,10,"say ""nano"""\n';

describe('readCsv', () => {
  it('streams .csv and .csv.gz alike, typed by the schema, quotes per RFC 4180', async () => {
    for (const name of ['a.csv', 'a.csv.gz']) {
      const { rows, summary } = await collect(write(name, good));
      expect(rows).toEqual([
        { grant_id: 'G1', year: 2001, region: 'CN-BJ', amount: 25.5, title: 'Nano, tubes' },
        { grant_id: 'G2', year: 2002, region: 'CN-SH', amount: 10, title: 'say "nano"' },
      ]);
      expect(summary).toMatchObject({ rows_read: 2, rows_accepted: 2, rows_dropped: 0, ignored_columns: [] });
    }
  });

  it('accepts columns in any order and lists unknown columns', async () => {
    const { rows, summary } = await collect(write('b.csv', 'year,extra,grant_id,region,title,amount\n2001,x,G1,CN-BJ,t,1\n'));
    expect(rows[0]).toEqual({ grant_id: 'G1', year: 2001, region: 'CN-BJ', amount: 1, title: 't' });
    expect(summary.ignored_columns).toEqual(['extra']);
  });

  it('stops at a bad value with file, row, line, column, expected and hint', async () => {
    const e = await failure(collect(write('c.csv', `${good}G3,20O1,CN-BJ,5,t\n`)));
    expect(e.kind).toBe('invalidInput');
    expect(e.details).toMatchObject({ row: 3, line: 4, field: 'year' });
    expect(e.message).toContain('"20O1"');
    expect(e.details.expected).toMatch(/integer/);
    expect(e.format()).toMatch(/c\.csv:4 row 3 column "year"/);
    expect(e.details.hint).toContain('--set ingest.on_bad_row=drop');
  });

  it('reports a wrong field count and a missing header column', async () => {
    const e1 = await failure(collect(write('d.csv', `${good}G3,2001,CN-BJ\n`)));
    expect(e1.details).toMatchObject({ row: 3 });
    expect(e1.message).toMatch(/3 fields, the header has 5/);
    const e2 = await failure(collect(write('e.csv', 'grant_id,year,region,title\nG1,2001,CN-BJ,t\n')));
    expect(e2.details).toMatchObject({ line: 1 });
    expect(e2.message).toMatch(/lacks column amount/);
  });

  it('drops and counts bad rows when asked, including malformed quoting, and keeps the good ones', async () => {
    const text = `${good}G3,2003,CN-XX1,5,t\nG4,2004,CN-GD,-1,t\nG5,2005,CN-GD,"unterminated\n`;
    const { rows, summary } = await collect(write('f.csv', text), 'drop');
    expect(rows.map((r) => r.grant_id)).toEqual(['G1', 'G2']);
    expect(summary.rows_dropped).toBe(3);
    expect(summary.rows_read).toBe(5);
    // the unterminated quote opened in the amount field (on the last line: it swallows no other row)
    expect(summary.dropped_examples.map((b) => b.column)).toEqual(['region', 'amount', 'amount']);
  });

  it('stops on malformed quoting by default, with the line', async () => {
    const e = await failure(collect(write('g.csv', `${good}G5,2005,CN-GD,"unterminated\n`)));
    expect(e.message).toMatch(/malformed CSV/);
  });

  it('lets the caller reject a row with its own reason', async () => {
    const path = write('h.csv', good);
    const e = await failure(
      readCsv(path, { schema }, (r) => (r.region === 'CN-SH' ? { column: 'region', message: 'unknown region CN-SH' } : undefined)),
    );
    expect(e.details).toMatchObject({ row: 2, field: 'region' });
  });

  it('names missing files, empty files and broken gzip', async () => {
    expect((await failure(collect(join(dir, 'nope.csv')))).message).toMatch(/not found/);
    expect((await failure(collect(write('empty.csv', '')))).message).toMatch(/empty/);
    const broken = join(dir, 'broken.csv.gz');
    writeFileSync(broken, 'not gzip at all');
    expect((await failure(collect(broken))).message).toMatch(/gzip/);
  });
});

describe('readCsv line endings', () => {
  it('reads CRLF files and a byte-order mark', async () => {
    const { rows } = await collect(write('crlf.csv', '\ufeffgrant_id,year,region,amount,title\r\nG1,2001,CN-BJ,2,t\r\n'));
    expect(rows).toEqual([{ grant_id: 'G1', year: 2001, region: 'CN-BJ', amount: 2, title: 't' }]);
  });
});

describe('readCsv: simple lines, checked by the compiled column checks (no quote, so csv-parse is not involved)', () => {
  const header = 'grant_id,year,region,amount,title\n';
  it('values are typed as ajv would have them, and each bad cell gets ajv’s message with its row, line and column', async () => {
    const { rows } = await collect(write('simple.csv', `${header}G1,2001,CN-BJ,25.5,t\nG2,2002,CN-SH,0,\n`));
    expect(rows).toEqual([
      { grant_id: 'G1', year: 2001, region: 'CN-BJ', amount: 25.5, title: 't' },
      { grant_id: 'G2', year: 2002, region: 'CN-SH', amount: 0, title: '' },
    ]);
    const cases: [string, string, string][] = [
      ['G3,2001.5,CN-BJ,1,t', 'year', 'value 2001.5 must be integer'],
      ['G3,2001,CN-BJ,-1,t', 'amount', 'value -1 must be >= 0'],
      ['G3,2001,BJ,1,t', 'region', 'value "BJ" must match pattern'],
      ['G3,2001,CN-BJ,1x,t', 'amount', 'value "1x" must be number'],
      // 400 digits: a plain decimal, but beyond a double: the same error as 1e400
      [`G3,2001,CN-BJ,1${'0'.repeat(400)},t`, 'amount', `value 1${'0'.repeat(400)} is out of range: it overflows a 64-bit float to Infinity`],
    ];
    for (const [line, column, message] of cases) {
      const e = await failure(collect(write('simple-bad.csv', `${header}G1,2001,CN-BJ,2,t\n\n${line}\n`)));
      expect(e.details, line).toMatchObject({ row: 2, line: 4, field: column });
      expect(e.message.startsWith(message), `${e.message} (${line})`).toBe(true);
    }
  });
});

describe('readCsvRows keepIf: a pass over a few rows, told apart by their bytes', () => {
  it('skips the rows the test rejects without typing them, keeps row and line numbers, and reads handed-over lines in full', async () => {
    const { readCsvRows } = await import('../../src/data/csv.js');
    const text = 'grant_id,year,region,amount,title\nG1,2001,CN-BJ,1,t\nG2,20x1,CN-BJ,1,t\n\nG3,2001,CN-SH,3,t\nG4,2001,CN-BJ,4,"q"\nG5,2001,CN-BJ,5,t\n';
    const path = write('keep.csv', text);
    const seen: [string, number, number][] = [];
    const tested: string[] = [];
    const summary = await readCsvRows(
      path,
      {
        schema,
        onBadRow: 'drop',
        keepIf: {
          columns: ['region', 'grant_id'],
          test: (buf, starts, ends) => {
            tested.push(buf.toString('utf8', starts[1], ends[1]));
            return buf.toString('utf8', starts[0], ends[0]) === 'CN-SH';
          },
        },
      },
      (v, row, line) => void seen.push([v[0] as string, row, line]),
    );
    // G2's bad year is not looked at (its bytes fail the test); from G4's quote on, csv-parse reads every row in full
    expect(tested).toEqual(['G1', 'G2', 'G3']);
    expect(seen).toEqual([
      ['G3', 3, 5],
      ['G4', 4, 6],
      ['G5', 5, 7],
    ]);
    expect(summary).toMatchObject({ rows_read: 5, rows_accepted: 3, rows_dropped: 0 });
  });
});

describe('readCsv: repeated values of a column (made into one string each, their check remembered)', () => {
  it('a bad value that repeats is bad every time, a good one good every time, ids that do not repeat are read plainly', async () => {
    const header = 'grant_id,year,region,amount,title\n';
    // 5,000 rows (past the interning trial of 4,096 values): ids unique, regions from a few, one bad region repeated
    const regions = ['CN-BJ', 'CN-SH', 'CN-B', 'CN-BJX', 'cn-bj', 'CN-GD'];
    const lines = Array.from({ length: 5000 }, (_, k) => `G${k + 1},2001,${regions[k % regions.length]},${k % 7},title ${k % 3}\n`);
    const { rows, summary } = await collect(write('repeat.csv', header + lines.join('')), 'drop');
    const good = lines.filter((_, k) => ['CN-BJ', 'CN-SH', 'CN-GD'].includes(regions[k % regions.length]));
    expect(rows).toHaveLength(good.length);
    expect(summary.rows_dropped).toBe(5000 - good.length);
    expect(summary.dropped_examples.slice(0, 3).map((d) => [d.row, d.column])).toEqual([
      [3, 'region'],
      [4, 'region'],
      [5, 'region'],
    ]);
    expect(rows.at(-1)).toEqual({ grant_id: 'G5000', year: 2001, region: 'CN-SH', amount: 4999 % 7, title: `title ${4999 % 3}` });
    expect(new Set(rows.map((r) => r.grant_id)).size).toBe(good.length);
  });
});

describe('readCsvRows byteColumns: text columns handed over as bytes', () => {
  it('gives the UTF-8 bytes of each byte column on simple lines and on lines csv-parse reads, and checks minLength on the bytes', async () => {
    const { readCsvRows } = await import('../../src/data/csv.js');
    // grant_id has minLength 1: "" fails on the bytes with ajv's message; "专" is one code point in 3 bytes and passes
    const text = 'grant_id,year,region,amount,title\nG1,2001,CN-BJ,1,t\n专,2001,CN-SH,2,多字节\n,2001,CN-BJ,3,t\nG4,2001,CN-BJ,4,"q,uoted"\n"G,5",2001,CN-BJ,5,t\n';
    const seen: [unknown, string, string, number][] = [];
    const summary = await readCsvRows(write('bytes.csv', text), { schema, onBadRow: 'drop', byteColumns: ['title', 'grant_id'] }, (v, row, _line, bytes) => {
      seen.push([v[0], bytes.buf.toString('utf8', bytes.starts[1], bytes.ends[1]), bytes.buf.toString('utf8', bytes.starts[0], bytes.ends[0]), row]);
    });
    // simple lines: no string for grant_id (only a minLength) nor title (no check at all); from G4's quote on, csv-parse
    // reads the rows, with their strings, and the bytes are those of the unquoted values
    expect(seen).toEqual([
      [undefined, 'G1', 't', 1],
      [undefined, '专', '多字节', 2],
      ['G4', 'G4', 'q,uoted', 4],
      ['G,5', 'G,5', 't', 5],
    ]);
    expect(summary.dropped_examples).toEqual([{ row: 3, line: 4, column: 'grant_id', message: 'value "" must NOT have fewer than 1 characters', expected: 'grant number, unique' }]);
    // a minLength of more code points than bytes/4: counted from the bytes, as ajv counts them in the string
    const strict: RowSchema = { ...schema, properties: { ...schema.properties, grant_id: { type: 'string', minLength: 2 } } };
    const ok: string[] = [];
    const s2 = await readCsvRows(write('bytes2.csv', 'grant_id,year,region,amount,title\n专利,2001,CN-BJ,1,t\n专,2001,CN-BJ,1,t\nAB,2001,CN-BJ,1,t\n'), { schema: strict, onBadRow: 'drop', byteColumns: ['grant_id'] }, (_v, _row, _line, b) => {
      ok.push(b.buf.toString('utf8', b.starts[0], b.ends[0]));
    });
    expect(ok).toEqual(['专利', 'AB']);
    expect(s2.dropped_examples.map((d) => [d.row, d.column])).toEqual([[2, 'grant_id']]);
  });
});

describe('readCsv: interned values whose bytes hash alike', () => {
  it('two titles with the same 32-bit FNV-1a hash (WOSX64197, WOSX337400) each come back as themselves', async () => {
    const header = 'grant_id,year,region,amount,title\n';
    const titles = ['WOSX64197', 'WOSX337400', 'WOSX64197x', 'WOSX337400'];
    const lines = Array.from({ length: 400 }, (_, k) => `G${k + 1},2001,CN-BJ,1,${titles[k % 4]}\n`);
    const { rows } = await collect(write('collide.csv', header + lines.join('')));
    expect(rows.map((r) => r.title)).toEqual(lines.map((_, k) => titles[k % 4]));
  });
});

describe('readCsvRows codes: a small integer per distinct value of a repeating column', () => {
  it('the same value has the same code, another value another; numbers, ids and rows read by csv-parse have −1', async () => {
    const { readCsvRows } = await import('../../src/data/csv.js');
    const header = 'grant_id,year,region,amount,title\n';
    const regions = ['CN-BJ', 'CN-SH', 'CN-GD', 'CN-SH'];
    const titles = ['', 'nano', 'ü nano', ''];
    const lines = Array.from({ length: 6000 }, (_, k) => `G${k + 1},2001,${regions[k % 4]},${k % 7},${titles[(k >> 2) % 4]}\n`);
    const seen: { region: string; title: string; codes: number[] }[] = [];
    await readCsvRows(write('codes.csv', header + lines.join('') + 'G9,2001,CN-BJ,1,"quoted"\n'), { schema }, (v, _row, _line, fields) => {
      seen.push({ region: v[2] as string, title: v[4] as string, codes: [...fields.codes] });
    });
    expect(seen).toHaveLength(6001);
    const byValue = (column: 2 | 4, key: 'region' | 'title') => {
      const codes = new Map<string, Set<number>>();
      for (const r of seen.slice(0, 6000)) codes.set(r[key], (codes.get(r[key]) ?? new Set()).add(r.codes[column]));
      return codes;
    };
    for (const [column, key, distinct] of [[2, 'region', 3], [4, 'title', 3]] as const) {
      const codes = byValue(column, key);
      expect(codes.size).toBe(distinct);
      for (const set of codes.values()) expect(set.size).toBe(1); // one code per value, for all 6,000 rows
      const all = [...codes.values()].map((set) => [...set][0]);
      expect(new Set(all).size).toBe(distinct); // different values, different codes
      expect(all.every((c) => c >= 0 && c < 4096)).toBe(true);
    }
    // ids stop being interned once they prove not to repeat (after 4,096); numbers never have a code
    expect(seen[5999].codes[0]).toBe(-1);
    expect(seen.every((r) => r.codes[1] === -1 && r.codes[3] === -1)).toBe(true);
    // the last row has a quote: csv-parse reads it, without codes
    expect(seen[6000]).toEqual({ region: 'CN-BJ', title: 'quoted', codes: [-1, -1, -1, -1, -1] });
  });
});
