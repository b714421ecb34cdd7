// Warm workers (src/engine/executors/workers.ts): stages share worker processes but not state. Each test runs real
// stages through the real CLI and reads back what the stage processes saw (their pid, module-level counters, globals).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, cli, statuses, writeProject } from './helpers.js';

afterAll(cleanupProjects);

const schema = '{ "type": "object" }\n';
const out = (dir: string, stage: string, name = 'out') => JSON.parse(readFileSync(join(dir, `artifacts/out/${stage}/${name}.json`), 'utf8')) as Record<string, unknown>;
const report = (stdout: string) => JSON.parse(stdout) as { ok: boolean; stages: { stage: string; status: string; error?: string; error_kind?: string; executor?: string }[] };

/** A chain a → b → c of stages that all run `module`, with `extra` files. */
function chain(module: string, extra: Record<string, string> = {}): string {
  return writeProject({
    'schemas/any.schema.json': schema,
    'stages/step.ts': module,
    ...extra,
    'pipeline.yaml': [
      'params: { p: { a: 1, b: 2, c: 3 } }',
      'stages:',
      '  a: { run: stages/step.ts, params: [p.a], outs: { out: { schema: schemas/any.schema.json } } }',
      '  b: { run: stages/step.ts, params: [p.b], inputs: { prev: a.out }, outs: { out: { schema: schemas/any.schema.json } } }',
      '  c: { run: stages/step.ts, params: [p.c], inputs: { prev: b.out }, outs: { out: { schema: schemas/any.schema.json } } }',
      '',
    ].join('\n'),
  });
}

describe('warm workers', () => {
  it('reuse one worker process for a chain of module stages, with fresh module instances for every stage', async () => {
    const dir = chain(
      [
        "import { bump } from '../lib/counter.js';",
        'let calls = 0;',
        'export default () => { calls += 1; return { out: { pid: process.pid, calls, libCalls: bump() } }; };',
        '',
      ].join('\n'),
      { 'lib/counter.ts': 'let n = 0;\nexport const bump = () => ++n;\n' },
    );
    const r = await cli(['run', '--json', '--jobs', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(report(r.stdout).stages.map((s) => s.executor)).toEqual(['workers', 'workers', 'workers']);
    const outs = ['a', 'b', 'c'].map((s) => out(dir, s));
    // the same process ran at least two of the three stages (a warm spare may take one) …
    expect(new Set(outs.map((o) => o.pid)).size).toBeLessThan(3);
    // … and no module-level counter, in the stage module or in a file it imports, carried over
    for (const o of outs) expect([o.calls, o.libCalls]).toEqual([1, 1]);
  });

  it('restore globals and the environment between stages', async () => {
    const dir = chain(
      [
        'export default (ctx: any) => {',
        '  const seen = { global: typeof (globalThis as any).leaked, env: process.env.LEAKED ?? null };',
        '  (globalThis as any).leaked = ctx.params.p;',
        "  process.env.LEAKED = 'yes';",
        '  return { out: { pid: process.pid, seen } };',
        '};',
        '',
      ].join('\n'),
    );
    const r = await cli(['run', '--json', '--jobs', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const s of ['a', 'b', 'c']) expect(out(dir, s).seen).toEqual({ global: 'undefined', env: null });
  });

  it('a stage that crashes its worker is reported by name; other stages still run in other workers', async () => {
    const dir = writeProject({
      'schemas/any.schema.json': schema,
      'stages/ok.ts': 'export default () => ({ out: { pid: process.pid } });\n',
      'stages/die.ts': "export default () => { setTimeout(() => { throw new Error('boom from a timer'); }, 0); return new Promise(() => {}); };\n",
      'pipeline.yaml': [
        'stages:',
        '  first: { run: stages/ok.ts, outs: { out: { schema: schemas/any.schema.json } } }',
        '  die: { run: stages/die.ts, inputs: { x: first.out }, outs: { out: { schema: schemas/any.schema.json } } }',
        '  other: { run: stages/ok.ts, inputs: { x: first.out }, outs: { out: { schema: schemas/any.schema.json } } }',
        '',
      ].join('\n'),
    });
    const r = await cli(['run', '--json', '--jobs', '1'], dir);
    expect(r.code).toBe(1);
    const rep = report(r.stdout);
    expect(statuses(rep)).toEqual({ first: 'ran', die: 'failed', other: 'ran' });
    const die = rep.stages.find((s) => s.stage === 'die');
    expect(die?.error_kind).toBe('crash');
    expect(die?.error).toMatch(/boom from a timer/);
  });

  it('a stage that leaves a timer running retires its worker: the next stage gets a fresh process and the run ends', async () => {
    const dir = chain("export default () => { setInterval(() => {}, 1000); return { out: { pid: process.pid } }; };\n");
    const r = await cli(['run', '--json', '--jobs', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    const pids = ['a', 'b', 'c'].map((s) => out(dir, s).pid);
    expect(new Set(pids).size).toBe(3);
  });

  it('SPILLWAY_EXECUTOR=local runs each stage in a fresh process', async () => {
    const dir = chain('export default () => ({ out: { pid: process.pid } });\n');
    const r = await cli(['run', '--json', '--jobs', '1'], dir, { SPILLWAY_EXECUTOR: 'local' });
    expect(r.code, r.stderr).toBe(0);
    expect(report(r.stdout).stages.map((s) => s.executor)).toEqual(['local', 'local', 'local']);
    expect(new Set(['a', 'b', 'c'].map((s) => out(dir, s).pid)).size).toBe(3);
  });
});

describe('spillway run --executor', () => {
  it('local gives each stage a fresh process; an unknown name is a usage error (exit 2)', async () => {
    const dir = chain('export default () => ({ out: { pid: process.pid } });\n');
    const r = await cli(['run', '--json', '--jobs', '1', '--executor', 'local'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(report(r.stdout).stages.map((s) => s.executor)).toEqual(['local', 'local', 'local']);
    const bad = await cli(['run', '--executor', 'cloud'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--executor expects workers, local or slurm, got "cloud"');
  });
});
