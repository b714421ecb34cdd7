#!/usr/bin/env node
// Engine overhead per stage: a chain of N trivial stages (module stages through tsx child processes, and command
// stages through execa) run with --force, minus the no-op run of the same chain, divided by N. Also the cost per
// stage of a no-op run (slope between a 1-stage and an N-stage chain). Median of BENCH_RUNS (default 3).
import { bin, fmt, loadAverage, remove, sample, sleep, tempProject, timed } from './_engine-util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const N = Number(process.env.BENCH_STAGES ?? 8);
const schema = '{ "type": "object" }\n';

function chain(n, kind) {
  const files = { 'schemas/any.schema.json': schema, 'stages/step.ts': 'export default (ctx: any) => ({ out: { n: Object.keys(ctx.inputs).length } });\n' };
  files['tools/step.mjs'] = "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.SPILLWAY_OUT_OUT, '{\"n\":1}');\n";
  const lines = ['stages:'];
  for (let i = 0; i < n; i++) {
    lines.push(`  s${i}:`);
    lines.push(kind === 'module' ? '    run: stages/step.ts' : '    cmd: [node, tools/step.mjs]');
    if (i > 0) lines.push(`    inputs: { prev: s${i - 1}.out }`);
    lines.push('    outs: { out: { schema: schemas/any.schema.json } }');
  }
  files['pipeline.yaml'] = `${lines.join('\n')}\n`;
  return tempProject(`overhead-${kind}-${n}`, files);
}

console.log(`engine overhead per stage, chains of ${N} trivial stages, --jobs 1, median of ${RUNS} (load average ${loadAverage()}):`);
for (const kind of ['module', 'cmd']) {
  const dir = chain(N, kind);
  try {
    timed(process.execPath, [bin, 'run', '--jobs', '1'], dir);
    await sleep(2100);
    const noop = sample(RUNS, () => timed(process.execPath, [bin, 'run', '--jobs', '1'], dir));
    const forced = sample(RUNS, () => timed(process.execPath, [bin, 'run', '--force', '--jobs', '1'], dir));
    const perStage = (forced.median - noop.median) / N;
    const node = sample(RUNS, () => timed(process.execPath, ['-e', '0'], dir));
    console.log(`  ${kind} stages: forced run ${fmt(forced.median)}, no-op ${fmt(noop.median)} → ${fmt(perStage)} per stage run (a bare \`node -e 0\` costs ${fmt(node.median)}); cpu per stage ${fmt((forced.cpu - noop.cpu) / N)}`);
  } finally {
    remove(dir);
  }
}
const one = chain(1, 'module');
const many = chain(N * 4, 'module');
try {
  for (const dir of [one, many]) {
    timed(process.execPath, [bin, 'run', '--jobs', '2'], dir);
  }
  await sleep(2100);
  for (const dir of [one, many]) timed(process.execPath, [bin, 'run'], dir);
  const a = sample(RUNS * 3, () => timed(process.execPath, [bin, 'run'], one));
  const b = sample(RUNS * 3, () => timed(process.execPath, [bin, 'run'], many));
  console.log(`  no-op cost per stage: (${fmt(b.median)} for ${N * 4} stages − ${fmt(a.median)} for 1) / ${N * 4 - 1} = ${fmt((b.median - a.median) / (N * 4 - 1))}`);
} finally {
  remove(one);
  remove(many);
}
