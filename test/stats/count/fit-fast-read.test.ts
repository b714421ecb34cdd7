// `spillway fit` reads a simple CSV file with its own fast reader and anything else with the full reader (csv-parse).
// Each file here (and ten seeded random ones) is fitted twice through the real CLI: as written, and with the header's
// first name in quotes, which sends the same data to the full reader; stdout, stderr (but for the file's name) and the
// exit code must be the same.
// The files are chosen to reach each rule of the fast reader: line ends, byte-order mark, empty lines, missing cells,
// number forms, ids and levels, exposure and offset, and the malformed cases that must end in the full reader's error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../src/stats/random.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'spillway-fit-fast-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Row {
  g: string;
  year: string;
  y: string;
  x: string;
  z: string;
  e: string;
}

/** a panel of 12 groups × 5 years, seeded; cells as text so that a case can change any of them */
function panel(ids = (g: number) => `R${g}`): Row[] {
  const rng = Rng.fromSeed(31);
  const rows: Row[] = [];
  for (let g = 0; g < 12; g++) {
    const level = rng.normal();
    for (let t = 0; t < 5; t++) {
      const x = 0.5 * level + rng.normal();
      const z = rng.normal();
      const exposure = 1 + rng.uniform() * 3;
      const y = rng.poisson(rng.gamma(2) * exposure * Math.exp(0.5 + 0.4 * x - 0.3 * z + 0.1 * t) / 2);
      rows.push({ g: ids(g), year: String(2001 + t), y: String(y), x: x.toFixed(6), z: z.toFixed(4), e: exposure.toFixed(3) });
    }
  }
  return rows;
}

const HEADER = 'g,year,y,x,z,e';
const line = (r: Row) => [r.g, r.year, r.y, r.x, r.z, r.e].join(',');

interface Case {
  name: string;
  /** the file's text from its header line on (the header given as HEADER is quoted in the other copy) */
  text: string;
  /** bytes before the header (a byte-order mark, empty lines) */
  before?: string;
  args?: string[];
}

function lines(rows: Row[], eol = '\n', last = eol): string {
  return [HEADER, ...rows.map(line)].join(eol) + last;
}

function edit(rows: Row[], changes: Record<number, Partial<Row>>): Row[] {
  return rows.map((r, i) => ({ ...r, ...changes[i] }));
}

const base = panel();
const CASES: Case[] = [
  { name: 'LF', text: lines(base) },
  { name: 'CRLF', text: lines(base, '\r\n') },
  { name: 'BOM and CRLF', before: '\ufeff', text: lines(base, '\r\n') },
  { name: 'no line break at the end', text: lines(base, '\n', '') },
  { name: 'CRLF without a line break at the end', text: lines(base, '\r\n', '') },
  { name: 'empty lines', before: '\n\n', text: lines(base).replace(/\n(R3,)/g, '\n\n$1') + '\n\n' },
  {
    name: 'missing cells, and bad cells in rows left out',
    text: lines(edit(base, { 3: { y: '' }, 7: { x: 'NA' }, 8: { z: '.' }, 11: { g: '' }, 12: { year: 'NA' }, 20: { y: 'abc', x: '' }, 21: { g: ' R4', z: '.' }, 30: { e: '' } })),
  },
  {
    name: 'number forms',
    text: lines(edit(base, { 0: { x: '+1.5' }, 1: { x: '.25' }, 2: { x: '-0' }, 3: { x: '1e-3' }, 4: { x: '1.' }, 5: { x: '0.12345678901234567891' }, 6: { z: '007' }, 7: { y: '3.0' }, 8: { z: '-12345678901234567' }, 9: { x: '0x1A' }, 10: { x: '-.5' }, 11: { y: '-0' } })),
  },
  {
    name: 'ids: digits with and without leading zeros, long, non-ASCII; levels as text',
    text: lines(panel((g) => [`${g}`, `0${g}`, `id-${g}-long-enough-to-pass-32-bytes-of-text`, `Bj\u00f6rk${g}`, `${g}000000000`][g % 5]).map((r, i) => ({ ...r, year: i % 5 === 0 ? 'first' : r.year }))),
  },
  { name: 'exposure', text: lines(base), args: ['--exposure', 'e'] },
  { name: 'offset', text: lines(edit(base, { 4: { e: '-1.25' } })), args: ['--offset', 'e'] },
  { name: 'nb2 without ids', text: lines(edit(base, { 2: { g: ' spaces are fine in an unused column ' } })), args: ['--model', 'nb2'] },
  { name: 'a column not used by the model with any text', text: lines(edit(base, { 5: { e: ' (x) & y; ' }, 6: { e: '' } })) },
  { name: 'a space around a cell (trimmed by the full reader)', text: lines(edit(base, { 5: { x: ' 0.5' }, 9: { g: 'R1 ' } })) },
  { name: 'a non-number', text: lines(edit(base, { 6: { x: 'abc' } })) },
  { name: 'a negative count', text: lines(edit(base, { 6: { y: '-2' } })) },
  { name: 'a fractional count', text: lines(edit(base, { 6: { y: '2.5' } })) },
  { name: 'an overflowing number', text: lines(edit(base, { 6: { z: '1e400' } })) },
  { name: 'a huge regressor', text: lines(edit(base, { 6: { z: '1e151' } })) },
  { name: 'a non-positive exposure', text: lines(edit(base, { 6: { e: '0' } })), args: ['--exposure', 'e'] },
  { name: 'a row with a field too many', text: lines(base).replace('\nR2,', '\nR2,1,') },
  { name: 'a row with a field too few', text: lines(base).replace(/\nR2,2001,[^,\n]*,/, '\nR2,2001,') },
  { name: 'a CR inside a line', text: lines(base).replace('\nR2,', '\nR2\r,') },
  { name: 'an LF line in a CRLF file', text: lines(base, '\r\n').replace('\r\nR2,', '\nR2,') },
  { name: 'a CRLF line in an LF file', text: lines(base).replace('\nR2,', '\r\nR2,') },
  { name: 'a column missing from the header', text: lines(base), args: ['--x', 'x,w'] },
];

async function fit(file: string, args: string[]) {
  const run = await execa('node', [join(ROOT, 'bin/spillway.js'), 'fit', '--data', file, '--id', 'g', '--y', 'y', '--x', 'x,z', '--factor', 'year', '--json', ...args], { reject: false, cwd: tmp });
  const named = (text: string) => text.split(JSON.stringify(file).slice(1, -1)).join('FILE');
  return { exitCode: run.exitCode, stdout: named(run.stdout), stderr: named(run.stderr) };
}

describe('spillway fit: the fast reader gives what the full reader gives', () => {
  it.each(CASES.map((c, k) => [c.name, c, k] as const))('%s', async (_name, c, k) => {
    const plain = join(tmp, `case-${k}.csv`);
    const quoted = join(tmp, `case-${k}-quoted.csv`);
    expect(c.text.startsWith(`${HEADER}`)).toBe(true);
    writeFileSync(plain, (c.before ?? '') + c.text);
    writeFileSync(quoted, (c.before ?? '') + '"g"' + c.text.slice(1));
    // the --x given last wins (parseArgs): a case may replace the default x,z
    const [fast, full] = await Promise.all([fit(plain, c.args ?? []), fit(quoted, c.args ?? [])]);
    expect(fast).toEqual(full);
    expect([0, 4, 7]).toContain(fast.exitCode);
  });
});

describe('spillway fit: fast and full reader on seeded random files', () => {
  // cells changed at random: mostly forms the fast reader takes (missing markers, number forms, id forms), now and then
  // one it must leave to the full reader (spaces, quotes, stray CR, a field too many, a non-number)
  const forms: ((cell: string, rng: Rng) => string)[] = [
    () => '',
    () => 'NA',
    () => '.',
    (cell) => (/^-?\d/.test(cell) ? `+${cell.replace(/^-/, '')}` : cell),
    (cell) => (/^\d+\.\d+$/.test(cell) ? cell.replace(/^0\./, '.') : cell),
    (cell) => (/^-?\d+(\.\d+)?$/.test(cell) ? `${cell}e0` : cell),
    (cell) => (/^-?\d+(\.\d+)?$/.test(cell) ? `${cell}000000000000001` : cell),
    (cell) => `${cell} `,
    (cell) => `"${cell}"`,
    (cell) => `${cell}\r`,
    (cell) => `${cell},`,
    () => 'x1',
  ];
  const weights = [3, 3, 3, 4, 4, 3, 3, 1, 1, 1, 1, 1];
  const files = Array.from({ length: 10 }, (_, k) => {
    const rng = Rng.fromSeed(500 + k);
    const rows = panel((g) => (k % 2 ? `${g}` : `G${g}`));
    const changes = 1 + rng.int(k < 5 ? 3 : 8);
    const keys = ['g', 'year', 'y', 'x', 'z', 'e'] as const;
    for (let c = 0; c < changes; c++) {
      const row = rows[rng.int(rows.length)];
      const key = keys[rng.int(keys.length)];
      let pick = rng.int(weights.reduce((a, b) => a + b, 0));
      let form = 0;
      while (pick >= weights[form]) pick -= weights[form++];
      row[key] = forms[form](row[key], rng);
    }
    return { k, text: lines(rows, k % 3 === 2 ? '\r\n' : '\n') };
  });
  it.each(files.map((f) => [f.k, f] as const))('file %i', async (k, f) => {
    const plain = join(tmp, `fuzz-${k}.csv`);
    const quoted = join(tmp, `fuzz-${k}-quoted.csv`);
    writeFileSync(plain, f.text);
    writeFileSync(quoted, '"g"' + f.text.slice(1));
    const args = k % 4 === 3 ? ['--exposure', 'e'] : [];
    const [fast, full] = await Promise.all([fit(plain, args), fit(quoted, args)]);
    expect(fast).toEqual(full);
  });
});

