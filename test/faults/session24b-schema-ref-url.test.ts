// Session 24b fault pass: a "$ref" is a URI reference, resolved by ajv against the schema's file: URL, and ajv loads
// every file: URL it ends at. schema-refs.ts took any ref with a scheme for a remote one and joined the others to the
// directory as plain paths. So (1) "file:///…/common.schema.json#/…" (an absolute file URL) never entered the key: an edit
// tightening the rule there left the stage cached, exit 0, its outputs never checked against it; (2) a ref with a
// query ("common.schema.json?v=2", which ajv loads from common.schema.json) failed the stage as "does not exist".
// Tests written to fail first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { runPipeline } from '../../src/engine/index.js';
import { cleanupProjects, edit, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const project = (ref: (dir: string) => string) => {
  const dir = writeProject({
    'schemas/common.schema.json': '{ "definitions": { "count": { "type": "integer", "minimum": 0 } } }',
    'stages/a.ts': 'export default () => ({ a: { n: 5 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
  });
  writeFileSync(join(dir, 'schemas/a.schema.json'), JSON.stringify({ type: 'object', required: ['n'], properties: { n: { $ref: `${ref(dir)}#/definitions/count` } } }));
  return dir;
};

it('an absolute file: URL reference enters the key: an edit to the file checks the outputs again', async () => {
  const dir = project((d) => pathToFileURL(join(d, 'schemas/common.schema.json')).href);
  const pipelineFile = join(dir, 'pipeline.yaml');
  expect((await runPipeline({ pipelineFile })).stages[0].status).toBe('ran');
  expect((await runPipeline({ pipelineFile })).stages[0].status).toBe('cached');
  edit(dir, 'schemas/common.schema.json', (t) => t.replace('"minimum": 0', '"minimum": 0, "maximum": 3'));
  const again = await runPipeline({ pipelineFile });
  expect(again.stages[0].status).toBe('failed');
  expect(again.stages[0].error).toMatch(/must be <= 3/);
});

it('a reference with a query is the file without it, as ajv loads it', async () => {
  const dir = project(() => 'common.schema.json?v=2');
  const pipelineFile = join(dir, 'pipeline.yaml');
  const first = await runPipeline({ pipelineFile });
  expect(first.stages[0].error).toBeUndefined();
  expect(first.stages[0].status).toBe('ran');
  edit(dir, 'schemas/common.schema.json', (t) => t.replace('"minimum": 0', '"minimum": 0, "maximum": 3'));
  const again = await runPipeline({ pipelineFile });
  expect(again.stages[0].status).toBe('failed');
  expect(again.stages[0].error).toMatch(/must be <= 3/);
});
