#!/usr/bin/env node
// What checking every store object against its hash costs: a cold run (empty store) and a no-op run of the real
// default pipeline (the repo's stages, code and data, copied to a temp directory). With `--baseline DIR` (another
// checkout of spillway, built, e.g. `git worktree add /tmp/old <commit> && (cd /tmp/old && npm ci)`) the same runs of
// that checkout alternate with this one's, A B A B …, and the ratio is given pair by pair, so a comparison holds on a
// machine whose load drifts. Usage: node bench/engine-verify.js [--baseline DIR] [--runs N] [--cold-runs N]
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, loadAverage, median, remove, repoRoot, sleep, timed } from './_engine-util.js';

const { values } = parseArgs({ options: { baseline: { type: 'string' }, runs: { type: 'string', default: '11' }, 'cold-runs': { type: 'string', default: '3' } } });
const RUNS = Number(values.runs);
const COLD = Number(values['cold-runs']);
const checkouts = [{ label: 'this checkout', root: repoRoot }];
if (values.baseline) checkouts.push({ label: 'baseline', root: resolve(values.baseline) });

function project(checkout) {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-verify-'));
  for (const p of ['pipeline.yaml', 'package.json', 'stages', 'src', 'schemas', 'data']) {
    if (existsSync(join(checkout.root, p))) cpSync(join(checkout.root, p), join(dir, p), { recursive: true });
  }
  symlinkSync(join(checkout.root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
const binOf = (checkout) => join(checkout.root, 'bin', 'spillway.js');
const clean = (dir) => {
  for (const p of ['artifacts', '.spillway', 'pipeline.lock', 'report']) rmSync(join(dir, p), { recursive: true, force: true });
};

const dirs = checkouts.map(project);
try {
  const cold = checkouts.map(() => []);
  const noop = checkouts.map(() => []);
  for (let i = 0; i < COLD; i++) {
    checkouts.forEach((c, k) => {
      clean(dirs[k]);
      cold[k].push(timed(process.execPath, [binOf(c), 'run', '--json'], dirs[k]));
    });
  }
  await sleep(2100); // past the racy-timestamp window, as on any real second run
  checkouts.forEach((c, k) => timed(process.execPath, [binOf(c), 'run'], dirs[k])); // settles the stat cache
  for (let i = 0; i < RUNS; i++) {
    checkouts.forEach((c, k) => noop[k].push(timed(process.execPath, [binOf(c), 'run', '--json'], dirs[k])));
  }
  console.log(`store verification: real default pipeline, cold run median of ${COLD}, no-op median of ${RUNS} (load average ${loadAverage()})`);
  const row = (label, runs) => `wall ${fmt(median(runs.map((r) => r.ms))).padStart(10)}  cpu ${fmt(median(runs.map((r) => r.cpu))).padStart(10)}`;
  checkouts.forEach((c, k) => {
    console.log(`  ${c.label.padEnd(14)} cold run  ${row('cold', cold[k])}`);
    console.log(`  ${c.label.padEnd(14)} no-op     ${row('noop', noop[k])}`);
  });
  if (checkouts.length === 2) {
    const ratio = (a, b, f) => median(a.map((r, i) => f(r) / f(b[i]))).toFixed(3);
    console.log(`  this/baseline, pair by pair: cold wall ${ratio(cold[0], cold[1], (r) => r.ms)}, cold cpu ${ratio(cold[0], cold[1], (r) => r.cpu)}, no-op wall ${ratio(noop[0], noop[1], (r) => r.ms)}, no-op cpu ${ratio(noop[0], noop[1], (r) => r.cpu)}`);
  }
} finally {
  for (const d of dirs) remove(d);
}
