// Session 24 fault pass: a project whose `.spillway` is a regular file (a stray file of that name, a broken copy).
// `spillway run` died with "internal error: EEXIST … mkdir .spillway" and a stack trace (exit 70), and so did `status`
// (its stat cache save). A run now says what is wrong and what to do (exit 4, nothing written); the commands that only
// read (status, dag) report as usual, their caches being only an optimization (tests written to fail first).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { bin, cleanupProjects, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const cli = (dir: string, args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

it('a .spillway that is a file: run exits 4 with a clear message, status and dag still report', () => {
  const dir = writeProject({ 'pipeline.yaml': 'stages:\n  a: { cmd: [sh, -c, "true"] }\n', '.spillway': 'a stray file\n' });
  const before = readdirSync(dir).sort();

  const run = cli(dir, ['run']);
  expect(run.status).toBe(4);
  expect(run.stderr).toMatch(/\.spillway: not a directory\n {2}expected: a directory: spillway keeps the project's lock and caches in \.spillway\/\n {2}hint: move the file away \(mv .*\.spillway .*\.spillway\.bak\) and run again\n$/);
  expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  const json = cli(dir, ['run', '--json']);
  expect(json.status).toBe(4);
  expect(JSON.parse(json.stdout)).toMatchObject({ error: 'invalidInput', exit_code: 4, message: 'not a directory' });

  const status = cli(dir, ['status']);
  expect(status.status, status.stderr).toBe(0);
  expect(status.stdout).toMatch(/^a {2}stale\n/);
  const dag = cli(dir, ['dag']);
  expect(dag.status, dag.stderr).toBe(0);

  // nothing written, and the stray file kept as it was
  expect(readdirSync(dir).sort()).toEqual(before);
  expect(readFileSync(join(dir, '.spillway'), 'utf8')).toBe('a stray file\n');
});
