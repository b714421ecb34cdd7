// Session 17 fault pass over the speed work: hostile inputs for the exact fingerprint set of duplicate ids, the CSV
// reader's byte columns, value codes and no-quote fast path, and the CLI's start-up (tests written to fail first).
import { describe, expect, it } from 'vitest';
import { DuplicateIds } from '../../src/data/bounded.js';

/** The two 32-bit hashes DuplicateIds takes of an id's UTF-8 bytes (src/data/bounded.ts, bytesHashes), computed here anew. */
function fingerprint(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x6c62272e;
  for (const c of Buffer.from(id, 'utf8')) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a | 0, b | 0];
}

describe('duplicate ids: the exact set, then the Bloom filter past its cap', () => {
  it('an id whose fingerprint is (0, 0) and that repeats after the set moved into the filter is still caught', () => {
    // fingerprints cut to 4 bits each (256 values), a set of 16 slots (full at its 11th): ids chosen by their fingerprints
    const mask = 0xf;
    const masked = (id: string) => fingerprint(id).map((h) => h & mask).join(',');
    const candidates = Array.from({ length: 20_000 }, (_, k) => `ID-${k}`);
    const zero = candidates.find((id) => masked(id) === '0,0')!;
    expect(zero).toBeDefined();
    // ten other ids of distinct fingerprints, none (0, 0) or (0, 1) (the slot's own stand-in for (0, 0))
    const fillers: string[] = [];
    const seen = new Set(['0,0', '0,1']);
    for (const id of candidates) {
      if (fillers.length === 10) break;
      if (seen.has(masked(id))) continue;
      seen.add(masked(id));
      fillers.push(id);
    }
    expect(fillers).toHaveLength(10);
    const ids = new DuplicateIds('publication', { log2Slots: 4, maxLog2Slots: 4, fallbackLog2Bits: 9, probes: 4, fingerprintMask: mask });
    let row = 0;
    expect(ids.offer(zero, ++row)).toBe(false);
    for (const id of fillers) expect(ids.offer(id, ++row)).toBe(false);
    expect(ids.set).toBeUndefined(); // the set was full: its fingerprints are in the filter now
    // a filter has no false negatives: the repeat must be held back for the exact second pass
    const again = ++row;
    expect(ids.offer(zero, again)).toBe(true);
    expect(ids.confirm(zero, 1)).toBe('skip');
    expect(ids.confirm(zero, again)).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The CSV reader's new paths against csv-parse + Number() + ajv: byteColumns (ids as bytes, no string), value codes
// (one code per distinct value of a column within a read), the no-quote/no-CR split, across read and gunzip chunks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll } from 'vitest';
import { parse } from 'csv-parse/sync';
import ajvModule from 'ajv';
import { readCsvRows, type RowSchema } from '../../src/data/csv.js';
import { LineScanner } from '../../src/data/csv-scan.js';
import { Rng } from '../../src/stats/random.js';

const csvDir = mkdtempSync(join(tmpdir(), 'spillway-s17-faults-'));
afterAll(() => rmSync(csvDir, { recursive: true, force: true }));

const csvSchema: RowSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 2 },
    year: { type: 'integer', minimum: 1900, maximum: 2100 },
    region: { type: 'string', pattern: '^CN-[A-Z]{2}$' },
    title: { type: 'string' },
    amount: { type: 'number', minimum: 0 },
  },
  required: ['id', 'year', 'region', 'title', 'amount'],
};
const csvColumns = Object.keys(csvSchema.properties);
const validateRow = new ajvModule.default({ allErrors: false, strict: false }).compile(csvSchema);

/** csv-parse over the whole text, Number() of decimal text in numeric columns, ajv per row: rows kept, rows dropped */
function referenceRows(text: string): { rows: unknown[][]; dropped: number[] } {
  const records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  const header = records[0].map((h) => h.trim());
  const rows: unknown[][] = [];
  const dropped: number[] = [];
  for (let i = 1; i < records.length; i++) {
    const record = records[i];
    if (record.length !== header.length) {
      dropped.push(i);
      continue;
    }
    const typed: Record<string, unknown> = {};
    const values = csvColumns.map((c) => {
      const raw = record[header.indexOf(c)];
      const t = raw.trim();
      const v = (c === 'year' || c === 'amount') && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : raw;
      typed[c] = v;
      return v;
    });
    if (values.some((v) => typeof v === 'number' && !Number.isFinite(v)) || !validateRow(typed)) dropped.push(i);
    else rows.push(values);
  }
  return { rows, dropped };
}

const TITLES = ['nano', 'Nanotube', '纳米材料', 'é', 'e\u0301', '𝔘nicode', '', ' ', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'ü'.repeat(40)];

/** A seeded file: mostly simple lines; quotes, CRs, odd ids and bad rows where `odd` says, placed late when `late`. */
function makeCsv(seed: number, rows: number, options: { odd: number; late?: boolean; crlf?: boolean; bom?: boolean; distinctTitles: number }): string {
  const g = Rng.fromSeed(seed);
  const u = () => g.uniform();
  const nl = options.crlf ? '\r\n' : '\n';
  const order = [...csvColumns].sort(() => u() - 0.5);
  const lines = [order.join(',')];
  for (let i = 0; i < rows; i++) {
    const odd = (!options.late || i > rows * 0.8) && u() < options.odd;
    const cells: Record<string, string> = {
      id: u() < 0.02 ? pickOf(u, ['', 'é', '𝔘', 'ab', '"q,uoted id"']) : `P${i}${pickOf(u, ['', '', '', 'é', '中', '\u00a0', '𝔘'])}`,
      year: String(2000 + Math.floor(u() * 11)),
      region: pickOf(u, ['CN-BJ', 'CN-SH', 'CN-GD', 'CN-XZ']),
      title: u() < 0.5 ? `t${Math.floor(u() * options.distinctTitles)}` : pickOf(u, TITLES),
      amount: (u() * 1000).toFixed(Math.floor(u() * 4)),
    };
    if (odd) {
      const k = Math.floor(u() * 6);
      if (k === 0) cells.title = `"${cells.title}, with ""quotes"""`;
      else if (k === 1) cells.title = `"multi${nl}line"`;
      else if (k === 2) cells.region = 'cn-bj';
      else if (k === 3) cells.amount = ' 7';
      else if (k === 4) cells.id = '';
      else cells.year = '2003.0';
    }
    lines.push(order.map((c) => cells[c]).join(','));
  }
  return (options.bom ? '\ufeff' : '') + lines.join(nl) + nl;
}

function pickOf<T>(u: () => number, list: T[]): T {
  return list[Math.floor(u() * list.length)];
}

/** Reads `path` twice (plain, and with id and title as byte columns) and checks both against the reference. */
async function differential(path: string, text: string): Promise<string[]> {
  const want = referenceRows(text);
  const problems: string[] = [];
  // 1. values and codes: a code stands for one value of its column, a value has at most one code, within one read
  const got: unknown[][] = [];
  const codeValue = csvColumns.map(() => new Map<number, unknown>());
  const valueCode = csvColumns.map(() => new Map<unknown, number>());
  const s1 = await readCsvRows(path, { schema: csvSchema, onBadRow: 'drop', maxReported: 1e9 }, (values, _row, _line, fields) => {
    got.push([...values]);
    for (let k = 0; k < csvColumns.length; k++) {
      const code = fields.codes[k];
      if (code < 0) continue;
      if (typeof values[k] !== 'string') problems.push(`code ${code} for the number ${values[k]} in ${csvColumns[k]}`);
      if (code > 4095) problems.push(`code ${code} out of 0..4095`);
      const before = codeValue[k].get(code);
      if (before !== undefined && before !== values[k]) problems.push(`${csvColumns[k]}: code ${code} for ${JSON.stringify(before)} and ${JSON.stringify(values[k])}`);
      codeValue[k].set(code, values[k]);
      const had = valueCode[k].get(values[k]);
      if (had !== undefined && had !== code) problems.push(`${csvColumns[k]}: ${JSON.stringify(values[k])} has codes ${had} and ${code}`);
      valueCode[k].set(values[k], code);
    }
  });
  if (JSON.stringify(got) !== JSON.stringify(want.rows)) problems.push(`values differ (${got.length} vs ${want.rows.length} rows)`);
  if (JSON.stringify(s1.dropped_examples.map((d) => d.row)) !== JSON.stringify(want.dropped)) problems.push(`dropped rows differ: ${s1.dropped_examples.map((d) => d.row).slice(0, 5)} vs ${want.dropped.slice(0, 5)}`);
  // 2. byte columns: the bytes of id and title are those of the reference's strings; a value given is that string
  const asBytes: string[][] = [];
  const s2 = await readCsvRows(path, { schema: csvSchema, onBadRow: 'drop', maxReported: 1e9, byteColumns: ['title', 'id'] }, (values, _row, _line, f) => {
    const title = f.buf.toString('utf8', f.starts[0], f.ends[0]);
    const id = f.buf.toString('utf8', f.starts[1], f.ends[1]);
    if (values[0] !== undefined && values[0] !== id) problems.push(`id value ${String(values[0])} vs bytes ${id}`);
    if (values[3] !== undefined && values[3] !== title) problems.push(`title value ${String(values[3])} vs bytes ${title}`);
    asBytes.push([id, title]);
  });
  const wantBytes = want.rows.map((r) => [r[0] as string, r[3] as string]);
  if (JSON.stringify(asBytes) !== JSON.stringify(wantBytes)) {
    const i = asBytes.findIndex((r, k) => JSON.stringify(r) !== JSON.stringify(wantBytes[k]));
    problems.push(`byte columns differ at accepted row ${i + 1}: ${JSON.stringify(asBytes[i])} vs ${JSON.stringify(wantBytes[i])}`);
  }
  if (JSON.stringify(s2.dropped_examples.map((d) => d.row)) !== JSON.stringify(want.dropped)) problems.push('byteColumns: dropped rows differ');
  return problems;
}

describe('CSV reader, new paths, against the reference (seeded)', () => {
  it('small files: values, codes and byte columns as csv-parse + Number() + ajv read them', async () => {
    const problems: string[] = [];
    for (let seed = 1; seed <= 60; seed++) {
      const text = makeCsv(seed, 5 + (seed % 40), { odd: seed % 3 === 0 ? 0.2 : 0, crlf: seed % 4 === 1, bom: seed % 5 === 2, distinctTitles: 5 });
      const path = join(csvDir, `s${seed}.csv`);
      writeFileSync(path, text);
      for (const p of await differential(path, text)) problems.push(`seed ${seed}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it('large files (plain and gzipped): a quote or CR only in a late chunk, titles past the interner bound, multi-byte ids', async () => {
    const problems: string[] = [];
    const shapes = [
      { odd: 0.001, late: true, distinctTitles: 6000 },
      { odd: 0.002, late: true, crlf: true, distinctTitles: 3000 },
      { odd: 0, bom: true, distinctTitles: 20_000 },
      { odd: 0.0005, late: false, distinctTitles: 100 },
    ];
    for (const [k, shape] of shapes.entries()) {
      for (const gz of [false, true]) {
        const text = makeCsv(100 + k, 25_000, shape);
        const path = join(csvDir, `l${k}.csv${gz ? '.gz' : ''}`);
        writeFileSync(path, gz ? gzipSync(text) : text);
        for (const p of await differential(path, text)) problems.push(`shape ${k}${gz ? ' gz' : ''}: ${p}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('LineScanner: the same fields however the bytes are cut into chunks', () => {
  it('seeded cuts (inside multi-byte characters, CRLF pairs, before a late quote or CR): same lines, same hand-over', () => {
    const scan = (chunks: Buffer[]) => {
      const lines: string[][] = [];
      const scanner = new LineScanner((l) => {
        const fields: string[] = [];
        for (let i = 0; i < l.count; i++) fields.push(l.buf.toString('utf8', l.starts[i], l.ends[i]));
        lines.push([String(l.line), ...fields]);
      });
      let handover: { rest: string; line: number; offset: number } | undefined;
      for (let i = 0; i <= chunks.length && !handover; i++) {
        const h = i < chunks.length ? scanner.push(chunks[i]) : scanner.push(Buffer.alloc(0), true);
        if (h) handover = { rest: Buffer.concat([h.rest, ...chunks.slice(i + 1)]).toString('latin1'), line: h.line, offset: h.offset };
      }
      return { lines, handover };
    };
    const problems: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const g = Rng.fromSeed(seed);
      const text = makeCsv(seed, 30 + Math.floor(g.uniform() * 60), { odd: seed % 2 ? 0.05 : 0, late: seed % 3 === 0, crlf: seed % 4 === 0, bom: seed % 7 === 0, distinctTitles: 9 });
      const bytes = Buffer.from(text, 'utf8');
      const whole = scan([bytes]);
      const cuts: number[] = [];
      for (let at = 0; at < bytes.length; ) {
        at += 1 + Math.floor(g.uniform() * (seed % 5 === 0 ? 3 : 90));
        cuts.push(Math.min(at, bytes.length));
      }
      const chunks = cuts.map((end, i) => bytes.subarray(i === 0 ? 0 : cuts[i - 1], end));
      const cut = scan(chunks);
      if (JSON.stringify(cut) !== JSON.stringify(whole)) problems.push(`seed ${seed}: ${JSON.stringify(cut).slice(0, 200)} vs ${JSON.stringify(whole).slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// A damaged bundle (a disk that lost its tail, an interrupted copy): newer than every module, so bin/spillway.js takes
// it, and it crashed with a SyntaxError and a stack trace (or "main is not a function" when cut between statements).
// The unbundled dist/ is there and whole: the CLI runs it instead.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, truncateSync } from 'node:fs';
import { repoRoot } from '../engine/helpers.js';

describe('a damaged dist/cli.bundle.cjs', () => {
  const cliCopy = () => {
    const copy = mkdtempSync(join(csvDir, 'cli-'));
    cpSync(join(repoRoot, 'bin'), join(copy, 'bin'), { recursive: true });
    cpSync(join(repoRoot, 'dist'), join(copy, 'dist'), { recursive: true, preserveTimestamps: true });
    cpSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
    return copy;
  };
  const bundleText = readFileSync(join(repoRoot, 'dist/cli.bundle.cjs'), 'latin1');
  const cuts = {
    'cut in the middle of a function': Math.floor(bundleText.length / 2),
    'cut between two top-level statements, before the exports': bundleText.lastIndexOf('\nvar main_exports') + 1,
  };
  for (const [name, at] of Object.entries(cuts)) {
    it(`(${name}) is passed over for the unbundled CLI: same output, exit 0, no stack trace`, () => {
      expect(at).toBeGreaterThan(1000);
      const copy = cliCopy();
      truncateSync(join(copy, 'dist/cli.bundle.cjs'), at); // its mtime is now: newer than every module
      const r = spawnSync(process.execPath, [join(copy, 'bin/spillway.js'), 'status', '--help'], { cwd: copy, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '' } });
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: spillway status \[STAGE\.\.\.\]/);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------------
// .spillway/tmp left as a dangling symlink (it pointed at a tmpfs that is gone): a run used to remove it (rmSync, force)
// and make the directory afresh; the no-op saving that looks for it first with existsSync (which follows the link)
// left it in place, and every stage failed with ENOENT on mkdir and a stack trace.
import { mkdirSync, symlinkSync as linkSync } from 'node:fs';
import { runPipeline } from '../../src/engine/index.js';
import { cleanupProjects, writeProject } from '../engine/helpers.js';

describe('a dangling .spillway/tmp symlink', () => {
  afterAll(cleanupProjects);
  it('is removed like any leftover, and the stages run', async () => {
    const dir = writeProject({
      'schemas/a.schema.json': '{ "type": "object", "required": ["n"], "properties": { "n": { "type": "integer" } } }',
      'stages/a.ts': 'export default () => ({ a: { n: 1 } });\n',
      'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
    });
    mkdirSync(join(dir, '.spillway'), { recursive: true });
    linkSync(join(dir, 'gone-tmpfs', 'tmp'), join(dir, '.spillway', 'tmp'));
    const report = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') });
    expect(report.stages.map((s) => [s.stage, s.status, s.error])).toEqual([['a', 'ran', undefined]]);
  });
});
