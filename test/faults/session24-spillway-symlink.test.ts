// Session 24 fault pass over the every-run clean of dead writers' leftovers (src/engine/fs-atomic.ts cleanStaleTemps).
// 6f299f1 made the shallow clean list names only and enter `.spillway` by name. A `.spillway` that is a symlink (to a
// scratch or shared directory elsewhere) was then followed: every run removed the names in the directory it points to
// that look like leftovers of a dead pid, such as a user's `notes.old-2019` (data outside the project, lost). With
// directory entries (before 6f299f1, and still in the deep clean after a crash) a symlink is no directory and is not
// entered (test written to fail first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanStaleTemps } from '../../src/engine/fs-atomic.js';
import { bin, cleanupProjects, deadPid, writeProject } from '../engine/helpers.js';

const elsewhere = mkdtempSync(join(tmpdir(), 'spillway-s24-elsewhere-'));
afterAll(() => {
  rmSync(elsewhere, { recursive: true, force: true });
  cleanupProjects();
});

it('a .spillway that is a symlink is not followed by the every-run clean (files where it points are not removed)', async () => {
  const dead = await deadPid();
  const dir = writeProject({ 'stages/s.ts': 'export default () => ({});\n', 'pipeline.yaml': 'stages:\n  s: { run: stages/s.ts }\n' });
  const target = join(elsewhere, 'scratch');
  mkdirSync(target);
  const userFiles = [`notes.old-${dead}`, `draft.tmp-${dead}`];
  for (const f of userFiles) writeFileSync(join(target, f), 'a user file\n');
  symlinkSync(target, join(dir, '.spillway'));

  // the clean itself, as a run calls it holding the lock, then a whole run through the CLI
  expect(cleanStaleTemps(dir, { deep: false })).toEqual([]);
  expect(cleanStaleTemps(dir, { deep: true })).toEqual([]);
  const r = spawnSync(process.execPath, [bin, 'run', '--json'], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  for (const f of userFiles) expect(existsSync(join(target, f)), f).toBe(true);

  // a real .spillway directory is still cleaned every run
  rmSync(join(dir, '.spillway'));
  mkdirSync(join(dir, '.spillway'));
  writeFileSync(join(dir, `.spillway/stat-cache.json.tmp-${dead}-2-x1`), 'x');
  expect(cleanStaleTemps(dir, { deep: false })).toEqual([`.spillway/stat-cache.json.tmp-${dead}-2-x1`]);
});
