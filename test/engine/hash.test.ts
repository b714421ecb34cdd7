// The stat cache: unchanged files are not re-read, racy (recently modified) entries are, and content is what counts.
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStageContext } from '../../src/engine/stage-context.js';
import { hashBytes, StatCache } from '../../src/engine/hash.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('StatCache', () => {
  it('re-hashes a file modified within the racy window even when size and mtime look unchanged', () => {
    const file = join(dir, 'data.csv');
    writeFileSync(file, 'a,b\n1,2\n');
    const cache = new StatCache(dir);
    // sha256("a,b\n1,2\n") computed independently with `printf 'a,b\n1,2\n' | sha256sum`
    expect(cache.hashFile(file).hash).toBe(hashBytes('a,b\n1,2\n'));
    expect(cache.hashedCount).toBe(1);
    const { mtime } = statSync(file);
    // Same size, same mtime, different bytes: only the racy rule (mtime close to hashing time) catches this.
    writeFileSync(file, 'a,b\n1,3\n');
    utimesSync(file, mtime, mtime);
    expect(cache.hashFile(file).hash).toBe(hashBytes('a,b\n1,3\n'));
    expect(cache.hashedCount).toBe(2);
    cache.save();
  });

  it('trusts an entry whose file is older than the racy window, across processes (persisted cache)', () => {
    const file = join(dir, 'old.csv');
    writeFileSync(file, 'x\n');
    const past = new Date(Date.now() - 60_000);
    utimesSync(file, past, past);
    const first = new StatCache(dir);
    first.hashFile(file);
    first.save();
    const second = new StatCache(dir);
    expect(second.hashFile(file).hash).toBe(hashBytes('x\n'));
    expect(second.hashedCount).toBe(0);
    writeFileSync(file, 'y\n'); // new mtime: re-read
    expect(second.hashFile(file).hash).toBe(hashBytes('y\n'));
    expect(second.hashedCount).toBe(1);
  });
});

describe('createStageContext', () => {
  it('gives nested params from flat or nested input, and refuses undeclared params, deps and outputs', () => {
    const ctx = createStageContext({
      stage: 'classify',
      params: { 'classify.criterion': 'total_publications', weights: { decay: 2 } },
      inputs: { panel: { rows: [] } },
      deps: ['data/a.csv'],
      projectRoot: dir,
      outDir: join(dir, 'out'),
      outs: { table: 'file', site: 'dir' },
    });
    expect(ctx.params).toEqual({ classify: { criterion: 'total_publications' }, weights: { decay: 2 } });
    expect(ctx.param('weights.decay')).toBe(2);
    expect(() => ctx.param('weights.other')).toThrow(/does not declare/);
    expect(ctx.dep('data/a.csv')).toBe(join(dir, 'data/a.csv'));
    expect(() => ctx.dep('data/b.csv')).toThrow(/does not declare/);
    expect(ctx.outPath('table')).toBe(join(dir, 'out/table'));
    expect(statSync(ctx.outPath('site')).isDirectory()).toBe(true);
    expect(() => ctx.outPath('other')).toThrow(/not a declared file or dir output/);
    expect(Object.isFrozen(ctx.params)).toBe(true);
  });
});

describe('expandGlob', () => {
  it('matches like a glob library, caches by directory mtimes, and sees added files', async () => {
    const { expandGlob } = await import('../../src/engine/glob.js');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'g/sub/deep'), { recursive: true });
    for (const f of ['g/a.csv', 'g/b.txt', 'g/.hidden.csv', 'g/sub/c.csv', 'g/sub/deep/d.csv']) writeFileSync(join(dir, f), f);
    const flat = await expandGlob(dir, 'g/*.csv', undefined);
    expect(flat.matches).toEqual(['g/a.csv']);
    const deep = await expandGlob(dir, 'g/**/*.csv', undefined);
    expect(deep.matches).toEqual(['g/a.csv', 'g/sub/c.csv', 'g/sub/deep/d.csv']);
    expect((await expandGlob(dir, 'g/{a,b}.*', undefined)).matches).toEqual(['g/a.csv', 'g/b.txt']);
    // An old listing of unchanged directories is reused without listing again...
    const old = { ...deep.entry, listedAt: Date.now() + 10_000 };
    const reused = await expandGlob(dir, 'g/**/*.csv', old);
    expect(reused.fresh).toBe(false);
    // ...but a new file changes its directory's mtime, and the listing is redone.
    writeFileSync(join(dir, 'g/sub/e.csv'), 'e');
    const relisted = await expandGlob(dir, 'g/**/*.csv', old);
    expect(relisted.fresh).toBe(true);
    expect(relisted.matches).toContain('g/sub/e.csv');
  });
});
