// Session 23 fault pass: the versions of the npm packages a stage imports enter its key (fingerprint.ts, code.ts
// packageVersion). They were also kept in a process-wide map for good, so a process that runs the pipeline more than
// once (spillway watch, or any caller of runPipeline) never saw an upgrade: the stage was reported cached under its old
// key with the new package installed (test written to fail first). Real stage processes on a real temp project.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLockfile, runPipeline } from '../../src/engine/index.js';
import { cleanupProjects, read, statuses, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const pkg = (version: string, value: number) => ({
  'node_modules/s23pkg/package.json': JSON.stringify({ name: 's23pkg', version, type: 'module', main: 'index.js' }) + '\n',
  'node_modules/s23pkg/index.js': `export const value = ${value};\n`,
});

describe('package versions in one process', () => {
  it('a package upgraded between two runs of the same process re-runs the stage that imports it', async () => {
    const dir = writeProject({
      'pipeline.yaml': ['stages:', '  a:', '    run: stages/a.ts', '    outs:', '      out: { schema: schemas/v.schema.json }', ''].join('\n'),
      'schemas/v.schema.json': '{ "type": "object", "required": ["v"] }\n',
      'stages/a.ts': ["import { value } from 's23pkg';", 'export default function a() {', '  return { out: { v: value } };', '}', ''].join('\n'),
      ...pkg('1.0.0', 1),
    });
    const file = join(dir, 'pipeline.yaml');
    expect(statuses(await runPipeline({ pipelineFile: file }))).toEqual({ a: 'ran' });
    expect(readLockfile(dir)?.stages.a.code.packages).toEqual({ s23pkg: '1.0.0' });
    for (const [path, text] of Object.entries(pkg('2.0.0', 2))) writeFileSync(join(dir, path), text);
    const again = await runPipeline({ pipelineFile: file });
    expect(statuses(again)).toEqual({ a: 'ran' });
    expect(readLockfile(dir)?.stages.a.code.packages).toEqual({ s23pkg: '2.0.0' });
    expect(read(dir, readLockfile(dir)!.stages.a.outs.out.path)).toContain('2');
  });
});
