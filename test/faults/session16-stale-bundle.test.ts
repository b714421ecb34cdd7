// The bundled CLI (dist/cli.bundle.cjs) must not run older code than dist/: `tsc --watch` (or an incremental build)
// re-emits only the modules that changed, so dist/cli/main.js can stay older than the bundle while another module
// under dist/ is newer. bin/spillway.js used to compare the bundle with dist/cli/main.js alone and ran the stale bundle
// silently. Checked on a copy of the CLI (bin/, dist/, package.json), the repository's dist/ left alone.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from '../engine/helpers.js';

const copy = mkdtempSync(join(tmpdir(), 'spillway-stalebundle-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

it('a module under dist/ compiled after the bundle (not main.js) makes the CLI run unbundled, with the new code', () => {
  cpSync(join(repoRoot, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(copy, 'dist'), { recursive: true, preserveTimestamps: true });
  cpSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
  const cli = () => spawnSync(process.execPath, [join(copy, 'bin/spillway.js'), 'status', '--help'], { cwd: copy, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '' } });
  const before = cli();
  expect(before.status, before.stderr).toBe(0);
  expect(before.stdout).toMatch(/^usage: spillway status \[STAGE\.\.\.\]/);
  // what tsc --watch does after an edit of src/cli/commands/status.ts: that module alone is written again
  const module = join(copy, 'dist/cli/commands/status.js');
  writeFileSync(module, readFileSync(module, 'utf8').replace('usage: spillway status [STAGE...]', 'usage: spillway status (edited)'));
  const later = new Date(statSync(join(copy, 'dist/cli.bundle.cjs')).mtimeMs + 60_000);
  utimesSync(module, later, later);
  const after = cli();
  expect(after.status, after.stderr).toBe(0);
  expect(after.stdout).toMatch(/^usage: spillway status \(edited\)/);
});

it('without dist/ the CLI says to build it and exits 70 (not 1, a failed stage, with a stack trace)', () => {
  const bare = join(copy, 'bare');
  cpSync(join(repoRoot, 'bin'), join(bare, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(bare, 'package.json'));
  const r = spawnSync(process.execPath, [join(bare, 'bin/spillway.js'), 'status'], { cwd: bare, encoding: 'utf8' });
  expect(r.status).toBe(70);
  expect(r.stderr).toMatch(/compiled CLI .*dist\/cli\/main\.js is missing: run `npm run build`/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
