// Session 23 fault pass over bin/spillway.js's V8 code cache for the bundled CLI. V8 checks of a cache's source only
// its length, so the cache is keyed by the bundle's stat: size, mtime and inode alone let a bundle rewritten in place
// with text of the same length and its mtime put back (touch -d, cp -p, an unpacker that fixes mtimes) run the old
// code from the cache (test written to fail first). The bundle's ctime, which no one can set, is part of the key.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'spillway-s23-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a bundle edited in place to the same length with its mtime put back does not run the cached old code', () => {
  cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(root, 'dist'), { recursive: true, preserveTimestamps: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const bin = join(root, 'bin/spillway.js');
  const bundle = join(root, 'dist/cli.bundle.cjs');
  const help = () => spawnSync(process.execPath, [bin, 'fit', '--help'], { encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '' } });
  // twice: the first writes the cache for this copy (another inode), the second runs from it
  expect(help().stdout).toContain('Fits a count-panel model');
  const second = help();
  expect(second.stdout).toContain('Fits a count-panel model');
  expect(readFileSync(join(root, 'dist/cli.bundle.cache')).subarray(0, 19).toString()).toBe('spillway-code-cache');
  const before = statSync(bundle);
  const text = readFileSync(bundle);
  const at = text.indexOf('Fits a count-panel model');
  expect(at).toBeGreaterThan(0);
  const fd = openSync(bundle, 'r+'); // in place: the same inode
  writeSync(fd, Buffer.from('Fitz'), 0, 4, at);
  closeSync(fd);
  utimesSync(bundle, before.atime, before.mtime);
  const after = statSync(bundle);
  expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
  const third = help();
  expect(third.status).toBe(0);
  expect(third.stdout).toContain('Fitz a count-panel model');
});
