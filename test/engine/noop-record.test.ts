// The no-op record (src/engine/noop-record.ts): a run that found everything up to date records what it looked at, and
// the next run with the same options gives its report after checking those observations alone. These tests change,
// after a record is written, each kind of thing a decision depends on, and require that the next run decide afresh
// (no `from_record`) and get the answer the engine gets without a record; they run the real CLI, bundled and not.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkNoopRecord, noopRecordPath, startNoopRecording } from '../../src/engine/noop-record.js';
import { acquireProjectLock } from '../../src/engine/project-lock.js';
import { bin, cleanupProjects, copyFixture, edit, statuses, writeProject } from './helpers.js';
import { recordedNoop, records, runJson, type RunReport } from './noop-record-helpers.js';

afterAll(cleanupProjects);

const run = runJson;
const recordAgain = (dir: string, env: NodeJS.ProcessEnv = {}) => recordedNoop(dir, { env, first: false });
const withoutTimes = (report: RunReport | undefined) => report?.stages.map(({ duration_ms: _d, timings: _t, ...rest }) => rest);

for (const bundled of [true, false]) {
  const env: NodeJS.ProcessEnv = bundled ? { SPILLWAY_NO_BUNDLE: '' } : { SPILLWAY_NO_BUNDLE: '1' };
  describe(`the no-op record (${bundled ? 'bundled CLI' : 'unbundled CLI'})`, () => {
    it('a run vouched for by the record gives the no-op report the engine gave, and says so', () => {
      const dir = copyFixture('basic');
      const engine = recordedNoop(dir, { env });
      const replay = run(dir, [], env);
      expect(replay.code).toBe(0);
      expect(replay.report?.from_record).toBe(true);
      expect(withoutTimes(replay.report)).toEqual(withoutTimes(engine));
      for (const s of replay.report?.stages ?? []) expect(s.timings).toMatchObject({ decide_ms: expect.any(Number), restore_ms: 0 });
      // the record holds what deciding looked at: the stage code, its helper, the dep, the schemas, the lockfile
      const text = readFileSync(join(dir, '.spillway', records(dir)[0] as string), 'utf8');
      for (const file of ['stages/load.ts', 'lib/sum.ts', 'data/numbers.csv', 'schemas/numbers.schema.json', 'pipeline.lock', 'pipeline.yaml', 'out/summary.txt']) expect(text).toContain(JSON.stringify(join(dir, file)));
      // the lines on stderr too
      const human = spawnSync(process.execPath, [bin, 'run'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
      expect(human.status).toBe(0);
      expect(human.stderr).toMatch(/^load +· cached/m);
      expect(human.stderr).toMatch(/4 stages: 4 cached \(\d+ ms, checked against the no-op record\)/);
    });

    // (the rest through the bundled CLI alone: what differs unbundled is how node:fs is observed, checked above)
    if (!bundled) return;

    it('a dep rewritten to the same size with its mtime put back is seen (its ctime moved)', () => {
      const dir = copyFixture('basic');
      recordedNoop(dir, { env });
      const file = join(dir, 'data/numbers.csv');
      const before = statSync(file);
      writeFileSync(file, readFileSync(file, 'utf8').replace('1', '7'));
      expect(statSync(file).size).toBe(before.size);
      utimesSync(file, before.atime, before.mtime);
      const r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(statuses(r.report as RunReport)).toMatchObject({ load: 'ran' });
    });

    it('a changed param, a --set, an edited helper module and an edited schema are each seen', () => {
      const dir = copyFixture('basic');
      recordedNoop(dir, { env });
      edit(dir, 'pipeline.yaml', (t) => t.replace('factor: 2', 'factor: 3'));
      let r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(statuses(r.report as RunReport)).toMatchObject({ load: 'cached', scale: 'ran' });
      // the same options once more, recorded afresh
      recordAgain(dir, env);
      r = run(dir, ['--set', 'scale.factor=5'], env); // other options: another record, none yet
      expect(r.report?.from_record).toBeUndefined();
      expect(statuses(r.report as RunReport)).toMatchObject({ scale: 'ran' });
      expect(run(dir, [], env).report?.from_record).toBeUndefined(); // the --set run changed the lockfile
      recordAgain(dir, env);
      appendFileSync(join(dir, 'lib/sum.ts'), '\n// a comment\n');
      r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(Object.values(statuses(r.report as RunReport))).toContain('ran');
      recordAgain(dir, env);
      edit(dir, 'schemas/total.schema.json', (t) => t.replace('{', '{ "description": "edited",'));
      r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(statuses(r.report as RunReport)).toMatchObject({ total: 'ran' });
    });

    it('a damaged or missing output (readable copy or store object) is seen and repaired', () => {
      const dir = copyFixture('basic');
      const engine = recordedNoop(dir, { env });
      writeFileSync(join(dir, 'out/summary.txt'), 'tampered\n');
      let r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(readFileSync(join(dir, 'out/summary.txt'), 'utf8')).not.toBe('tampered\n');
      writeFileSync(join(dir, 'out/site/extra.html'), 'x');
      r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(existsSync(join(dir, 'out/site/extra.html'))).toBe(false);
      // a store object removed: repaired from its readable copy
      recordAgain(dir, env);
      const hash = engine.stages.find((s) => s.stage === 'total')?.outputs?.total as string;
      const hex = hash.slice('sha256:'.length);
      rmSync(join(dir, 'artifacts/objects', hex.slice(0, 2), hex.slice(2)), { force: true });
      r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(r.report?.stages.find((s) => s.stage === 'total')?.reason).toMatch(/re-stored|up to date \(/);
    });

    it('a lockfile edited by hand, a file added under a glob dep and a new stage are each seen', () => {
      const dir = writeProject({
        'data/a.csv': '1\n',
        'data/b.csv': '2\n',
        'stages/s.ts': "import { readdirSync, writeFileSync } from 'node:fs';\nexport default (ctx: any) => { writeFileSync(ctx.outPath('n'), String(readdirSync('data').length)); return {}; };\n",
        'pipeline.yaml': 'stages:\n  s: { run: stages/s.ts, deps: ["data/*.csv"], outs: { n: { file: out/n.txt } } }\n',
      });
      recordedNoop(dir, { env });
      writeFileSync(join(dir, 'data/c.csv'), '3\n');
      let r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(statuses(r.report as RunReport)).toEqual({ s: 'ran' });
      recordAgain(dir, env);
      edit(dir, 'pipeline.lock', (t) => t.replace(/"sha256:[0-9a-f]{64}"/, `"sha256:${'0'.repeat(64)}"`));
      r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      recordAgain(dir, env);
      edit(dir, 'pipeline.yaml', (t) => `${t}  t: { run: stages/s.ts, deps: ["data/*.csv"], outs: { n: { file: out/t.txt } } }\n`);
      r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(statuses(r.report as RunReport)).toEqual({ s: 'cached', t: 'ran' });
    });

    it('a held project lock sends the run to the engine (which reports the lock), and a damaged record is ignored', async () => {
      const dir = copyFixture('basic');
      recordedNoop(dir, { env });
      const release = await acquireProjectLock(dir);
      try {
        const r = run(dir, [], env);
        expect(r.code).toBe(5);
        expect(r.report?.from_record).toBeUndefined();
      } finally {
        release();
      }
      expect(run(dir, [], env).report?.from_record).toBe(true); // the record still holds
      const file = join(dir, '.spillway', records(dir)[0] as string);
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] ^= 0x01; // one bit, within the sealed text
      writeFileSync(file, bytes);
      const r = run(dir, [], env);
      expect(r.report?.from_record).toBeUndefined();
      expect(r.report?.stages.every((s) => s.status === 'cached')).toBe(true);
      expect(run(dir, [], env).report?.from_record).toBe(true); // written again by the engine's no-op
    });
  });
}

describe('recording', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const project = () => {
    const dir = writeProject({ 'a.txt': 'a\n' });
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'a.txt'), past, past);
    mkdirSync(join(dir, '.spillway'), { recursive: true });
    return dir;
  };

  it('records each variable read and each file looked at; a change to either voids the record', async () => {
    const dir = project();
    process.env.SPILLWAY_RECORD_TEST = 'one';
    const recorder = await startNoopRecording(dir);
    expect(process.env.SPILLWAY_RECORD_TEST).toBe('one');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(dir, 'missing.txt'))).toBe(false);
    recorder.mark('s');
    expect(recorder.save('key', { answer: 42 })).toBe(true);
    expect(checkNoopRecord(dir, 'key', () => 0)).toEqual({ payload: { answer: 42 }, phases: [{ label: 's', start_ms: 0, end_ms: 0 }] });
    expect(checkNoopRecord(dir, 'other key', () => 0)).toBeUndefined();
    process.env.SPILLWAY_RECORD_TEST = 'two';
    expect(checkNoopRecord(dir, 'key', () => 0)).toBeUndefined();
    expect(existsSync(noopRecordPath(dir, 'key'))).toBe(false); // a record that does not hold is removed
    delete process.env.SPILLWAY_RECORD_TEST;
    for (const change of [() => writeFileSync(join(dir, 'missing.txt'), ''), () => writeFileSync(join(dir, 'a.txt'), 'b\n')]) {
      const again = await startNoopRecording(dir);
      readFileSync(join(dir, 'a.txt'));
      existsSync(join(dir, 'missing.txt'));
      expect(again.save('key', 1)).toBe(true);
      expect(checkNoopRecord(dir, 'key', () => 0)?.payload).toBe(1);
      change();
      expect(checkNoopRecord(dir, 'key', () => 0)).toBeUndefined();
    }
  });

  it('leaves no record after a write outside the lock, an asynchronous read, a listed environment or a racy file', async () => {
    const dir = project();
    const attempts: [string, () => unknown, RegExp][] = [
      ['a write', () => writeFileSync(join(dir, 'b.txt'), 'b'), /writeFileSync .*b\.txt/],
      ['fs.promises', () => import('node:fs').then((fs) => fs.promises.readFile(join(dir, 'a.txt'))), /fs\.promises\.readFile/],
      ['a callback', () => new Promise((done) => import('node:fs').then((fs) => fs.stat(join(dir, 'a.txt'), done))), /fs\.stat/],
      ['the environment listed', () => Object.keys(process.env), /environment was listed/],
      ['the environment changed', () => (process.env.SPILLWAY_RECORD_TEST = 'x'), /environment was changed/],
      ['a racy file', () => readFileSync(join(dir, 'new.txt')), /new\.txt changed within/],
    ];
    for (const [what, act, why] of attempts) {
      if (what === 'a racy file') writeFileSync(join(dir, 'new.txt'), 'written just now');
      const recorder = await startNoopRecording(dir);
      try {
        await act();
      } finally {
        recorder.stop();
      }
      expect({ what, why: recorder.unusable() }).toEqual({ what, why: expect.stringMatching(why) });
      expect(recorder.save('key', 1)).toBe(false);
      expect(existsSync(noopRecordPath(dir, 'key'))).toBe(false);
      rmSync(join(dir, 'b.txt'), { force: true });
      rmSync(join(dir, 'new.txt'), { force: true });
      delete process.env.SPILLWAY_RECORD_TEST;
    }
    // node:fs and process.env are themselves again
    const fs = await import('node:fs');
    expect(fs.statSync.name).toBe('statSync');
    expect(Object.keys(process.env).length).toBeGreaterThan(0);
  });
});
