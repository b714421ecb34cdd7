// The real CLI (node bin/spillway.js, built dist/) on real temp projects: JSON shapes, exit codes, error messages,
// crashing stages, command stages, SIGKILL in the middle of a stage, and two runs at once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, cleanupProjects, cli, copyFixture, edit, read, startCli, waitFor, writeProject } from './helpers.js';

afterAll(cleanupProjects);

const numbersSchema = JSON.stringify({
  type: 'object',
  required: ['values'],
  properties: { values: { type: 'array', items: { type: 'number' } } },
});

describe('spillway run --json and exit codes', () => {
  it('prints the documented shape and exits 0, then reports everything cached', async () => {
    const dir = copyFixture('basic');
    const first = await cli(['run', '--json'], dir);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { ok: boolean; stages: Record<string, unknown>[] };
    expect(report.ok).toBe(true);
    expect(report.stages.map((s) => [s.stage, s.status])).toEqual([
      ['load', 'ran'],
      ['scale', 'ran'],
      ['total', 'ran'],
      ['report', 'ran'],
    ]);
    for (const s of report.stages) {
      expect(s.key).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(typeof s.duration_ms).toBe('number');
      expect(typeof s.reason).toBe('string');
    }
    const second = JSON.parse((await cli(['run', '--json'], dir)).stdout) as { stages: { status: string; key: string }[] };
    expect(second.stages.map((s) => s.status)).toEqual(['cached', 'cached', 'cached', 'cached']);
    expect(second.stages.map((s) => s.key)).toEqual(report.stages.map((s) => s.key));

    const status = await cli(['status', '--set', 'scale.factor=5'], dir);
    expect(status.stdout).toContain('param scale.factor: 2 → 5');
    const statusExit = await cli(['status', '--exit-code', '--set', 'scale.factor=5'], dir);
    expect(statusExit.code).toBe(6);
    const targets = JSON.parse((await cli(['run', 'scale', '--json', '--set', 'scale.factor=5'], dir)).stdout) as { stages: { stage: string; status: string }[] };
    expect(targets.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(['load:cached', 'scale:ran']);

    const dag = await cli(['dag', '--format', 'mermaid'], dir);
    expect(dag.stdout).toContain('load -->|numbers| scale');
    expect((await cli(['dag', '--format', 'dot'], dir)).stdout).toContain('"total" -> "report" [label="total"];');
    expect(JSON.parse((await cli(['dag', '--json'], dir)).stdout).edges).toHaveLength(4);
    expect((await cli(['dag', '--format', 'svg'], dir)).code).toBe(2);
    expect((await cli(['run', '--no-such-flag'], dir)).code).toBe(2);
    const unknown = await cli(['run', 'nosuch'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown stage "nosuch"');
  });

  it('invalid pipelines exit 3 with file:line:column, the key, and what was expected', async () => {
    const dir = writeProject({
      'stages/a.ts': 'export default () => ({});\n',
      'pipeline.yaml': 'params:\n  p: { q: 1 }\nstages:\n  a:\n    run: stages/a.ts\n    parms: [p.q]\n',
    });
    let r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('pipeline.yaml:6:5: unknown key "parms" in stages.a');
    expect(r.stderr).toContain('expected: one of: description, run, cmd, deps, inputs, params, outs, timeout, resources');

    writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  a:\n    run: stages/a.ts\n    inputs: { x: c.out }\n  b:\n    run: stages/a.ts\n    inputs: { x: a.out }\n    outs: { out: { file: b.txt } }\n  c:\n    run: stages/a.ts\n    inputs: { x: b.out }\n    outs: { out: { file: c.txt } }\n');
    r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('pipeline.yaml:7:18: stage "b", input "x": stage "a" has no output "out"');
    edit(dir, 'pipeline.yaml', (t) => t.replace('inputs: { x: c.out }', 'inputs: { x: c.out }\n    outs: { out: { file: a.txt } }'));
    r = await cli(['run', '--json'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:3: cycle in the stage graph: (a → b → c → a|b → c → a → b|c → a → b → c)/);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: 'invalidPipeline', exit_code: 3 });

    writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  a:\n    run: stages/a.ts\n    outs:\n      leak: { file: ../../etc/leak.txt }\n');
    r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('pipeline.yaml:5:21: stage "a", output "leak": path ../../etc/leak.txt leaves the project');

    writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  a:\n    run: stages/a.ts\n    outs: { x: { file: out/x } }\n  b:\n    run: stages/a.ts\n    outs: { y: { file: out/x } }\n');
    r = await cli(['dag'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('duplicate output: out/x (stage "b", output "y")');
  });
});

describe('failing stages', () => {
  it('a missing dep fails the stage before it runs, names the file, and exits 4 (bad input)', async () => {
    const dir = writeProject({
      'stages/a.ts': 'export default () => ({});\n',
      'pipeline.yaml': 'stages:\n  a:\n    run: stages/a.ts\n    deps: [data/missing.csv]\n',
    });
    const r = await cli(['run', '--json'], dir);
    expect(r.code).toBe(4);
    const [stage] = (JSON.parse(r.stdout) as { stages: { status: string; error_kind: string; error: string }[] }).stages;
    expect(stage).toMatchObject({ status: 'failed', error_kind: 'invalidInput' });
    expect(stage.error).toContain('dep data/missing.csv does not exist');
  });

  it('a crash shows the stack with the stage name; a schema violation names artifact, pointer and rule; independent stages still run', async () => {
    const dir = writeProject({
      'schemas/numbers.schema.json': numbersSchema,
      'stages/crashy.ts': 'function inner(): never {\n  throw new Error("boom in crashy");\n}\nexport default function crashy() {\n  return { out: inner() };\n}\n',
      'stages/bad.ts': 'export default () => ({ numbers: { values: [1, "two"] } });\n',
      'stages/good.ts': 'export default () => ({ numbers: { values: [1, 2] } });\n',
      'stages/after.ts': 'export default () => ({});\n',
      'stages/killer.ts': 'export default () => { process.kill(process.pid, "SIGKILL"); return {}; };\n',
      'pipeline.yaml': [
        'stages:',
        '  crashy: { run: stages/crashy.ts, outs: { out: { schema: schemas/numbers.schema.json } } }',
        '  bad: { run: stages/bad.ts, outs: { numbers: { schema: schemas/numbers.schema.json } } }',
        '  good: { run: stages/good.ts, outs: { numbers: { schema: schemas/numbers.schema.json } } }',
        '  killer: { run: stages/killer.ts }',
        '  after: { run: stages/after.ts, inputs: { n: bad.numbers } }',
        '',
      ].join('\n'),
    });
    const r = await cli(['run', '--json'], dir);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; stages: { stage: string; status: string; error?: string; reason: string }[] };
    const by = Object.fromEntries(report.stages.map((s) => [s.stage, s]));
    expect(report.ok).toBe(false);
    expect(by.crashy.status).toBe('failed');
    expect(by.crashy.error).toContain('boom in crashy');
    expect(by.crashy.error).toMatch(/stages\/crashy\.ts:2/); // the stack points into the stage source
    expect(by.bad.status).toBe('failed');
    expect(by.bad.error).toBe('stage "bad", output "numbers" violates schemas/numbers.schema.json at /values/1: must be number [rule type (#/properties/values/items/type)]');
    expect(by.killer.error).toContain('killed by SIGKILL');
    expect(by.good.status).toBe('ran');
    expect(by.after).toMatchObject({ status: 'skipped', reason: 'upstream stage bad failed' });
    const text = await cli(['run'], dir);
    expect(text.stderr).toContain('stage crashy failed:');
    expect(text.stderr).toContain('boom in crashy');
  });
});

describe('npm packages in the key', () => {
  it('a stage re-runs when the installed version of a package it imports changes', async () => {
    const dir = writeProject({
      'node_modules/fakepkg/package.json': '{ "name": "fakepkg", "version": "1.0.0", "type": "module", "exports": "./index.js" }\n',
      'node_modules/fakepkg/index.js': 'export const answer = 42;\n',
      'schemas/any.schema.json': '{ "type": "object" }',
      'stages/use.ts': "import { answer } from 'fakepkg';\nimport { join } from 'node:path';\nexport default () => ({ out: { answer, sep: join('a', 'b') } });\n",
      'pipeline.yaml': 'stages:\n  use: { run: stages/use.ts, outs: { out: { schema: schemas/any.schema.json } } }\n',
    });
    expect((await cli(['run'], dir)).code).toBe(0);
    expect(JSON.parse(read(dir, 'pipeline.lock')).stages.use.code.packages).toEqual({ fakepkg: '1.0.0' }); // node:path is not a package
    edit(dir, 'node_modules/fakepkg/package.json', (t) => t.replace('1.0.0', '1.0.1'));
    const r = JSON.parse((await cli(['run', '--json'], dir)).stdout) as { stages: { status: string; reason: string }[] };
    expect(r.stages[0]).toMatchObject({ status: 'ran' });
    expect(r.stages[0].reason).toMatch(/^package fakepkg: 1\.0\.0 → 1\.0\.1/);
  });
});

describe('command stages', () => {
  it('run an argv list without a shell, get params as a JSON file, and re-run when the named script changes', async () => {
    const dir = writeProject({
      'schemas/numbers.schema.json': numbersSchema,
      'stages/make.ts': [
        "import { readFileSync } from 'node:fs';",
        'export default (ctx: { deps: string[] }) => ({ numbers: { values: ctx.deps.map((d) => Number(readFileSync(d, "utf8"))) } });',
        '',
      ].join('\n'),
      'data/a.csv': '1',
      'data/b.csv': '2',
      'data/c.csv': '3',
      'stages/readnote.ts': "import { readFileSync } from 'node:fs';\nexport default (ctx: { inputPath(n: string): string }) => ({ note: { values: JSON.parse(readFileSync(ctx.inputPath('note'), 'utf8')).map((s: string) => s.length) } });\n",
      'tools/double.mjs': [
        "import { readFileSync, writeFileSync } from 'node:fs';",
        "const params = JSON.parse(readFileSync(process.env.SPILLWAY_PARAMS_FILE, 'utf8'));",
        "const input = JSON.parse(readFileSync(process.env.SPILLWAY_INPUT_NUMBERS, 'utf8'));",
        'writeFileSync(process.env.SPILLWAY_OUT_DOUBLED, JSON.stringify({ values: input.values.map((v) => v * params.cmd.factor) }));',
        'writeFileSync(process.env.SPILLWAY_OUT_NOTE, JSON.stringify(process.argv.slice(2)) + "\\n");',
        '',
      ].join('\n'),
      'pipeline.yaml': [
        'params: { cmd: { factor: 2 } }',
        'stages:',
        '  make: { run: stages/make.ts, deps: ["data/*.csv"], outs: { numbers: { schema: schemas/numbers.schema.json } } }',
        '  readnote: { run: stages/readnote.ts, inputs: { note: double.note }, outs: { note: { schema: schemas/numbers.schema.json } } }',
        '  double:',
        '    cmd: [node, tools/double.mjs, "$(touch pwned)", "a b"]',
        '    inputs: { numbers: make.numbers }',
        '    params: [cmd.factor]',
        '    outs: { doubled: { schema: schemas/numbers.schema.json }, note: { file: out/note.json } }',
        '',
      ].join('\n'),
    });
    let r = await cli(['run', '--json', '--set', 'cmd.factor=3'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(read(dir, 'artifacts/out/double/doubled.json'))).toEqual({ values: [3, 6, 9] });
    expect(JSON.parse(read(dir, 'out/note.json'))).toEqual(['$(touch pwned)', 'a b']);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    edit(dir, 'tools/double.mjs', (t) => `// doubles\n${t}`);
    r = await cli(['run', '--json', '--set', 'cmd.factor=3'], dir);
    const stages = (JSON.parse(r.stdout) as { stages: { stage: string; status: string; reason: string }[] }).stages;
    expect(stages.find((x) => x.stage === 'double')).toMatchObject({ status: 'ran' });
    expect(stages.find((x) => x.stage === 'double')?.reason).toMatch(/^code file tools\/double\.mjs changed/);
    // a file output as another stage's input: ctx.inputPath gives its path
    expect(JSON.parse(read(dir, 'artifacts/out/readnote/note.json'))).toEqual({ values: [14, 3] });
    // a new file matching a glob dep re-runs the stage and is named
    writeFileSync(join(dir, 'data/d.csv'), '4');
    r = await cli(['run', '--json', '--set', 'cmd.factor=3'], dir);
    const make = (JSON.parse(r.stdout) as { stages: { stage: string; status: string; reason: string }[] }).stages.find((x) => x.stage === 'make');
    expect(make).toMatchObject({ status: 'ran', reason: 'dep data/d.csv added' });
    expect(JSON.parse(read(dir, 'artifacts/out/double/doubled.json'))).toEqual({ values: [3, 6, 9, 12] });
  });
});

function objectsAreIntact(dir: string): void {
  const base = join(dir, 'artifacts/objects');
  for (const prefix of readdirSync(base)) {
    for (const name of readdirSync(join(base, prefix))) {
      expect(name).not.toContain('.tmp-');
      const digest = createHash('sha256').update(readFileSync(join(base, prefix, name))).digest('hex');
      expect(digest).toBe(prefix + name);
    }
  }
}

const holdingProject = () =>
  writeProject({
    'schemas/numbers.schema.json': numbersSchema,
    'stages/first.ts': 'export default () => ({ numbers: { values: [1] } });\n',
    'stages/slow.ts': [
      "import { existsSync, writeFileSync } from 'node:fs';",
      'export default async function slow() {',
      "  writeFileSync('started', String(process.pid));",
      "  while (existsSync('hold')) await new Promise((r) => setTimeout(r, 20));",
      '  return { numbers: { values: [2] } };',
      '}',
      '',
    ].join('\n'),
    'stages/last.ts': 'export default (ctx: { inputs: { n: { values: number[] } } }) => ({ numbers: { values: ctx.inputs.n.values.map((v) => v + 1) } });\n',
    'pipeline.yaml': [
      'stages:',
      '  first: { run: stages/first.ts, outs: { numbers: { schema: schemas/numbers.schema.json } } }',
      '  slow: { run: stages/slow.ts, inputs: { n: first.numbers }, outs: { numbers: { schema: schemas/numbers.schema.json } } }',
      '  last: { run: stages/last.ts, inputs: { n: slow.numbers }, outs: { numbers: { schema: schemas/numbers.schema.json } } }',
      '',
    ].join('\n'),
  });

describe('crashes and concurrency', () => {
  it('SIGKILL in the middle of a stage leaves store and lockfile consistent; the next run redoes only what did not finish', async () => {
    const dir = holdingProject();
    writeFileSync(join(dir, 'hold'), '');
    const { child, done } = startCli(['run'], dir);
    await waitFor(() => existsSync(join(dir, 'started')));
    const stagePid = Number(read(dir, 'started'));
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    // the orphaned stage process notices its engine is gone and exits
    await waitFor(() => {
      try {
        process.kill(stagePid, 0);
        return false;
      } catch {
        return true;
      }
    });
    const lock = JSON.parse(read(dir, 'pipeline.lock')) as { stages: Record<string, unknown> };
    expect(Object.keys(lock.stages)).toEqual(['first']);
    objectsAreIntact(dir);
    rmSync(join(dir, 'hold'));
    const again = await cli(['run', '--json'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { stages: { status: string }[] }).stages.map((s) => s.status)).toEqual(['cached', 'ran', 'ran']);
    expect(existsSync(join(dir, '.spillway/tmp'))).toBe(false);
    objectsAreIntact(dir);
  });

  it('Ctrl-C (SIGINT) stops the running stage, keeps what finished, releases the lock and exits 130', async () => {
    const dir = holdingProject();
    writeFileSync(join(dir, 'hold'), '');
    const { child, done } = startCli(['run', '--json'], dir);
    await waitFor(() => existsSync(join(dir, 'started')));
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    const report = JSON.parse(r.stdout) as { interrupted: boolean; stages: { stage: string; status: string; error?: string }[] };
    expect(report.interrupted).toBe(true);
    expect(report.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(['first:ran', 'slow:failed', 'last:skipped']);
    expect(report.stages[1].error).toBe('interrupted');
    expect(existsSync(join(dir, '.spillway/lock'))).toBe(false);
    expect(Object.keys(JSON.parse(read(dir, 'pipeline.lock')).stages)).toEqual(['first']);
  });

  it('a second concurrent run fails clearly with exit 5, or waits with --wait and then finds everything cached', async () => {
    const dir = holdingProject();
    writeFileSync(join(dir, 'hold'), '');
    const a = startCli(['run', '--json'], dir);
    await waitFor(() => existsSync(join(dir, 'started')));
    const b = await cli(['run'], dir);
    expect(b.code).toBe(5);
    expect(b.stderr).toMatch(/another spillway run \(pid \d+ on .*\) holds the project lock/);
    expect(b.stderr).toContain('--wait');
    const c = startCli(['run', '--json', '--wait'], dir);
    await new Promise((r) => setTimeout(r, 300));
    rmSync(join(dir, 'hold'));
    const [ra, rc] = await Promise.all([a.done, c.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rc.code, rc.stderr).toBe(0);
    expect((JSON.parse(rc.stdout) as { stages: { status: string }[] }).stages.map((s) => s.status)).toEqual(['cached', 'cached', 'cached']);
    expect(JSON.parse(read(dir, 'pipeline.lock')).stages.last.outs.numbers.size).toBeGreaterThan(0);
    objectsAreIntact(dir);
  });
});

describe('progress display', () => {
  const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
  it.skipIf(!hasScript)('on a terminal redraws a live table in place, in color unless NO_COLOR is set', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const onTty = (env: Record<string, string | undefined>) =>
      spawnSync('script', ['-qec', `${process.execPath} ${bin} run --set scale.factor=3`, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, TERM: 'xterm', COLUMNS: '100', ...env } }).stdout;
    const colored = onTty({ NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(colored).toMatch(/\x1b\[\d+A\x1b\[0J/); // cursor up + clear: the table is redrawn in place
    expect(colored).toContain('\x1b[32m✔ ran'); // green
    expect(colored).toMatch(/scale +.*param scale\.factor: 2 → 3/);
    const plain = onTty({ NO_COLOR: '1', FORCE_COLOR: undefined });
    expect(plain).toMatch(/\x1b\[\d+A/); // still live
    expect(plain).not.toMatch(/\x1b\[(1|2|3\d)m/); // but no colors or dimming
  });
});

describe('--jobs', () => {
  it('runs independent stages at the same time with --jobs 2 and one after the other with --jobs 1', async () => {
    const stage = 'export default async () => { const start = Date.now(); await new Promise((r) => setTimeout(r, 1500)); return { span: { start, end: Date.now() } }; };\n';
    const dir = writeProject({
      'schemas/span.schema.json': JSON.stringify({ type: 'object', required: ['start', 'end'] }),
      'stages/a.ts': stage,
      'stages/b.ts': `// b\n${stage}`,
      'pipeline.yaml': [
        'stages:',
        '  a: { run: stages/a.ts, outs: { span: { schema: schemas/span.schema.json } } }',
        '  b: { run: stages/b.ts, outs: { span: { schema: schemas/span.schema.json } } }',
        '',
      ].join('\n'),
    });
    const spans = () => ['a', 'b'].map((s) => JSON.parse(read(dir, `artifacts/out/${s}/span.json`)) as { start: number; end: number });
    let r = await cli(['run', '--jobs', '2'], dir);
    expect(r.code, r.stderr).toBe(0);
    let [a, b] = spans();
    expect(a.start < b.end && b.start < a.end).toBe(true); // the intervals overlap
    r = await cli(['run', '--jobs', '1', '--force'], dir);
    expect(r.code, r.stderr).toBe(0);
    [a, b] = spans();
    expect(a.end <= b.start || b.end <= a.start).toBe(true);
    expect(r.stderr).not.toMatch(/\x1b\[/); // not a terminal: plain lines, no escape codes
  });
});
