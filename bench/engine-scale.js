#!/usr/bin/env node
// The engine at scale: pipelines of N trivial module stages (a layered DAG: each stage reads one or two stages of the
// previous layer, so it is neither a chain nor a star), for N in BENCH_SCALE (default "500,2000,10000"). For each: the
// first run (every stage executes, through warm workers, --jobs 2), then the no-op run (answered by its no-op record,
// and the engine's own with the record removed first), `status` and `dag`, medians of
// BENCH_RUNS (default 3), and the cost per stage, to check that it stays linear. R targets reports 0.5-1.4 ms per
// up-to-date target for the same no-op check.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, loadAverage, median, remove, sample, sleep, tempProject, timed, bin } from './_engine-util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = (process.env.BENCH_SCALE ?? '500,2000,10000').split(',').map(Number);
const WIDTH = 50;

function project(n) {
  const lines = ['stages:'];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / WIDTH);
    lines.push(`  s${i}:`);
    lines.push('    run: stages/step.ts');
    if (layer > 0) {
      const a = (layer - 1) * WIDTH + (i % WIDTH);
      const b = (layer - 1) * WIDTH + ((i * 7 + 3) % WIDTH);
      lines.push(a === b ? `    inputs: { a: s${a}.out }` : `    inputs: { a: s${a}.out, b: s${b}.out }`);
    }
    lines.push('    outs: { out: { schema: schemas/any.schema.json } }');
  }
  return tempProject(`scale-${n}`, {
    'schemas/any.schema.json': '{ "type": "object" }\n',
    'stages/step.ts': 'export default (ctx: any) => ({ out: { n: Object.keys(ctx.inputs).length } });\n',
    'pipeline.yaml': `${lines.join('\n')}\n`,
  });
}

console.log(`engine at scale: layered DAGs of trivial module stages, median of ${RUNS} (load average ${loadAverage()})`);
const rows = [];
for (const n of SIZES) {
  const dir = project(n);
  try {
    const first = timed(process.execPath, [bin, 'run', '--jobs', '2'], dir);
    await sleep(2100);
    timed(process.execPath, [bin, 'run'], dir); // settles the stat cache
    await sleep(2100); // (the settling run may rewrite the lockfile: past the racy window again)
    timed(process.execPath, [bin, 'run'], dir); // the no-op that writes the no-op record
    const fromRecord = (r) => {
      if (JSON.parse(r.stdout).from_record !== true) throw new Error(`a no-op not answered by its record at ${n} stages`);
      return r;
    };
    const noop = sample(RUNS, () => fromRecord(timed(process.execPath, [bin, 'run', '--json'], dir)));
    // the engine's own no-op: its record removed first (the first no-op after a change, which records again)
    const engine = sample(RUNS, () => {
      for (const name of readdirSync(join(dir, '.spillway'))) if (name.startsWith('noop-record-')) rmSync(join(dir, '.spillway', name));
      return timed(process.execPath, [bin, 'run', '--json'], dir);
    });
    const status = sample(RUNS, () => timed(process.execPath, [bin, 'status', '--json'], dir));
    const dag = sample(RUNS, () => timed(process.execPath, [bin, 'dag'], dir));
    rows.push({ n, first: first.ms, noop: noop.median, engine: engine.median, status: status.median, dag: dag.median, noopCpu: noop.cpu });
    console.log(
      `  ${String(n).padStart(6)} stages: first run ${fmt(first.ms)} (${fmt(first.ms / n)} a stage); no-op ${fmt(noop.median)} (cpu ${fmt(noop.cpu)}, ${(noop.median / n).toFixed(3)} ms a stage), the engine's own ${fmt(engine.median)} (${(engine.median / n).toFixed(3)} ms a stage); status ${fmt(status.median)}; dag ${fmt(dag.median)}`,
    );
  } finally {
    remove(dir);
  }
}
if (rows.length >= 2) {
  const [a, b] = [rows[0], rows[rows.length - 1]];
  console.log(`  no-op slope between ${a.n} and ${b.n} stages: ${((b.noop - a.noop) / (b.n - a.n)).toFixed(3)} ms a stage (median per-stage ratio ${median([b.noop / b.n / (a.noop / a.n)]).toFixed(2)}× from the smallest to the largest: 1 is linear); the engine's own: ${((b.engine - a.engine) / (b.n - a.n)).toFixed(3)} ms a stage`);
}
