// Session 24 fault pass over bin/spillway.js: a run bundle cut short at the end of a statement (a line of a partly
// written or truncated dist/cli-run.bundle.cjs) still compiles, runs its top level, and exports a `main` whose getter
// names a function that never came (esbuild puts the export table first). bin/spillway.js read `main` outside its
// try: `spillway run` crashed with "ReferenceError: main2 is not defined" and a stack trace, exit 1, instead of falling
// back to the whole CLI's bundle as it does for a bundle cut in the middle of a statement (test written to fail first).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { cleanupProjects, writeProject } from '../engine/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'spillway-s24-cut-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  cleanupProjects();
});

it('a run bundle cut at the end of a statement falls back to the whole CLI\'s bundle (no ReferenceError)', () => {
  cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(root, 'dist'), { recursive: true, preserveTimestamps: true });
  cpSync(join(ROOT, 'schemas'), join(root, 'schemas'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const bin = join(root, 'bin/spillway.js');
  const runBundle = join(root, 'dist/cli-run.bundle.cjs');
  const dir = writeProject({
    'stages/a.ts': 'export default () => ({});\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts }\n',
  });
  const run = () => spawnSync(process.execPath, [bin, 'run', '--json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '' } });
  expect(run().status).toBe(0);

  // every cut at a line end from the entry's part of the bundle on that still compiles as bin/spillway.js compiles it
  const text = readFileSync(runBundle, 'latin1');
  const from = text.indexOf('\n// dist/cli/main-run.js\n');
  expect(from).toBeGreaterThan(0);
  const cuts: number[] = [];
  for (let at = text.indexOf('\n', from + 1); at > 0 && at < text.length - 1; at = text.indexOf('\n', at + 1)) {
    try {
      new vm.Script(`(function (exports, require, module, __filename, __dirname, __spillwayImport) {${text.slice(0, at + 1)}\n})`);
      cuts.push(at + 1);
    } catch {
      /* cut inside a statement: a SyntaxError, which bin/spillway.js already passes over */
    }
  }
  expect(cuts.length).toBeGreaterThan(3);
  const failures: string[] = [];
  for (const cut of cuts) {
    writeFileSync(runBundle, text.slice(0, cut), 'latin1');
    const r = run();
    const ok = r.status === 0 && (JSON.parse(r.stdout || '{}') as { ok?: boolean }).ok === true && !/Error/.test(r.stderr);
    if (!ok) failures.push(`cut after ${JSON.stringify(text.slice(Math.max(0, cut - 40), cut))}: exit ${r.status}, ${r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr.slice(0, 200)}`);
  }
  expect(failures).toEqual([]);
}, 120_000);
