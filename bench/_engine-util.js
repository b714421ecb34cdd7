// Shared by the engine benches: temp projects, timing, medians. (Leading underscore: run-all.js skips it.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const timeFile = join(tmpdir(), `spillway-bench-time-${process.pid}`);
process.on('exit', () => rmSync(timeFile, { force: true }));

/**
 * Runs a command; returns wall milliseconds and, where GNU time exists, CPU milliseconds (user + sys of the process
 * tree). CPU time is the figure to trust when other work shares the machine; wall time is what a user feels.
 */
export function timed(command, args, cwd, env = {}) {
  const [cmd, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', timeFile, command, ...args]] : [command, args];
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  let cpu = NaN;
  if (GNU_TIME) {
    const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpu = (user + sys) * 1000;
  }
  return { ms, cpu, stdout: r.stdout, stderr: r.stderr };
}

function summary(results) {
  const wall = results.map((r) => r.ms);
  const cpu = results.map((r) => r.cpu);
  // cpu: median; cpuMean: the mean, finer than GNU time's 10 ms steps
  return { median: median(wall), min: Math.min(...wall), max: Math.max(...wall), cpu: median(cpu), cpuMean: cpu.reduce((a, b) => a + b, 0) / cpu.length, runs: results.length, walls: wall, cpus: cpu };
}

/**
 * How much longer `a` takes than `b` in wall time, run for run: the median of a[i] − b[i] over the runs of
 * `interleaved`. Pairing each run with the one beside it cancels a machine whose speed drifts between runs, which the
 * difference of the two medians does not. (For CPU, the difference of the means is already that: GNU time's 10 ms
 * steps make a median of differences too coarse.)
 */
export function pairedGap(a, b) {
  return median(a.walls.map((v, i) => v - b.walls[i]));
}

/** Median wall and CPU of `runs` calls of fn (which returns a `timed` result). */
export function sample(runs, fn) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(fn());
  return summary(results);
}

/**
 * `sample` of several commands taken in turn (a, b, c, a, b, c, …), so that a load that changes while measuring (a
 * shared machine) weighs on all of them alike: the figures to compare side by side.
 */
export function interleaved(runs, fns) {
  const results = fns.map(() => []);
  for (let i = 0; i < runs; i++) fns.forEach((fn, j) => results[j].push(fn()));
  return results.map(summary);
}

export function loadAverage() {
  return loadavg()[0].toFixed(2);
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
