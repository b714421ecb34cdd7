// Fault injection at load time (issue 9, items 6, 7 and 8): outputs that would destroy inputs or leave the project,
// names that are JavaScript object keys, YAML alias bombs, damaged lockfiles, invalid UTF-8, broken output schemas,
// unrepresentable params, empty dep globs and the temp files of killed runs. The real CLI on real temp projects
// (bin/ runs dist/: `npm run build` first), each asserting the exit code and what the message names.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLockfile } from '../../src/engine/lockfile.js';
import { createStageContext, nestParams } from '../../src/engine/stage-context.js';
import { cleanupProjects, cli, copyFixture, read, repoRoot, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const outside: string[] = [];
afterAll(() => {
  for (const d of outside.splice(0)) rmSync(d, { recursive: true, force: true });
});
const outsideDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'spillway-outside-'));
  outside.push(d);
  return d;
};

const schema = JSON.stringify({ type: 'object' });
const stage = (body = 'return { o: { ok: true } };') => `export default () => { ${body} };\n`;

/** A one- or two-stage project: `yaml` is the stages block. */
const project = (stagesYaml: string[], extra: Record<string, string> = {}) =>
  writeProject({
    'schemas/o.schema.json': schema,
    'stages/a.ts': stage(),
    'stages/b.ts': stage(),
    'pipeline.yaml': ['stages:', ...stagesYaml, ''].join('\n'),
    ...extra,
  });

describe('outputs never destroy inputs or leave the project (item 6)', () => {
  it('a dir output that contains another stage’s dep is refused before anything runs; the dep survives', async () => {
    const dir = project(
      [
        '  make: { run: stages/a.ts, outs: { all: { dir: victim } } }',
        '  use: { run: stages/b.ts, deps: [victim/raw.csv], outs: { o: { schema: schemas/o.schema.json } } }',
      ],
      { 'victim/raw.csv': 'x\n1\n' },
    );
    const r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('stage "use": dep victim/raw.csv is inside victim, the dir output "all" of stage "make"');
    expect(read(dir, 'victim/raw.csv')).toBe('x\n1\n');
    expect(existsSync(join(dir, 'artifacts'))).toBe(false);
  });

  it('a glob dep under a dir output is refused too', async () => {
    const dir = project(['  make: { run: stages/a.ts, deps: ["gen/**/*.csv"], outs: { all: { dir: gen } } }'], { 'gen/x.csv': '1' });
    const r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('dep gen/**/*.csv is inside gen');
  });

  it('a ** glob that reaches into a dir output is refused; a glob that cannot is fine', async () => {
    const reach = project([
      '  make: { run: stages/a.ts, outs: { all: { dir: data/processed } } }',
      '  use: { run: stages/b.ts, deps: ["data/**/*.csv"], outs: { o: { schema: schemas/o.schema.json } } }',
    ], { 'data/raw.csv': '1' });
    const r = await cli(['run'], reach);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('stage "use": dep data/**/*.csv is inside data/processed, the dir output "all" of stage "make"');
    const flat = project([
      '  make: { run: stages/a.ts, outs: { all: { dir: data/processed } } }',
      '  use: { run: stages/b.ts, deps: ["data/*.csv"], outs: { o: { schema: schemas/o.schema.json } } }',
    ], { 'data/raw.csv': '1' });
    const ok = await cli(['dag'], flat);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a file output under a symlinked directory that leads outside the project is refused; nothing is written there', async () => {
    const elsewhere = outsideDir();
    const dir = project(['  a: { run: stages/a.ts, outs: { report: { file: out/report.txt } } }'], {
      'stages/a.ts': "import { writeFileSync } from 'node:fs';\nexport default (ctx: { outPath(n: string): string }) => { writeFileSync(ctx.outPath('report'), 'hi'); return {}; };\n",
    });
    symlinkSync(elsewhere, join(dir, 'out'));
    const r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('stage "a", output "report": out/report.txt would be written outside the project');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a symlink created after the pipeline was parsed (and cached) is caught as well', async () => {
    const elsewhere = outsideDir();
    const dir = project(['  a: { run: stages/a.ts, outs: { site: { dir: web/site } } }'], {
      'stages/a.ts': "import { writeFileSync } from 'node:fs';\nimport { join } from 'node:path';\nexport default (ctx: { outPath(n: string): string }) => { writeFileSync(join(ctx.outPath('site'), 'i.html'), 'hi'); return {}; };\n",
    });
    expect((await cli(['run'], dir)).code).toBe(0);
    rmSync(join(dir, 'web'), { recursive: true });
    symlinkSync(elsewhere, join(dir, 'web'));
    const r = await cli(['run', '--force'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('web/site would be written outside the project');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('run: ../outside/mod.ts is refused', async () => {
    const elsewhere = outsideDir();
    writeFileSync(join(elsewhere, 'mod.ts'), stage());
    const dir = project([]);
    const rel = join('..', elsewhere.split('/').pop() as string, 'mod.ts');
    writeFileSync(join(dir, 'pipeline.yaml'), `stages:\n  a: { run: ${rel}, outs: { o: { schema: schemas/o.schema.json } } }\n`);
    const r = await cli(['run'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`stage "a": module ${rel} is outside the project`);
  });

  it('an absolute dep outside the project is refused, unless the stage sets external_deps: true; then the lockfile marks it external', async () => {
    const elsewhere = outsideDir();
    writeFileSync(join(elsewhere, 'shared.csv'), 'x\n1\n');
    const dep = join(elsewhere, 'shared.csv');
    const dir = project([`  a: { run: stages/a.ts, deps: ["${dep}"], outs: { o: { schema: schemas/o.schema.json } } }`]);
    const refused = await cli(['run'], dir);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`stage "a": dep ${dep} is outside the project`);
    expect(refused.stderr).toContain('external_deps: true');
    writeFileSync(join(dir, 'pipeline.yaml'), `stages:\n  a: { run: stages/a.ts, external_deps: true, deps: ["${dep}"], outs: { o: { schema: schemas/o.schema.json } } }\n`);
    const allowed = await cli(['run'], dir);
    expect(allowed.code, allowed.stderr).toBe(0);
    const deps = JSON.parse(read(dir, 'pipeline.lock')).stages.a.deps as { path: string; external?: boolean }[];
    expect(deps).toHaveLength(1);
    expect(deps[0].external).toBe(true);
    expect(deps[0].path.endsWith('shared.csv')).toBe(true);
  });
});

describe('names that are JavaScript object keys (item 7)', () => {
  it('run constructor, run __proto__, status toString: unknown stage, exit 2', async () => {
    const dir = copyFixture('basic');
    for (const args of [['run', 'constructor'], ['run', '__proto__'], ['status', 'toString'], ['run', 'hasOwnProperty']]) {
      const r = await cli(args, dir);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`unknown stage "${args[1]}"`);
    }
  });

  it('lineage __proto__.x, toString and constructor.panel: not recorded, exit 2', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    for (const target of ['__proto__.x', 'toString', 'constructor.panel', 'load.constructor']) {
      const r = await cli(['lineage', target], dir);
      expect(r.code, `${target}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`"${target}" is not an output, stage or file recorded in the lockfile`);
    }
  });

  it('fit --y constructor: the column is not in the file (exit 4), not the prototype’s constructor read as a cell', async () => {
    const dir = writeProject({ 'd.csv': 'id,y,x\na,1,2\na,2,3\nb,0,1\nb,3,2\n' });
    const r = await cli(['fit', '--data', 'd.csv', '--id', 'id', '--y', 'constructor', '--x', 'x'], dir);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('column "constructor" is not in the file');
  });

  it('a stage named __proto__ or constructor is refused at load time (it used to vanish: "0 stages", exit 0)', async () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const dir = project([`  ${name}: { run: stages/a.ts, outs: { o: { schema: schemas/o.schema.json } } }`]);
      const r = await cli(['run'], dir);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`invalid name "${name}" in stages`);
      expect(r.stderr).toContain('__proto__, constructor and prototype are reserved');
    }
  });

  it('an input constructor.panel is refused at load time with the key and what is expected', async () => {
    const dir = project(['  a: { run: stages/a.ts, inputs: { p: constructor.panel }, outs: { o: { schema: schemas/o.schema.json } } }']);
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/pipeline\.yaml:2:\d+: stages\.a\.inputs\.p has an invalid value/);
    expect(r.stderr).toContain('"stage.output"');
  });

  it('a toString stage is an ordinary stage', async () => {
    const dir = project(['  toString: { run: stages/a.ts, outs: { o: { schema: schemas/o.schema.json } } }']);
    const r = await cli(['run', 'toString', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).stages.map((s: { stage: string }) => s.stage)).toEqual(['toString']);
  });

  it('a param key __proto__ is refused (it would set an object’s prototype)', async () => {
    const dir = project(['  a: { run: stages/a.ts, params: [p.x], outs: { o: { schema: schemas/o.schema.json } } }']);
    writeFileSync(join(dir, 'pipeline.yaml'), `params:\n  p: { x: 1, __proto__: { polluted: true } }\n${read(dir, 'pipeline.yaml')}`);
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('invalid param name "__proto__" in params.p');
  });

  it('the stage context looks names up as own keys, and dotted params never reach Object.prototype', () => {
    const root = outsideDir();
    const ctx = createStageContext({ stage: 's', projectRoot: root, outDir: join(root, 'out'), outs: { table: 'file' }, inputPaths: { p: 'x.csv' } });
    expect(() => ctx.outPath('constructor')).toThrow(/not a declared file or dir output/);
    expect(() => ctx.inputPath('toString')).toThrow(/does not declare/);
    expect(existsSync(join(root, 'out/constructor'))).toBe(false);
    const nested = nestParams({ '__proto__.polluted': 1, 'a.constructor.b': 2 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(JSON.stringify(nested)).toBe('{"__proto__":{"polluted":1},"a":{"constructor":{"b":2}}}');
  });

  it('a YAML alias bomb is an invalid pipeline (exit 3), not a crash', async () => {
    const lines = ['params:', '  l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lines.push(`  l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const dir = project(['  a: { run: stages/a.ts, outs: { o: { schema: schemas/o.schema.json } } }']);
    writeFileSync(join(dir, 'pipeline.yaml'), `${lines.join('\n')}\n${read(dir, 'pipeline.yaml')}`);
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('YAML aliases expand too much');
  });
});

describe('damaged lockfiles give exit 3 from every command (item 7)', () => {
  const damage: [string, (lock: Record<string, unknown>) => unknown, string][] = [
    ['null', () => null, '/'],
    ['a null stage entry', (l) => ({ ...l, stages: { ...(l.stages as object), load: null } }), '/stages/load'],
    ['a stage without outs', (l) => {
      const stages = structuredClone(l.stages) as Record<string, Record<string, unknown>>;
      delete stages.load.outs;
      return { ...l, stages };
    }, '/stages/load/outs'],
    ['an output without a hash', (l) => {
      const stages = structuredClone(l.stages) as Record<string, { outs: Record<string, Record<string, unknown>> }>;
      delete stages.total.outs.total.hash;
      return { ...l, stages };
    }, '/stages/total/outs/total/hash'],
  ];
  for (const [what, change, pointer] of damage) {
    it(`${what}: run, status, audit, lineage and export all exit 3 naming ${pointer}`, async () => {
      const dir = copyFixture('basic');
      expect((await cli(['run'], dir)).code).toBe(0);
      const lock = JSON.parse(read(dir, 'pipeline.lock')) as Record<string, unknown>;
      writeFileSync(join(dir, 'pipeline.lock'), JSON.stringify(change(lock)));
      const target = join(outsideDir(), 'pkg');
      for (const args of [['run'], ['status'], ['audit'], ['lineage', 'total.total'], ['export', target]]) {
        const r = await cli(args, dir);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(3);
        expect(r.stderr).toContain(`pipeline.lock at ${pointer}: the lockfile is damaged`);
        expect(r.stderr).not.toContain('TypeError');
      }
    });
  }

  it('the hand-written check agrees with schemas/lockfile.schema.json (ajv) on real and damaged lockfiles', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const good = JSON.parse(read(dir, 'pipeline.lock')) as Record<string, unknown>;
    const { default: Ajv } = await import('ajv');
    const validate = new Ajv.default({ strict: false }).compile(JSON.parse(readFileSync(join(repoRoot, 'schemas/lockfile.schema.json'), 'utf8')));
    const samples: unknown[] = [good, null, [], 'x', { ...good, spillway_lock: 2 }, { ...good, stages: [] }];
    const stages = good.stages as Record<string, Record<string, unknown>>;
    for (const name of Object.keys(stages)) {
      for (const key of Object.keys(stages[name])) {
        const copy = structuredClone(good) as { stages: Record<string, Record<string, unknown>> };
        delete copy.stages[name][key];
        samples.push(copy);
        const wrong = structuredClone(good) as { stages: Record<string, Record<string, unknown>> };
        wrong.stages[name][key] = 7;
        samples.push(wrong);
      }
    }
    const external = structuredClone(good) as { stages: { load: { deps: Record<string, unknown>[] } } };
    external.stages.load.deps[0].external = true;
    samples.push(external);
    const constructorStage = structuredClone(good) as { stages: Record<string, unknown> };
    const reserved: string = 'constructor';
    constructorStage.stages[reserved] = constructorStage.stages.load;
    samples.push(constructorStage);
    let valid = 0;
    for (const sample of samples) {
      const byHand = (() => {
        try {
          checkLockfile(sample);
          return true;
        } catch {
          return false;
        }
      })();
      expect(byHand, JSON.stringify(sample)?.slice(0, 200)).toBe(validate(sample));
      if (byHand) valid++;
    }
    expect(valid).toBe(2); // the real one, and the one with an external dep
  });
});

describe('lower-severity load faults (item 8)', () => {
  it('invalid UTF-8 in pipeline.yaml: exit 3 naming the file, line and byte offset', async () => {
    const dir = project(['  a: { run: stages/a.ts, outs: { o: { schema: schemas/o.schema.json } } }']);
    const text = Buffer.from(`# caf\xe9 in latin-1\n${read(dir, 'pipeline.yaml')}`, 'latin1');
    writeFileSync(join(dir, 'pipeline.yaml'), text);
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('pipeline.yaml:1: not valid UTF-8: byte 0xe9 at byte offset 5');
  });

  it('an output schema that is not JSON fails at load time, before any stage runs', async () => {
    const dir = project([
      '  a: { run: stages/a.ts, outs: { o: { schema: schemas/o.schema.json } } }',
      '  b: { run: stages/b.ts, outs: { o: { schema: schemas/broken.schema.json } } }',
    ], { 'schemas/broken.schema.json': '{ "type": "object", }' });
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/stage "b", output "o": schema schemas\/broken\.schema\.json is not valid JSON/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(dir, 'pipeline.lock'))).toBe(false); // stage a did not run either
  });

  it('an output schema that is JSON but not a JSON Schema fails at load time; also when edited after the pipeline was cached', async () => {
    const dir = project(['  a: { run: stages/a.ts, outs: { o: { schema: schemas/o.schema.json } } }']);
    expect((await cli(['run'], dir)).code).toBe(0);
    writeFileSync(join(dir, 'schemas/o.schema.json'), JSON.stringify({ type: 'objekt' }));
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('schema schemas/o.schema.json is not a valid JSON Schema');
  });

  it('--set with a self-referring alias is a usage error (exit 2), not "Converting circular structure to JSON"', async () => {
    const dir = copyFixture('basic');
    const r = await cli(['run', '--set', 'scale.factor=&a [*a]'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--set scale.factor: the value refers to itself');
    expect(r.stderr).not.toContain('circular structure');
  });

  it('.nan and .inf are refused with a hint, in --set (exit 2) and in pipeline params (exit 3), instead of becoming null', async () => {
    const dir = copyFixture('basic');
    for (const value of ['.nan', '.inf', '-.inf']) {
      const r = await cli(['run', '--set', `scale.factor=${value}`], dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('JSON has no NaN or Infinity');
    }
    writeFileSync(join(dir, 'pipeline.yaml'), read(dir, 'pipeline.yaml').replace('factor: 2', 'factor: .nan'));
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('param scale.factor is NaN');
  });

  it('a dep glob that matches nothing: a warning naming stage and pattern, in the text and the JSON report', async () => {
    const dir = project(['  a: { run: stages/a.ts, deps: ["data/*.csv"], outs: { o: { schema: schemas/o.schema.json } } }'], { 'data/readme.txt': 'no csv here' });
    const json = await cli(['run', '--json'], dir);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).warnings).toEqual([{ stage: 'a', pattern: 'data/*.csv', message: 'stage a: dep pattern "data/*.csv" matches no file, so the stage runs without any' }]);
    const text = await cli(['run', '--force'], dir);
    expect(text.stderr).toContain('warning: stage a: dep pattern "data/*.csv" matches no file');
  });

  it('temp files of a killed run (pid gone) are removed by the next run; those of a live process stay', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const dead = (await new Promise<number>((done) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => done(c.pid as number));
    }));
    const objects = join(dir, 'artifacts/objects');
    const shard = readdirSync(objects)[0];
    const leftovers = [
      `pipeline.lock.tmp-${dead}-3-abc123`,
      `artifacts/objects/${shard}/deadbeef.tmp-${dead}-1-x1y2z3`,
      `out/site.old-${dead}/index.html`,
      `out/site.tmp-${dead}-q1w2e3/index.html`,
      `.spillway/pipeline-cache.json.tmp-${dead}-1-aaaaaa`,
    ];
    const live = `artifacts/objects/${shard}/cafe.tmp-${process.pid}-1-livexx`;
    // names of the same shape that spillway did not make (not next to an output, not in its own directories)
    const usersFiles = [`data/thesis.old-${dead}`, `notes.tmp-${dead}-1-abcdef`, `out/draft.tmp-${dead}`];
    for (const f of [...leftovers, live, ...usersFiles]) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), 'partial');
    }
    // the run was SIGKILLed holding the lock: its lock is still there
    mkdirSync(join(dir, '.spillway/lock'));
    writeFileSync(join(dir, '.spillway/lock/owner.json'), JSON.stringify({ pid: dead, host: (await import('node:os')).hostname(), started: 'x', command: 'run', token: 't' }));
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const f of leftovers) expect(existsSync(join(dir, f.split('/').slice(0, f.startsWith('out/') ? 2 : undefined).join('/'))), f).toBe(false);
    expect(existsSync(join(dir, live))).toBe(true);
    for (const f of usersFiles) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(existsSync(join(dir, '.spillway/crashed'))).toBe(false);
    // without a crash, the next run looks only at the project root and .spillway/ (cheap), and still cleans those
    writeFileSync(join(dir, `pipeline.lock.tmp-${dead}-9-zzzzzz`), 'partial');
    expect((await cli(['run'], dir)).code).toBe(0);
    expect(existsSync(join(dir, `pipeline.lock.tmp-${dead}-9-zzzzzz`))).toBe(false);
  });

  it('.gitignore keeps temp files of killed runs out of git', () => {
    const names = ['pipeline.lock.tmp-4242-1-abc123', 'report/site.old-4242', 'data/x.csv.tmp-4242', 'stages/site.tmp-4242-q1w2e3'];
    const r = spawnSync('git', ['check-ignore', '--no-index', ...names], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stdout.trim().split('\n').sort()).toEqual([...names].sort());
  });
});
