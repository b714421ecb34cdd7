// gc, show and lineage --downstream through the real CLI on a project the real engine ran (`npm run build` first).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, formatTabular, parseCsv } from '../../src/cli/commands/show.js';
import { ExitCode } from '../../src/errors.js';
import type { Lockfile } from '../../src/engine/lockfile-format.js';
import { makeProject, spillway } from './real-project.js';

let root: string;
const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const objectOf = (hash: string) => path.join(root, 'artifacts/objects', hash.slice(7, 9), hash.slice(9));
const lockOf = () => JSON.parse(readFileSync(path.join(root, 'pipeline.lock'), 'utf8')) as Lockfile;
type RunJson = { stages: { stage: string; status: string; outputs?: Record<string, string>; restored?: boolean }[] };
const run = async (args: string[] = []) => {
  const r = await spillway(['run', '--json', ...args], root);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunJson;
};

// count.scale 2: rows {a.csv: 2·2, b.csv: 1·2}, sum 4 + 2 + offset 1 = 7; count.scale 3: 6 + 3 + 1 = 10.
let scale3: { counts: string; sum: string; site: string; html: string };
beforeAll(async () => {
  root = await makeProject('spillway-housekeeping-');
  await run();
  const three = await run(['--set', 'count.scale=3']);
  const out = (stage: string, name: string) => three.stages.find((s) => s.stage === stage)!.outputs![name];
  scale3 = { counts: out('count', 'counts'), sum: out('total', 'sum'), site: out('report', 'site'), html: sha('<p>sum = 10</p>\n') };
  // back to the defaults: restored from the run cache, so the lockfile names the scale-2 outputs again
  const back = await run();
  expect(back.stages.map((s) => s.status)).toEqual(['cached', 'cached', 'cached']);
  expect(JSON.parse(readFileSync(path.join(root, 'artifacts/out/total/sum.json'), 'utf8'))).toEqual({ sum: 7 });
}, 180_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('spillway gc', () => {
  it('--dry-run lists exactly the objects of the run the lockfile no longer names, and removes nothing', async () => {
    const r = await spillway(['gc', '--dry-run', '--json'], root);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { dry_run: boolean; objects: string[]; removed: { objects: number; bytes: number }; scopes: { name: string; objects: number }[] };
    const expected = [scale3.counts, scale3.sum, scale3.site, scale3.html].map((h) => path.relative(root, objectOf(h))).sort();
    expect(report.objects.sort()).toEqual(expected);
    expect(report.dry_run).toBe(true);
    for (const h of [scale3.counts, scale3.sum, scale3.site, scale3.html]) expect(existsSync(objectOf(h))).toBe(true);
    // the lockfile keeps the scale-2 outputs: counts, sum, the site manifest and its one file
    expect(report.scopes.find((s) => s.name === 'lockfile')!.objects).toBe(4);
  });

  it('--keep-runs 2 keeps both recorded runs of every stage', async () => {
    const r = await spillway(['gc', '--dry-run', '--keep-runs', '2', '--json'], root);
    expect(JSON.parse(r.stdout).objects).toEqual([]);
  });

  it('keeps what an experiment record names, removes the rest, and the project still audits and re-runs', async () => {
    await mkdir(path.join(root, '.spillway/experiments'), { recursive: true });
    await writeFile(path.join(root, '.spillway/experiments/scale-3.json'), JSON.stringify({ name: 'scale-3', results: { 'total.sum': scale3.sum } }));
    const r = await spillway(['gc'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed 3 object\(s\)/);
    expect(r.stdout).toMatch(/experiments\s+1 object\(s\) named by \.spillway\/experiments\/scale-3\.json/);
    expect(existsSync(objectOf(scale3.sum))).toBe(true);
    for (const h of [scale3.counts, scale3.site, scale3.html]) expect(existsSync(objectOf(h))).toBe(false);
    for (const out of Object.values(lockOf().stages).flatMap((s) => Object.values(s.outs))) expect(existsSync(path.join(root, out.object))).toBe(true);
    expect((await spillway(['audit'], root)).code).toBe(ExitCode.ok);
    // the run-cache entry of count at scale 3 went with its output: count runs again instead of restoring nothing
    const again = await run(['--set', 'count.scale=3']);
    expect(again.stages.find((s) => s.stage === 'count')).toMatchObject({ status: 'ran' });
    expect(again.stages.find((s) => s.stage === 'count')!.outputs!.counts).toBe(scale3.counts);
    await run();
  });

  it('refuses while another process holds the project lock', async () => {
    await writeFile(path.join(root, '.spillway/lock'), JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), command: 'run' }));
    try {
      const r = await spillway(['gc'], root);
      expect(r.code).toBe(ExitCode.locked);
      expect(r.stderr).toMatch(/holds the project lock/);
    } finally {
      await rm(path.join(root, '.spillway/lock'), { force: true });
    }
  });
});

describe('spillway show', () => {
  it('prints a JSON artifact from the store, and --json prints its value as it is', async () => {
    const pretty = await spillway(['show', 'total.sum'], root);
    expect(pretty.code, pretty.stderr).toBe(0);
    expect(pretty.stdout).toBe('{\n  "sum": 7\n}\n');
    const raw = await spillway(['show', 'artifacts/out/count/counts.json', '--json'], root);
    expect(JSON.parse(raw.stdout)).toEqual({ rows: { 'a.csv': 4, 'b.csv': 2 } });
  });

  it('lists a directory output, and names the outputs of an ambiguous or unknown target', async () => {
    const site = await spillway(['show', 'report'], root);
    expect(site.stdout).toMatch(/report\.site: directory site \(1 file\(s\)\)\n {2}index\.html {2}15 B/);
    const unknown = await spillway(['show', 'nope.out'], root);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.stderr).toMatch(/no output "nope\.out"/);
  });

  it('renders records as a table with the scalar fields above it, and CSV as a table', () => {
    const value = { min_value: 0, rows: [{ site: 'north', n: 10, mean: 23.84 }, { site: 'east', n: 9, mean: 1 / 3 }] };
    expect(formatTabular(value, 40)).toBe(['min_value  0', '', 'rows (2 row(s)):', 'site    n      mean', '-----  --  --------', 'north  10     23.84', 'east    9  0.333333'].join('\n'));
    expect(formatTabular({ rows: { a: 1 } }, 40)).toBeUndefined();
    expect(parseCsv('a,b\n1,"x, ""y"""\n2,z\n')).toEqual([{ a: 1, b: 'x, "y"' }, { a: 2, b: 'z' }]);
    expect(formatTable([{ a: 1 }, { a: 2 }, { a: 3 }], 2)).toBe('a\n-\n1\n2\n… 1 more row(s) (--rows 0 shows all)');
  });
});

describe('spillway lineage --downstream', () => {
  const down = async (target: string) => {
    const r = await spillway(['lineage', '--downstream', target, '--json'], root);
    return { code: r.code, stderr: r.stderr, result: r.code === 0 ? (JSON.parse(r.stdout) as { resolved: unknown; stages: { stage: string; via: unknown[] }[]; outputs: { ref: string }[] }) : undefined };
  };

  it('from a raw file: the stage that reads it and everything below, with every output', async () => {
    const { result } = await down('data/raw/a.csv');
    expect(result!.resolved).toEqual({ kind: 'raw', path: 'data/raw/a.csv' });
    expect(result!.stages.map((s) => s.stage)).toEqual(['count', 'total', 'report']);
    expect(result!.stages[0].via).toEqual([{ kind: 'dep', what: 'data/raw/a.csv' }]);
    expect(result!.stages[1].via).toEqual([{ kind: 'input', what: 'count.counts' }]);
    expect(result!.outputs.map((o) => o.ref)).toEqual(['count.counts', 'total.sum', 'report.site']);
  });

  it('from an artifact, from a directory of raw files, and from the last output', async () => {
    expect((await down('total.sum')).result!.stages.map((s) => s.stage)).toEqual(['report']);
    expect((await down('data/raw')).result!.stages.map((s) => s.stage)).toEqual(['count', 'total', 'report']);
    expect((await down('site')).result!.stages).toEqual([]);
    const text = await spillway(['lineage', '--downstream', 'data/raw/b.csv'], root);
    expect(text.stdout).toMatch(/^data\/raw\/b\.csv {2}\(raw input\)\n {2}count {2}← dep data\/raw\/b\.csv\n {4}→ count\.counts {2}json/);
    expect(text.stdout).toMatch(/3 stage\(s\) and 3 output\(s\) depend on data\/raw\/b\.csv\n$/);
  });

  it('says so when nothing depends on the target', async () => {
    const { code, stderr } = await down('data/raw/missing.csv');
    expect(code).toBe(ExitCode.usage);
    expect(stderr).toMatch(/nothing in the lockfile depends on "data\/raw\/missing\.csv"/);
  });
});
