// The replication package stands alone: export this repository's replication (run in a temp copy) with its data,
// then, inside the package and with nothing but Node and npm, run the commands its REPLICATION.md documents, as
// written: install the recorded versions, audit, re-run every stage, audit again; the outputs have the same hashes.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockfile } from '../../src/engine/lockfile-format.js';
import { spillway } from './real-project.js';

const repo = path.resolve(import.meta.dirname, '../..');
let work: string;
let project: string;
let pkg: string;
let recorded: Lockfile;

/** A user's shell: without the npm_* variables `npm test` passes to its children. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, NO_COLOR: '1' };
}

function sh(command: string, cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const outputHashes = (lock: Lockfile) => Object.fromEntries(Object.entries(lock.stages).map(([name, s]) => [name, Object.fromEntries(Object.entries(s.outs).map(([o, out]) => [o, out.hash]))]));

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'spillway-standalone-'));
  project = path.join(work, 'project');
  for (const entry of ['pipeline.yaml', 'stages', 'schemas', 'data', 'src', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    cpSync(path.join(repo, entry), path.join(project, entry), { recursive: true });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  const run = await spillway(['run'], project, 300_000);
  expect(run.code, run.stderr).toBe(0);
  recorded = JSON.parse(readFileSync(path.join(project, 'pipeline.lock'), 'utf8')) as Lockfile;
  pkg = path.join(work, 'replication');
  const exported = await spillway(['export', pkg, '--with-data'], project, 300_000);
  expect(exported.code, exported.stderr).toBe(0);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('an exported replication package, on its own', () => {
  it('holds spillway itself and pins the npm packages the stages imported at their recorded versions', () => {
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts?: Record<string, string> };
    expect(manifest.dependencies.spillway).toMatch(/^file:vendor\/spillway-[\d.]+\.tgz$/);
    expect(existsSync(path.join(pkg, manifest.dependencies.spillway.slice('file:'.length)))).toBe(true);
    const imported: Record<string, string> = {};
    for (const s of Object.values(recorded.stages)) Object.assign(imported, s.code.packages ?? {});
    expect(Object.keys(imported).length).toBeGreaterThan(3);
    for (const [name, version] of Object.entries(imported)) expect(manifest.dependencies[name], name).toBe(version);
    // nothing that needs this repository: no build script, no tsconfig.build.json
    expect(manifest.scripts?.prepare).toBeUndefined();
    const lock = JSON.parse(readFileSync(path.join(pkg, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean; resolved?: string }> };
    expect(lock.packages['node_modules/spillway'].resolved).toBe(manifest.dependencies.spillway);
    for (const [name, version] of Object.entries(imported)) expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
  });

  it('installs, audits and re-runs to the same hashes with the commands its REPLICATION.md gives', async () => {
    const readme = readFileSync(path.join(pkg, 'REPLICATION.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(readme)![1];
    const commands = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l && !l.startsWith('#'));
    expect(commands).toEqual(['npm ci', './node_modules/.bin/spillway audit', './node_modules/.bin/spillway run --force', './node_modules/.bin/spillway audit']);
    for (const command of commands) {
      const result = await sh(command, pkg);
      expect(result.code, `${command}:\n${result.out}`).toBe(0);
    }
    const rerun = JSON.parse(readFileSync(path.join(pkg, 'pipeline.lock'), 'utf8')) as Lockfile;
    // every stage ran again inside the package (new start times) and made the same bytes
    for (const [name, stage] of Object.entries(rerun.stages)) expect(stage.run.started, name).not.toBe(recorded.stages[name].run.started);
    expect(outputHashes(rerun)).toEqual(outputHashes(recorded));
    expect(Object.fromEntries(Object.entries(rerun.stages).map(([n, s]) => [n, s.key]))).toEqual(Object.fromEntries(Object.entries(recorded.stages).map(([n, s]) => [n, s.key])));
  }, 600_000);
});
