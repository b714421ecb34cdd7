// Session 24 fault pass over scripts/bundle-cli.mjs: a module of dist/ rewritten while the bundles are being built
// (tsc --watch, an editor's build-on-save, or a second `npm run build` in another terminal) after esbuild has read
// it. Both bundles are built before either is written, so each bundle is written after that module and looks newer
// than it: bin/spillway.js then ran the old module's code from the bundle, for every later call, while dist/ held the
// new one (test written to fail first). The module is a FIFO while the bundles are built, so that the test knows
// exactly when esbuild has read it; then it is replaced by the new text, as a compiler writes it.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'spillway-s24-race-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a module rewritten while the bundles are built (after esbuild read it) makes them pass over, not run the old code', async () => {
  for (const p of ['bin', 'scripts', 'schemas']) cpSync(join(ROOT, p), join(root, p), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(root, 'dist'), { recursive: true, preserveTimestamps: true });
  for (const f of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(root, f));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const bin = join(root, 'bin/spillway.js');
  const help = (env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [bin, 'run', '--help'], { cwd: root, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '', ...env } });
  expect(help().stdout).toMatch(/^usage: spillway run /);

  // dist/cli/run-report.js (the run's help text; in all three bundles) becomes a FIFO: each build reads it once, and
  // gets the old text
  const module = join(root, 'dist/cli/run-report.js');
  const old = readFileSync(module, 'utf8');
  unlinkSync(module);
  expect(spawnSync('mkfifo', [module]).status).toBe(0);
  const build = spawn(process.execPath, [join(root, 'scripts/bundle-cli.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  build.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => build.on('exit', resolve));
  const oldFile = join(root, 'run-report.js.old');
  writeFileSync(oldFile, old);
  // whether the bundler has the FIFO open (a second writer before it closed the first read would add to that read)
  const open = () => {
    try {
      return readdirSync(`/proc/${build.pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${build.pid}/fd/${fd}`) === module;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  for (const _bundle of ['whole CLI', 'run', 'no-op check']) {
    // blocks until the bundler opens the FIFO; then wait until it has read all of it and closed it
    const fed = spawnSync('sh', ['-c', 'cat "$1" > "$2"', 'sh', oldFile, module], { timeout: 60_000 });
    expect(fed.status, `the bundler did not read ${module}: ${stderr}`).toBe(0);
    for (const deadline = Date.now() + 30_000; open() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 2));
  }
  // now the compiler writes the new module: after esbuild read it, before the bundles are written
  unlinkSync(module);
  writeFileSync(module, old.replace('usage: spillway run ', 'usage: spillway run-new '));
  expect(await exited, stderr).toBe(0);
  expect(readFileSync(join(root, 'dist/cli-run.bundle.cjs'), 'utf8')).toContain('usage: spillway run ['); // the old text
  expect(readFileSync(join(root, 'dist/cli.bundle.cjs'), 'utf8')).toContain('usage: spillway run [');

  // what dist/ holds now runs, bundled or not
  expect(help({ SPILLWAY_NO_BUNDLE: '1' }).stdout).toMatch(/^usage: spillway run-new /);
  const bundled = help();
  expect(bundled.status, bundled.stderr).toBe(0);
  expect(bundled.stdout).toMatch(/^usage: spillway run-new /);
  // nor the whole CLI's bundle (a run falls back to it without its own), which holds the old module too
  rmSync(join(root, 'dist/cli-run.bundle.cjs'));
  expect(help().stdout).toMatch(/^usage: spillway run-new /);
  // a build after the edit (nothing rewritten meanwhile) is used again, with the new text
  const rebuilt = spawnSync(process.execPath, [join(root, 'scripts/bundle-cli.mjs')], { cwd: root, encoding: 'utf8' });
  expect(rebuilt.status, rebuilt.stderr).toBe(0);
  expect(readFileSync(join(root, 'dist/cli-run.bundle.cjs'), 'utf8')).toContain('usage: spillway run-new [');
  const trace = join(root, 'trace.txt');
  const after = spawnSync(process.execPath, ['--import', join(ROOT, 'test/fixtures/engine/trace/register.mjs'), bin, 'run', '--help'], { cwd: root, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '', SPILLWAY_TRACE_FILE: trace } });
  expect(after.stdout).toMatch(/^usage: spillway run-new /);
  expect(readFileSync(trace, 'utf8')).toMatch(/^require:.*\/dist\/cli-run\.bundle\.cjs$/m);
}, 120_000);
