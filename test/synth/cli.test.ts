// `spillway synth` as a user runs it: a real subprocess of bin/spillway.js (build first: npm run build).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'spillway.js');
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('spillway synth', () => {
  it('writes a dataset and reports it as JSON', async () => {
    const out = await mkdtemp(join(tmpdir(), 'spillway-synth-cli-'));
    dirs.push(out);
    const result = await execa('node', [bin, 'synth', '--seed', '5', '--out', out, '--json'], { cwd: root });
    const report = JSON.parse(result.stdout);
    expect(report.seed).toBe(5);
    expect(report.scale).toBe(1);
    expect(report.records.publications).toBeGreaterThan(150_000);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'funding.csv.gz', 'patents.csv.gz', 'publications.csv.gz', 'region_year.csv', 'regions.csv', 'truth.json']);
  }, 60_000);

  it('rejects a bad --scale with a usage error (exit 2) that names the option', async () => {
    const result = await execa('node', [bin, 'synth', '--scale', '0'], { cwd: root, reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--scale must be an integer ≥ 1');
  });

  it('rejects an unknown option with a usage error', async () => {
    const result = await execa('node', [bin, 'synth', '--sead', '3'], { cwd: root, reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/sead/);
  });
});
