#!/usr/bin/env node
// The same 6-stage DAG (ingest → classify, weights → spillovers → lag → estimate, with the default pipeline's edges)
// in spillway, Snakemake and GNU make; each tool's no-op (everything up to date) timed side by side, median of
// BENCH_RUNS (default 7), the tools taken in turn (so that a changing load weighs on each alike). Snakemake is
// installed from Debian when missing and this runs as root with apt-get (BENCH_INSTALL=0: never); a tool that is not
// there is reported as skipped.
import { spawnSync } from 'node:child_process';
import { bin, fmt, has, interleaved, loadAverage, remove, sleep, tempProject, timed } from './_engine-util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

// stage → the stages whose outputs it reads (as in pipeline.yaml)
const dag = {
  ingest: [],
  classify: ['ingest'],
  weights: ['ingest'],
  spillovers: ['ingest', 'weights'],
  lag: ['ingest', 'spillovers', 'classify'],
  estimate: ['lag'],
};
const deps = ['data/raw/regions.csv', 'data/raw/patents.csv', 'data/raw/publications.csv', 'data/raw/funding.csv', 'data/raw/region_year.csv'];
const depFiles = Object.fromEntries(deps.map((d) => [d, `${d}\n`.repeat(20000)]));

function spillwayProject() {
  const files = { ...depFiles, 'schemas/any.schema.json': '{ "type": "object" }\n' };
  const lines = ['stages:'];
  for (const [stage, ups] of Object.entries(dag)) {
    files[`stages/${stage}.ts`] = `export default (ctx: any) => ({ out: { stage: ${JSON.stringify(stage)}, from: Object.keys(ctx.inputs) } });\n`;
    lines.push(`  ${stage}:`, `    run: stages/${stage}.ts`);
    if (stage === 'ingest') lines.push(`    deps: [${deps.join(', ')}]`);
    if (ups.length) lines.push(`    inputs: { ${ups.map((u) => `${u}: ${u}.out`).join(', ')} }`);
    lines.push('    outs: { out: { schema: schemas/any.schema.json } }');
  }
  files['pipeline.yaml'] = `${lines.join('\n')}\n`;
  return tempProject('cmp-spillway', files);
}

function inputsOf(stage) {
  return stage === 'ingest' ? deps : dag[stage].map((u) => `out/${u}.json`);
}

function snakemakeProject() {
  const rules = ['rule all:', `    input: "out/estimate.json"`, ''];
  for (const stage of Object.keys(dag)) {
    rules.push(`rule ${stage}:`, `    input: ${inputsOf(stage).map((i) => JSON.stringify(i)).join(', ')}`, `    output: "out/${stage}.json"`, `    shell: "cat {input} | wc -c > {output}"`, '');
  }
  return tempProject('cmp-snakemake', { ...depFiles, Snakefile: rules.join('\n') });
}

function makeProject() {
  const lines = ['all: out/estimate.json', ''];
  for (const stage of Object.keys(dag)) {
    lines.push(`out/${stage}.json: ${inputsOf(stage).join(' ')}`, '\t@mkdir -p out', '\t@cat $^ | wc -c > $@', '');
  }
  return tempProject('cmp-make', { ...depFiles, Makefile: lines.join('\n') });
}

if (!has('snakemake') && process.env.BENCH_INSTALL !== '0' && process.getuid?.() === 0 && has('apt-get')) {
  console.log('installing Debian snakemake (apt-get install -y snakemake)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', 'snakemake'], { stdio: 'ignore', env });
  if (r.status !== 0) console.log(`  apt-get install snakemake failed (exit ${r.status})`);
}

const tools = [
  { name: 'spillway', project: spillwayProject, cmd: [process.execPath, bin, 'run'], available: true },
  { name: 'snakemake', project: snakemakeProject, cmd: ['snakemake', '--cores', '1', '--quiet'], available: has('snakemake') },
  { name: 'make', project: makeProject, cmd: ['make', '-s'], available: has('make') },
];

console.log(`no-op of an equivalent 6-stage pipeline, median of ${RUNS} runs (load average ${loadAverage()}):`);
const results = {};
const dirs = [];
try {
  for (const tool of tools) {
    if (!tool.available) {
      console.log(`  ${tool.name.padEnd(10)} skipped: not installed (apt-get install ${tool.name})`);
      continue;
    }
    const dir = tool.project();
    dirs.push(dir);
    timed(tool.cmd[0], tool.cmd.slice(1), dir); // build everything
  }
  await sleep(2100);
  const available = tools.filter((t) => t.available);
  for (const [i, tool] of available.entries()) timed(tool.cmd[0], tool.cmd.slice(1), dirs[i]); // settle caches
  const samples = interleaved(RUNS, available.map((tool, i) => () => timed(tool.cmd[0], tool.cmd.slice(1), dirs[i])));
  for (const [i, tool] of available.entries()) {
    const r = (results[tool.name] = samples[i]);
    console.log(`  ${tool.name.padEnd(10)} wall ${fmt(r.median).padStart(9)}  (min ${fmt(r.min)}, max ${fmt(r.max)})  cpu ${fmt(r.cpu)} (mean ${fmt(r.cpuMean)})`);
  }
  const s = results.spillway;
  if (s && results.snakemake) console.log(`  snakemake / spillway: wall ${(results.snakemake.median / s.median).toFixed(1)}× (target ≥ 7×), cpu ${(results.snakemake.cpuMean / s.cpuMean).toFixed(1)}× (means)`);
  if (s && results.make) {
    const cpu = results.make.cpu >= 10 ? `${(s.cpu / results.make.cpu).toFixed(1)}×` : 'n/a (make < 10 ms, the resolution of GNU time)';
    console.log(`  spillway / make:      wall ${(s.median / results.make.median).toFixed(1)}×, cpu ${cpu} (make compares mtimes only; spillway checks content via its stat cache and starts Node)`);
  }
} finally {
  for (const d of dirs) remove(d);
}
