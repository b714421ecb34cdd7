// Session 24b fault pass: an object {"$ref": "…"} that is DATA in a schema (the value of "const", "enum", "default",
// "examples") is no reference: ajv never loads it. localRefs took it for one, so a schema that had always compiled and
// validated failed its stage ("refers to elsewhere.json, which does not exist"), exit 1, from 94e6da5 on; and one naming
// an existing file put that file into the key. A property NAMED "const" (or "enum", "$ref") inside "properties" is a
// subschema all the same, and its references still count. Tests written to fail first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runPipeline } from '../../src/engine/index.js';
import { localRefs } from '../../src/engine/schema-refs.js';
import { cleanupProjects, edit, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

it('a "$ref" inside const, enum, default or examples is data, not a reference', async () => {
  const schema = {
    type: 'object',
    properties: {
      n: { type: 'integer', default: { $ref: 'd.json' } },
      doc: { const: { $ref: 'elsewhere.json' } },
      kind: { enum: [{ $ref: 'e.json' }, 1] },
    },
    examples: [{ $ref: 'x.json' }],
  };
  expect(localRefs(schema)).toEqual([]);
  const dir = writeProject({
    'schemas/a.schema.json': JSON.stringify(schema),
    'stages/a.ts': 'export default () => ({ a: { n: 5 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
  });
  const report = await runPipeline({ pipelineFile: join(dir, 'pipeline.yaml') });
  expect(report.stages[0].error).toBeUndefined();
  expect(report.stages[0].status).toBe('ran');
  const lock = JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8')) as { stages: { a: { outs: { a: { schema: { refs?: unknown } } } } } };
  expect(lock.stages.a.outs.a.schema.refs).toBeUndefined();
});

it('properties named "const", "enum", "examples" or "$ref" are subschemas: their references count', async () => {
  expect(localRefs({ properties: { const: { $ref: 'c.json' }, enum: { $ref: 'e.json#/x' }, $ref: { $ref: 'r.json' } }, $defs: { default: { $ref: 'd.json' } } })).toEqual(['c.json', 'd.json', 'e.json', 'r.json']);
  const dir = writeProject({
    'schemas/common.schema.json': '{ "definitions": { "count": { "type": "integer", "minimum": 0 } } }',
    'schemas/a.schema.json': '{ "type": "object", "properties": { "const": { "$ref": "common.schema.json#/definitions/count" } } }',
    'stages/a.ts': 'export default () => ({ a: { const: 5 } });\n',
    'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
  });
  const pipelineFile = join(dir, 'pipeline.yaml');
  expect((await runPipeline({ pipelineFile })).stages[0].status).toBe('ran');
  edit(dir, 'schemas/common.schema.json', (t) => t.replace('"minimum": 0', '"minimum": 0, "maximum": 3'));
  const again = await runPipeline({ pipelineFile });
  expect(again.stages[0].status).toBe('failed');
  expect(again.stages[0].error).toMatch(/must be <= 3/);
});
