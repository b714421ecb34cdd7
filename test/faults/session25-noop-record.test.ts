// Fault-injection pass on the no-op record (src/engine/noop-record.ts): a run answered from the record must never say
// "cached" when the engine, with the record removed, would run, restore or repair something. Each test records a
// no-op (real CLI, bundled), changes something, and requires that the next run decide afresh and get the engine's
// answer. Tests marked BUG: failed before the fix in this commit.
import { cpSync, existsSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, fixtures, statuses, writeProject } from '../engine/helpers.js';
import { age, dropRecords, recordedNoop, records, runJson, type RunReport } from '../engine/noop-record-helpers.js';

const made: string[] = [];
afterAll(() => {
  cleanupProjects();
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

const run = runJson;
type Report = RunReport;
const PAST = () => new Date(Date.now() - 60_000);

/** An inline project of one module stage that lists `data/` into its output. */
function listingProject(root: string, deps: string): string {
  mkdirSync(root, { recursive: true });
  const files: Record<string, string> = {
    'package.json': '{ "type": "module", "private": true }\n',
    'stages/s.ts': "import { readdirSync, writeFileSync } from 'node:fs';\nexport default (ctx: any) => { writeFileSync(ctx.outPath('n'), readdirSync('data').sort().join(',')); return {}; };\n",
    'pipeline.yaml': `stages:\n  s: { run: stages/s.ts, deps: ${deps}, outs: { n: { file: out/n.txt } } }\n`,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('the no-op record under fault injection', () => {
  // BUG: ignored() in startNoopRecording skipped every path under /dev/ (meant for /dev/null), so a project under
  // /dev/shm (a tmpfs, a common place for scratch projects and CI workspaces) was recorded with no observation at all:
  // its record then replayed "4 cached" after a dep, the pipeline, anything changed. Repro: cp -r
  // test/fixtures/engine/basic /dev/shm/p; run; age; run (records); edit data/numbers.csv; run --json → from_record.
  it.skipIf(!existsSync('/dev/shm') || process.platform !== 'linux')('a project under /dev/shm is observed like any other', () => {
    const dir = mkdtempSync('/dev/shm/spillway-fi-');
    made.push(dir);
    cpSync(join(fixtures, 'basic'), dir, { recursive: true });
    recordedNoop(dir);
    const text = readFileSync(join(dir, '.spillway', records(dir)[0] as string), 'utf8');
    expect(text).toContain(JSON.stringify(join(dir, 'data/numbers.csv')));
    writeFileSync(join(dir, 'data/numbers.csv'), 'x\n5\n6\n');
    const r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toMatchObject({ load: 'ran' });
  });

  // BUG: the imports of a code file were cached (stat-cache.json) by the file's content alone, as resolved when first
  // parsed. `./util.js` resolved to util.tsx; util.ts created later is what the stage process loads (ts-hooks.ts)
  // and what a fresh resolution finds (code.ts tries .ts first), but both the engine (through its stat cache) and the
  // record (which never looked at util.ts) said "cached"; with stat-cache.json deleted the engine ran the stage and
  // the record still replayed "cached". Fixed in code.ts: the candidates passed over are kept with the import list and
  // checked again (a stat each) whenever it is used, so the record observes them too.
  it('an import shadowed by a file created after the record (util.tsx, then util.ts) is seen', () => {
    const dir = writeProject({
      'stages/s.ts': "import { which } from './util.js';\nimport { writeFileSync } from 'node:fs';\nexport default (ctx: any) => { writeFileSync(ctx.outPath('n'), which()); return {}; };\n",
      'stages/util.tsx': "export const which = () => 'tsx';\n",
      'pipeline.yaml': 'stages:\n  s: { run: stages/s.ts, outs: { n: { file: out/n.txt } } }\n',
    });
    recordedNoop(dir);
    writeFileSync(join(dir, 'stages/util.ts'), "export const which = () => 'ts';\n");
    utimesSync(join(dir, 'stages/util.ts'), PAST(), PAST());
    const r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
    expect(r.report?.stages[0]?.reason).toMatch(/stages\/util\.ts added/);
    expect(readFileSync(join(dir, 'out/n.txt'), 'utf8')).toBe('ts');
    // and the record made afterwards holds until util.ts goes again
    recordedNoop(dir, { first: false });
    rmSync(join(dir, 'stages/util.ts'));
    const back = run(dir);
    expect(back.report?.from_record).toBeUndefined();
    expect(back.report?.stages[0]).toMatchObject({ status: 'cached', restored: true }); // util.tsx's key: in the run cache
    expect(readFileSync(join(dir, 'out/n.txt'), 'utf8')).toBe('tsx');
  });

  // BUG: a glob's matches were cached with the mtimes of the directories walked; a symlink in them whose target
  // appears later (a dangling data/c.csv -> ../incoming/c.csv, then the download lands) moves no such mtime, so the
  // engine (glob cache) and the record both kept saying "cached" while a fresh listing matches data/c.csv (the
  // engine with stat-cache.json deleted ran the stage: "dep data/c.csv added"). Fixed in glob.ts: the symlinks met in
  // the walk are kept with what they pointed to and checked again when the cached matches are used.
  it('a dangling symlink under a glob dep whose target appears after the record is seen', () => {
    const dir = listingProject(mkdtempSync(join(tmpdir(), 'spillway-fi-glob-')), '["data/*.csv"]');
    made.push(dir);
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'incoming'));
    writeFileSync(join(dir, 'data/a.csv'), '1\n');
    symlinkSync('../incoming/c.csv', join(dir, 'data/c.csv'));
    recordedNoop(dir);
    writeFileSync(join(dir, 'incoming/c.csv'), '3\n');
    utimesSync(join(dir, 'incoming/c.csv'), PAST(), PAST());
    const r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
    expect(r.report?.stages[0]?.reason).toMatch(/dep data\/c\.csv added/);
  });

  // Held: a dep that is a symlink, retargeted (ln -sfn) to another file of the same size and mtime; a glob dep reached
  // through a symlinked directory retargeted to a copy with the same names and sizes.
  it('held: a symlinked dep and a symlinked data directory, retargeted to same-stat look-alikes', () => {
    const dir = listingProject(mkdtempSync(join(tmpdir(), 'spillway-fi-link-')), '["data/*.csv", "one.csv"]');
    made.push(dir);
    for (const v of ['v1', 'v2']) {
      mkdirSync(join(dir, v));
      writeFileSync(join(dir, v, 'a.csv'), v === 'v1' ? 'aaa\n' : 'bbb\n');
    }
    writeFileSync(join(dir, 'x.csv'), '111\n');
    writeFileSync(join(dir, 'y.csv'), '222\n');
    symlinkSync('v1', join(dir, 'data'));
    symlinkSync('x.csv', join(dir, 'one.csv'));
    recordedNoop(dir);
    const st = statSync(join(dir, 'x.csv'));
    utimesSync(join(dir, 'y.csv'), st.atime, st.mtime);
    rmSync(join(dir, 'one.csv'));
    symlinkSync('y.csv', join(dir, 'one.csv'));
    lutimesSync(join(dir, 'one.csv'), PAST(), PAST());
    let r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
    recordedNoop(dir, { first: false });
    const v1 = statSync(join(dir, 'v1/a.csv'));
    utimesSync(join(dir, 'v2/a.csv'), v1.atime, v1.mtime);
    utimesSync(join(dir, 'v2'), statSync(join(dir, 'v1')).atime, statSync(join(dir, 'v1')).mtime);
    rmSync(join(dir, 'data'));
    symlinkSync('v2', join(dir, 'data'));
    lutimesSync(join(dir, 'data'), PAST(), PAST());
    r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
  });

  // Held: an editor's atomic save (write a temp file, put the old mtime back, rename over) of the same size.
  it('held: a dep replaced by rename with size and mtime put back', () => {
    const dir = listingProject(mkdtempSync(join(tmpdir(), 'spillway-fi-rename-')), '["data/numbers.csv"]');
    made.push(dir);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/numbers.csv'), 'n\n1\n2\n');
    recordedNoop(dir);
    const file = join(dir, 'data/numbers.csv');
    const before = statSync(file);
    const temp = join(dir, 'data/.numbers.csv.swp');
    writeFileSync(temp, readFileSync(file, 'utf8').replace('1', '8'));
    utimesSync(temp, before.atime, before.mtime);
    renameSync(temp, file);
    expect(statSync(file).size).toBe(before.size);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
    const r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
  });

  // Held: a package the stage imports upgraded in node_modules (its package.json rewritten, mtime put back), and the
  // same package installed in a nearer node_modules than the one it was found in (the project's parent's).
  it('held: an imported package upgraded in place, or installed nearer', () => {
    const outer = mkdtempSync(join(tmpdir(), 'spillway-fi-pkg-'));
    made.push(outer);
    const pkg = (where: string, version: string) => {
      mkdirSync(join(where, 'node_modules/fi-pkg'), { recursive: true });
      writeFileSync(join(where, 'node_modules/fi-pkg/package.json'), JSON.stringify({ name: 'fi-pkg', version, type: 'module', main: 'index.js' }));
      writeFileSync(join(where, 'node_modules/fi-pkg/index.js'), `export const v = '${version}';\n`);
    };
    pkg(outer, '1.0.0');
    const dir = join(outer, 'project');
    mkdirSync(join(dir, 'stages'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
    writeFileSync(join(dir, 'stages/s.ts'), "import { v } from 'fi-pkg';\nimport { writeFileSync } from 'node:fs';\nexport default (ctx: any) => { writeFileSync(ctx.outPath('n'), v); return {}; };\n");
    writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  s: { run: stages/s.ts, outs: { n: { file: out/n.txt } } }\n');
    expect(run(dir).code).toBe(0);
    age(outer);
    recordedNoop(dir, { first: false });
    const manifest = join(outer, 'node_modules/fi-pkg/package.json');
    const before = statSync(manifest);
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('1.0.0', '1.0.1'));
    utimesSync(manifest, before.atime, before.mtime);
    let r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
    expect(r.report?.stages[0]?.reason).toMatch(/package fi-pkg: 1\.0\.0 → 1\.0\.1/);
    age(outer);
    recordedNoop(dir, { first: false });
    pkg(dir, '2.0.0');
    age(dir);
    r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
    expect(readFileSync(join(dir, 'out/n.txt'), 'utf8')).toBe('2.0.0');
  });

  // Held: time going backwards. A dep dated into the future leaves no record (racy); one dated into the future (or the
  // past) after the record was written moved its ctime.
  it('held: mtimes in the future, before and after the record', () => {
    const dir = listingProject(mkdtempSync(join(tmpdir(), 'spillway-fi-future-')), '["data/numbers.csv"]');
    made.push(dir);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/numbers.csv'), 'n\n1\n2\n');
    recordedNoop(dir);
    const file = join(dir, 'data/numbers.csv');
    const future = new Date(Date.now() + 3_600_000);
    writeFileSync(file, readFileSync(file, 'utf8').replace('1', '9'));
    utimesSync(file, future, future);
    let r = run(dir, [], { SPILLWAY_DEBUG_NOOP_RECORD: '1' });
    expect(r.report?.from_record).toBeUndefined();
    expect(statuses(r.report as Report)).toEqual({ s: 'ran' });
    dropRecords(dir);
    r = run(dir, [], { SPILLWAY_DEBUG_NOOP_RECORD: '1' });
    expect(statuses(r.report as Report)).toEqual({ s: 'cached' });
    expect(r.stderr).toMatch(/no-op record not written: .*(numbers\.csv|changed within)/);
    expect(records(dir)).toHaveLength(0);
    // dated back without a change of content: the engine agrees that nothing is to be done
    recordedNoop(dir, { first: false });
    utimesSync(file, future, future);
    r = run(dir);
    expect(r.report?.from_record).toBeUndefined();
    expect(r.report?.stages.every((s) => s.status === 'cached')).toBe(true);
  });
});
