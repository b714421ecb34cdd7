// Shared by the engine benches: temp projects, timing, medians. (Leading underscore: run-all.js skips it.)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(repoRoot, 'bin', 'spillway.js');

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function tempProject(prefix, files) {
  const dir = mkdtempSync(join(tmpdir(), `spillway-bench-${prefix}-`));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

export function remove(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a command, returns wall milliseconds; throws on failure. */
export function timed(command, args, cwd, env = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, stdout: r.stdout, stderr: r.stderr };
}

export function medianOf(runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(fn());
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), runs };
}

export const fmt = (ms) => `${ms.toFixed(1)} ms`;

export function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
