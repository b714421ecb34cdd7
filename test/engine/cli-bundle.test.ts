// The bundled CLI (dist/cli.bundle.cjs, built by `npm run build`; `spillway run` from its own dist/cli-run.bundle.cjs)
// and their V8 code caches (dist/cli.bundle.cache, dist/cli-run.bundle.cache): it runs stages (workers, dynamic
// imports of packages) like the unbundled dist/, a damaged or foreign cache is ignored and rewritten, and a dist/
// compiled after a bundle is run unbundled instead of the older bundle.
import { isAscii } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { unsealBytes } from '../../src/engine/hash.js';
import { bin, cleanupProjects, fixtures, repoRoot, writeProject } from './helpers.js';

afterAll(cleanupProjects);

const bundle = join(repoRoot, 'dist/cli.bundle.cjs');

function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, entry = bin) {
  const traceFile = join(cwd, 'trace.txt');
  rmSync(traceFile, { force: true });
  const r = spawnSync(process.execPath, ['--import', join(fixtures, 'trace/register.mjs'), entry, ...args], {
    cwd,
    env: { ...process.env, SPILLWAY_NO_BUNDLE: '', SPILLWAY_TRACE_FILE: traceFile, ...env },
    encoding: 'utf8',
  });
  const trace = readFileSync(traceFile, 'utf8').split('\n');
  const bundle = trace.find((l) => l.startsWith('require:') && /\/dist\/cli(-run)?\.bundle\.cjs$/.test(l))?.split('/').at(-1);
  // the no-op record's check (dist/cli-noop.bundle.cjs), which a run loads first
  const noopCheck = trace.some((l) => l.startsWith('require:') && l.endsWith('/dist/cli-noop.bundle.cjs'));
  return { ...r, bundled: bundle !== undefined, bundle, noopCheck };
}

/**
 * A copy of the CLI (bin/, dist/ with its times, schemas/, package.json; node_modules linked): tests that damage the
 * code cache or age dist/ do it there, since other test files run the repository's CLI at the same time.
 */
function cliCopy(): { root: string; bin: string; bundle: string; cache: string; runBundle: string; runCache: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'spillway-clicopy-'));
  cpSync(join(repoRoot, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(root, 'dist'), { recursive: true, preserveTimestamps: true });
  cpSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  cpSync(join(repoRoot, 'schemas'), join(root, 'schemas'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  return {
    root,
    bin: join(root, 'bin/spillway.js'),
    bundle: join(root, 'dist/cli.bundle.cjs'),
    cache: join(root, 'dist/cli.bundle.cache'),
    runBundle: join(root, 'dist/cli-run.bundle.cjs'),
    runCache: join(root, 'dist/cli-run.bundle.cache'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

const project = () =>
  writeProject({
    'schemas/any.schema.json': '{ "type": "object", "required": ["n"] }\n',
    'data/in.txt': 'three\n',
    'stages/a.ts': "import { readFileSync } from 'node:fs';\nexport default (ctx: any) => ({ out: { n: readFileSync(ctx.deps[0], 'utf8').trim().length } });\n",
    'stages/b.ts': 'export default (ctx: any) => ({ out: { n: ctx.inputs.a.n * 2 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, deps: [data/in.txt], outs: { out: { schema: schemas/any.schema.json } } }\n  b: { run: stages/b.ts, inputs: { a: a.out }, outs: { out: { schema: schemas/any.schema.json } } }\n',
  });

it('`npm run build` bundles the CLI, and the bundle runs a pipeline as the unbundled CLI does', () => {
  expect(existsSync(bundle)).toBe(true);
  // ASCII (bin/spillway.js reads it as latin1, not as UTF-8)
  expect(isAscii(readFileSync(bundle))).toBe(true);
  const outputs: Record<string, unknown>[] = [];
  for (const noBundle of ['', '1']) {
    const dir = project();
    const r = cli(dir, ['run', '--json'], { SPILLWAY_NO_BUNDLE: noBundle });
    expect(r.status, r.stderr).toBe(0);
    expect(r.bundled).toBe(noBundle === '');
    if (noBundle === '') expect(r.bundle).toBe('cli-run.bundle.cjs'); // a run's own bundle
    expect(r.stderr).not.toMatch(/Warning/); // no experimental-feature warning from the loader
    const report = JSON.parse(r.stdout) as { stages: { stage: string; status: string; outputs: Record<string, string> }[] };
    expect(report.stages.map((s) => s.status)).toEqual(['ran', 'ran']);
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/out/b/out.json'), 'utf8'))).toEqual({ n: 10 });
    outputs.push(Object.fromEntries(report.stages.map((s) => [s.stage, s.outputs])));
    // an invalid pipeline is reported the same way (the YAML parser and ajv are loaded through import())
    writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  a: { run: 3 }\n');
    const bad = cli(dir, ['status', '--json'], { SPILLWAY_NO_BUNDLE: noBundle });
    expect(bad.bundle).toBe(noBundle === '' ? 'cli.bundle.cjs' : undefined); // every other command: the whole CLI's
    expect(bad.status).toBe(3);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: 'invalidPipeline', exit_code: 3 });
  }
  expect(outputs[0]).toEqual(outputs[1]);
});

it('a damaged or foreign code cache is not used, and is rewritten', () => {
  const copy = cliCopy();
  try {
    const dir = project();
    expect(cli(dir, ['run'], {}, copy.bin).status).toBe(0);
    expect(existsSync(copy.runCache)).toBe(true);
    const good = readFileSync(copy.runCache);
    const header = good.subarray(0, good.indexOf(10) + 1);
    expect(header.toString()).toContain(`${statSync(copy.runBundle).size}`);
    // the right header over bytes that are no V8 code cache; then a header of another bundle over the real cache
    for (const damaged of [Buffer.concat([header, Buffer.alloc(good.length - header.length, 0x5a)]), Buffer.concat([Buffer.from('spillway-code-cache 1 2 3 v0 x\n'), good.subarray(header.length)])]) {
      writeFileSync(copy.runCache, damaged);
      const r = cli(dir, ['run', '--force', '--json'], {}, copy.bin);
      expect(r.status, r.stderr).toBe(0);
      expect(r.bundle).toBe('cli-run.bundle.cjs');
      expect((JSON.parse(r.stdout) as { stages: { status: string }[] }).stages.map((s) => s.status)).toEqual(['ran', 'ran']);
      expect(readFileSync(copy.runCache).equals(damaged)).toBe(false);
    }
  } finally {
    copy.cleanup();
  }
});

it('a dist/ compiled after the bundle runs unbundled (the bundle would be older code)', () => {
  const copy = cliCopy();
  try {
    const dir = project();
    const later = new Date(Math.max(statSync(copy.bundle).mtimeMs, statSync(copy.runBundle).mtimeMs) + 60_000);
    // a module in both bundles (the runner): neither runs, nor the no-op record's check, which answers for the run's
    const runner = join(copy.root, 'dist/engine/runner.js');
    const before = statSync(runner);
    utimesSync(runner, later, later);
    for (const args of [['run'], ['status']]) {
      const r = cli(dir, args, {}, copy.bin);
      expect(r.status, r.stderr).toBe(0);
      expect(r.bundled).toBe(false);
      expect(r.noopCheck).toBe(false);
    }
    utimesSync(runner, before.atime, before.mtime);
    // a module that only the whole CLI's bundle holds (dist/cli/main.js): a run still runs its own, status unbundled
    const main = join(copy.root, 'dist/cli/main.js');
    const { atime, mtime } = statSync(main);
    utimesSync(main, later, later);
    expect(cli(dir, ['run'], {}, copy.bin).bundle).toBe('cli-run.bundle.cjs');
    expect(cli(dir, ['status'], {}, copy.bin).bundled).toBe(false);
    utimesSync(main, atime, mtime);
    expect(cli(dir, ['run'], {}, copy.bin).bundle).toBe('cli-run.bundle.cjs');
    expect(cli(dir, ['status'], {}, copy.bin).bundle).toBe('cli.bundle.cjs');
    // a damaged run bundle (cut short, so newer than every module): a run falls back to the whole CLI's bundle (a
    // no-op record, which the runs above may have left, would answer before it: removed)
    for (const name of readdirSync(join(dir, '.spillway')).filter((n) => n.startsWith('noop-record-'))) rmSync(join(dir, '.spillway', name));
    writeFileSync(copy.runBundle, readFileSync(copy.runBundle).subarray(0, 50_000));
    const fallback = cli(dir, ['run', '--json'], {}, copy.bin);
    expect(fallback.status, fallback.stderr).toBe(0);
    expect(fallback.bundle).toBe('cli.bundle.cjs');
    expect((JSON.parse(fallback.stdout) as { stages: { status: string }[] }).stages.map((s) => s.status)).toEqual(['cached', 'cached']);
  } finally {
    copy.cleanup();
  }
});

it('the bundled CLI names its build by the bundle hash in the parsed-pipeline cache, and the modules it was made from too', () => {
  // on a copy of the CLI (bin/, dist/, schemas/, package.json), the repository's bundle left alone
  const copy = cliCopy();
  try {
    const copied = copy.bundle;
    const built = /^const __spillwayBundleHash = "([0-9a-f]{64})";$/m.exec(readFileSync(copied, 'utf8'))?.[1] as string;
    expect(built).toMatch(/^[0-9a-f]{64}$/);
    const dir = project();
    const cacheFile = join(dir, '.spillway/pipeline-cache.json');
    const status = (noBundle: '' | '1') => {
      const r = spawnSync(process.execPath, [copy.bin, 'status', '--json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: noBundle } });
      expect(r.status, r.stderr).toBe(0);
      const text = readFileSync(cacheFile, 'utf8');
      return { text, engine: [(JSON.parse(unsealBytes(Buffer.from(text)) as string) as { engine: string | string[] }).engine].flat() };
    };
    // unbundled first: the modules of dist/engine name the build
    const unbundled = status('1');
    expect(unbundled.engine).toHaveLength(1);
    expect(unbundled.engine[0]).not.toMatch(/bundle:/);
    // the bundle parses again and names both builds
    const bundled = status('');
    expect(bundled.engine).toEqual([expect.stringMatching(new RegExp(`^bundle:${built} \\d+:`)), unbundled.engine[0]]);
    // so that neither CLI parses again after the other
    expect(status('1').text).toBe(bundled.text);
    expect(status('').text).toBe(bundled.text);
    // nor a run from its own bundle, which names the same build
    expect(/^const __spillwayBundleHash = "([0-9a-f]{64})";$/m.exec(readFileSync(copy.runBundle, 'utf8'))?.[1]).toBe(built);
    const run = cli(dir, ['run'], {}, copy.bin);
    expect(run.status, run.stderr).toBe(0);
    expect(run.bundle).toBe('cli-run.bundle.cjs');
    expect(readFileSync(cacheFile, 'utf8')).toBe(bundled.text);
    // another bundle (what `npm run build` writes after an edit) parses again, under its own name
    writeFileSync(copied, readFileSync(copied, 'utf8').replace(built, 'f'.repeat(64)));
    expect(status('').engine[0]).toMatch(new RegExp(`^bundle:${'f'.repeat(64)} `));
  } finally {
    copy.cleanup();
  }
});

it('the code cache a no-op runs with is made by a no-op, not by a run that ran stages or parsed the pipeline (whose functions it would carry)', async () => {
  const copy = cliCopy();
  try {
    const dir = project();
    const by = () => {
      const bytes = readFileSync(copy.runCache);
      return bytes.subarray(0, bytes.indexOf(10)).toString('latin1').split(' ').at(-2);
    };
    expect(cli(dir, ['run'], {}, copy.bin).status).toBe(0);
    expect(by()).toBe('run-work'); // it ran both stages
    const worked = readFileSync(copy.runCache);
    await new Promise((r) => setTimeout(r, 2100)); // past the racy window, so that the next run is a no-op
    const noop = cli(dir, ['run', '--json'], {}, copy.bin);
    expect((JSON.parse(noop.stdout) as { stages: { status: string }[] }).stages.map((s) => s.status)).toEqual(['cached', 'cached']);
    expect(by()).toBe('run'); // compiled afresh and replaced
    expect(readFileSync(copy.runCache).length).toBeLessThan(worked.length); // without the executor's functions
    const lean = readFileSync(copy.runCache);
    for (const args of [['run', '--json'], ['status', '--json']]) {
      expect(cli(dir, args, {}, copy.bin).status).toBe(0);
      expect(readFileSync(copy.runCache).equals(lean)).toBe(true); // kept: made by the call to keep fast
    }
    // a no-op that parsed the pipeline file (a comment added): its cache carries the parser's functions
    rmSync(copy.runCache);
    writeFileSync(join(dir, 'pipeline.yaml'), `# a comment\n${readFileSync(join(dir, 'pipeline.yaml'), 'utf8')}`);
    const parsed = cli(dir, ['run', '--json'], {}, copy.bin);
    expect((JSON.parse(parsed.stdout) as { stages: { status: string }[] }).stages.map((s) => s.status)).toEqual(['cached', 'cached']);
    expect(by()).toBe('run-work');
    const fat = readFileSync(copy.runCache);
    // and the next no-op, which reads the parse back, replaces it with its own, smaller one
    expect(cli(dir, ['run', '--json'], {}, copy.bin).status).toBe(0);
    expect(by()).toBe('run');
    expect(readFileSync(copy.runCache).length).toBeLessThan(fat.length);
  } finally {
    copy.cleanup();
  }
});
