// A hostile pass over the engine's lifecycle (issue 9): bytes changed behind the stat cache's back, a lockfile that
// pairs a key with another run's outputs, stages that tamper with what later stages in the same warm worker compute,
// command stages that leave processes behind, and output that must not be lost. Each test asserts the promise: no
// wrong result with exit 0, no hang, nothing lost in silence. Real CLI processes on temp projects.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, cli, copyFixture, startCli, statuses, waitFor, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

interface Out {
  hash: string;
  object: string;
  path: string;
}
interface Lock {
  stages: Record<string, { key: string; outs: Record<string, Out> }>;
}
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8')) as Lock;
const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const report = (stdout: string) => JSON.parse(stdout) as { ok: boolean; stages: { stage: string; status: string; reason: string; error?: string; error_kind?: string; restored?: boolean }[] };
const readJson = (dir: string, path: string) => JSON.parse(readFileSync(join(dir, path), 'utf8')) as Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whether a process still runs (a zombie left to an init that does not reap, as in some containers, does not). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
};

// The basic fixture: total = sum(numbers.csv) * factor + offset.
function expectedTotal(dir: string, factor: number, offset = 10): number {
  const values = readFileSync(join(dir, 'data/numbers.csv'), 'utf8').trim().split('\n').slice(1).map(Number);
  return values.reduce((s, v) => s + v * factor, 0) + offset;
}

describe('bytes changed behind the stat cache', () => {
  it('an input object changed in place with its size, inode and mtime put back is not given to a running stage', async () => {
    // A disk that flips bits does not touch mtime; neither does an edit followed by `touch -r`. The stat cache then
    // vouches for the object: a stage about to read it must read (and hash) the bytes, not trust the stat.
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    await sleep(2100); // past the racy-timestamp window, so the next run records the objects as settled
    expect((await cli(['run'], dir)).code).toBe(0);
    const numbers = lockOf(dir).stages.load.outs.numbers;
    const object = join(dir, numbers.object);
    const good = readFileSync(object);
    const ref = join(dir, 'mtime-ref');
    writeFileSync(ref, '');
    expect(spawnSync('touch', ['-r', object, ref]).status).toBe(0);
    const text = good.toString();
    const first = String((JSON.parse(text) as { values: number[] }).values[0]);
    expect(first).toHaveLength(1);
    writeFileSync(object, text.replace(first, String((Number(first) + 5) % 10))); // same size, same inode
    expect(spawnSync('touch', ['-r', ref, object]).status).toBe(0);
    expect(sha256(readFileSync(object))).not.toBe(numbers.hash);

    const r = await cli(['run', '--json', '--set', 'scale.factor=3'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(report(r.stdout)).scale).toBe('ran');
    // the right number, from the right bytes: the damaged object was replaced from its intact readable copy
    expect(readJson(dir, 'artifacts/out/total/total.json').total).toBe(expectedTotal(dir, 3));
    expect(readFileSync(object)).toEqual(good);
    expect(readdirSync(join(dir, 'artifacts/quarantine'))).toHaveLength(1);
  });
});

describe('a lockfile entry that pairs a key with another run\'s outputs', () => {
  it('is not trusted: the run restores the outputs the key really made, and the numbers follow pipeline.yaml', async () => {
    // The outputs are not part of the key, so a hand edit or a bad merge of pipeline.lock can keep the key (and
    // params) of one run and the output hashes of another, both objects being intact in the store.
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const two = lockOf(dir).stages.scale.outs.scaled;
    expect((await cli(['run', '--set', 'scale.factor=3'], dir)).code).toBe(0);
    const three = lockOf(dir).stages.scale.outs.scaled;
    expect(three.hash).not.toBe(two.hash);
    expect((await cli(['run'], dir)).code).toBe(0); // back to factor 2, from the run cache
    const lock = JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8')) as Lock;
    expect(lock.stages.scale.outs.scaled.hash).toBe(two.hash);
    lock.stages.scale.outs.scaled = { ...lock.stages.scale.outs.scaled, hash: three.hash, object: three.object };
    writeFileSync(join(dir, 'pipeline.lock'), `${JSON.stringify(lock, null, 2)}\n`);

    const status = JSON.parse((await cli(['status', '--json'], dir)).stdout) as { stages: { stage: string; state: string; reason: string }[] };
    expect(status.stages.find((s) => s.stage === 'scale')?.state).not.toBe('up to date');
    const audit = await cli(['audit'], dir);
    expect(audit.code).toBe(6); // it used to certify the swapped output
    expect(audit.stdout + audit.stderr).toMatch(/scale\.scaled: the lockfile records .* but the run with this key produced/);
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(dir, 'artifacts/out/scale/scaled.json')).toEqual(JSON.parse(readFileSync(join(dir, two.object), 'utf8')));
    expect(readJson(dir, 'artifacts/out/total/total.json').total).toBe(expectedTotal(dir, 2));
    expect(lockOf(dir).stages.scale.outs.scaled.hash).toBe(two.hash);
    expect((await cli(['audit'], dir)).code).toBe(0);
  });
});

const schema = '{ "type": "object" }\n';
/** A chain a → b → c of stages that all run stages/step.ts, in one worker (--jobs 1). */
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

describe('warm workers: what one stage does to built-ins is not seen by the next', () => {
  it('replacing Math.round or JSON.stringify, or adding to Set.prototype (as vega does), retires the worker', async () => {
    // Stage a tampers; b and c must compute what they compute in a fresh process. Set.prototype.toJSON is what
    // importing vega really adds (the replication's report stage): JSON.stringify(new Set([1])) then changes.
    const dir = chain(
      [
        'export default (ctx: any) => {',
        '  const seen = { round: Math.round(2.4), set: JSON.stringify({ s: new Set([1]) }), own: JSON.stringify({ a: 1 }) };',
        '  if (ctx.params.p.a === 1) {',
        '    Math.round = Math.ceil;',
        '    (Set.prototype as any).toJSON = function () { return [...this]; };',
        '    const stringify = JSON.stringify;',
        '    JSON.stringify = ((v: unknown, ...rest: any[]) => stringify(v, ...rest).replace(/1/g, "7")) as typeof JSON.stringify;',
        '  }',
        '  return { out: { seen } };',
        '};',
        '',
      ].join('\n'),
    );
    const r = await cli(['run', '--json', '--jobs', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    const fresh = { round: 2, set: '{"s":{}}', own: '{"a":1}' };
    expect(readJson(dir, 'artifacts/out/b/out.json').seen).toEqual(fresh);
    expect(readJson(dir, 'artifacts/out/c/out.json').seen).toEqual(fresh);
  });

  // Not fixed: a package under node_modules is loaded once per worker and shared by its jobs (only the project's own
  // files get fresh instances per job), so module-level state in a package (a counter, a memo, a seeded generator)
  // carries from one stage to the next, and stage c records 2 where a fresh process gives 1. Giving packages fresh
  // instances per job (and clearing require.cache) costs part of what warm workers save; a decision for the lead.
  it.fails('a package with module-level state gives every stage a fresh instance', async () => {
    const dir = chain("import { next } from 'counter';\nexport default () => ({ out: { n: next() } });\n", {
      'node_modules/counter/package.json': '{ "name": "counter", "version": "1.0.0", "type": "module", "main": "index.js" }\n',
      'node_modules/counter/index.js': 'let n = 0;\nexport function next() { return ++n; }\n',
    });
    const r = await cli(['run', '--json', '--jobs', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(['a', 'b', 'c'].map((s) => readJson(dir, `artifacts/out/${s}/out.json`).n)).toEqual([1, 1, 1]);
  });
});

describe('command stages that leave processes behind', () => {
  const project = (cmd: string, timeout: string) =>
    writeProject({
      'pipeline.yaml': ['stages:', '  bg:', `    cmd: [sh, -c, '${cmd}']`, `    timeout: ${timeout}`, '    outs:', '      x: { file: out/x.txt }', ''].join('\n'),
    });

  it('a command that exits after starting a background process holding its output finishes with the command', async () => {
    // The background `sleep` keeps the stage's stdout pipe open: the engine used to wait for it (here up to 120 s,
    // past its own timeout), and then report a timeout although the command had succeeded at once.
    const dir = project('echo hi > "$SPILLWAY_OUT_X"; sleep 120 & echo $! > bg.pid', '60s');
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(report(r.stdout)).bg).toBe('ran');
    expect(readFileSync(join(dir, 'out/x.txt'), 'utf8')).toBe('hi\n');
    expect(alive(Number(readFileSync(join(dir, 'bg.pid'), 'utf8')))).toBe(false);
  }, 30_000);

  it('at its timeout a command stage is killed with everything it started', async () => {
    const dir = project('sleep 120 & echo $! > bg.pid; sleep 121', '1s');
    const r = await cli(['run', '--json'], dir);
    expect(r.code).toBe(1);
    expect(report(r.stdout).stages[0].error_kind).toBe('timeout');
    expect(alive(Number(readFileSync(join(dir, 'bg.pid'), 'utf8')))).toBe(false);
    expect(existsSync(join(dir, 'out/x.txt'))).toBe(false);
  }, 30_000);
});

describe('a stage\'s printed output is kept whole', () => {
  const loud = () => {
    const dir = writeProject({
      'schemas/any.schema.json': schema,
      'stages/loud.ts': 'export default () => {\n  for (let i = 0; i < 20000; i++) console.log(`line ${i}`);\n  console.error("last words");\n  return { out: { ok: true } };\n};\n',
      'pipeline.yaml': 'stages:\n  loud: { run: stages/loud.ts, outs: { out: { schema: schemas/any.schema.json } } }\n',
    });
    mkdirSync(join(dir, '.spillway'), { recursive: true });
    return dir;
  };
  const logLines = (dir: string) => readFileSync(join(dir, '.spillway/logs/loud.log'), 'utf8').trim().split('\n').slice(1);
  const expected = [...Array.from({ length: 20000 }, (_, i) => `line ${i}`)];

  for (const executor of ['workers', 'local']) {
    it(`in the stage log, with the ${executor} executor (the process used to end, or report done, before its pipes drained)`, async () => {
      const dir = loud();
      const r = await cli(['run', '--json'], dir, { SPILLWAY_EXECUTOR: executor });
      expect(r.code, r.stderr).toBe(0);
      const lines = logLines(dir);
      expect(lines.filter((l) => l.startsWith('line '))).toEqual(expected);
      expect(lines).toContain('last words');
    }, 60_000);
  }
});

describe('a promise a stage rejected without a handler', () => {
  for (const executor of ['workers', 'local']) {
    it(`fails the stage instead of being dropped (${executor} executor)`, async () => {
      // A stage that starts work it does not await (a write, a computation) and returns: the work failed, yet the
      // stage was recorded as successful, with exit 0.
      const dir = writeProject({
        'schemas/any.schema.json': schema,
        'stages/careless.ts': 'const check = async (x: number) => { if (x > 1) throw new Error(`value ${x} out of range`); };\nexport default () => {\n  void check(2);\n  return { out: { ok: true } };\n};\n',
        'stages/late.ts': 'export default async () => {\n  const p = Promise.reject(new Error("handled later"));\n  await new Promise((r) => setTimeout(r, 20));\n  p.catch(() => {});\n  return { out: { ok: true } };\n};\n',
        'pipeline.yaml': 'stages:\n  careless: { run: stages/careless.ts, outs: { out: { schema: schemas/any.schema.json } } }\n  late: { run: stages/late.ts, outs: { out: { schema: schemas/any.schema.json } } }\n',
      });
      const r = await cli(['run', '--json'], dir, { SPILLWAY_EXECUTOR: executor });
      expect(r.code).toBe(1);
      const stages = report(r.stdout).stages;
      expect(stages.find((s) => s.stage === 'careless')?.status).toBe('failed');
      expect(stages.find((s) => s.stage === 'careless')?.error).toMatch(/rejected without a handler.*value 2 out of range/);
      expect(stages.find((s) => s.stage === 'late')?.status).toBe('ran'); // a handler attached late is a handler
      expect(existsSync(join(dir, 'artifacts/out/careless/out.json'))).toBe(false);
    }, 60_000);
  }
});

describe('a stage that prints without end', () => {
  it('keeps the tail of its output in the stage log, and says how many lines it dropped', async () => {
    const dir = writeProject({
      'schemas/any.schema.json': schema,
      'stages/flood.ts': 'export default () => {\n  const pad = "x".repeat(80);\n  for (let i = 0; i < 120000; i++) console.log(`${i} ${pad}`);\n  return { out: { ok: true } };\n};\n',
      'pipeline.yaml': 'stages:\n  flood: { run: stages/flood.ts, outs: { out: { schema: schemas/any.schema.json } } }\n',
    });
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(dir, '.spillway/logs/flood.log'), 'utf8').trim().split('\n');
    const kept = lines.filter((l) => !l.startsWith('#'));
    const dropped = Number(/the first (\d+) lines are not kept/.exec(lines[1])?.[1]);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped + kept.length).toBe(120000);
    expect(kept[0].startsWith(`${dropped} `)).toBe(true);
    expect(kept.at(-1)?.startsWith('119999 ')).toBe(true);
    expect(kept.join('\n').length).toBeLessThanOrEqual(8 * 2 ** 20);
  }, 60_000);
});

describe('a stage never outlives the engine', () => {
  for (const executor of ['workers', 'local']) {
    it(`a stage busy in a loop dies when the engine is killed (${executor} executor)`, async () => {
      // It exits on the IPC 'disconnect' event, which a loop that never yields never sees: it used to keep a core
      // busy forever, its timeout gone with the engine.
      const dir = writeProject({
        'schemas/any.schema.json': schema,
        'stages/spin.ts': "import { writeFileSync } from 'node:fs';\nexport default () => {\n  writeFileSync('stage.pid', String(process.pid));\n  for (;;) {}\n};\n",
        'pipeline.yaml': 'stages:\n  spin: { run: stages/spin.ts, timeout: 10m, outs: { out: { schema: schemas/any.schema.json } } }\n',
      });
      const { child, done } = startCli(['run'], dir, { SPILLWAY_EXECUTOR: executor });
      await waitFor(() => existsSync(join(dir, 'stage.pid')) && readFileSync(join(dir, 'stage.pid'), 'utf8') !== '');
      const pid = Number(readFileSync(join(dir, 'stage.pid'), 'utf8'));
      child.kill('SIGKILL');
      await done;
      try {
        await waitFor(() => !alive(pid), 15_000);
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      expect(alive(pid)).toBe(false);
    }, 60_000);
  }
});
