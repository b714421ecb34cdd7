// Session 24b fault pass: a "$ref" whose target is a directory (schemas/common.schema.json replaced by a directory of
// that name). The stage failed with "EISDIR: illegal operation on a directory, read", kind "internal", naming neither
// the schema nor the reference. It now fails as the invalid pipeline it is, naming both files, as a missing one does;
// and watch mode observes the path, so replacing the directory with the file runs again. Tests written to fail first.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadPipeline, runPipeline, watchTargets } from '../../src/engine/index.js';
import { cleanupProjects, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

it('a reference to a directory fails the stage naming both files, and is watched', async () => {
  const dir = writeProject({
    'schemas/a.schema.json': '{ "type": "object", "properties": { "n": { "$ref": "common.schema.json#/definitions/count" } } }',
    'stages/a.ts': 'export default () => ({ a: { n: 5 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
  });
  mkdirSync(join(dir, 'schemas/common.schema.json'));
  const report = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') });
  expect(report.stages[0].status).toBe('failed');
  expect(report.stages[0].error_kind).toBe('invalidPipeline');
  expect(report.stages[0].error).toMatch(/schema schemas\/a\.schema\.json refers to common\.schema\.json, which is not a file \(schemas\/common\.schema\.json\)/);
  const targets = await watchTargets(await loadPipeline(join(dir, 'pipeline.yaml')));
  expect(targets.stages.a?.schemas).toEqual([join(dir, 'schemas/a.schema.json'), join(dir, 'schemas/common.schema.json')]);
});
