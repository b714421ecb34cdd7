// Session 24b fault pass: a schema that refers to a file not there yet fails its stage ("refers to gone.schema.json,
// which does not exist"). watchTargets swallowed that error and watched none of the schema's references, so `spillway
// watch` never noticed the file being created (the fix the message asks for): the stage stayed failed until some
// other edit. The missing file, and the references found before it, are now watched. Tests written to fail first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadPipeline, watchTargets } from '../../src/engine/index.js';
import { WatchProcess } from '../watch/watcher-process.js';
import { cleanupProjects, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const files = {
  'schemas/common.schema.json': '{ "definitions": { "count": { "type": "integer", "minimum": 0 } } }',
  'schemas/a.schema.json': '{ "type": "object", "properties": { "n": { "$ref": "common.schema.json#/definitions/count" }, "m": { "$ref": "later.schema.json" } } }',
  'stages/a.ts': 'export default () => ({ a: { n: 5, m: 1 } });\n',
  'pipeline.yaml': 'stages:\n  a: { run: stages/a.ts, outs: { a: { schema: schemas/a.schema.json } } }\n',
};

it('watchTargets names a referenced file that does not exist yet, and the others', async () => {
  const dir = writeProject(files);
  const targets = await watchTargets(await loadPipeline(join(dir, 'pipeline.yaml')));
  expect(targets.stages.a?.schemas).toEqual([join(dir, 'schemas/a.schema.json'), join(dir, 'schemas/common.schema.json'), join(dir, 'schemas/later.schema.json')]);
});

it('spillway watch runs again when the missing referenced file is created', { timeout: 90_000 }, async () => {
  const dir = writeProject(files);
  const watcher = new WatchProcess(dir);
  try {
    const first = await watcher.nextRun('the first run');
    expect(first).toMatchObject({ ok: false });
    expect(first.failed?.[0]?.error).toMatch(/refers to later\.schema\.json, which does not exist/);
    await watcher.next((l) => l.event === 'ready', 'ready');
    writeFileSync(join(dir, 'schemas/later.schema.json'), '{ "type": "integer" }');
    const second = await watcher.next((l) => l.event === 'run', 'the run after creating later.schema.json', 15_000);
    expect(second).toMatchObject({ ok: true, changed: ['schemas/later.schema.json'], ran: ['a'] });
  } finally {
    await watcher.stop();
  }
});
