// `spillway fit` through a real subprocess (node bin/spillway.js, which runs dist/: `npm run build` first; `npm test` does).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../src/stats/random.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/reference-cases');
const SHIPS = join(FIXTURES, 'ships.csv');
const tmp = mkdtempSync(join(tmpdir(), 'spillway-fit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function spillway(...args: string[]) {
  return execa('node', [join(ROOT, 'bin/spillway.js'), 'fit', ...args], { reject: false, cwd: tmp });
}

function writeCsv(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

describe('spillway fit', () => {
  it('--json on the ships data reproduces Stata xtpoisson, fe (log-likelihood -54.641859, IRR 1.468831)', async () => {
    const result = await spillway('--data', SHIPS, '--id', 'ship', '--y', 'accident', '--x', 'op_75_79,co_65_69,co_70_74,co_75_79', '--exposure', 'service', '--model', 'fe-poisson', '--json');
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout);
    for (const key of ['model', 'coef', 'se', 'loglik', 'n', 'groups', 'dropped_groups', 'dropped_columns', 'iterations', 'converged']) expect(out).toHaveProperty(key);
    expect(out.model).toBe('fe-poisson');
    expect(out.n).toBe(34);
    expect(out.groups).toBe(5);
    expect(out.missing_rows).toBe(6);
    expect(out.converged).toBe(true);
    expect(Math.abs(out.loglik - -54.641859)).toBeLessThan(5e-7);
    expect(Math.abs(Math.exp(out.coef.op_75_79) - 1.468831)).toBeLessThan(5e-7);
    expect(Math.abs(Math.exp(out.coef.op_75_79) * out.se.op_75_79 - 0.1737218)).toBeLessThan(5e-8);
  });

  it('prints a regression table with SEs, z, p, stars, and NB2 dispersion (Stata nbreg on the ships data)', async () => {
    const result = await spillway('--data', SHIPS, '--y', 'accident', '--x', 'yr_con,op_75_79', '--exposure', 'service', '--model', 'nb2');
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(result.stdout).toContain('Log likelihood = -82.491156');
    expect(lines.find((l) => l.startsWith('yr_con'))).toMatch(/^yr_con\s+0\.285038\s+0\.149836\s+1\.90\s+0\.057\s+-0\.008636\s+0\.578712 \*$/);
    expect(lines.find((l) => l.startsWith('_cons'))).toMatch(/-6\.590864\s+0\.403918\s+-16\.32\s+0\.000.*\*\*\*$/);
    expect(lines.find((l) => l.startsWith('/lnalpha'))).toMatch(/-1\.403472\s+0\.513059/);
    expect(result.stdout).toContain('*** p<0.01, ** p<0.05, * p<0.1');
  });

  it('--factor adds Stata-named dummies with a base level, shown in the table and kept in the JSON', async () => {
    const rng = Rng.fromSeed(31);
    let csv = 'region,year,patents,x\n';
    for (let g = 0; g < 10; g++) for (let t = 2001; t <= 2004; t++) {
      const x = rng.normal();
      csv += `R${g},${t},${rng.poisson(rng.gamma(2) * 2 * Math.exp(0.4 * x + 0.1 * (t - 2001)))},${x.toFixed(6)}\n`;
    }
    const file = writeCsv('panel.csv', csv);
    const table = await spillway('--data', file, '--id', 'region', '--y', 'patents', '--x', 'x', '--factor', 'year');
    expect(table.stdout).toMatch(/^2001b\.year\s+0\s+\(base\)$/m);
    expect(table.stdout).toMatch(/^2004\.year\s/m);
    const json = JSON.parse((await spillway('--data', file, '--id', 'region', '--y', 'patents', '--x', 'x', '--factor', 'year', '--json')).stdout);
    expect(Object.keys(json.coef)).toEqual(['x', '2002.year', '2003.year', '2004.year', '_cons']);
    expect(json.base_levels).toEqual(['2001b.year']);
  });

  it('bad CSV cells are invalidInput errors (exit 4) naming the row and column', async () => {
    const cases: [string, RegExp][] = [
      ['id,y,x\n1,2,0.5\n1,3,abc\n', /row 3 column "x": "abc" is not a number/],
      ['id,y,x\n1,2,0.5\n1,-1,0.1\n', /row 3 column "y": negative count -1/],
      ['id,y,x\n1,2.5,0.5\n1,1,0.1\n', /row 2 column "y": fractional count 2.5/],
      ['id,y,z\n1,2,0.5\n', /column "x": column "x" is not in the file/],
    ];
    const results = await Promise.all(cases.map(([text], k) => spillway('--data', writeCsv(`bad-${k}.csv`, text), '--id', 'id', '--y', 'y', '--x', 'x')));
    cases.forEach(([, message], k) => {
      expect(results[k].exitCode).toBe(4);
      expect(results[k].stderr).toMatch(message);
      expect(results[k].stderr).toContain(`bad-${k}.csv`);
    });
    const missing = await spillway('--data', join(tmp, 'no-such.csv'), '--id', 'id', '--y', 'y', '--x', 'x');
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toMatch(/cannot read .*no-such\.csv \(ENOENT\)/);
    const json = await spillway('--data', writeCsv('bad.csv', 'id,y,x\n1,2,0.5\n1,3,abc\n'), '--id', 'id', '--y', 'y', '--x', 'x', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ error: 'invalidInput', row: 3, field: 'x', exit_code: 4 });
  });

  it('a flat likelihood exits 7 with the diagnostic, still printing the results', async () => {
    let csv = 'g,y,x\n';
    for (let g = 0; g < 6; g++) for (let t = 0; t < 4; t++) csv += `${g},${Math.round((4 + g) * Math.exp(0.15 * (t - 1.5)))},${(t - 1.5) / 2}\n`;
    const result = await spillway('--data', writeCsv('flat.csv', csv), '--id', 'g', '--y', 'y', '--x', 'x');
    expect(result.exitCode).toBe(7);
    expect(result.stdout).toMatch(/converged = NO/);
    expect(result.stdout).toMatch(/warning: flat likelihood/);
  });

  it('command-line mistakes are usage errors (exit 2)', async () => {
    const [noY, badModel, noId, help] = await Promise.all([
      spillway('--data', SHIPS, '--x', 'yr_con'),
      spillway('--data', SHIPS, '--y', 'accident', '--x', 'yr_con', '--model', 'probit'),
      spillway('--data', SHIPS, '--y', 'accident', '--x', 'yr_con', '--model', 'fe-poisson'),
      spillway('--help'),
    ]);
    expect(noY.exitCode).toBe(2);
    expect(badModel.exitCode).toBe(2);
    expect(noId.exitCode).toBe(2);
    expect(noId.stderr).toMatch(/--id/);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--exposure COL');
  });
});
