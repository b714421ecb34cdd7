// The per-run hashFile memo (StatCache.startMemo) lets the stage decisions of one run share what they stat and hash.
// It must never hide a change: a file rewritten by a stage that runs is seen by the stages decided after it (the memo
// ends before any stage runs or is restored), and a file edited by someone else between two decisions is seen by the
// next run. Real stage processes on a real temp project; the edits are real writes.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashBytes, StatCache } from '../../src/engine/hash.js';
import { readLockfile, runPipeline, stageStatus } from '../../src/engine/index.js';
import { cleanupProjects, read, statuses, writeProject } from './helpers.js';

afterAll(cleanupProjects);

/**
 * Two stages, a → b, both importing lib/shared.ts. With a.touch, stage a appends a line to lib/shared.ts (a stage
 * that writes a project file it does not declare: the engine must still see the change for b).
 */
function project(): string {
  const schema = '{ "type": "object", "required": ["v"] }\n';
  return writeProject({
    'pipeline.yaml': [
      'params:',
      '  a: { touch: false }',
      'stages:',
      '  a:',
      '    run: stages/a.ts',
      '    params: [a.touch]',
      '    outs:',
      '      out: { schema: schemas/v.schema.json }',
      '  b:',
      '    run: stages/b.ts',
      '    inputs: { x: a.out }',
      '    outs:',
      '      out: { schema: schemas/v.schema.json }',
      '',
    ].join('\n'),
    'schemas/v.schema.json': schema,
    'lib/shared.ts': 'export const shared = () => 1;\n',
    'stages/a.ts': [
      "import { appendFileSync } from 'node:fs';",
      "import { fileURLToPath } from 'node:url';",
      "import { shared } from '../lib/shared.js';",
      'export default function a(ctx: any) {',
      "  if (ctx.param('a.touch') === true) appendFileSync(fileURLToPath(new URL('../lib/shared.ts', import.meta.url)), '// touched by stage a\\n');",
      '  return { out: { v: shared() } };',
      '}',
      '',
    ].join('\n'),
    'stages/b.ts': [
      "import { shared } from '../lib/shared.js';",
      'export default function b(ctx: any) {',
      '  return { out: { v: (ctx.inputs.x as { v: number }).v + shared() } };',
      '}',
      '',
    ].join('\n'),
  });
}

const sharedHash = (dir: string) => hashBytes(read(dir, 'lib/shared.ts'));
const recorded = (dir: string, stage: string) => readLockfile(dir)?.stages[stage].code.files.find((f) => f.path === 'lib/shared.ts')?.hash;

describe('the per-run hashFile memo', () => {
  it('serves a file unchanged within the memo, and stats it again once the memo has ended or the engine wrote', () => {
    const dir = writeProject({ 'f.txt': 'one\n', 'g.txt': 'x\n' });
    const cache = new StatCache(dir, '');
    cache.startMemo();
    expect(cache.hashFile(join(dir, 'f.txt')).hash).toBe(hashBytes('one\n'));
    writeFileSync(join(dir, 'f.txt'), 'two, longer\n');
    expect(cache.hashFile(join(dir, 'f.txt')).hash).toBe(hashBytes('one\n')); // the memo: not stat'ed again
    cache.remember(join(dir, 'g.txt'), hashBytes('x\n')); // the engine wrote a file: the memo ends for good
    expect(cache.hashFile(join(dir, 'f.txt')).hash).toBe(hashBytes('two, longer\n'));
    cache.startMemo(); // no restart within the same run
    writeFileSync(join(dir, 'f.txt'), 'three, longer still\n');
    expect(cache.hashFile(join(dir, 'f.txt')).hash).toBe(hashBytes('three, longer still\n'));
  });

  it('a file rewritten by a stage that runs is seen by the stage decided after it, in the same run', async () => {
    const dir = project();
    const file = join(dir, 'pipeline.yaml');
    expect(statuses(await runPipeline({ pipelineFile: file }))).toEqual({ a: 'ran', b: 'ran' });
    const before = sharedHash(dir);
    // a runs (its param changed) and appends to lib/shared.ts, which both stages import; a's key was computed from
    // the old text before it ran, b's must be computed from the new one
    const r = await runPipeline({ pipelineFile: file, overrides: ['a.touch=true'] });
    expect(statuses(r)).toEqual({ a: 'ran', b: 'ran' });
    expect(r.stages[1].reason).toContain('code file lib/shared.ts changed');
    expect(sharedHash(dir)).not.toBe(before);
    expect(recorded(dir, 'a')).toBe(before);
    expect(recorded(dir, 'b')).toBe(sharedHash(dir));
  });

  it('a file edited between two stage decisions of a no-op is seen by the next run', async () => {
    const dir = project();
    const file = join(dir, 'pipeline.yaml');
    expect(statuses(await runPipeline({ pipelineFile: file }))).toEqual({ a: 'ran', b: 'ran' });
    expect(statuses(await runPipeline({ pipelineFile: file }))).toEqual({ a: 'cached', b: 'cached' });
    // edited after a is decided, before b is: whatever this run makes of it, the edit must not be lost
    const during = await runPipeline({
      pipelineFile: file,
      onEvent: (e) => {
        if (e.type === 'stage-end' && e.report.stage === 'a') appendFileSync(join(dir, 'lib/shared.ts'), '// edited during the run\n');
      },
    });
    expect(during.ok).toBe(true);
    const status = await stageStatus(file);
    expect(status.stages.find((s) => s.stage === 'a')?.reasons.map((x) => x.message)).toEqual(['code file lib/shared.ts changed']);
    const after = await runPipeline({ pipelineFile: file });
    expect(after.stages[0].status).toBe('ran');
    for (const stage of ['a', 'b']) {
      expect([statuses(during)[stage], statuses(after)[stage]]).toContain('ran');
      expect(recorded(dir, stage)).toBe(sharedHash(dir));
    }
    expect((await stageStatus(file)).stale).toBe(0);
  });
});
