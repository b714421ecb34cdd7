// The same 6-stage pipeline (ingest → classify, weights → spillovers → lag → estimate, the default pipeline's edges)
// from scratch through SLURM on the single-node cluster of scripts/slurm-cluster.sh: `spillway run --executor slurm`
// against Snakemake 7's own SLURM support (`snakemake --slurm`), side by side, medians of several runs and the ratio,
// with the load average. Every stage is trivial, so this measures what each tool adds per job: submission, status
// polling, start-up on the node. Installs Debian's snakemake when it is missing and this is root; skipped, with the
// reason, when no cluster answers. Not part of CI.
// Usage: npx tsx bench/slurm-vs-snakemake.ts [--runs N] [--snakemake-default-polling]
//   Snakemake 7.21 with --slurm looks at its jobs --max-status-checks-per-second times a second, but any value above 1
//   is replaced by 0.03 (one look every 33 s, snakemake/scheduler.py), the default. The bench passes 1, the fastest it
//   accepts, which is fairer to it; --snakemake-default-polling adds one run with Snakemake's defaults.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCluster, repoRoot } from '../test/cluster/helpers.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'snakemake-default-polling': { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

const why = ensureCluster({ start: false }); // a bench measures; it does not start daemons
if (why !== undefined) {
  console.log(`skipped: ${why}`);
  process.exit(0);
}

function hasSnakemake(): boolean {
  return spawnSync('snakemake', ['--version'], { encoding: 'utf8' }).status === 0;
}
if (!hasSnakemake()) {
  if (process.getuid?.() !== 0) {
    console.log('skipped: snakemake is not installed (apt-get install snakemake, as root)');
    process.exit(0);
  }
  console.log('installing Debian snakemake (apt-get update && apt-get install -y snakemake) …');
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit' });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', 'snakemake'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) : update;
  if (install.status !== 0 || !hasSnakemake()) {
    console.log('skipped: apt-get install snakemake failed');
    process.exit(0);
  }
}
const snakemakeVersion = spawnSync('snakemake', ['--version'], { encoding: 'utf8' }).stdout.trim();
const partition = (spawnSync('sinfo', ['--noheader', '--format=%P'], { encoding: 'utf8' }).stdout.split('\n').find((p) => p.endsWith('*')) ?? 'main').replace('*', '');

// stage → the stages whose outputs it reads (as in pipeline.yaml)
const dag: Record<string, string[]> = {
  ingest: [],
  classify: ['ingest'],
  weights: ['ingest'],
  spillovers: ['ingest', 'weights'],
  lag: ['ingest', 'spillovers', 'classify'],
  estimate: ['lag'],
};

function project(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function spillwayProject(): string {
  const files: Record<string, string> = { 'package.json': '{ "type": "module", "private": true }\n', 'schemas/any.schema.json': '{ "type": "object" }\n' };
  const lines = ['stages:'];
  for (const [stage, ups] of Object.entries(dag)) {
    files[`stages/${stage}.ts`] = `export default (ctx: any) => ({ out: { stage: ${JSON.stringify(stage)}, from: Object.keys(ctx.inputs) } });\n`;
    lines.push(`  ${stage}:`, `    run: stages/${stage}.ts`);
    if (ups.length) lines.push(`    inputs: { ${ups.map((u) => `${u}: ${u}.out`).join(', ')} }`);
    lines.push('    outs: { out: { schema: schemas/any.schema.json } }');
  }
  files['pipeline.yaml'] = `${lines.join('\n')}\n`;
  return project('spillway-vs-smk-', files);
}

function snakemakeProject(): string {
  const rules = ['rule all:', '    input: "out/estimate.json"', ''];
  for (const [stage, ups] of Object.entries(dag)) {
    rules.push(`rule ${stage}:`);
    if (ups.length) rules.push(`    input: ${ups.map((u) => JSON.stringify(`out/${u}.json`)).join(', ')}`);
    rules.push(`    output: "out/${stage}.json"`, `    shell: "echo ${stage} | cat - {input} > {output}"`, '');
  }
  return project('smk-vs-spillway-', { Snakefile: rules.join('\n') });
}

function timed(cmd: string, args: string[], cwd: string): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, USER: process.env.USER ?? 'root' }, timeout: 900_000 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}) in ${cwd}:\n${(r.stderr || r.stdout).split('\n').slice(-15).join('\n')}`);
  return ms;
}

const spillway = () => {
  const dir = spillwayProject();
  try {
    return timed(process.execPath, [join(repoRoot, 'bin/spillway.js'), 'run', '--executor', 'slurm'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
const snakemake = (checksPerSecond?: number) => {
  const dir = snakemakeProject();
  try {
    return timed('snakemake', ['--slurm', '--jobs', '6', '--default-resources', `slurm_partition=${partition}`, '--latency-wait', '10', '--quiet', ...(checksPerSecond ? ['--max-status-checks-per-second', String(checksPerSecond)] : [])], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

console.log(`6-stage pipeline from scratch through SLURM (partition ${partition}), ${RUNS} runs each, snakemake ${snakemakeVersion}; load average before: ${load()}`);
const ours: number[] = [];
const theirs: number[] = [];
for (let r = 0; r < RUNS; r++) {
  ours.push(spillway());
  theirs.push(snakemake(1));
  console.log(`  run ${r + 1}: spillway ${(ours[r] / 1000).toFixed(1)} s, snakemake ${(theirs[r] / 1000).toFixed(1)} s (load ${load()})`);
}
console.log(`spillway run --executor slurm                         median ${(median(ours) / 1000).toFixed(1)} s`);
console.log(`snakemake --slurm --max-status-checks-per-second 1   median ${(median(theirs) / 1000).toFixed(1)} s`);
console.log(`snakemake / spillway: ${(median(theirs) / median(ours)).toFixed(2)}×`);
if (values['snakemake-default-polling']) {
  const t = snakemake();
  console.log(`snakemake --slurm with its default status polling, one run: ${(t / 1000).toFixed(1)} s`);
}
console.log(`load average after: ${load()}`);
