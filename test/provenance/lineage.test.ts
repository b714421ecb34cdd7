import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLineage, lineage } from '../../src/provenance/lineage.js';
import { buildFixture, type Fixture } from './fixture.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await buildFixture();
});
afterAll(async () => {
  await rm(fx.root, { recursive: true, force: true });
});

describe('lineage', () => {
  it('traces a stage output back through stages, params, code and raw files', () => {
    const l = lineage(fx.lock, 'model.fit');
    expect(l.resolved).toEqual({ kind: 'artifact', artifacts: [expect.objectContaining({ ref: 'model.fit', hash: fx.lock.stages.model.outs.fit.hash })] });
    expect(l.stages).toEqual(['ingest', 'model']);
    const model = l.made_by[0];
    expect(model).toMatchObject({ stage: 'model', params: { 'model.k': 3, 'model.weights': [1, 2] }, duration_ms: 420, started: '2026-11-28T09:00:01.300Z' });
    expect(model.inputs).toHaveLength(1);
    expect(model.inputs![0]).toMatchObject({ name: 'panel', from: 'ingest.panel', hash: fx.lock.stages.ingest.outs.panel.hash });
    const ingest = model.inputs![0].made_by;
    expect(ingest.code?.files.map((f) => f.path)).toEqual(['stages/ingest.ts', 'src/lib/count.ts']);
    expect(ingest.params).toEqual({ 'ingest.pattern': 'nano' });
    expect(l.raw_files.map((f) => f.path)).toEqual(['data/raw/patents.csv', 'data/raw/regions.csv']);
    expect(l.raw_files[0].hash).toBe(fx.lock.stages.ingest.deps[0].hash);
  });

  it('resolves a file inside a dir output and expands a shared upstream only once', () => {
    const l = lineage(fx.lock, 'report/index.html');
    expect(l.resolved.kind).toBe('artifact');
    if (l.resolved.kind !== 'artifact') return;
    expect(l.resolved.artifacts[0]).toMatchObject({ ref: 'report.site', file: { path: 'report/index.html', hash: fx.lock.stages.report.outs.site.files![0].hash } });
    expect(l.stages).toEqual(['ingest', 'model', 'report']);
    // report reads fit (→ model → ingest) and panel (→ ingest): ingest is expanded under model, then referenced
    const [fit, panel] = l.made_by[0].inputs!;
    expect(fit.made_by.inputs![0].made_by.stage).toBe('ingest');
    expect(fit.made_by.inputs![0].made_by.shown_above).toBeUndefined();
    expect(panel.made_by).toEqual({ stage: 'ingest', shown_above: true });
  });

  it('resolves a stage name to all its outputs and a raw file to the stages that read it', () => {
    expect(lineage(fx.lock, 'ingest').resolved).toMatchObject({ kind: 'artifact', artifacts: [{ ref: 'ingest.panel' }] });
    expect(lineage(fx.lock, 'data/raw/regions.csv').resolved).toMatchObject({ kind: 'raw', declared_by: ['ingest'], hash: fx.lock.stages.ingest.deps[1].hash });
    expect(lineage(fx.lock, 'artifacts/out/model/fit.json').resolved).toMatchObject({ artifacts: [{ ref: 'model.fit' }] });
  });

  it('rejects an unknown target listing what exists', () => {
    expect(() => lineage(fx.lock, 'estimate.models')).toThrow(/not an output, stage or file/);
    try {
      lineage(fx.lock, 'nope');
    } catch (e) {
      expect((e as { details: { hint: string } }).details.hint).toBe('recorded outputs: ingest.panel, model.fit, report.site');
    }
  });

  it('prints a tree', () => {
    const text = formatLineage(lineage(fx.lock, 'report.site'));
    expect(text).toContain('report.site  sha256:');
    expect(text).toContain('└─ made by stage report  ran 2026-11-28T09:00:01.800Z  95 ms');
    expect(text).toContain('param model.k = 3');
    expect(text).toContain('raw data/raw/patents.csv  sha256:');
    expect(text).toContain('made by stage ingest (shown above)');
    expect(text.trim().split('\n').at(-1)).toBe('3 stage(s), 2 raw file(s)');
    expect(text).toContain('│  └─ src/lib/count.ts  sha256:');
    const brief = formatLineage(lineage(fx.lock, 'report.site'), { brief: true });
    expect(brief).not.toContain('src/lib/count.ts');
    expect(brief).toMatch(/code sha256:[0-9a-f]{12}  stages\/ingest\.ts  \(2 files\)/);
  });
});
