// The stat cache: unchanged files are not re-read, racy (recently modified) entries are, and content is what counts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStageContext } from '../../src/engine/stage-context.js';
import { checksum, checksumBytes, hashBytes, seal, StatCache, unseal, unsealBytes } from '../../src/engine/hash.js';
import { relativeUnder, under } from '../../src/engine/paths.js';

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

describe('sealed caches', () => {
  // An independent reference of checksumBytes: each little-endian 32-bit word (then each remaining byte) fed to two
  // multiply lanes, in BigInt arithmetic mod 2^32, then the two-lane finalizer.
  function reference(bytes: Uint8Array): string {
    const M = 2n ** 32n;
    const mul = (a: bigint, b: bigint) => (a * b) % M;
    let h1 = (0xdeadbeefn ^ BigInt(bytes.length)) % M;
    let h2 = (0x41c6ce57n ^ BigInt(bytes.length)) % M;
    const feed = (c: bigint) => {
      h1 = mul(h1 ^ c, 2654435761n);
      h2 = mul(h2 ^ c, 1597334677n);
    };
    const words = Math.floor(bytes.length / 4);
    for (let i = 0; i < words; i++) feed(BigInt(bytes[4 * i]) | (BigInt(bytes[4 * i + 1]) << 8n) | (BigInt(bytes[4 * i + 2]) << 16n) | (BigInt(bytes[4 * i + 3]) << 24n));
    for (let i = 4 * words; i < bytes.length; i++) feed(BigInt(bytes[i]));
    const a = mul(h1 ^ (h1 >> 16n), 2246822507n) ^ mul(h2 ^ (h2 >> 13n), 3266489909n);
    const b = mul(h2 ^ (h2 >> 16n), 2246822507n) ^ mul(a ^ (a >> 13n), 3266489909n);
    return b.toString(16).padStart(8, '0') + a.toString(16).padStart(8, '0');
  }

  it('checksums bytes four at a time as the reference does, at any length and any buffer offset', () => {
    const data = Buffer.from('{"files":{"data/raw/regions.csv":[1024,1,2,"sha256:ab",3]}, "名":"纳米"}\n', 'utf8');
    for (let len = 0; len <= data.length; len += 1) {
      const bytes = data.subarray(0, len);
      const expected = reference(bytes);
      expect(checksumBytes(bytes)).toBe(expected);
      // the same bytes at an offset that is not a multiple of 4
      const shifted = Buffer.alloc(len + 3);
      bytes.copy(shifted, 3);
      expect(checksumBytes(shifted.subarray(3))).toBe(expected);
    }
  });

  it('unseals what it sealed, from text or bytes, refuses any changed byte, and still reads the older format', () => {
    const text = JSON.stringify({ a: [1, 2, 3], name: 'Zürich → 纳米', n: 0.1 });
    const sealed = seal(text);
    expect(sealed.startsWith('spillway-sealed2 ')).toBe(true);
    expect(unseal(sealed)).toBe(text);
    expect(unsealBytes(Buffer.from(sealed, 'utf8'))).toBe(text);
    const bytes = Buffer.from(sealed, 'utf8');
    const body = bytes.indexOf(10) + 1;
    for (let i = body; i < bytes.length; i++) {
      const damaged = Buffer.from(bytes);
      damaged[i] ^= 0x01;
      expect(unsealBytes(damaged)).toBeUndefined();
    }
    expect(unseal(`${sealed}x`)).toBeUndefined();
    expect(unsealBytes(Buffer.from(text))).toBeUndefined(); // no seal at all
    // written by the previous version: the checksum of the text's UTF-16 code units
    const v1 = `spillway-sealed ${checksum(text)}\n${text}`;
    expect(unseal(v1)).toBe(text);
    expect(unsealBytes(Buffer.from(v1, 'utf8'))).toBe(text);
    expect(unsealBytes(Buffer.from(`spillway-sealed ${checksum(text)}\n${text} `, 'utf8'))).toBeUndefined();
  });

  it('a stat cache sealed the older way is believed, and written again the new way', () => {
    const root = mkdtempSync(join(tmpdir(), 'spillway-seal-'));
    try {
      const file = join(root, 'a.txt');
      writeFileSync(file, 'abc');
      const past = new Date(Date.now() - 60_000);
      utimesSync(file, past, past);
      const first = new StatCache(root);
      const hash = first.hashFile(file).hash;
      first.save();
      const cacheFile = join(root, '.spillway', 'stat-cache.json');
      const text = unseal(readFileSync(cacheFile, 'utf8')) as string;
      writeFileSync(cacheFile, `spillway-sealed ${checksum(text)}\n${text}`);
      const second = new StatCache(root);
      expect(second.hashFile(file).hash).toBe(hash);
      expect(second.hashedCount).toBe(0); // the old seal was accepted: nothing re-read
      second.save();
      expect(readFileSync(cacheFile, 'utf8').startsWith('spillway-sealed2 ')).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('under and relativeUnder (path.resolve and path.relative without their work on plain paths)', () => {
  const dirs = ['/p', '/p/q', '/', '/p/', '/p//q', '/p/./q', '/p/../q', '/p/.', '/p/..', 'p', './p', '', '/p/.hidden', '/p/q..r'];
  const rels = ['a', 'a/b.ts', 'a/', '/a', '', '.', '..', './a', '../a', 'a/../b', 'a/./b', 'a//b', 'a/..', '.a/b', 'a../b', '...', 'a\\b'];
  it('gives what path.resolve (or the fallback given, path.join) gives, for every pair', () => {
    for (const dir of dirs) {
      for (const rel of rels) {
        expect(under(dir, rel), `${dir} + ${rel}`).toBe(resolve(dir, rel));
        expect(under(dir, rel, join), `${dir} + ${rel} (join)`).toBe(join(dir, rel));
      }
    }
  });
  it('gives what path.relative gives, for every pair', () => {
    for (const dir of dirs) {
      for (const rel of rels) {
        for (const file of [`${dir}/${rel}`, resolve(dir, rel), join(dir, rel)]) expect(relativeUnder(dir, file), `${dir} to ${file}`).toBe(relative(dir, file));
      }
    }
  });
});

describe('StatCache.packageVersion (package.json read again only when its stat changed)', () => {
  it('reads a version once, trusts it while size, mtime, ctime and inode hold, and reads again when they change', () => {
    const root = mkdtempSync(join(tmpdir(), 'spillway-pkg-'));
    try {
      const file = join(root, 'node_modules', 'p', 'package.json');
      mkdirSync(join(root, 'node_modules', 'p'), { recursive: true });
      writeFileSync(file, '{ "name": "p", "version": "1.0.0" }\n');
      const past = new Date(Date.now() - 60_000);
      utimesSync(file, past, past);
      const first = new StatCache(root);
      expect(first.packageVersion(file)).toBe('1.0.0');
      expect(first.packageVersion(join(root, 'node_modules', 'q', 'package.json'))).toBeUndefined(); // not installed
      first.save();
      // same size, mtime and inode, other bytes (the mtime put back): read again, the ctime moved (as for hashFile)
      writeFileSync(file, '{ "name": "p", "version": "9.9.9" }\n');
      utimesSync(file, past, past);
      const again = new StatCache(root);
      expect(again.packageVersion(file)).toBe('9.9.9');
      again.save();
      expect(new StatCache(root).packageVersion(file)).toBe('9.9.9');
      // a new mtime (any real install): read again
      writeFileSync(file, '{ "name": "p", "version": "2.0.0" }\n');
      expect(new StatCache(root).packageVersion(file)).toBe('2.0.0');
      // recorded within the racy window: read again on every look, never trusted
      const racy = new StatCache(root);
      expect(racy.packageVersion(file)).toBe('2.0.0');
      racy.save();
      const { mtime } = statSync(file);
      writeFileSync(file, '{ "name": "p", "version": "3.0.0" }\n');
      utimesSync(file, mtime, mtime);
      expect(new StatCache(root).packageVersion(file)).toBe('3.0.0');
      // unreadable JSON: undefined (the caller walks up to the next node_modules), and nothing is recorded
      writeFileSync(file, '{ not json');
      expect(new StatCache(root).packageVersion(file)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
