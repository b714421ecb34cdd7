// Fault injection on what the engine trusts: store objects whose bytes changed, run-cache entries and .spillway caches
// that were edited or damaged, and stages that never return. The promise under test: a damaged byte costs time (a
// repair or a re-run), never a wrong result served with exit 0.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupProjects, cli, copyFixture, statuses, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

interface Lock {
  stages: Record<string, { key: string; deps: { path: string; hash: string }[]; outs: Record<string, { hash: string; object: string; path: string }> }>;
}
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'pipeline.lock'), 'utf8')) as Lock;
const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const json = (text: string) => JSON.parse(text) as { ok: boolean; stages: { stage: string; status: string; reason: string; error_kind?: string; repairs?: string[] }[] };

/** Changes one digit of a file in place, keeping it valid JSON (the fault the issue found). */
function flipDigit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(from);
  expect(at, `${from} in ${file}`).toBeGreaterThanOrEqual(0);
  writeFileSync(file, text.slice(0, at) + to + text.slice(at + from.length));
}

// The fixture's own numbers decide the expected totals.
function expectedTotal(dir: string, factor: number, offset = 10): number {
  const values = readFileSync(join(dir, 'data/numbers.csv'), 'utf8').trim().split('\n').slice(1).map(Number);
  return values.reduce((s, v) => s + v * factor, 0) + offset;
}
const totalOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'artifacts/out/total/total.json'), 'utf8')) as { total: number }).total;

describe('damaged store objects', () => {
  it('an object whose bytes changed is never served: status says so, run repairs it from the intact copy, downstream uses the right values', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const numbers = lockOf(dir).stages.load.outs.numbers;
    const object = join(dir, numbers.object);
    const good = readFileSync(object);
    const firstValue = String((JSON.parse(good.toString()) as { values: number[] }).values[0]);
    flipDigit(object, firstValue, String(Number(firstValue) + 7));
    expect(sha256(readFileSync(object))).not.toBe(numbers.hash);

    const status = JSON.parse((await cli(['status', '--json'], dir)).stdout) as { stages: { stage: string; state: string; reason: string }[] };
    const load = status.stages.find((s) => s.stage === 'load');
    expect(load?.state).toBe('restorable');
    expect(load?.reason).toMatch(/damaged in the store/);

    const r = await cli(['run', '--json', '--set', 'scale.factor=3'], dir);
    expect(r.code, r.stderr).toBe(0);
    const report = json(r.stdout);
    expect(statuses(report).load).toBe('cached');
    expect(report.stages.find((s) => s.stage === 'load')?.repairs?.[0]).toMatch(/re-stored from artifacts\/out\/load\/numbers.json/);
    expect(readFileSync(object)).toEqual(good);
    expect(readdirSync(join(dir, 'artifacts/quarantine'))).toHaveLength(1);
    expect(totalOf(dir)).toBe(expectedTotal(dir, 3));
  });

  it('when the object and its readable copy are both damaged, the stage re-runs (and an audit-clean store results)', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const numbers = lockOf(dir).stages.load.outs.numbers;
    for (const file of [join(dir, numbers.object), join(dir, numbers.path)]) flipDigit(file, '"values"', '"valuez"');
    const status = JSON.parse((await cli(['status', '--json'], dir)).stdout) as { stages: { stage: string; state: string; reason: string }[] };
    expect(status.stages.find((s) => s.stage === 'load')?.state).toBe('stale');
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(json(r.stdout)).load).toBe('ran');
    expect(statuses(json(r.stdout)).scale).toBe('cached'); // same bytes again: early cutoff
    expect(sha256(readFileSync(join(dir, numbers.object)))).toBe(numbers.hash);
    expect((await cli(['audit'], dir)).code).toBe(0);
  });

  it('a damaged file in a stored directory is repaired from the intact materialized directory', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const site = lockOf(dir).stages.report.outs.site as unknown as { files: { path: string; hash: string }[] };
    const index = site.files.find((f) => f.path === 'index.html') as { hash: string };
    const object = join(dir, 'artifacts/objects', index.hash.slice(7, 9), index.hash.slice(9));
    writeFileSync(object, '<p>wrong</p>\n');
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r.stdout).stages.find((s) => s.stage === 'report')?.repairs).toHaveLength(1);
    expect(sha256(readFileSync(object))).toBe(index.hash);
  });

  it('a stage whose stored output was damaged and re-run writes the good bytes over the damaged object, not beside it', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const total = lockOf(dir).stages.total.outs.total;
    flipDigit(join(dir, total.object), String(totalOf(dir)), String(totalOf(dir) + 1));
    // --force: the stage runs and produces the same bytes; the store must end up holding them under the hash
    const r = await cli(['run', '--force', 'total', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(readFileSync(join(dir, total.object)))).toBe(total.hash);
  });
});

describe('run-cache entries', () => {
  it('an edited run-cache entry is ignored (the stage runs) instead of restoring what it names', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const keyAt2 = lockOf(dir).stages.scale.key;
    expect((await cli(['run', '--set', 'scale.factor=3'], dir)).code).toBe(0);
    // point the factor-2 entry of `total`'s upstream at factor 3's output: a lie about what that key produced
    const runFile = join(dir, 'artifacts/runs', keyAt2.slice(7, 9), `${keyAt2.slice(9)}.json`);
    const sealed = readFileSync(runFile, 'utf8');
    const threeHash = lockOf(dir).stages.scale.outs.scaled.hash;
    const twoHash = (JSON.parse(sealed.slice(sealed.indexOf('\n') + 1)) as { outs: { scaled: { hash: string } } }).outs.scaled.hash;
    writeFileSync(runFile, sealed.split(twoHash).join(threeHash));
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(json(r.stdout)).scale).toBe('ran');
    expect(totalOf(dir)).toBe(expectedTotal(dir, 2));
  });
});

describe('.spillway caches are self-verifying', () => {
  it('an edited parsed-pipeline cache is not believed: pipeline.yaml decides the params', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    flipDigit(join(dir, '.spillway/pipeline-cache.json'), '"factor":2', '"factor":5');
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(statuses(json(r.stdout)))).toEqual(['cached', 'cached', 'cached', 'cached']);
    expect(totalOf(dir)).toBe(expectedTotal(dir, 2));
  });

  it('an edited transpiled-code cache entry is transpiled afresh: the .ts file the lockfile credits is what runs', async () => {
    const dir = copyFixture('basic');
    expect((await cli(['run'], dir)).code).toBe(0);
    const cacheDir = join(dir, '.spillway/ts-cache');
    let edited = 0;
    for (const sub of readdirSync(cacheDir)) {
      for (const file of readdirSync(join(cacheDir, sub))) {
        const path = join(cacheDir, sub, file);
        const text = readFileSync(path, 'utf8');
        if (text.includes('v * factor')) {
          writeFileSync(path, text.replace('v * factor', 'v * factor * 100'));
          edited++;
        }
      }
    }
    expect(edited).toBe(1);
    const r = await cli(['run', '--force', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(totalOf(dir)).toBe(expectedTotal(dir, 2));
  });

  it('a flipped digit in the stat cache never reaches the lockfile: the damaged cache is discarded and files are re-hashed', async () => {
    const dir = copyFixture('basic');
    // an old dep (past the racy window), so that its stat-cache entry is believed as long as the cache checks out
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'data/numbers.csv'), past, past);
    expect((await cli(['run'], dir)).code).toBe(0);
    const real = sha256(readFileSync(join(dir, 'data/numbers.csv')));
    const cacheFile = join(dir, '.spillway/stat-cache.json');
    const text = readFileSync(cacheFile, 'utf8');
    const hex = real.slice(7);
    expect(text).toContain(hex);
    const wrong = (hex[0] === 'a' ? 'b' : 'a') + hex.slice(1);
    writeFileSync(cacheFile, text.replace(hex, wrong));
    const r = await cli(['run', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(json(r.stdout)).load).toBe('cached');
    expect(lockOf(dir).stages.load.deps.find((d) => d.path === 'data/numbers.csv')?.hash).toBe(real);
    expect(readFileSync(cacheFile, 'utf8')).not.toContain(wrong);
  });
});

describe('per-stage timeout', () => {
  it('a stage that never returns is killed at its timeout, fails with kind timeout, and leaves a consistent project', async () => {
    const dir = writeProject({
      'stages/ok.ts': 'export default () => ({ a: { n: 1 } });\n',
      'stages/spin.ts': 'export default () => { for (;;) {} };\n',
      'schemas/n.schema.json': '{ "type": "object" }\n',
      'pipeline.yaml': 'stages:\n  ok: { run: stages/ok.ts, outs: { a: { schema: schemas/n.schema.json } } }\n  spin: { run: stages/spin.ts, timeout: 2s, inputs: { a: ok.a }, outs: { b: { schema: schemas/n.schema.json } } }\n',
    });
    const started = Date.now();
    const r = await cli(['run', '--json'], dir);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.code).toBe(1);
    const spin = json(r.stdout).stages.find((s) => s.stage === 'spin');
    expect(spin?.status).toBe('failed');
    expect(spin?.error_kind).toBe('timeout');
    expect(Object.keys(lockOf(dir).stages)).toEqual(['ok']);
    expect(existsSync(join(dir, '.spillway/tmp'))).toBe(false);
    const a = lockOf(dir).stages.ok.outs.a;
    expect(sha256(readFileSync(join(dir, a.object)))).toBe(a.hash);
    // the next run re-runs only the stage that timed out
    const again = json((await cli(['run', '--json'], dir)).stdout);
    expect(statuses(again)).toEqual({ ok: 'cached', spin: 'failed' });
  });
});
