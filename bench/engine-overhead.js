#!/usr/bin/env node
// Engine overhead per executed stage: chains of N and 4N trivial stages (module stages in a fresh process each and
// in warm workers, command stages through execa) run with --force; the slope is the cost of one more stage. Also the
// cost per stage of a no-op run (slope between a 1-stage and a 4N-stage chain). Median of BENCH_RUNS (default 3).
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

console.log(`engine overhead per executed stage, chains of trivial stages, --jobs 1, median of ${RUNS} (load average ${loadAverage()}):`);
// Module stages under both executors (a fresh process per stage, and warm workers: the default), and command stages.
// "per stage" is the slope between a forced run of N and of 4N stages: what one more executed stage costs, without
// the per-run start-up (the engine's own, ajv's, the first worker's), which is given separately.
for (const [kind, executor] of [['module', 'local'], ['module', 'workers'], ['cmd', 'workers']]) {
  const small = chain(N, kind);
  const large = chain(4 * N, kind);
  const env = { SPILLWAY_EXECUTOR: executor };
  try {
    for (const dir of [small, large]) timed(process.execPath, [bin, 'run', '--jobs', '1'], dir, env);
    await sleep(2100);
    const noop = sample(RUNS, () => timed(process.execPath, [bin, 'run', '--jobs', '1'], small, env));
    const forcedSmall = sample(RUNS, () => timed(process.execPath, [bin, 'run', '--force', '--jobs', '1'], small, env));
    const forcedLarge = sample(RUNS, () => timed(process.execPath, [bin, 'run', '--force', '--jobs', '1'], large, env));
    const slope = (forcedLarge.median - forcedSmall.median) / (3 * N);
    const slopeCpu = (forcedLarge.cpu - forcedSmall.cpu) / (3 * N);
    const label = kind === 'cmd' ? 'cmd stages (a node script)' : `module stages, ${executor === 'local' ? 'a process each' : 'warm workers'}`;
    console.log(`  ${label.padEnd(30)} per executed stage: wall ${fmt(slope)}, cpu ${fmt(slopeCpu)}   (forced ${N}: ${fmt(forcedSmall.median)}, forced ${4 * N}: ${fmt(forcedLarge.median)}, no-op ${N}: ${fmt(noop.median)}; start-up of a forced run ${fmt(forcedSmall.median - N * slope - noop.median)})`);
  } finally {
    remove(small);
    remove(large);
  }
}
const node = sample(RUNS, () => timed(process.execPath, ['-e', '0'], process.cwd()));
console.log(`  (a bare \`node -e 0\` costs ${fmt(node.median)} wall, ${fmt(node.cpu)} cpu here; target: ≤ 20 ms per executed stage)`);
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
