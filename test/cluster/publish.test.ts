// What a SLURM job does on its node after the stage succeeded (publishOutputs): every output checked (JSON against its
// schema, with the messages of a local run) before anything is stored, then published into the store atomically; and
// the engine's side (adoptPublished): a published object is recorded only when its bytes match its hash here.
// Runs without a cluster: the node side is plain files.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishOutputs } from '../../src/engine/executors/slurm-stage.js';
import type { StageFailure } from '../../src/engine/executor.js';
import type { Fingerprint } from '../../src/engine/fingerprint.js';
import { hashBytes, StatCache } from '../../src/engine/hash.js';
import type { LockedOutput } from '../../src/engine/lockfile-format.js';
import { adoptPublished } from '../../src/engine/outputs.js';
import type { Pipeline, StageDecl } from '../../src/engine/pipeline.js';
import { objectPath } from '../../src/engine/store.js';
import { tempProject, type TempProject } from './helpers.js';

const walk = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)])) : []);

describe('publishing outputs on the node', () => {
  let project: TempProject;
  afterEach(() => project?.cleanup());

  function finished(json: Record<string, string>, files: Record<string, string> = {}, dirs: Record<string, Record<string, string>> = {}) {
    project = tempProject({ 'schemas/point.schema.json': '{ "type": "object", "required": ["x"], "properties": { "x": { "type": "number" } } }\n' });
    const job = project.job('fit@k=2', 'stages/none.ts', { jsonOuts: Object.keys(json), fileOuts: { ...Object.fromEntries(Object.keys(files).map((n) => [n, 'file' as const])), ...Object.fromEntries(Object.keys(dirs).map((n) => [n, 'dir' as const])) } });
    const schema = { path: 'schemas/point.schema.json', hash: hashBytes(readFileSync(join(project.root, 'schemas/point.schema.json'))) };
    job.outSchemas = Object.fromEntries(Object.keys(json).map((n) => [n, schema]));
    mkdirSync(join(job.workDir, 'json'), { recursive: true });
    mkdirSync(join(job.workDir, 'files'), { recursive: true });
    for (const [n, text] of Object.entries(json)) writeFileSync(join(job.workDir, 'json', `${n}.json`), text);
    for (const [n, text] of Object.entries(files)) writeFileSync(join(job.workDir, 'files', n), text);
    for (const [n, entries] of Object.entries(dirs)) {
      for (const [f, text] of Object.entries(entries)) {
        mkdirSync(join(job.workDir, 'files', n), { recursive: true });
        writeFileSync(join(job.workDir, 'files', n, f), text);
      }
    }
    return job;
  }

  it('valid outputs are stored under their hashes, with no temp file left, and described for the engine', async () => {
    const job = finished({ point: '{"x": 1.5}' }, { table: 'x\n1.5\n' }, { plots: { 'a.txt': 'A', 'b.txt': 'B' } });
    const result = await publishOutputs(job);
    expect('published' in result).toBe(true);
    const published = (result as { published: Record<string, LockedOutput> }).published;
    expect(published.point).toMatchObject({ kind: 'json', hash: hashBytes('{"x": 1.5}'), size: 10, schema: job.outSchemas?.point });
    expect(readFileSync(join(project.root, published.point.object), 'utf8')).toBe('{"x": 1.5}');
    expect(readFileSync(join(project.root, published.table.object), 'utf8')).toBe('x\n1.5\n');
    expect(published.plots.files?.map((f) => f.path)).toEqual(['a.txt', 'b.txt']);
    const objects = walk(join(project.root, 'artifacts/objects'));
    expect(objects).toHaveLength(5); // point, table, the two plot files and the plots manifest
    expect(objects.filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('an output that violates its schema fails as in a local run, and nothing is stored', async () => {
    const job = finished({ good: '{"x": 2}', bad: '{"x": "two"}' }, { table: 'x\n' });
    const failure = (await publishOutputs(job)) as StageFailure;
    expect(failure.kind).toBe('schema');
    expect(failure.message).toBe('stage "fit@k=2", output "bad" violates schemas/point.schema.json at /x: must be number [rule type (#/properties/x/type)]');
    expect(walk(join(project.root, 'artifacts/objects'))).toEqual([]);
  });

  it('a missing output, or a schema edited after the job was submitted, fails and stores nothing', async () => {
    let job = finished({ point: '{"x": 1}' }, { table: 'x\n' });
    writeFileSync(join(project.root, 'schemas/point.schema.json'), '{ "type": "object" }\n');
    expect(((await publishOutputs(job)) as StageFailure).message).toContain('its schema schemas/point.schema.json changed while the job was queued');
    project.cleanup();
    job = finished({ point: '{"x": 1}' }, { table: 'x\n' });
    job.jsonOuts.push('missing');
    job.outSchemas = { ...job.outSchemas, missing: job.outSchemas?.point as { path: string; hash: string } };
    expect(await publishOutputs(job)).toEqual({ kind: 'outputs', message: 'stage "fit@k=2" did not write its JSON output "missing"' });
    expect(walk(join(project.root, 'artifacts/objects'))).toEqual([]);
  });

  it('the engine records a published object only when its bytes match its hash: a damaged one is refused and quarantined', async () => {
    const job = finished({ point: '{"x": 3}' });
    const { published } = (await publishOutputs(job)) as { published: Record<string, LockedOutput> };
    const pipeline = { root: project.root } as Pipeline;
    const stage = { name: 'fit@k=2', outs: [{ name: 'point', kind: 'json', schema: 'schemas/point.schema.json' }] } as unknown as StageDecl;
    const fp = { schemas: job.outSchemas } as unknown as Fingerprint;
    const ok = adoptPublished(pipeline, stage, fp, published, new StatCache(project.root, undefined));
    expect('outs' in ok && ok.outs.point.hash).toBe(published.point.hash);
    expect(readFileSync(join(project.root, 'artifacts/out/fit@k=2/point.json'), 'utf8')).toBe('{"x": 3}');
    // a node (or anything else) leaves different bytes under that hash
    writeFileSync(objectPath(project.root, published.point.hash), '{"x": 4}');
    const refused = adoptPublished(pipeline, stage, fp, published, new StatCache(project.root, undefined)) as StageFailure;
    expect(refused.kind).toBe('corrupt');
    expect(refused.message).toContain('does not match its hash');
    expect(existsSync(objectPath(project.root, published.point.hash))).toBe(false);
    expect(walk(join(project.root, 'artifacts/quarantine'))).toHaveLength(1);
  });
});
