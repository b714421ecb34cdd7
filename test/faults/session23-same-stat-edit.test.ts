// Session 23 fault pass over the engine's stat-keyed caches (StatCache file hashes, package versions, trusted
// lockfiles; the parsed-pipeline cache and its schema stamps): each trusted a file unchanged while its size, mtime (and
// inode) were, so an edit in place to the same size with the mtime put back (touch -d, cp -p, tar/rsync keeping times,
// an editor restoring them) was never seen: `spillway run` reported every stage cached over the old content, exit 0
// (tests written to fail first). The change time (ctime), which only the kernel sets, is now part of every stamp.
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StatCache } from '../../src/engine/hash.js';
import { cleanupProjects, cli, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const PAST = new Date(Date.now() - 120_000); // past the racy window: the caches trust these files

function project(): string {
  const dir = writeProject({
    'schemas/any.schema.json': '{ "type": "object", "required": ["n"] }\n',
    'data/in.txt': 'three\n',
    'stages/a.ts': "import { readFileSync } from 'node:fs';\nexport default (ctx: any) => ({ out: { n: readFileSync(ctx.deps[0], 'utf8').trim().length } });\n",
    'stages/b.ts': 'export default (ctx: any) => ({ out: { n: ctx.inputs.a.n * 2 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, deps: [data/in.txt], outs: { out: { schema: schemas/any.schema.json } } }\n  b: { run: stages/b.ts, inputs: { a: a.out }, outs: { out: { schema: schemas/any.schema.json } } }\n',
  });
  for (const f of ['schemas/any.schema.json', 'data/in.txt', 'stages/a.ts', 'stages/b.ts', 'pipeline.yaml']) utimesSync(join(dir, f), PAST, PAST);
  return dir;
}

/** rewrites `file` in place to `text` (the same length) and puts its atime and mtime back */
function sameStatEdit(dir: string, file: string, text: string): void {
  const path = join(dir, file);
  const before = statSync(path);
  expect(Buffer.byteLength(text)).toBe(before.size);
  writeFileSync(path, text);
  utimesSync(path, before.atime, before.mtime);
  const after = statSync(path);
  expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
}

async function run(dir: string) {
  const r = await cli(['run', '--json'], dir);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as { stages: { stage: string; status: string; reason: string }[] };
  return Object.fromEntries(report.stages.map((s) => [s.stage, s.status]));
}

const output = (dir: string, stage: string) => JSON.parse(readFileSync(join(dir, `artifacts/out/${stage}/out.json`), 'utf8')).n;

describe('an edit that keeps size, mtime and inode', () => {
  it('of a dep: the stage runs on the new content', async () => {
    const dir = project();
    expect(await run(dir)).toEqual({ a: 'ran', b: 'ran' });
    expect(await run(dir)).toEqual({ a: 'cached', b: 'cached' });
    sameStatEdit(dir, 'data/in.txt', 'ab\n\n\n\n');
    expect(await run(dir)).toEqual({ a: 'ran', b: 'ran' });
    expect([output(dir, 'a'), output(dir, 'b')]).toEqual([2, 4]);
  });

  it('of stage code: the stage runs the new code', async () => {
    const dir = project();
    expect(await run(dir)).toEqual({ a: 'ran', b: 'ran' });
    const code = readFileSync(join(dir, 'stages/b.ts'), 'utf8');
    sameStatEdit(dir, 'stages/b.ts', code.replace('n * 2', 'n * 3'));
    expect(await run(dir)).toEqual({ a: 'cached', b: 'ran' });
    expect(output(dir, 'b')).toBe(15);
  });

  it('of pipeline.yaml: the parsed pipeline is not reused', async () => {
    const dir = project();
    expect(await run(dir)).toEqual({ a: 'ran', b: 'ran' });
    const text = readFileSync(join(dir, 'pipeline.yaml'), 'utf8');
    writeFileSync(join(dir, 'data/in.txx'), 'seven!!\n');
    sameStatEdit(dir, 'pipeline.yaml', text.replace('data/in.txt', 'data/in.txx'));
    expect(await run(dir)).toEqual({ a: 'ran', b: 'ran' });
    expect(output(dir, 'a')).toBe(7);
  });

  it('of a package.json: its version is read again', () => {
    const dir = writeProject({ 'node_modules/p/package.json': '{ "name": "p", "version": "1.0.0" }\n' });
    const file = join(dir, 'node_modules/p/package.json');
    utimesSync(file, PAST, PAST);
    const first = new StatCache(dir);
    expect(first.packageVersion(file)).toBe('1.0.0');
    first.save();
    sameStatEdit(dir, 'node_modules/p/package.json', '{ "name": "p", "version": "9.9.9" }\n');
    expect(new StatCache(dir).packageVersion(file)).toBe('9.9.9');
  });
});

describe('a glob dep whose directory keeps its mtime', () => {
  it('a file added with the directory mtime put back (as tar does) is matched', async () => {
    const dir = writeProject({
      'data/a.csv': '1\n',
      'stages/s.ts': "import { readFileSync } from 'node:fs';\nexport default (ctx: any) => ({ out: { n: ctx.deps.length } });\n",
      'schemas/any.schema.json': '{ "type": "object", "required": ["n"] }\n',
      'pipeline.yaml': 'stages:\n  s: { run: stages/s.ts, deps: ["data/*.csv"], outs: { out: { schema: schemas/any.schema.json } } }\n',
    });
    for (const f of ['data/a.csv', 'stages/s.ts', 'schemas/any.schema.json', 'pipeline.yaml', 'data']) utimesSync(join(dir, f), PAST, PAST);
    expect(await run(dir)).toEqual({ s: 'ran' });
    expect(await run(dir)).toEqual({ s: 'cached' });
    const before = statSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/b.csv'), '2\n');
    utimesSync(join(dir, 'data/b.csv'), PAST, PAST);
    utimesSync(join(dir, 'data'), before.atime, before.mtime);
    expect(statSync(join(dir, 'data')).mtimeMs).toBe(before.mtimeMs);
    expect(await run(dir)).toEqual({ s: 'ran' });
    expect(output(dir, 's')).toBe(2);
  });
});
