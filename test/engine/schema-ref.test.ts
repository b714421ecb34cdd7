// Output schemas may $ref a sibling schema file; the violation names the rule inside the referenced file.
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runPipeline } from '../../src/engine/index.js';
import { cleanupProjects, edit, writeProject } from './helpers.js';

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
