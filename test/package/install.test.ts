// The package as a second project meets it: `npm pack` this repository (in a copy, so the build never touches the
// dist/ other tests use), `npm install ./spillway-*.tgz` into an empty project, then init, run, a param edit, audit,
// export and a type check, all through the installed `node_modules/.bin/spillway`, never a path into this repository.
// Slow (a TypeScript build and two npm installs); the figures it prints are for the record, never asserted.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
let work: string;
let project: string;
let tarball: string;
const figures: Record<string, string> = {};

/** The environment of a user's shell: without the npm_* variables `npm test` sets for its children. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

/** A real process, awaited without blocking the event loop (vitest's worker keeps talking to its parent meanwhile). */
function exec(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function npm(args: string[], cwd: string): Promise<string> {
  const result = await exec('npm', args, cwd);
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} exited with ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

/** The installed CLI, as a user calls it. */
function spillway(args: string[], cwd = project) {
  return exec(path.join(project, 'node_modules', '.bin', 'spillway'), args, cwd);
}

const tsc = () => exec(path.join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], project);

async function runJson(args: string[] = []) {
  const result = await spillway(['run', '--json', ...args]);
  const report = JSON.parse(result.stdout) as { ok: boolean; stages: { stage: string; status: string; error_kind?: string; error?: string }[] };
  return { ...result, report, statuses: Object.fromEntries(report.stages.map((s) => [s.stage, s.status])) };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'spillway-package-'));
  // A copy of what `npm pack` reads, with the repository's node_modules for the build tools.
  const source = path.join(work, 'source');
  mkdirSync(source);
  for (const entry of ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.types.json', 'bin', 'scripts', 'src', 'schemas', 'templates', 'docs']) {
    cpSync(path.join(repo, entry), path.join(source, entry), { recursive: true });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const packed = JSON.parse(await npm(['pack', '--json', '--pack-destination', work], source)) as { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string }[] }[];
  tarball = path.join(work, packed[0].filename);
  figures['tarball'] = `${(packed[0].size / 1024).toFixed(0)} kB packed, ${(packed[0].unpackedSize / 1024).toFixed(0)} kB unpacked, ${packed[0].entryCount} files`;
  writeFileSync(path.join(work, 'files.json'), JSON.stringify(packed[0].files.map((f) => f.path)));

  project = path.join(work, 'my-analysis');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'my-analysis', version: '1.0.0', private: true }, null, 2)}\n`);
}, 600_000);

afterAll(() => {
  process.stdout.write(`package figures: ${JSON.stringify(figures, null, 2)}\n`);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm tarball', () => {
  it('carries the engine, CLI, statistics, schemas, templates and declarations, and nothing of the replication or the tests', () => {
    const files = JSON.parse(readFileSync(path.join(work, 'files.json'), 'utf8')) as string[];
    for (const f of ['bin/spillway.js', 'dist/index.js', 'dist/index.d.ts', 'dist/engine/runner.js', 'dist/engine/stage-api.d.ts', 'dist/cli/main.js', 'dist/stats/count/index.js', 'dist/stats/count/index.d.ts', 'schemas/pipeline.schema.json', 'templates/init/pipeline.yaml', 'templates/init/stages/clean.py', 'package.json']) {
      expect(files, f).toContain(f);
    }
    const foreign = files.filter((f) => /^(data|stages|test|bench|src|report|artifacts)\//.test(f) || f.endsWith('.map') || f === 'pipeline.yaml' || /^schemas\/(raw|panel|groups)/.test(f));
    expect(foreign).toEqual([]);
  });
});

describe('a new project with the installed package', { timeout: 300_000 }, () => {
  it('installs from the tarball, scaffolds with init and runs at once', async () => {
    const started = performance.now();
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', `../${path.basename(tarball)}`], project);
    const installed = performance.now();
    expect(existsSync(path.join(project, 'node_modules', '.bin', 'spillway'))).toBe(true);

    const init = await spillway(['init']);
    expect(init.code, init.stderr).toBe(0);
    for (const f of ['pipeline.yaml', '.gitignore', 'README.md', 'stages/clean.py', 'stages/summarize.ts', 'schemas/rows.schema.json', 'data/measurements.csv']) {
      expect(existsSync(path.join(project, f)), f).toBe(true);
    }
    // the editor line points at the installed package's schema
    const firstLine = readFileSync(path.join(project, 'pipeline.yaml'), 'utf8').split('\n')[0];
    expect(firstLine).toBe('# yaml-language-server: $schema=./node_modules/spillway/schemas/pipeline.schema.json');
    expect(existsSync(path.join(project, 'node_modules/spillway/schemas/pipeline.schema.json'))).toBe(true);
    // the TypeScript stages import from 'spillway', not from a path
    expect(readFileSync(path.join(project, 'stages/summarize.ts'), 'utf8')).toContain("from 'spillway'");

    const first = await runJson();
    const ran = performance.now();
    expect(first.code, first.stderr).toBe(0);
    expect(first.statuses).toEqual({ clean: 'ran', summarize: 'ran', report: 'ran' });
    figures['npm install'] = `${((installed - started) / 1000).toFixed(1)} s`;
    figures['install → finished first run (install, init, run)'] = `${((ran - started) / 1000).toFixed(1)} s`;

    // the Python stage dropped the one negative value (south, day 7) and summarize counted what was left
    const rows = JSON.parse(readFileSync(path.join(project, 'artifacts/out/clean/rows.json'), 'utf8')) as { dropped: number; rows: unknown[] };
    expect(rows.dropped).toBe(1);
    expect(rows.rows).toHaveLength(29);
    expect(readFileSync(path.join(project, 'results/summary.md'), 'utf8')).toContain('| south | 9 |');
  });

  it('runs nothing the second time', async () => {
    const times: number[] = [];
    let last;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      last = await runJson();
      times.push(performance.now() - t);
    }
    expect(last!.statuses).toEqual({ clean: 'cached', summarize: 'cached', report: 'cached' });
    // the no-op run as the README calls it (node_modules/.bin/spillway, no npm in between), median of 3
    figures['no-op run (./node_modules/.bin/spillway run), median of 3'] = `${(times.sort((a, b) => a - b)[1] / 1000).toFixed(2)} s`;
  });

  it('re-runs only the stages downstream of an edited param', async () => {
    const file = path.join(project, 'pipeline.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('trim: 0.1 ');
    writeFileSync(file, text.replace('trim: 0.1 ', 'trim: 0.2 '));
    const edited = await runJson();
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.statuses).toEqual({ clean: 'cached', summarize: 'ran', report: 'ran' });
    expect(readFileSync(path.join(project, 'results/summary.md'), 'utf8')).toContain('trimmed mean (20%)');
  });

  it('validates the Python stage\'s output against its schema', async () => {
    // every value is below 1000: `rows` is empty, and the schema asks for at least one row
    const failed = await runJson(['--set', 'clean.min_value=1000']);
    expect(failed.code).toBe(1);
    expect(failed.statuses.clean).toBe('failed');
    expect(failed.report.stages[0].error_kind).toBe('schema');
    expect(failed.statuses.summarize).toBe('skipped');
  });

  it('refuses to init over the project', async () => {
    const before = readFileSync(path.join(project, 'pipeline.yaml'), 'utf8');
    const again = await spillway(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a spillway project/);
    expect(readFileSync(path.join(project, 'pipeline.yaml'), 'utf8')).toBe(before);
  });

  it('audits, and exports a package that audits clean', async () => {
    const audit = await spillway(['audit', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    expect((JSON.parse(audit.stdout) as { ok: boolean }).ok).toBe(true);

    const exported = await spillway(['export', '../replication', '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    const dir = path.join(work, 'replication');
    for (const f of ['pipeline.lock', 'pipeline.yaml', 'stages/clean.py', 'stages/summarize.ts', 'ro-crate-metadata.json', 'prov.json', 'raw-inputs.sha256']) {
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    }
    const inside = await spillway(['audit', '--json'], dir);
    expect(inside.code, inside.stderr).toBe(0);
    expect(readdirSync(dir)).not.toContain('node_modules');
    // the package carries the installed spillway, packed again from node_modules/spillway, and installs on its own
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ spillway: 'file:vendor/spillway-0.1.0.tgz' });
    await npm(['ci', '--prefer-offline'], dir);
    const own = await exec(path.join(dir, 'node_modules', '.bin', 'spillway'), ['audit', '--json'], dir);
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect((JSON.parse(own.stdout) as { findings: { kind: string }[] }).findings.map((f) => f.kind)).toEqual(['not_packaged']);
  });

  it('type-checks the scaffolded stages against the installed declarations', async () => {
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-dev', 'typescript@5.9', '@types/node@20'], project);
    const good = await tsc();
    expect(good.code, good.stdout + good.stderr).toBe(0);
    // and a wrong use of the API is caught: a stage that returns a number
    writeFileSync(path.join(project, 'stages/wrong.ts'), "import { type StageFunction } from 'spillway';\nconst wrong: StageFunction = () => 42;\nexport default wrong;\n");
    const bad = await tsc();
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/stages\/wrong\.ts/);
    rmSync(path.join(project, 'stages/wrong.ts'));
  });
});
