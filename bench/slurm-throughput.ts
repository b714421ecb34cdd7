// Sweep throughput, stages per minute: N instances of one stage (each ~1 s of CPU work) through the SLURM executor
// on the single-node cluster of scripts/slurm-cluster.sh (one job array), against the LocalExecutor with two at a time
// (`--jobs 2`) on the same machine. Prints the median of several runs of each.
// Usage: npx tsx bench/slurm-throughput.ts [--stages N] [--runs N] [--work MS]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Executor, StageJob } from '../src/engine/executor.js';
import { LocalExecutor } from '../src/engine/executors/local.js';
import { DEFAULT_CONFIG } from '../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../src/engine/executors/slurm.js';
import { ensureCluster, hooks, tempProject } from '../test/cluster/helpers.js';

const { values } = parseArgs({ options: { stages: { type: 'string', default: '20' }, runs: { type: 'string', default: '3' }, work: { type: 'string', default: '1000' } } });
const STAGES = Number(values.stages);
const RUNS = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const why = ensureCluster({ start: false }); // a bench measures; it does not install or start daemons
if (why !== undefined) {
  console.log(`skipped: ${why}`);
  process.exit(0);
}

const project = tempProject({
  // busy for `ms` of CPU time, then a small result: stands in for one variant of a sweep
  'stages/work.ts': `export default (ctx: any) => {
  const end = Date.now() + (ctx.params.ms as number);
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i + ctx.params.i);
  return { out: { i: ctx.params.i, x } };
};
`,
});

/** all stages through one executor, at most `parallel` handed over at once (the engine's --jobs) */
async function sweep(executor: Executor, parallel: number, run: number): Promise<number> {
  const jobs: StageJob[] = Array.from({ length: STAGES }, (_, i) => project.job(`work@run=${run},i=${i}`, 'stages/work.ts', { params: { i, ms: Number(values.work) }, jsonOuts: ['out'] }));
  const t = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const o = await executor.execute(job, hooks());
      if (o.failure) throw new Error(`${job.stage}: ${o.failure.message}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return performance.now() - t;
}

console.log(`sweep throughput: ${STAGES} stages of ~${values.work} ms CPU each, ${RUNS} runs, load ${loadavg()[0].toFixed(2)}`);
const local = new LocalExecutor(project.root);
const slurm = new SlurmExecutor({ root: project.root, config: DEFAULT_CONFIG });
try {
  const localTimes: number[] = [];
  const slurmTimes: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    localTimes.push(await sweep(local, 2, r));
    slurmTimes.push(await sweep(slurm, slurm.maxParallel, r));
  }
  const perMinute = (ms: number) => ((STAGES * 60_000) / ms).toFixed(1);
  console.log(`local executor, --jobs 2        median ${(median(localTimes) / 1000).toFixed(1)} s  → ${perMinute(median(localTimes))} stages/min`);
  console.log(`SLURM executor, one job array   median ${(median(slurmTimes) / 1000).toFixed(1)} s  → ${perMinute(median(slurmTimes))} stages/min`);
} finally {
  await local.close();
  await slurm.close();
  project.cleanup();
}
