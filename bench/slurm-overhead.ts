// Submission and polling overhead per job of the SLURM executor, on the single-node cluster of
// scripts/slurm-cluster.sh (skipped when it is not running). Trivial module stages go through
// the executor one at a time, then together as one job array; each phase is timed and medians are printed:
//   submit    execute() called → sbatch returned a job id (includes the batch window that lets arrays form)
//   dispatch  job id → the job entry started on the node (SLURM scheduling + node process start)
//   run       the job entry's own time on the node (the stage process, as a local run would spend it)
//   collect   the job entry finished → execute() resolved (result-file polling)
// plus `sbatch --wait` of an empty job (SLURM's own floor) and the same stage run locally (the executor's local path).
// Usage: npx tsx bench/slurm-overhead.ts [--runs N] [--array N] [--poll-interval MS]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from '../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../src/engine/executors/slurm.js';
import { ensureCluster, hooks, tempProject } from '../test/cluster/helpers.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, array: { type: 'string', default: '20' }, 'poll-interval': { type: 'string', default: String(DEFAULT_CONFIG.pollIntervalMs) } } });
const RUNS = Number(values.runs);
const ARRAY = Number(values.array);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const ms = (x: number) => `${Math.round(x)} ms`;

const why = ensureCluster({ start: false }); // a bench measures; it does not install or start daemons
if (why !== undefined) {
  console.log(`skipped: ${why}`);
  process.exit(0);
}

const project = tempProject({ 'stages/noop.ts': 'export default () => ({ done: { ok: true } });\n' });
const config = { ...DEFAULT_CONFIG, pollIntervalMs: Number(values['poll-interval']) };
const executor = new SlurmExecutor({ config, root: project.root });
console.log(`SLURM executor overhead: ${RUNS} sequential trivial jobs, then one array of ${ARRAY}; poll_interval ${config.pollIntervalMs} ms, batch_window ${config.batchWindowMs} ms, load ${loadavg()[0].toFixed(2)}`);

try {
  // SLURM's own floor: an empty job, submitted and waited for by sbatch itself
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = spawnSync('sbatch', ['--wait', '--quiet', `--output=/dev/null`, '--wrap', 'true'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sbatch --wait failed: ${r.stderr}`);
    floor.push(performance.now() - t);
  }

  const local: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const o = await executor.execute(project.job(`local${i}`, 'stages/noop.ts', { jsonOuts: ['done'], resources: { local: true } }), hooks());
    if (o.failure) throw new Error(o.failure.message);
    local.push(performance.now() - t);
  }

  const phases = { total: [] as number[], submit: [] as number[], dispatch: [] as number[], run: [] as number[], collect: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    let submitted = 0;
    const h = hooks();
    const onLog = h.onLog;
    h.onLog = (line: string) => {
      if (submitted === 0 && / submitted /.test(line)) submitted = Date.now();
      onLog(line);
    };
    const t0 = Date.now();
    const o = await executor.execute(project.job(`noop${i}`, 'stages/noop.ts', { jsonOuts: ['done'] }), h);
    const t3 = Date.now();
    if (o.failure) throw new Error(o.failure.message);
    const started = Date.parse(o.place.started as string);
    const ended = Date.parse(o.place.ended as string);
    phases.total.push(t3 - t0);
    phases.submit.push(submitted - t0);
    phases.dispatch.push(started - submitted);
    phases.run.push(ended - started);
    phases.collect.push(t3 - ended);
  }

  const t = Date.now();
  const outcomes = await Promise.all(Array.from({ length: ARRAY }, (_, i) => executor.execute(project.job(`many@i=${i}`, 'stages/noop.ts', { jsonOuts: ['done'] }), hooks())));
  const arrayWall = Date.now() - t;
  const failed = outcomes.filter((o) => o.failure);
  if (failed.length > 0) throw new Error(failed[0].failure?.message);
  const arrayIds = new Set(outcomes.map((o) => String(o.place.job_id).split('_')[0]));
  const runs = outcomes.map((o) => Date.parse(o.place.ended as string) - Date.parse(o.place.started as string));

  console.log(`sbatch --wait of an empty job (SLURM's floor)   median ${ms(median(floor))}`);
  console.log(`trivial stage, local path (no SLURM)             median ${ms(median(local))}`);
  console.log(`trivial stage through SLURM, one job at a time   median ${ms(median(phases.total))}`);
  console.log(`  submit ${ms(median(phases.submit))} · dispatch ${ms(median(phases.dispatch))} · run on node ${ms(median(phases.run))} · collect ${ms(median(phases.collect))}`);
  console.log(`  overhead over the local path                   median ${ms(median(phases.total) - median(local))} per job`);
  console.log(`${`${ARRAY} trivial stages at once (one job array)`.padEnd(48)} ${ms(arrayWall)} wall in ${arrayIds.size} sbatch call(s), ${ms(arrayWall / ARRAY)} per stage (run on node median ${ms(median(runs))}, ${config.arrayThrottle} at a time at most)`);
} finally {
  await executor.close();
  project.cleanup();
}
