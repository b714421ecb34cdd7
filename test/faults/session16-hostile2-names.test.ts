// Hostile pass 2 (session 16): names given to `spillway sweep`.
// - `--variant __proto__=1` used to run silently as the defaults variant (exit 0) instead of stopping like
//   `--grid __proto__.x=1` and `--grid constructor=1` do ("no param ... in pipeline.yaml").
// - `--summary data` (an existing directory) used to end in "internal error" with a stack trace (EISDIR from rename),
//   exit 70, after the variants ran, instead of a plain error before anything runs.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanupProjects, cli } from '../engine/helpers.js';
import { variantProject } from '../variants/project.js';

afterAll(cleanupProjects);

it('--variant __proto__=1 is refused like any key not under params:', async () => {
  const dir = variantProject();
  const r = await cli(['sweep', '--variant', '__proto__=1', '--jobs', '1'], dir);
  expect(r.stderr).toMatch(/no param "__proto__"/);
  expect(r.code).not.toBe(0);
  expect(existsSync(join(dir, 'artifacts/experiments')) ? readdirSync(join(dir, 'artifacts/experiments')) : []).toEqual([]);
}, 60_000);

it('a summary path that is a directory is a plain error, without a stack trace, before anything runs', async () => {
  const dir = variantProject();
  const r = await cli(['sweep', '--grid', 'scale.factor=2', '--summary', 'data', '--jobs', '1'], dir);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.code).toBe(2); // usage, like a summary path outside the project
  expect(r.stderr).toMatch(/sweep summary data is a directory/);
  expect(readdirSync(join(dir, 'data'))).toEqual(['numbers.csv']);
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
}, 60_000);

// A sweep file `grid: { scale.factor: [2, 3], __proto__: [1, 2] }` used to run 2 variants with exit 0: the __proto__
// axis vanished while the file was read (alone it gave "the sweep has no variants"), instead of "no param __proto__".
it('a sweep file whose grid has a __proto__ axis is refused, not run without that axis', async () => {
  const dir = variantProject({ 'sweeps/e.yaml': 'grid:\n  scale.factor: [2, 3]\n  __proto__: [1, 2]\n' });
  const r = await cli(['sweep', 'sweeps/e.yaml', '--jobs', '1'], dir);
  expect(r.stderr).toMatch(/no param "__proto__"/);
  expect(r.code).not.toBe(0);
}, 60_000);
