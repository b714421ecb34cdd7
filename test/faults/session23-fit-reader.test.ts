// Session 23 fault pass over `spillway fit`'s fast CSV reader (src/cli/fit-table.ts): files the fast reader took
// although the full reader (csv-parse, trim: true; header names trimmed with String.prototype.trim) reads them
// otherwise, and a column named __proto__ (tests written to fail first). Each file is fitted through the real CLI as
// written and with its first header name in quotes (which sends it to the full reader): same stdout, stderr, exit code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { fitCountModel } from '../../src/stats/count/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'spillway-s23-fit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 4 groups × 4 rows: g,y,x,z,year */
const ROWS = [
  ['1', '2', '0.5', '3', '2001'],
  ['1', '3', '0.1', '4', '2002'],
  ['1', '0', '1.3', '1', '2003'],
  ['1', '5', '0.2', '2', '2004'],
  ['2', '1', '0.2', '5', '2001'],
  ['2', '4', '0.3', '1', '2002'],
  ['2', '2', '0.9', '2', '2003'],
  ['2', '6', '0.4', '0', '2004'],
  ['3', '0', '1.0', '2', '2001'],
  ['3', '5', '0.2', '1', '2002'],
  ['3', '3', '0.7', '3', '2003'],
  ['3', '1', '1.1', '4', '2004'],
  ['4', '2', '0.6', '1', '2001'],
  ['4', '7', '0.8', '2', '2002'],
  ['4', '3', '0.4', '3', '2003'],
  ['4', '4', '0.5', '2', '2004'],
];

function file(header: string, edit: (row: string[], i: number) => string[] = (r) => r): string {
  return [header, ...ROWS.map((r, i) => edit([...r], i).join(','))].join('\n') + '\n';
}

async function fit(path: string, args: string[]) {
  const run = await execa('node', [join(ROOT, 'bin/spillway.js'), 'fit', '--data', path, '--json', ...args], { reject: false, cwd: tmp });
  const named = (text: string) => text.split(JSON.stringify(path).slice(1, -1)).join('FILE');
  return { exitCode: run.exitCode, stdout: named(run.stdout), stderr: named(run.stderr) };
}

async function both(name: string, text: string, args: string[]) {
  const plain = join(tmp, `${name}.csv`);
  const quoted = join(tmp, `${name}-quoted.csv`);
  writeFileSync(plain, text);
  const comma = text.indexOf(',');
  writeFileSync(quoted, `"${text.slice(0, comma)}"${text.slice(comma)}`);
  return Promise.all([fit(plain, args), fit(quoted, args)]);
}

describe('spillway fit: Unicode white space at the end of a cell or a header name', () => {
  const args = ['--id', 'g', '--y', 'y', '--x', 'x,z', '--factor', 'year', '--model', 'fe-poisson'];

  it('an id ending in a no-break space is the id without it (csv-parse trims the end with trimEnd)', async () => {
    const [fast, full] = await both('nbsp-id', file('g,y,x,z,year', (r, i) => (i === 2 ? ['1\u00a0', ...r.slice(1)] : r)), args);
    expect(fast).toEqual(full);
    expect(fast.exitCode).toBe(0);
    expect(JSON.parse(fast.stdout).groups).toBe(4);
  });

  it('a factor level ending in an ideographic space, and "NA" ending in one (a missing cell)', async () => {
    const text = file('g,y,x,z,year', (r, i) => (i === 5 ? [...r.slice(0, 4), '2002\u3000'] : i === 9 ? [...r.slice(0, 4), 'NA\u2003'] : r));
    const [fast, full] = await both('ideographic', text, args);
    expect(fast).toEqual(full);
    expect(JSON.parse(fast.stdout).missing_rows).toBe(1);
    expect(Object.keys(JSON.parse(fast.stdout).coef)).toEqual(['x', 'z', '2002.year', '2003.year', '2004.year']);
  });

  it('a header name ending in a no-break space repeats a used name: the full reader refuses it, so must the fast one', async () => {
    const [fast, full] = await both('nbsp-header', file('g,y,z,z\u00a0,year', (r) => r), ['--id', 'g', '--y', 'y', '--x', 'z', '--model', 'fe-poisson']);
    expect(fast).toEqual(full);
    expect(fast.exitCode).toBe(4);
    expect(fast.stdout).toContain('column \\"z\\" appears 2 times');
  });

  it('a header name with a leading no-break space is that name', async () => {
    const [fast, full] = await both('nbsp-header-lead', file('g,y,x,\u00a0z,year', (r) => r), args);
    expect(fast).toEqual(full);
    expect(fast.exitCode).toBe(0);
  });
});

describe('spillway fit: a column named __proto__', () => {
  it('is refused by both readers with the same message, never fitted without its coefficient', async () => {
    const [fast, full] = await both('proto', file('g,y,__proto__,z,year', (r) => r), ['--id', 'g', '--y', 'y', '--x', '__proto__,z', '--model', 'fe-poisson']);
    expect(fast).toEqual(full);
    expect(fast.exitCode).not.toBe(0);
    expect(fast.stderr).toContain('__proto__');
  });

  it('constructor and toString are ordinary column names and levels', async () => {
    const text = file('g,y,constructor,toString,year', (r, i) => [...r.slice(0, 4), ['__proto__', 'constructor', 'hasOwnProperty', 'x'][i % 4]]);
    const [fast, full] = await both('names', text, ['--id', 'g', '--y', 'y', '--x', 'constructor,toString', '--factor', 'year', '--model', 'fe-poisson']);
    expect(fast).toEqual(full);
    expect(fast.exitCode).toBe(0);
    expect(Object.keys(JSON.parse(fast.stdout).coef).sort()).toEqual(['constructor', 'constructor.year', 'hasOwnProperty.year', 'toString', 'x.year'].sort());
  });

  it('the estimators keep a coefficient named __proto__ as an own key', () => {
    const y = ROWS.map((r) => Number(r[1]));
    const X = ROWS.map((r) => [Number(r[2]), Number(r[3])]);
    const groups = ROWS.map((r) => r[0]);
    const fit = fitCountModel({ y, X, names: ['__proto__', 'z'], groups }, { model: 'fe-poisson' });
    expect(Object.keys(fit.coef)).toEqual(['__proto__', 'z']);
    expect(Object.hasOwn(fit.se, '__proto__')).toBe(true);
    expect(Number.isFinite(fit.coef['__proto__'])).toBe(true);
    expect(JSON.parse(JSON.stringify(fit.coef))).toHaveProperty(['__proto__']);
    expect(Object.getPrototypeOf(fit.coef)).toBe(Object.prototype);
  });
});
