// A stand-in for an engine process, for the test of an engine that dies mid-run: runs the StageJobs of a JSON file
// through a SlurmExecutor and prints one line per submission and per outcome. The test kills it with SIGKILL.
// Usage: node --import tsx test/cluster/engine-driver.ts <project root> <jobs.json>
import { readFileSync } from 'node:fs';
import type { StageJob } from '../../src/engine/executor.js';
import { DEFAULT_CONFIG } from '../../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../../src/engine/executors/slurm.js';

const [root, jobsFile] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(jobsFile, 'utf8')) as StageJob[];
const executor = new SlurmExecutor({ root, config: { ...DEFAULT_CONFIG, pollIntervalMs: 500, batchWindowMs: 200 } });
await Promise.all(
  jobs.map(async (job) => {
    const outcome = await executor.execute(job, {
      onLog: (line) => {
        const m = /^# SLURM job (\S+) submitted/.exec(line);
        if (m) process.stdout.write(`submitted ${job.stage} ${m[1]}\n`);
      },
    });
    process.stdout.write(`outcome ${job.stage} ${outcome.failure ? outcome.failure.kind : 'ok'}\n`);
  }),
);
await executor.close();
