// spillway init without packing: what it writes, where its $schema line points, and that it never overwrites.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { spillway } from '../provenance/real-project.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'spillway-init-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('spillway init', () => {
  it('creates DIR with every file, and a $schema line that resolves to the running spillway\'s schema', async () => {
    const r = await spillway(['init', 'nested/new-project', '--json'], work);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { dir: string; files: string[]; schema: string };
    const dir = path.join(work, 'nested/new-project');
    expect(report.dir).toBe(dir);
    expect(report.files).toEqual([
      '.gitignore', 'README.md', 'data/measurements.csv', 'pipeline.yaml', 'schemas/rows.schema.json', 'schemas/summary.schema.json',
      'stages/clean.py', 'stages/report.ts', 'stages/summarize.ts', 'tsconfig.json',
    ]);
    const first = readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8').split('\n')[0];
    expect(first).toBe(`# yaml-language-server: $schema=${report.schema}`);
    expect(path.resolve(dir, report.schema)).toBe(path.resolve(import.meta.dirname, '../../schemas/pipeline.schema.json'));
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(/^# new-project\n/);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^artifacts\/$/m);
    // the scaffold is a valid pipeline
    const dag = await spillway(['dag', '--json'], dir);
    expect(dag.code, dag.stderr).toBe(0);
    expect((JSON.parse(dag.stdout) as { edges: unknown[] }).edges).toEqual([
      { from: 'clean', to: 'summarize', output: 'rows', as: 'rows' },
      { from: 'summarize', to: 'report', output: 'summary', as: 'summary' },
    ]);
  });

  it('refuses when any file it would write exists, and writes nothing', async () => {
    const dir = path.join(work, 'half');
    await mkdir(path.join(dir, 'schemas'), { recursive: true });
    await writeFile(path.join(dir, 'schemas/rows.schema.json'), '{"mine": true}\n');
    const r = await spillway(['init', dir], work);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toMatch(/already holds files init would write: schemas\/rows\.schema\.json/);
    expect(readFileSync(path.join(dir, 'schemas/rows.schema.json'), 'utf8')).toBe('{"mine": true}\n');
    expect((await readdir(dir)).sort()).toEqual(['schemas']);
    expect(existsSync(path.join(dir, 'pipeline.yaml'))).toBe(false);
  });

  it('refuses a directory that holds a lockfile', async () => {
    const dir = path.join(work, 'locked');
    await mkdir(dir);
    await writeFile(path.join(dir, 'pipeline.lock'), '{}');
    const r = await spillway(['init'], dir);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toMatch(/already holds a spillway project: pipeline\.lock/);
  });
});
