// Leftovers of a killed writer (src/engine/fs-atomic.ts cleanStaleTemps): every run, holding the project lock, looks
// at the project root and the top of .spillway/; after a crash, all of .spillway/ and artifacts/ too. A leftover
// whose writer (the pid in its name) is gone is removed; one of a live process, or a user's file, is not.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanStaleTemps } from '../../src/engine/fs-atomic.js';
import { cleanupProjects, deadPid, writeProject } from './helpers.js';

afterAll(cleanupProjects);

it('a shallow clean removes dead writers\' leftovers in the root and at the top of .spillway/, and nothing deeper', async () => {
  const dead = await deadPid();
  const live = process.pid;
  const dir = writeProject({ 'pipeline.yaml': 'stages: {}\n', 'thesis.old-2019': 'a user file\n' });
  const files = [
    `pipeline.lock.tmp-${dead}-1-abc`, // root: a lockfile temp of a dead writer
    `pipeline.lock.tmp-${live}-1-abc`, // root: of a live one
    `.spillway/stat-cache.json.tmp-${dead}-2-x1`, // top of .spillway/
    `.spillway/logs/run.log.tmp-${dead}-3-x2`, // deeper: only after a crash
    `artifacts/objects/ab.tmp-${dead}-4-x3`, // artifacts/: only after a crash
  ];
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), 'x');
  }
  mkdirSync(join(dir, `.spillway/lock.old-${dead}-deadbeef-0123`)); // a released lock's grave, not yet deleted
  writeFileSync(join(dir, `.spillway/lock.old-${dead}-deadbeef-0123/owner.json`), '{}');

  const removed = cleanStaleTemps(dir, { deep: false });
  expect(removed.sort()).toEqual([`.spillway/lock.old-${dead}-deadbeef-0123`, `.spillway/stat-cache.json.tmp-${dead}-2-x1`, `pipeline.lock.tmp-${dead}-1-abc`].sort());
  expect(readdirSync(dir).filter((n) => n !== 'package.json').sort()).toEqual(['.spillway', 'artifacts', `pipeline.lock.tmp-${live}-1-abc`, 'pipeline.yaml', 'thesis.old-2019'].sort());
  expect(existsSync(join(dir, files[3]))).toBe(true);
  expect(existsSync(join(dir, files[4]))).toBe(true);

  expect(cleanStaleTemps(dir, { deep: true }).sort()).toEqual([files[4], files[3]].sort());
  expect(existsSync(join(dir, files[3]))).toBe(false);
  expect(existsSync(join(dir, files[4]))).toBe(false);
  expect(existsSync(join(dir, 'thesis.old-2019'))).toBe(true);
});

it('a file named .spillway (not a directory) is passed over', () => {
  const dir = writeProject({ 'pipeline.yaml': 'stages: {}\n', '.spillway': 'not a directory\n' });
  expect(cleanStaleTemps(dir, { deep: false })).toEqual([]);
  expect(cleanStaleTemps(dir, { deep: true })).toEqual([]);
});
