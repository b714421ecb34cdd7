// The no-op path stays lean: with nothing to do, `spillway run` must not load the YAML parser, ajv, execa, tsx,
// esbuild, es-module-lexer, a glob library, child_process or node:crypto (see the no-op benchmark), neither through
// the bundled CLI (dist/cli-run.bundle.cjs, which loads packages with require) nor unbundled (SPILLWAY_NO_BUNDLE=1);
// and a no-op that its record vouches for loads only the record's check (dist/cli-noop.bundle.cjs), not the engine.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { bin, cleanupProjects, copyFixture, fixtures, writeProject } from './helpers.js';

afterAll(cleanupProjects);

/** The modules a no-op loads: the engine's (no record) or the no-op record's check (`fromRecord`, the record made first). */
function traceRun(dir: string, bundled: boolean, fromRecord: boolean): string[] {
  const traceFile = join(dir, 'trace.txt');
  writeFileSync(traceFile, ''); // there before the record is made: a file added to the project's top voids a record
  const records = () => readdirSync(join(dir, '.spillway')).filter((n) => n.startsWith('noop-record-'));
  for (const name of records()) rmSync(join(dir, '.spillway', name));
  if (fromRecord) {
    expect(spawnSync(process.execPath, [bin, 'run'], { cwd: dir, env: { ...process.env, SPILLWAY_NO_BUNDLE: bundled ? '' : '1' } }).status).toBe(0);
    expect(records()).toHaveLength(1);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, SPILLWAY_TRACE_FILE: traceFile };
  if (bundled) delete env.SPILLWAY_NO_BUNDLE;
  else env.SPILLWAY_NO_BUNDLE = '1';
  const r = spawnSync(process.execPath, ['--import', join(fixtures, 'trace/register.mjs'), bin, 'run', '--json'], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  const report = JSON.parse(r.stdout) as { stages: { status: string }[]; from_record?: boolean };
  expect(report.stages.every((s) => s.status === 'cached')).toBe(true);
  expect(report.from_record === true).toBe(fromRecord);
  return readFileSync(traceFile, 'utf8').trim().split('\n');
}

it('a no-op run loads none of the heavy modules', async () => {
  const dir = copyFixture('basic');
  // a glob dep too, so the glob path is exercised
  const glob = writeProject({
    'data/a.csv': '1',
    'data/b.csv': '2',
    'stages/s.ts': 'export default () => ({});\n',
    'pipeline.yaml': 'stages:\n  s: { run: stages/s.ts, deps: ["data/*.csv"] }\n',
  });
  for (const project of [dir, glob]) {
    expect(spawnSync(process.execPath, [bin, 'run'], { cwd: project }).status).toBe(0);
    // age every file and directory past the racy window, as on any later run, then settle the stat cache once
    const past = new Date(Date.now() - 60_000);
    for (const f of spawnSync('find', ['.', '-not', '-path', './.spillway*'], { cwd: project, encoding: 'utf8' }).stdout.trim().split('\n')) {
      utimesSync(join(project, f), past, past);
    }
    expect(spawnSync(process.execPath, [bin, 'run'], { cwd: project }).status).toBe(0);
    for (const [bundled, fromRecord] of [[true, false], [false, false], [true, true], [false, true]]) {
      const loaded = traceRun(project, bundled, fromRecord);
      // the trace works, and shows which CLI ran: the engine's bundle, or the no-op record's check alone
      const loads = (file: string) => loaded.some((u) => u.startsWith('require:') && u.endsWith(file));
      if (bundled) expect([loads('/dist/cli-noop.bundle.cjs'), loads('/dist/cli-run.bundle.cjs')]).toEqual([true, !fromRecord]);
      expect(loaded.some((u) => u.includes('/dist/engine/runner.js'))).toBe(!bundled); // (unbundled, the run command imports it)
      if (!bundled) expect(loaded.some((u) => u.includes('/dist/engine/noop-record.js'))).toBe(true);
      const heavyPackage = /^(yaml|ajv|ajv-formats|execa|tsx|esbuild|es-module-lexer|fast-glob|picomatch|vega|vega-lite|ml-matrix|chokidar|csv-parse|csv-stringify|simple-statistics)(\/|$)/;
      const heavy = loaded.filter(
        (u) =>
          /node_modules\/(yaml|ajv|ajv-formats|execa|tsx|esbuild|es-module-lexer|fast-glob|picomatch|vega|vega-lite|ml-matrix|chokidar|csv-parse|csv-stringify|simple-statistics)\//.test(u) ||
          (u.startsWith('require:') && heavyPackage.test(u.slice('require:'.length).split(' ')[0] as string)) ||
          ['builtin:crypto', 'builtin:child_process', 'node:crypto', 'node:child_process', 'require:node:crypto', 'require:crypto', 'require:node:child_process', 'require:child_process'].includes(u.split(' ')[0] as string),
      );
      expect(heavy).toEqual([]);
    }
  }
});

it('the bundled no-op run, status and --version load none of the builtins that cost more than their work', () => {
  // node's ESM loader (an ES module entry), streams (process.stdout/stderr on a pipe: net and stream), perf_hooks (the
  // `performance` global), fs/promises: together about 15 ms of a no-op that spends less than that on its own work
  const dir = copyFixture('basic');
  expect(spawnSync(process.execPath, [bin, 'run'], { cwd: dir }).status).toBe(0);
  const past = new Date(Date.now() - 60_000);
  for (const f of spawnSync('find', ['.', '-type', 'f', '-not', '-path', './.spillway/*'], { cwd: dir, encoding: 'utf8' }).stdout.trim().split('\n')) utimesSync(join(dir, f), past, past);
  expect(spawnSync(process.execPath, [bin, 'run'], { cwd: dir }).status).toBe(0);
  const costly = /^builtin:(internal\/modules\/esm\/(translators|module_job)|stream|net|tty|internal\/streams\/(readable|writable|duplex)|internal\/fs\/promises|fs\/promises|perf_hooks|worker_threads|child_process|crypto)$/;
  for (const args of [['run', '--json'], ['run'], ['status', '--json'], ['--version']]) {
    const traceFile = join(dir, 'trace.txt');
    rmSync(traceFile, { force: true });
    // stdout and stderr are pipes, as under a benchmark or a script
    const r = spawnSync(process.execPath, ['-r', join(fixtures, 'trace/builtins.cjs'), bin, ...args], { cwd: dir, env: { ...process.env, SPILLWAY_NO_BUNDLE: '', NO_COLOR: '1', SPILLWAY_TRACE_FILE: traceFile }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    if (args[0] === 'run' && args[1] === '--json') expect((JSON.parse(r.stdout) as { stages: { status: string }[] }).stages.every((s) => s.status === 'cached')).toBe(true);
    if (args[0] === 'run' && args[1] === undefined) expect(r.stderr).toMatch(/stages?: \d+ cached/);
    if (args[0] === 'status') expect(JSON.parse(r.stdout)).toMatchObject({ stale: 0 });
    if (args[0] === '--version') expect(r.stdout).toMatch(/^spillway \d+\.\d+\.\d+\n$/);
    const loaded = readFileSync(traceFile, 'utf8').trim().split('\n');
    expect(loaded).toContain('builtin:vm'); // the bundle ran (through vm.Script and its code cache)
    expect({ args, costly: loaded.filter((l) => costly.test(l)) }).toEqual({ args, costly: [] });
  }
});

it('a no-op run with stderr sent to /dev/null does not create the stderr stream', () => {
  // /dev/null is a character device, as a terminal is: process.stderr there costs node's stream machinery (about 4 ms)
  const dir = copyFixture('basic');
  expect(spawnSync(process.execPath, [bin, 'run'], { cwd: dir }).status).toBe(0);
  const past = new Date(Date.now() - 60_000);
  for (const f of spawnSync('find', ['.', '-type', 'f', '-not', '-path', './.spillway/*'], { cwd: dir, encoding: 'utf8' }).stdout.trim().split('\n')) utimesSync(join(dir, f), past, past);
  expect(spawnSync(process.execPath, [bin, 'run'], { cwd: dir }).status).toBe(0);
  const traceFile = join(dir, 'trace.txt');
  rmSync(traceFile, { force: true });
  const devNull = openSync('/dev/null', 'w');
  try {
    const r = spawnSync(process.execPath, ['-r', join(fixtures, 'trace/builtins.cjs'), bin, 'run'], { cwd: dir, env: { ...process.env, SPILLWAY_NO_BUNDLE: '', NO_COLOR: '1', SPILLWAY_TRACE_FILE: traceFile }, stdio: ['ignore', 'pipe', devNull], encoding: 'utf8' });
    expect(r.status).toBe(0);
  } finally {
    closeSync(devNull);
  }
  const loaded = readFileSync(traceFile, 'utf8').trim().split('\n');
  expect(loaded).toContain('builtin:vm');
  expect(loaded.filter((l) => /^builtin:(tty|net|stream|internal\/streams\/(readable|writable|duplex)|internal\/fs\/sync_write_stream)$/.test(l))).toEqual([]);
});
