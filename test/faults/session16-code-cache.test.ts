// A damaged V8 code cache beside the bundled CLI (dist/cli.bundle.cache): V8 checks a code cache's version, flags and
// source length, but not its bytes (release builds), so a flipped bit or a truncated file used to crash node
// (SIGSEGV, SIGTRAP: exit 139/133) or run altered code, on every command, since a crashed command never replaces the
// cache. Seeded damage (one flipped bit, a truncation, 20 random bytes) to a copy of the CLI (bin/, dist/,
// package.json; the repository's own cache is left alone): every command must still give the undamaged output, and
// the cache be rewritten.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from '../engine/helpers.js';
import { Rng } from '../../src/stats/random.js';

const copy = mkdtempSync(join(tmpdir(), 'spillway-codecache-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

/** seeded uniform draws in [0, 1) (the project's generator, src/stats/random.ts) */
const rng = (seed: number): (() => number) => {
  const g = Rng.fromSeed(seed);
  return () => g.uniform();
};

it('a damaged code cache (flipped bit, truncation, random bytes) is not used, and is rewritten', () => {
  expect(existsSync(join(repoRoot, 'dist/cli.bundle.cjs'))).toBe(true);
  cpSync(join(repoRoot, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(copy, 'dist'), { recursive: true, preserveTimestamps: true });
  cpSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
  const cache = join(copy, 'dist/cli.bundle.cache');
  rmSync(cache, { force: true });
  const cli = () => spawnSync(process.execPath, [join(copy, 'bin/spillway.js'), '--help'], { cwd: copy, encoding: 'utf8', env: { ...process.env, SPILLWAY_NO_BUNDLE: '' } });
  const first = cli();
  expect(first.status, first.stderr).toBe(0);
  expect(existsSync(cache)).toBe(true);
  const good = readFileSync(cache);
  const start = good.indexOf(10) + 1;
  const failures: string[] = [];
  for (let seed = 1; seed <= 24; seed++) {
    const r = rng(seed);
    let damaged = Buffer.from(good);
    const at = () => start + Math.floor(r() * (good.length - start));
    if (seed % 3 === 0) damaged[at()] ^= 1 << Math.floor(r() * 8);
    else if (seed % 3 === 1) damaged = damaged.subarray(0, at());
    else for (let k = 0; k < 20; k++) damaged[at()] = Math.floor(r() * 256);
    writeFileSync(cache, damaged);
    const out = cli();
    if (out.status !== 0 || out.stdout !== first.stdout) failures.push(`seed ${seed}: exit ${out.status} signal ${out.signal} ${out.stderr.split('\n').find((l) => l.trim()) ?? ''}`);
    else if (readFileSync(cache).equals(damaged)) failures.push(`seed ${seed}: the damaged cache was kept`);
  }
  expect(failures).toEqual([]);
});
