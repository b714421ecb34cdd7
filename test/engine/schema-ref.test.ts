// Output schemas may $ref a sibling schema file; the violation names the rule inside the referenced file.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/engine/hash.js';
import { runPipeline } from '../../src/engine/index.js';
import { localRefs } from '../../src/engine/schema-refs.js';
import { bin, cleanupProjects, edit, writeProject } from './helpers.js';

afterAll(cleanupProjects);

it('resolves a relative $ref against the schema file and validates through it', async () => {
  const dir = writeProject({
    'schemas/common.schema.json': '{ "definitions": { "count": { "type": "integer", "minimum": 0 } } }',
    'schemas/a.schema.json': '{ "type": "object", "required": ["n"], "properties": { "n": { "$ref": "common.schema.json#/definitions/count" } } }',
    'stages/a.ts': 'export default () => ({ a: { n: -1 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
  });
  const bad = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') });
  expect(bad.stages[0].status).toBe('failed');
  expect(bad.stages[0].error).toBe('stage "a", output "a" violates schemas/a.schema.json at /n: must be >= 0 [rule minimum (common.schema.json#/definitions/count/minimum)]');
  edit(dir, 'stages/a.ts', (t) => t.replace('-1', '2'));
  const good = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') });
  expect(good.stages[0].status).toBe('ran');
});

// A referenced schema file is part of the output's contract: an edit to it used to leave the stage cached (its key held
// only the top schema's hash), so outputs that break the new rule were reported up to date, exit 0; within one process
// (watch) the compiled validator was reused besides. Tests written to fail first.
describe('a file an output schema refers to ($ref)', () => {
  const files = {
    'schemas/common.schema.json': '{ "definitions": { "count": { "type": "integer", "minimum": 0 } } }',
    'schemas/a.schema.json': '{ "type": "object", "required": ["n"], "properties": { "n": { "$ref": "common.schema.json#/definitions/count" } } }',
    'stages/a.ts': 'export default () => ({ a: { n: 5 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
  };

  it('enters the key and the lockfile: an edit to it checks the outputs again, and says why', async () => {
    const dir = writeProject(files);
    const pipelineFile = join(dir, 'pipeline.yaml');
    expect((await runPipeline({ pipelineFile })).stages[0].status).toBe('ran');
    const lock = JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8')) as { stages: { a: { outs: { a: { schema: { path: string; hash: string; refs: { path: string; hash: string }[] } } } } } };
    const schema = lock.stages.a.outs.a.schema;
    expect(schema.path).toBe('schemas/a.schema.json');
    expect(schema.refs).toEqual([{ path: 'schemas/common.schema.json', hash: hashBytes(readFileSync(join(dir, 'schemas/common.schema.json'))) }]);
    expect((await runPipeline({ pipelineFile })).stages[0].status).toBe('cached');

    // the same process (as watch runs), the rule tightened in the referenced file only
    edit(dir, 'schemas/common.schema.json', (t) => t.replace('"minimum": 0', '"minimum": 0, "maximum": 3'));
    const status = await runPipeline({ pipelineFile, dryRun: true });
    expect(status.stages[0].status).toBe('would-run');
    expect(status.stages[0].reason).toBe('schema schemas/common.schema.json (referred to by schemas/a.schema.json) of output a changed');
    const tightened = await runPipeline({ pipelineFile });
    expect(tightened.stages[0].status).toBe('failed');
    expect(tightened.stages[0].error).toBe('stage "a", output "a" violates schemas/a.schema.json at /n: must be <= 3 [rule maximum (common.schema.json#/definitions/count/maximum)]');

    // and from the command line, a new process
    const cli = spawnSync(process.execPath, [bin, 'run', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect((JSON.parse(cli.stdout) as { stages: { status: string }[] }).stages[0].status).toBe('failed');
    edit(dir, 'stages/a.ts', (t) => t.replace('n: 5', 'n: 2'));
    expect((await runPipeline({ pipelineFile })).stages[0].status).toBe('ran');
  });

  it('is audited: an edit made since the run is reported', async () => {
    const dir = writeProject(files);
    expect((await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') })).stages[0].status).toBe('ran');
    expect(spawnSync(process.execPath, [bin, 'audit'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
    edit(dir, 'schemas/common.schema.json', (t) => t.replace('"minimum": 0', '"minimum": 1'));
    const audit = spawnSync(process.execPath, [bin, 'audit', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(audit.status).toBe(6);
    expect(audit.stdout).toContain('schemas/common.schema.json');
  });

  it('a reference to a missing file fails the stage, naming both files', async () => {
    const dir = writeProject({ ...files, 'schemas/a.schema.json': files['schemas/a.schema.json'].replace('common.schema.json', 'gone.schema.json') });
    const report = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') });
    expect(report.stages[0].status).toBe('failed');
    expect(report.stages[0].error).toMatch(/schema schemas\/a\.schema\.json refers to gone\.schema\.json, which does not exist \(schemas\/gone\.schema\.json\)/);
  });

  it('is watched: watch mode observes the referenced files beside the schema', async () => {
    const dir = writeProject(files);
    const { loadPipeline, watchTargets } = await import('../../src/engine/index.js');
    const targets = await watchTargets(await loadPipeline(join(dir, 'pipeline.yaml')));
    expect(targets.stages.a?.schemas).toEqual([join(dir, 'schemas/a.schema.json'), join(dir, 'schemas/common.schema.json')]);
    expect(targets.files).toContain(join(dir, 'schemas/common.schema.json'));
  });

  it('finds references at any depth and through other files, once each; not "#…" ones, URIs, or those of a schema with an $id', () => {
    expect(localRefs({ a: { $ref: 'x.json#/d' }, b: [{ $ref: '#/local' }, { $ref: 'https://example.org/s.json' }, { c: { $ref: 'sub/y.json' } }], d: { $ref: 'x.json' } })).toEqual(['sub/y.json', 'x.json']);
    expect(localRefs({ $id: 'https://example.org/top.json', a: { $ref: 'x.json' } })).toEqual([]);
    expect(localRefs('not a schema')).toEqual([]);
  });
});
