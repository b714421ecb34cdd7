import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audit, type PipelineView } from '../../src/provenance/audit.js';
import { projectFromPipelineFile } from '../../src/provenance/project.js';
import { buildFixture, flipByte, type Fixture } from './fixture.js';

let fx: Fixture;
const project = () => projectFromPipelineFile(path.join(fx.root, 'pipeline.yaml'));

beforeEach(async () => {
  fx = await buildFixture();
});
afterEach(async () => {
  await rm(fx.root, { recursive: true, force: true });
});

describe('audit against the lockfile', () => {
  it('passes on an untouched project and counts what it re-hashed', async () => {
    const report = await audit(project());
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    // 2 json outputs + 1 dir output; store: 2 json objects + the dir's manifest + its 2 files; 2 deps; 4 code files
    expect(report.checked).toMatchObject({ stages: 3, artifacts: 3, store_objects: 5, deps: 2, code_files: 4 });
    expect(report.stages.map((s) => s.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('names a store object whose bytes were flipped', async () => {
    const object = fx.lock.stages.model.outs.fit.object;
    await flipByte(fx.root, object, 3);
    const report = await audit(project());
    expect(report.ok).toBe(false);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ kind: 'corrupted', stage: 'model', subject: 'object', name: 'fit', path: object, expected: fx.lock.stages.model.outs.fit.hash });
    expect(report.findings[0].actual).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report.findings[0].actual).not.toBe(fx.lock.stages.model.outs.fit.hash);
    expect(report.stages.find((s) => s.stage === 'model')?.status).toBe('corrupted');
  });

  it('names a corrupted readable copy and a corrupted file inside a dir output', async () => {
    await flipByte(fx.root, 'artifacts/out/ingest/panel.json', 0);
    await flipByte(fx.root, 'report/table.csv', 5);
    const report = await audit(project());
    const corrupted = report.findings.filter((f) => f.kind === 'corrupted').map((f) => f.path).sort();
    expect(corrupted).toEqual(['artifacts/out/ingest/panel.json', 'report/table.csv']);
  });

  it('reports a deleted artifact as missing', async () => {
    await rm(path.join(fx.root, 'report/index.html'));
    const report = await audit(project());
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'missing', stage: 'report', subject: 'output', path: 'report/index.html' })]);
  });

  it('reports a stage stale when a dep it read has changed', async () => {
    await fx.write('data/raw/patents.csv', 'id,year,region\n1,2001,CN-BJ\n');
    const report = await audit(project());
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'ingest', subject: 'dep', path: 'data/raw/patents.csv' })]);
  });

  it('reports a code change, including in a locally imported file', async () => {
    await fx.write('src/lib/count.ts', 'export const count = (xs: unknown[]) => xs.length + 0;\n');
    const report = await audit(project());
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'code_changed', stage: 'ingest', subject: 'code', path: 'src/lib/count.ts' })]);
    expect(report.stages.find((s) => s.stage === 'ingest')?.status).toBe('code_changed');
  });

  it('reports an input whose upstream output has since changed in the lockfile', async () => {
    const lock = structuredClone(fx.lock);
    lock.stages.report.inputs.fit.hash = 'sha256:' + '0'.repeat(64);
    await fx.write('pipeline.lock', JSON.stringify(lock));
    const report = await audit(project());
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'report', subject: 'input', name: 'fit' })]);
  });

  it('treats missing deps of a package exported without data as not packaged, not as failures', async () => {
    await rm(path.join(fx.root, 'data'), { recursive: true });
    const strict = await audit(project());
    expect(strict.ok).toBe(false);
    expect(strict.findings.map((f) => f.kind)).toEqual(['missing', 'missing']);
    const lenient = await audit(project(), { depsNotPackaged: true });
    expect(lenient.ok).toBe(true);
    expect(lenient.findings.map((f) => f.kind)).toEqual(['not_packaged', 'not_packaged']);
  });
});

describe('audit against the current pipeline', () => {
  const view = (over: Partial<{ params: Record<string, Record<string, unknown>>; deps: Record<string, string[]>; code: Record<string, string[]>; stages: string[] }> = {}): PipelineView => {
    const params = over.params ?? { ingest: { 'ingest.pattern': 'nano' }, model: { 'model.k': 3, 'model.weights': [1, 2] }, report: {} };
    const deps = over.deps ?? { ingest: ['data/raw/patents.csv', 'data/raw/regions.csv'] };
    const code = over.code ?? { ingest: ['stages/ingest.ts', 'src/lib/count.ts'], model: ['stages/model.ts'], report: ['stages/report.ts'] };
    return {
      stages: over.stages ?? ['ingest', 'model', 'report'],
      params: (s) => params[s] ?? {},
      deps: async (s) => deps[s] ?? [],
      codeFiles: async (s) => code[s] ?? [],
    };
  };

  it('passes when the pipeline still declares what was recorded', async () => {
    const report = await audit(project(), { pipeline: view() });
    expect(report.findings).toEqual([]);
    expect(report.checked.params).toBe(3);
  });

  it('reports a changed param value with old and new value', async () => {
    const report = await audit(project(), { pipeline: view({ params: { ingest: { 'ingest.pattern': 'nano' }, model: { 'model.k': 4, 'model.weights': [1, 2] }, report: {} } }) });
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'model', subject: 'param', name: 'model.k', expected: 3, actual: 4, message: 'param model.k changed: 3 → 4' })]);
  });

  it('reports a new file matching a dep glob, a new code file, a never-run and an orphaned stage', async () => {
    const report = await audit(project(), {
      pipeline: view({
        stages: ['ingest', 'model', 'plot'],
        deps: { ingest: ['data/raw/funding.csv', 'data/raw/patents.csv', 'data/raw/regions.csv'] },
        code: { ingest: ['stages/ingest.ts', 'src/lib/count.ts', 'src/lib/extra.ts'], model: ['stages/model.ts'] },
      }),
    });
    const summary = report.findings.map((f) => `${f.kind} ${f.stage} ${f.name ?? ''}`.trim());
    expect(summary).toEqual(['stale ingest data/raw/funding.csv', 'code_changed ingest src/lib/extra.ts', 'not_run plot', 'orphaned report']);
    expect(report.ok).toBe(false);
  });
});

describe('audit of a directory dep', () => {
  it('re-hashes the directory exactly as the engine hashes it, and notices a changed file in it', async () => {
    const { hashDir } = await import('../../src/engine/store.js');
    const { StatCache } = await import('../../src/engine/hash.js');
    await fx.write('data/aux/one.txt', 'one\n');
    await fx.write('data/aux/nested/two.txt', 'two\n');
    const engineHash = hashDir(path.join(fx.root, 'data/aux'), new StatCache(fx.root));
    const lock = structuredClone(fx.lock);
    lock.stages.model.deps = [{ path: 'data/aux/', hash: engineHash.hash, size: engineHash.size }];
    await fx.write('pipeline.lock', JSON.stringify(lock));
    expect((await audit(project())).findings).toEqual([]);
    await fx.write('data/aux/nested/two.txt', 'TWO\n');
    expect((await audit(project())).findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'model', subject: 'dep', path: 'data/aux/' })]);
  });
});

describe('audit of imported npm package versions (code.packages)', () => {
  const withPackages = async () => {
    const lock = structuredClone(fx.lock);
    lock.stages.ingest.code.packages = { 'csv-parse': '6.2.1', yaml: '2.9.1' };
    await fx.write('pipeline.lock', JSON.stringify(lock));
  };
  const view = (installed: Record<string, string>): PipelineView => ({
    stages: ['ingest', 'model', 'report'],
    params: (s) => ({ ingest: { 'ingest.pattern': 'nano' }, model: { 'model.k': 3, 'model.weights': [1, 2] } })[s] ?? {},
    deps: async (s) => (s === 'ingest' ? ['data/raw/patents.csv', 'data/raw/regions.csv'] : []),
    codeFiles: async (s) => ({ ingest: ['stages/ingest.ts', 'src/lib/count.ts'], model: ['stages/model.ts'], report: ['stages/report.ts'] })[s] ?? [],
    packageVersion: (name) => installed[name] ?? 'missing',
  });

  it('passes when the recorded versions are installed, and names an upgrade as a code change', async () => {
    await withPackages();
    const same = await audit(project(), { pipeline: view({ 'csv-parse': '6.2.1', yaml: '2.9.1' }) });
    expect(same.findings).toEqual([]);
    expect(same.checked.packages).toBe(2);
    const upgraded = await audit(project(), { pipeline: view({ 'csv-parse': '6.2.1', yaml: '2.10.0' }) });
    expect(upgraded.findings).toEqual([expect.objectContaining({ kind: 'code_changed', stage: 'ingest', name: 'npm:yaml', expected: '2.9.1', actual: '2.10.0', message: 'npm package yaml imported by ingest changed: 2.9.1 → 2.10.0' })]);
  });

  it('a package that is not installed fails in a project but is only reported inside an exported package', async () => {
    await withPackages();
    const inProject = await audit(project(), { pipeline: view({ yaml: '2.9.1' }) });
    expect(inProject.ok).toBe(false);
    expect(inProject.findings).toEqual([expect.objectContaining({ kind: 'code_changed', name: 'npm:csv-parse', actual: 'missing' })]);
    const inPackage = await audit(project(), { pipeline: view({ yaml: '2.9.1' }), modulesNotInstalled: true });
    expect(inPackage.ok).toBe(true);
    expect(inPackage.findings).toEqual([expect.objectContaining({ kind: 'not_packaged', name: 'npm:csv-parse' })]);
  });
});
